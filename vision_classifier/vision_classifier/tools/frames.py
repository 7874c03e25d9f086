"""Decode frames as the classifier node decodes them (ClassifierNode.decode_image), without ROS."""
from vision_classifier.core.compressed import decode_compressed
from vision_classifier.core.image_encoding import decode_msg

IMAGE = 'sensor_msgs/msg/Image'
COMPRESSED_IMAGE = 'sensor_msgs/msg/CompressedImage'


def min_size(model):
    """Return the (height, width) a JPEG may be scaled down to for `model`; None for a model of any size."""
    size = model.preprocessor.spec.size
    return size if min(size) >= 1 else None


def decode_frame(msgtype, msg, max_bytes, model):
    """
    Return the DecodedImage of a sensor_msgs/Image or CompressedImage (any object with their fields).

    A JPEG is decoded no larger than `model` needs, as the node does. Raises ImageError.
    """
    if msgtype == COMPRESSED_IMAGE:
        return decode_compressed(msg.format, msg.data, max_bytes, min_size(model))
    return decode_msg(msg, max_bytes)
