"""Messages built from arrays."""
from sensor_msgs.msg import Image

from vision_classifier.core.image_encoding import encode_fields


def image_msg(pixels, encoding, header):
    """Return a sensor_msgs/Image of an HxW or HxWxC uint8 array, rows packed."""
    msg = Image(header=header, encoding=encoding, is_bigendian=0)
    msg.height, msg.width, msg.step, msg.data = encode_fields(pixels)
    return msg
