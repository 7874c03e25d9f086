"""config/fastdds_large_images.xml loads: nodes started with it (under both variable names Fast DDS reads) start
without XML errors and communicate, with 640x480 frames between processes."""
from vision_classifier_msgs.msg import Classifications

from conftest import ROOT

PROFILE = ROOT / 'config' / 'fastdds_large_images.xml'


def test_profile_parses(ros, start_node, default_model, monkeypatch):
    monkeypatch.setenv('FASTDDS_DEFAULT_PROFILES_FILE', str(PROFILE))  # Jazzy and Kilted read this name,
    monkeypatch.setenv('FASTRTPS_DEFAULT_PROFILES_FILE', str(PROFILE))  # older Fast DDS this one
    camera = start_node('vision_classifier.camera_node', '-r', '__node:=profile_cam',
                        '-r', 'image_raw:=/profile_cam/image_raw', '-p', 'source_type:=fake', '-p', 'width:=640',
                        '-p', 'height:=480', '-p', 'frame_rate:=10.0', name='camera')
    classifier = start_node('vision_classifier.classifier_node', '-r', '__node:=profile_classifier',
                            '-r', 'image:=/profile_cam/image_raw', '-p', f'model_path:={default_model}',
                            name='classifier')
    monkeypatch.delenv('FASTDDS_DEFAULT_PROFILES_FILE')
    monkeypatch.delenv('FASTRTPS_DEFAULT_PROFILES_FILE')
    received = []
    ros.node.create_subscription(Classifications, '/profile_classifier/classifications', received.append, 10)
    assert ros.spin_until(lambda: received, 60), camera.log() + classifier.log()
    assert received[0].header.frame_id == 'profile_cam'
    for process in (camera, classifier):
        log = process.log()
        assert 'XMLPARSER' not in log and 'Error' not in log, log
