"""web_node on its own, started by parameters as `ros2 launch` starts it, fed over real DDS."""
import json
import re
import socket
import time
import urllib.request

from builtin_interfaces.msg import Time
import cv2
import numpy as np
from rclpy.qos import QoSProfile, ReliabilityPolicy
from ros_helpers import image_msg, set_parameters_atomically
from sensor_msgs.msg import CompressedImage, Image
from std_msgs.msg import Header
from support import TIMEOUT
from vision_classifier_msgs.msg import Classification, Classifications

NODE = 'vision_classifier.web.node'


def url_of(node):
    assert node.wait_for_log('control page on '), node.log()
    return re.search(r'control page on (http://\S+/)', node.log()).group(1)


def status_of(url):
    return json.load(urllib.request.urlopen(url + 'status.json', timeout=TIMEOUT))


def test_the_node_shows_image_compressed_and_classification_topics(ros, start_node):
    node = start_node(NODE, '-p', 'port:=0', '-p', 'image_topics:=[/cam/image_raw, /cam/image_raw/compressed]',
                      '-p', 'image_names:=[raw, jpeg]', '-p', 'classification_topics:=[/v/classifications]',
                      name='web')
    url = url_of(node)
    reliable = QoSProfile(depth=1, reliability=ReliabilityPolicy.RELIABLE)
    raw = ros.node.create_publisher(Image, '/cam/image_raw', reliable)
    compressed = ros.node.create_publisher(CompressedImage, '/cam/image_raw/compressed', reliable)
    results = ros.node.create_publisher(Classifications, '/v/classifications', reliable)
    for publisher in (raw, compressed, results):
        assert ros.wait_for_subscriber(publisher)
    pixels = np.zeros((48, 64, 3), np.uint8)
    pixels[:, :32] = (255, 0, 0)   # left half red (rgb8)
    jpeg = cv2.imencode('.jpg', np.full((30, 40, 3), 90, np.uint8))[1].tobytes()
    now = time.time()
    header = Header(stamp=Time(sec=int(now), nanosec=int(now % 1 * 1e9)), frame_id='cam')

    def status():
        return status_of(url)

    def seen():
        raw.publish(image_msg(pixels, 'rgb8', (header.stamp.sec, header.stamp.nanosec)))
        compressed.publish(CompressedImage(header=header, format='jpeg', data=jpeg))
        results.publish(Classifications(header=header, classifications=[
            Classification(class_name='espresso', confidence=0.75), Classification(class_name='cup', confidence=0.2)]))
        s = status()
        return all(c['count'] for c in s['cameras'] + s['classifiers']) and s
    assert ros.spin_until(seen)
    s = status()
    assert [c['encoded'] for c in s['cameras']] == [0, 0]    # nobody watched: nothing encoded
    streams = [socket.create_connection(('127.0.0.1', int(url.split(':')[2].strip('/'))), timeout=TIMEOUT)
               for _ in range(3)]
    for sock in streams:
        sock.sendall(b'GET /stream/raw HTTP/1.1\r\nHost: x\r\n\r\n')
    assert ros.spin_until(lambda: status()['streams'] == 3)
    received = [b''] * 3
    for _ in range(5):
        raw.publish(image_msg(pixels, 'rgb8', (header.stamp.sec, header.stamp.nanosec)))
        for i, sock in enumerate(streams):   # each client gets this frame (counted by JPEG start markers)
            before = received[i].count(b'\xff\xd8\xff')
            while received[i].count(b'\xff\xd8\xff') == before:
                chunk = sock.recv(1 << 16)
                assert chunk, f'stream {i} closed: {received[i][-300:]}'
                received[i] += chunk
    for sock in streams:
        sock.close()
    raw_status = status()['cameras'][0]
    assert all(r.count(b'\xff\xd8\xff') >= 5 for r in received)
    assert raw_status['encoded'] <= raw_status['count'] - s['cameras'][0]['count'] + 1   # once per frame, shared
    assert [(c['name'], c['topic']) for c in s['cameras']] == [
        ('raw', '/cam/image_raw'), ('jpeg', '/cam/image_raw/compressed')]
    v, = s['classifiers']
    assert v['name'] == '/v/classifications' and v['latency'] >= 0
    assert [(c['class_name'], c['confidence']) for c in v['classifications']] == [('espresso', 0.75), ('cup', 0.2)]
    shown = cv2.imdecode(np.frombuffer(urllib.request.urlopen(url + 'frame/raw', timeout=TIMEOUT).read(), np.uint8),
                         1)
    assert shown.shape == (48, 64, 3)
    assert shown[24, 8, 2] > 200 and shown[24, 8, 0] < 60 and shown[24, 56].max() < 60   # red stays red (BGR)
    assert urllib.request.urlopen(url + 'frame/jpeg', timeout=TIMEOUT).read() == jpeg  # passed through as it is
    assert node.stop() == 0


