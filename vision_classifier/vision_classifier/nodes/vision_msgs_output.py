"""
The classifier's results as vision_msgs, for whatever reads the standard messages, where vision_msgs is installed.

`~/vision/classification` (vision_msgs/Classification: the image's header, results best first, after the same
thresholds as ~/classifications), and `~/<camera>/vision/classification` per camera of `cameras`;
`~/vision/label_info` (LabelInfo: every label with its index, and the threshold) and `~/vision/vision_info`
(VisionInfo: the model file, the labels' source, a version counted up at each model swap), both transient local,
so that a subscriber that comes later still gets them.
"""
from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy
from std_msgs.msg import Header

from vision_classifier.core.topics import VISION_CLASSIFICATION, VISION_INFO, VISION_LABEL_INFO

try:
    from vision_msgs.msg import Classification, LabelInfo, ObjectHypothesis, VisionClass, VisionInfo
except ImportError:  # optional: rosdep installs it from package.xml
    Classification = None

LATCHED = QoSProfile(depth=1, durability=DurabilityPolicy.TRANSIENT_LOCAL, reliability=ReliabilityPolicy.RELIABLE)
MAX_CLASS_ID = 65534  # VisionClass.class_id is uint16; 65535 means "unlabeled"
MISSING = ('vision_msgs is not installed: no vision_msgs output (rosdep install, or apt install '
           'ros-<distro>-vision-msgs)')


def available():
    return Classification is not None


def labels_source(config, model):
    """Return where the labels of a model come from, for VisionInfo.database_location."""
    if config.label_path:
        return config.label_path
    if model.metadata.label_file_names:
        return f'{config.model_path} (metadata: {model.metadata.label_file_names[0]})'
    return f'{config.model_path} (no labels: "1", "2", ...)'


class VisionMsgs:
    """The vision_msgs publishers of a classifier node (None of them where vision_msgs is missing)."""

    def __init__(self, node, class_id):
        self.node, self.by_label = node, class_id == 'label'
        self.classification = node.create_publisher(Classification, f'~/{VISION_CLASSIFICATION}', 10)
        self.label_info = node.create_publisher(LabelInfo, f'~/{VISION_LABEL_INFO}', LATCHED)
        self.vision_info = node.create_publisher(VisionInfo, f'~/{VISION_INFO}', LATCHED)
        self.cameras = {}  # camera name -> its publisher
        self.version = 0

    def add_camera(self, name):
        self.cameras[name] = self.node.create_publisher(Classification, f'~/{name}/{VISION_CLASSIFICATION}', 10)

    def remove_camera(self, name):
        publisher = self.cameras.pop(name, None)
        if publisher is not None:
            self.node.destroy_publisher(publisher)

    def publish(self, header, results, camera):
        """Publish the results of one frame, on the node's topic and its camera's, where someone subscribes."""
        listening = [p for p in (self.classification, self.cameras.get(camera)) if p and p.get_subscription_count()]
        if not listening:
            return
        msg = Classification(header=header, results=[
            ObjectHypothesis(class_id=c.class_name if self.by_label or c.index < 0 else str(c.index),
                             score=c.confidence) for c in results])
        for publisher in listening:
            publisher.publish(msg)

    def describe(self, config, model, threshold, new_model):
        """Publish LabelInfo and VisionInfo (latched); with `new_model`, the database version goes up."""
        if new_model:
            self.version += 1
        header = Header(stamp=self.node.get_clock().now().to_msg())
        labels = model.labels[:MAX_CLASS_ID + 1]
        if len(model.labels) > len(labels):
            self.node.get_logger().warning(f'{len(model.labels)} labels: ~/vision/label_info holds the first '
                                           f'{len(labels)} (class_id is a uint16)')
        self.label_info.publish(LabelInfo(header=header, threshold=float(threshold), class_map=[
            VisionClass(class_id=i, class_name=label) for i, label in enumerate(labels)]))
        self.vision_info.publish(VisionInfo(header=header, method=config.model_path,
                                            database_location=labels_source(config, model),
                                            database_version=self.version))

    def destroy(self):
        for name in list(self.cameras):
            self.remove_camera(name)
        for publisher in (self.classification, self.label_info, self.vision_info):
            self.node.destroy_publisher(publisher)
