"""Names of what a vision service publishes, for the live node and the recordings classified offline (no ROS)."""

# Relative to the vision service's namespace (the classifier node's private `~/`).
CLASSIFICATIONS = 'classifications'               # vision_classifier_msgs/msg/Classifications
VISION_CLASSIFICATION = 'vision/classification'   # vision_msgs/msg/Classification
VISION_LABEL_INFO = 'vision/label_info'           # vision_msgs/msg/LabelInfo (transient_local)
VISION_INFO = 'vision/vision_info'                # vision_msgs/msg/VisionInfo (transient_local)


def camera_of_topic(topic):
    """
    Return the camera of an image topic.

    /cam1/image_raw, /cam1/image and their /compressed give cam1; another topic names itself.
    """
    parts = topic.strip('/').removesuffix('/compressed').split('/')
    return parts[-2] if len(parts) >= 2 and parts[-1] in ('image_raw', 'image') else topic
