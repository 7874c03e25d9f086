"""The bench's camera frames: a synthetic RGB frame and the message a camera sends for it in each encoding."""
import numpy as np

WIDTH, HEIGHT, CAMERA_FPS = 640, 480, 30.0


ENCODINGS = ('rgb8', 'bgr8', 'mono8', 'yuv422', 'yuv422_yuy2', 'jpeg')  # jpeg: a sensor_msgs/CompressedImage


IMAGE_TYPE, COMPRESSED_TYPE = 'sensor_msgs/msg/Image', 'sensor_msgs/msg/CompressedImage'


def bench_frame(width=WIDTH, height=HEIGHT):
    """Return an RGB frame: gradients with some noise (noise alone would make unrealistically large JPEGs)."""
    y, x = np.mgrid[:height, :width]
    smooth = np.dstack([x * 255 // max(width, 1), y * 255 // max(height, 1), (x + y) * 127 // max(width + height, 1)])
    noise = np.random.default_rng(0).integers(0, 32, (height, width, 3))
    return (smooth + noise).clip(0, 255).astype(np.uint8)


def yuv422(rgb, order):
    """Packed 4:2:2 bytes, HxWx2: 'uyvy' (ROS yuv422) or 'yuyv' (yuv422_yuy2); U and V averaged per pixel pair."""
    import cv2
    yuv = cv2.cvtColor(rgb[:, :rgb.shape[1] // 2 * 2], cv2.COLOR_RGB2YUV).astype(np.uint16)
    y, u, v = yuv[..., 0], yuv[..., 1], yuv[..., 2]
    u2, v2 = (u[:, 0::2] + u[:, 1::2] + 1) // 2, (v[:, 0::2] + v[:, 1::2] + 1) // 2
    chroma = np.empty_like(y)
    chroma[:, 0::2], chroma[:, 1::2] = u2, v2
    pair = (chroma, y) if order == 'uyvy' else (y, chroma)
    return np.dstack(pair).astype(np.uint8)


def frame_msg(rgb, encoding, header):
    """Return the message a camera sends for `rgb` in `encoding`: an Image, or for jpeg a CompressedImage."""
    import cv2
    from vision_classifier.nodes.messages import image_msg
    if encoding == 'jpeg':
        from sensor_msgs.msg import CompressedImage
        ok, data = cv2.imencode('.jpg', cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
        return CompressedImage(header=header, format='jpeg', data=data.tobytes())
    pixels = {'rgb8': lambda: rgb, 'bgr8': lambda: rgb[..., ::-1],
              'mono8': lambda: cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY),
              'yuv422': lambda: yuv422(rgb, 'uyvy'), 'yuv422_yuy2': lambda: yuv422(rgb, 'yuyv')}[encoding]()
    return image_msg(pixels, encoding, header)


def message_type(encoding):
    return COMPRESSED_TYPE if encoding == 'jpeg' else IMAGE_TYPE


def msg_class(type_name):
    from sensor_msgs.msg import CompressedImage, Image
    return {IMAGE_TYPE: Image, COMPRESSED_TYPE: CompressedImage}[type_name]
