"""
A camera driver's compressed stream, as usb_cam publishes it.

A photo as `sensor_msgs/CompressedImage` (format `jpeg`) with sensor-data QoS (best effort), stamped now, at a fixed
rate, in its own process.

    python test/jpeg_publisher.py TOPIC PHOTO [RATE [WIDTHxHEIGHT]]
"""
import sys

import cv2
import rclpy
from rclpy.executors import ExternalShutdownException
from rclpy.qos import qos_profile_sensor_data
from sensor_msgs.msg import CompressedImage
from std_msgs.msg import Header


def main():
    topic, photo = sys.argv[1], sys.argv[2]
    rate = float(sys.argv[3]) if len(sys.argv) > 3 else 10.0
    image = cv2.imread(photo)
    if len(sys.argv) > 4:
        image = cv2.resize(image, tuple(int(v) for v in sys.argv[4].split('x')), interpolation=cv2.INTER_CUBIC)
    data = cv2.imencode('.jpg', image, [cv2.IMWRITE_JPEG_QUALITY, 90])[1].tobytes()
    rclpy.init()
    node = rclpy.create_node('jpeg_publisher')
    publisher = node.create_publisher(CompressedImage, topic, qos_profile_sensor_data)

    def publish():
        header = Header(stamp=node.get_clock().now().to_msg(), frame_id='usb_cam')
        publisher.publish(CompressedImage(header=header, format='jpeg', data=data))
    node.create_timer(1.0 / rate, publish)
    print(f'publishing {len(data)} bytes of JPEG on {publisher.topic_name}', flush=True)
    try:
        rclpy.spin(node)
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    finally:
        node.destroy_node()
        rclpy.try_shutdown()


if __name__ == '__main__':
    main()