def test_the_node_reports_a_port_in_use_and_mismatched_names(start_node):
    with socket.socket() as taken:
        taken.bind(('127.0.0.1', 0))
        taken.listen()
        port = taken.getsockname()[1]
        node = start_node(NODE, '-p', f'port:={port}', name='busy')
        assert node.proc.wait(TIMEOUT) == 1
        assert f'cannot serve on 127.0.0.1:{port}' in node.log() and 'Traceback' not in node.log()
    node = start_node(NODE, '-p', 'image_topics:=[/a, /b]', '-p', 'image_names:=[a]', '-p', 'port:=0', name='names')
    assert node.proc.wait(TIMEOUT) == 1 and 'image_names has 1 entries, image_topics 2' in node.log()


def test_the_page_shows_more_cameras_than_browsers_stream_as_snapshots(start_node, tmp_path):
    from test_web import browse_until
    start_node('vision_classifier.nodes.camera_node', '-p', 'source_type:=fake', '-p', 'frame_rate:=5.0',
               '-p', 'width:=160', '-p', 'height:=120', '-r', 'image_raw:=/cam/image_raw', name='cam')
    names = 'abcdef'
    node = start_node(NODE, '-p', 'port:=0', '-p', f'image_topics:=[{",".join(["/cam/image_raw"] * len(names))}]',
                      '-p', f'image_names:=[{",".join(names)}]', name='web')
    url = url_of(node)
    deadline = time.monotonic() + TIMEOUT
    while not all(c['count'] for c in status_of(url)['cameras']) and time.monotonic() < deadline:
        time.sleep(0.1)  # frames first: the page shows sizes of frames it received

    def shown(html):
        return re.findall(r'id="camera-(\w)".*?data-stream="(\w+)".*?class="size">([^<]*)<', html, re.S)
    expected = [(n, 'true' if i < 4 else 'false', '160x120') for i, n in enumerate(names)]
    assert shown(browse_until(lambda html: shown(html) == expected, url, tmp_path)) == expected


def test_topics_and_names_set_at_run_time_change_what_is_shown(ros, start_node):
    """Check the page follows `ros2 param set` (or `run` after a config edit); names that do not match are refused."""
    node = start_node(NODE, '-p', 'port:=0', '-p', 'image_topics:=[/a/image_raw]', '-p', 'image_names:=[a]',
                      '-p', 'classification_topics:=[/v/classifications]', name='web')
    url = url_of(node)

    def set_atomically(**values):
        return set_parameters_atomically(ros, 'web', **values)

    def shown():
        status = status_of(url)
        return ([(c['name'], c['topic']) for c in status['cameras']],
                [(v['name'], v['topic']) for v in status['classifiers']])
    assert shown() == ([('a', '/a/image_raw')], [('/v/classifications', '/v/classifications')])
    assert set_atomically(image_topics=['/a/image_raw', '/b/image'], image_names=['a', 'b']).successful
    assert shown() == ([('a', '/a/image_raw'), ('b', '/b/image')], [('/v/classifications', '/v/classifications')])
    reliable = QoSProfile(depth=1, reliability=ReliabilityPolicy.RELIABLE)
    publisher = ros.node.create_publisher(Image, '/b/image', reliable)
    assert ros.wait_for_subscriber(publisher)  # the new topic is subscribed
    refused = set_atomically(image_names=['a', 'b', 'c'])
    assert not refused.successful and refused.reason == 'image_names has 3 entries, image_topics 2', refused.reason
    assert set_atomically(image_topics=['/b/image'], image_names=['b'], classification_topics=['']).successful
    assert shown() == ([('b', '/b/image')], [])
    assert node.stop() == 0
