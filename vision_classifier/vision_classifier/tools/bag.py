"""
The options of `vision_classifier bag`.

It classifies the image topics of a rosbag2 recording offline, every frame, as the classifier node classifies them,
into a new bag that holds the recording's messages and the results; vision_classifier.tools.bag_classifier does the
work (the command line imports it only when it runs).
"""
import argparse

from vision_classifier.core.arguments import positive_int

DEFAULT_SERVICE = 'classifier'  # the name of a classifier_node started without a config
CLASS_IDS = ('index', 'label')
FORMATS = ('mcap', 'sqlite3')


def add_arguments(parser):
    parser.add_argument('bag', help='the recording: a rosbag2 folder (MCAP or sqlite3), or one .mcap or .db3 file')
    parser.add_argument('--topic', action='append', required=True, metavar='TOPIC',
                        help='an image topic (sensor_msgs/Image or CompressedImage) to classify; repeat for more')
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument('--config', help='Viam config: classify with its vision service (see --service)')
    source.add_argument('--model', help='.tflite model (with --labels and the threshold options)')
    parser.add_argument('--service', help='the vision service of --config (needed when it has several); with '
                        f'--model, the name the results are published under (default: {DEFAULT_SERVICE})')
    parser.add_argument('--labels', default='', help='labels file of --model (default: its metadata)')
    parser.add_argument('--out', required=True, help='the bag to write (a new folder)')
    parser.add_argument('--format', choices=FORMATS,
                        help='storage of the output bag (default: that of the input)')
    parser.add_argument('--num-threads', type=positive_int, default=1,
                        help='threads that decode and interpreters that classify, side by side (default: 1)')
    parser.add_argument('--default-minimum-confidence', type=float,
                        help="drop results below this (default: the config's, else 0)")
    parser.add_argument('--label-confidences', nargs='*', metavar='LABEL:MINIMUM',
                        help="per-label minimums; other labels are dropped (default: the config's)")
    parser.add_argument('--max-classifications', type=int,
                        help="results per frame, best first; 0: all (default: the config's, else 5)")
    parser.add_argument('--class-id', choices=CLASS_IDS, default='index',
                        help="vision_msgs ObjectHypothesis.class_id: the label's index (as LabelInfo maps it) or "
                             'its text (default: %(default)s)')
    parser.add_argument('--packages-dir', default=None, help='where ${packages.<name>} resolves')
    parser.add_argument('--progress', action=argparse.BooleanOptionalAction, default=None,
                        help='show a progress bar (default: when stderr is a terminal)')
