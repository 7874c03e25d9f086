"""
The control page: `vision_classifier run CONFIG --web` in a subprocess.

It is looked at in a real headless Chromium and over raw HTTP (malformed requests, the stream cap, stalled clients).
"""
import http.client
import json
import os
from pathlib import Path
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request

import cv2
import numpy as np
import pytest
from support import CAT_CLASSES, PACKAGES_DIR, PHOTOS, REPO, TIMEOUT


FRAME_RATE = 5
BIG = (1280, 960)   # the coffee camera's frames, large so that stalled clients fill their buffers quickly
MEMORY_SLACK_KB = 64_000  # 20 clients queueing every frame (~140 kB JPEG, 5/s) would pass it within 5 s
STALLED_FRAMES = 5  # frames that must flow while 20 clients stall (the 5th would overflow an unbounded buffer)


def config():
    def camera(name, photo, **size):
        return {'name': name, 'type': 'camera', 'model': 'image_file',
                'attributes': {'color_image_file_path': str(PHOTOS / photo), 'frame_rate': FRAME_RATE, **size}}

    def vision(name, camera_name):
        return {'name': name, 'type': 'vision', 'model': 'mlmodel',
                'attributes': {'mlmodel_name': 'efficientnet', 'camera_name': camera_name, 'max_classifications': 3}}
    return {
        'components': [
            camera('coffee', 'coffee.png', width_px=BIG[0], height_px=BIG[1]),
            camera('cat', 'chelsea.png'),
            {'name': 'overlay_cam', 'type': 'camera', 'model': 'transform',
             'attributes': {'source': 'coffee', 'pipeline': [{'type': 'classifications', 'attributes': {
                 'classifier_name': 'coffee_classifier', 'max_classifications': 2}}]}}],
        'services': [
            {'name': 'efficientnet', 'type': 'mlmodel', 'model': 'tflite_cpu',
             'attributes': {'model_path': '${packages.efficientnet_lite0}/efficientnet_lite0.tflite'}},
            vision('coffee_classifier', 'coffee'), vision('cat_classifier', 'cat')]}


def set_overlay_result_timeout(node_name):
    """
    Let the overlay node `node_name` wait as long as it may for results.

    A frame whose results take longer than result_timeout (1 s) is dropped; on a slow or loaded machine all could
    be. A config cannot set it (see the report of issue 18), so it is set as `ros2 param set` would.
    """
    from ros_helpers import Ros, set_parameters
    ros = Ros()
    try:
        assert [r.successful for r in set_parameters(ros, node_name, result_timeout=3600.0)] == [True]
    finally:
        ros.close()


def set_web(server, **values):
    """Set parameters of the control page's node (`web`) of a running `vision_classifier ... --web`."""
    from ros_helpers import Ros, set_parameters
    ros = Ros()
    try:
        assert [r.successful for r in set_parameters(ros, 'web', **values)] == [True] * len(values), server.log()
    finally:
        ros.close()


class Server:
    """Run `vision_classifier <args> --web 127.0.0.1:0`; `url` once it prints where the page is."""

    def __init__(self, args, log_path):
        self.log_path = log_path
        self._log = open(log_path, 'w')
        self.proc = subprocess.Popen(
            [sys.executable, '-u', '-m', 'vision_classifier', *args, '--packages-dir', str(PACKAGES_DIR),
             '--web', '127.0.0.1:0'], stdout=self._log, stderr=subprocess.STDOUT, cwd=REPO)
        self.url = None
        deadline = time.monotonic() + TIMEOUT
        while self.url is None and time.monotonic() < deadline and self.proc.poll() is None:
            found = re.search(r'control page: (http://\S+)', log_path.read_text())
            self.url = found and found.group(1)
            time.sleep(0.1)
        assert self.url, f'no control page: {self.log()}'
        self.host, self.port = '127.0.0.1', int(self.url.rstrip('/').rpartition(':')[2])

    def log(self):
        if not self._log.closed:
            self._log.flush()
        return self.log_path.read_text()

    def status(self):
        with urllib.request.urlopen(self.url + 'status.json', timeout=TIMEOUT) as response:
            return json.load(response)

    def wait(self, predicate, timeout=TIMEOUT):
        """Return the first status for which predicate(status) holds; fail after `timeout`."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            status = self.status()
            if predicate(status):
                return status
            time.sleep(0.2)
        pytest.fail(f'status never satisfied the condition: {status}\n{self.log()}')

    def rss_kb(self, seconds=2.0):
        """Return the (lowest, highest) resident size in kB over `seconds` (it swings by tens of MB with frames)."""
        samples = []
        for _ in range(int(seconds / 0.1)):
            status = Path(f'/proc/{self.proc.pid}/status').read_text()
            samples.append(int(re.search(r'VmRSS:\s+(\d+)', status).group(1)))
            time.sleep(0.1)
        return min(samples), max(samples)

    def stop(self):
        self.proc.send_signal(signal.SIGINT)
        try:
            code = self.proc.wait(TIMEOUT)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
            self._log.close()
        return code


def top(status, classifier):
    found = {c['name']: c for c in status['classifiers']}[classifier]['classifications']
    return found[0]['class_name'] if found else None


def counts(status):
    return {c['name']: c['count'] for c in status['classifiers']}


def frames(status, camera='coffee'):
    return {c['name']: c['count'] for c in status['cameras']}[camera]


def every_feed_has_come(status):
    """Whether every camera has sent a frame and every vision service a result."""
    return all(feed['count'] > 0 for feed in status['cameras'] + status['classifiers'])


@pytest.fixture(scope='module')
def server(tmp_path_factory, default_model):
    where = tmp_path_factory.mktemp('web')
    path = where / 'robot.json'
    path.write_text(json.dumps(config()))
    s = Server(['run', str(path)], where / 'run.log')
    set_overlay_result_timeout('overlay_cam')
    s.wait(lambda st: top(st, 'coffee_classifier') and top(st, 'cat_classifier') and every_feed_has_come(st))
    yield s
    assert s.stop() == 0, s.log()
    assert 'Traceback' not in s.log()


def request(server, raw, timeout=TIMEOUT):
    """Send raw bytes; return the answer: its headers and Content-Length bytes of body, or all until close."""
    with socket.create_connection((server.host, server.port), timeout=timeout) as sock:
        try:
            sock.sendall(raw)
        except (BrokenPipeError, ConnectionResetError):  # the server may answer and close before all is sent
            pass
        answer = b''
        try:
            while chunk := sock.recv(65536):
                answer += chunk
                head, end, body = answer.partition(b'\r\n\r\n')
                length = re.search(rb'(?i)\r\ncontent-length: *(\d+)', head)
                if end and (raw.startswith(b'HEAD ') or length and len(body) >= int(length.group(1))):
                    break
        except ConnectionResetError:
            pass
    return answer


def status_code(answer):
    found = re.match(rb'HTTP/1\.[01] (\d{3}) ', answer)
    assert found, answer[:200]
    return int(found.group(1))


def open_stream(server, camera='coffee', rcvbuf=None):
    sock = socket.socket()
    if rcvbuf:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    sock.settimeout(TIMEOUT)
    sock.connect((server.host, server.port))
    sock.sendall(f'GET /stream/{camera} HTTP/1.1\r\nHost: x\r\n\r\n'.encode())
    return sock


def chromium():
    found = shutil.which('chromium') or shutil.which('chromium-browser')
    if not found:
        (pytest.fail if os.environ.get('CI') else pytest.skip)('chromium not installed (apt-get install -y chromium)')
    return found


def browse(url, tmp_path, *args):
    command = [chromium(), '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
               '--disable-background-networking', '--disable-component-update', '--disable-sync',
               '--disable-dev-shm-usage', f'--user-data-dir={tmp_path / "chromium-profile"}', *args, url]
    result = subprocess.run(command, capture_output=True, text=True, timeout=TIMEOUT)
    assert result.returncode == 0, result.stderr
    return result.stdout


def browse_until(shows, url, tmp_path, *args):
    """
    Return the page's DOM (before its script) as Chromium dumps it once shows(html), or the last one after TIMEOUT.

    Chromium's virtual time runs ahead of the server's real time: on a slow machine the page may not have
    received what it shows yet when the budget ends, so the page is looked at again.
    """
    deadline = time.monotonic() + TIMEOUT
    while True:
        html = browse(url, tmp_path, '--virtual-time-budget=8000', '--dump-dom', *args).partition('<script')[0]
        if shows(html) or time.monotonic() > deadline:
            return html


def test_the_page_in_chromium_shows_the_cameras_and_the_classifications(server, tmp_path):
    cat = cv2.imread(str(PHOTOS / 'chelsea.png'))
    expected = {'coffee': '%dx%d' % BIG, 'cat': f'{cat.shape[1]}x{cat.shape[0]}', 'overlay_cam': '%dx%d' % BIG}

    def sizes(html):
        return dict(re.findall(r'id="camera-(\w+)".*?class="size">([^<]*)<', html, re.S))
    html = browse_until(lambda html: sizes(html) == expected, server.url, tmp_path)
    (tmp_path / 'page.html').write_text(html)
    text = re.sub(r'<[^>]+>', ' ', html)
    for camera in ('coffee', 'cat', 'overlay_cam'):
        assert f'id="camera-{camera}"' in html
    assert sizes(html) == expected
    assert 'espresso' in text
    assert CAT_CLASSES & set(re.findall(r'class="label">([^<]+)<', html))
    assert re.search(r'[\d.]+/s · latency \d+ ms', text)

    screenshot = tmp_path / 'page.png'
    browse(server.url, tmp_path, '--virtual-time-budget=8000', f'--screenshot={screenshot}', '--window-size=1280,900')
    shot = cv2.imread(str(screenshot))
    assert shot.shape[:2] == (900, 1280)
    print(f'screenshot: {screenshot}')


def test_status_and_stream_serve_the_newest_frames(server):
    status = server.wait(lambda st: all(c['rate'] > 0 for c in st['classifiers']))  # two results within 5 s
    cameras = {c['name']: c for c in status['cameras']}
    assert cameras['coffee']['topic'] == '/coffee/image_raw' and cameras['overlay_cam']['topic'] == '/overlay_cam/image'
    assert top(status, 'coffee_classifier') == 'espresso' and top(status, 'cat_classifier') in CAT_CLASSES
    for c in status['classifiers']:
        assert c['latency'] is not None and c['age'] is not None
    sock = open_stream(server, 'cat')
    data = b''
    while data.count(b'--frame') < 2:
        data += sock.recv(65536)
    sock.close()
    assert b'Content-Type: multipart/x-mixed-replace; boundary=frame' in data
    start = data.index(b'\xff\xd8')
    frame = cv2.imdecode(np.frombuffer(data[start:data.index(b'\r\n--frame', start)], np.uint8), cv2.IMREAD_COLOR)
    assert frame.shape == cv2.imread(str(PHOTOS / 'chelsea.png')).shape


@pytest.mark.parametrize('raw, expected', [
    (b'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}', 405),
    (b'DELETE /status.json HTTP/1.1\r\nHost: x\r\n\r\n', 405),
    (b'GET /../../etc/passwd HTTP/1.1\r\nHost: x\r\n\r\n', 404),
    (b'GET /stream/..%2f..%2fetc%2fpasswd HTTP/1.1\r\nHost: x\r\n\r\n', 404),
    (b'GET /stream/nope HTTP/1.1\r\nHost: x\r\n\r\n', 404),
    (b'HEAD /stream/coffee HTTP/1.1\r\nHost: x\r\n\r\n', 405),
    (b'GET /frame/nope HTTP/1.1\r\nHost: x\r\n\r\n', 404),
    (b'GET /etc/passwd HTTP/1.1\r\nHost: x\r\n\r\n', 404),
    (b'GET / HTTP/1.1\r\nHost: x\r\nX-Big: ' + b'a' * 100_000 + b'\r\n\r\n', None),
    (b'GET / HTTP/1.1\r\n' + b''.join(b'X-%d: 1\r\n' % i for i in range(5000)) + b'\r\n', None),
    (b'\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03' + bytes(range(256)) * 4, 400),   # TLS hello
    (b'HELLO\r\n\r\n', 400),
    (b'GET / HTTP/9.9\r\n\r\n', None),
    (b'GET /\x00 HTTP/1.1\r\nHost: x\r\n\r\n', 400),
])
def test_malformed_requests_get_a_4xx_and_nothing_else(server, raw, expected):
    answer = request(server, raw)
    code = status_code(answer)
    assert 400 <= code < 500 and (expected is None or code == expected), answer[:300]
    assert b'root:' not in answer and b'<html' not in answer
    assert top(server.status(), 'coffee_classifier') == 'espresso'   # and the server goes on serving


def test_streams_beyond_the_cap_get_503_and_free_slots_are_reused(server):
    server.wait(lambda st: st['streams'] == 0)  # earlier tests' streams noticed closed
    socks = [open_stream(server) for _ in range(25)]
    codes = [status_code(s.recv(200)) for s in socks]
    assert sorted(codes) == [200] * 20 + [503] * 5
    for s in socks:
        s.close()
    server.wait(lambda st: st['streams'] == 0)
    again = open_stream(server)
    assert status_code(again.recv(200)) == 200
    again.close()


def test_connections_beyond_the_cap_get_503(server):
    from vision_classifier.web.server import MAX_CONNECTIONS
    held = http.client.HTTPConnection(server.host, server.port, timeout=TIMEOUT)  # one keep-alive connection

    def connections():
        """Return the open connections the server counts, asked over the held connection (counted too)."""
        held.request('GET', '/status.json')
        return json.load(held.getresponse())['connections']

    def wait_for_connections(count):
        deadline = time.monotonic() + TIMEOUT
        while connections() != count and time.monotonic() < deadline:
            time.sleep(0.1)
        return connections() == count
    idle = []
    try:
        assert wait_for_connections(1)  # only the held one: earlier tests' are closed
        idle = [socket.create_connection((server.host, server.port), timeout=TIMEOUT)
                for _ in range(MAX_CONNECTIONS - 1)]
        assert wait_for_connections(MAX_CONNECTIONS)  # every one accepted and counted
        extra = socket.create_connection((server.host, server.port), timeout=TIMEOUT)
        assert status_code(extra.recv(200)) == 503
        extra.close()
        for sock in idle:   # the others are answered nothing (aiohttp may close one idle for its keep-alive time)
            sock.setblocking(False)
            try:
                answer = sock.recv(200)
            except BlockingIOError:
                answer = b''
            assert answer == b'', answer
    finally:
        held.close()
        for sock in idle:
            sock.close()
    server.wait(lambda st: top(st, 'coffee_classifier') == 'espresso')


def test_stalled_clients_do_not_slow_the_pipeline_and_are_dropped(server):
    """
    Check 20 clients that never read do not stop the pipeline, hold bounded buffers and are dropped.

    The clients open the large camera's stream and never read: frames and results keep coming, each stalled
    client holds a bounded buffer, memory does not grow, and they are dropped after send_timeout (10 s).
    """
    server.wait(lambda st: st['streams'] == 0)
    reader = open_stream(server, 'coffee')   # warm up: the process at its working size, streaming included
    received = 0
    while received < 10 * BIG[0] * BIG[1] // 20:
        received += len(reader.recv(1 << 20))
    reader.close()
    rss_before = server.rss_kb()[1]
    print(f'rss before {rss_before} kB')
    # the page keeps stalled clients for send_timeout: here as long as a wait may last, until they are to be dropped
    set_web(server, send_timeout=TIMEOUT)
    stalled = [open_stream(server, 'coffee', rcvbuf=4096) for _ in range(20)]
    try:
        # stalled for real: every client's unsent data waits in the server, its socket buffers being full
        status = server.wait(lambda st: st['streams'] == 20 and min(st['stream_buffers']) > 0)
        jpeg_bytes = len(urllib.request.urlopen(server.url + 'frame/coffee', timeout=TIMEOUT).read())
        bound = 2 * 65536 + 2 * jpeg_bytes
        before = dict(counts(status), coffee=frames(status))
        # frames and results keep coming while all of them stall, and no client's buffer grows with them
        while True:
            assert max(status['stream_buffers']) <= bound, (status['stream_buffers'], bound)
            now = dict(counts(status), coffee=frames(status))
            if min(now[n] - before[n] for n in before) >= STALLED_FRAMES:
                break
            assert status['streams'] == 20, f'the stalled clients were dropped before {STALLED_FRAMES} frames: {now}'
            time.sleep(0.2)
            status = server.status()
        rss_stalled = server.rss_kb()[0]
        print(f'rss with 20 stalled clients {rss_stalled} kB')
        assert rss_stalled - rss_before < MEMORY_SLACK_KB
        # a client that takes no frame for send_timeout is dropped, also when send_timeout is lowered while it stalls
        set_web(server, send_timeout=1.0)
        server.wait(lambda st: st['streams'] == 0)
    finally:
        for s in stalled:
            s.close()
    assert server.rss_kb()[0] - rss_before < MEMORY_SLACK_KB


def test_demo_serves_the_page_until_ctrl_c(tmp_path, default_model):
    demo = Server(['demo', '--save-dir', str(tmp_path / 'frames')], tmp_path / 'demo.log')
    try:
        set_overlay_result_timeout('overlay_cam')
        status = demo.wait(lambda st: top(st, 'my_classifier') and every_feed_has_come(st))
        assert [c['name'] for c in status['cameras']] == ['photos', 'overlay_cam']
        assert '/status.json' in urllib.request.urlopen(demo.url, timeout=TIMEOUT).read().decode()
        frame = urllib.request.urlopen(demo.url + 'frame/overlay_cam', timeout=TIMEOUT).read()
        assert frame[:3] == b'\xff\xd8\xff'
        # without --web the demo stops after 8 annotated frames; with it, it goes on
        demo.wait(lambda st: {c['name']: c['count'] for c in st['cameras']}['overlay_cam'] > 9)
        assert demo.proc.poll() is None
    finally:
        assert demo.stop() == 0, demo.log()


@pytest.mark.parametrize('text, expected', [
    ('8080', ('127.0.0.1', 8080)), ('0.0.0.0:80', ('0.0.0.0', 80)), ('[::1]:0', ('::1', 0)),
    (':9000', ('127.0.0.1', 9000)),
])
def test_web_addresses(text, expected):
    from vision_classifier.web.server import parse_address
    assert parse_address(text) == expected


@pytest.mark.parametrize('text', ['', 'web', '70000', 'localhost:', '1.5', 'host:port'])
def test_bad_web_addresses_are_refused_by_the_command(text, capsys):
    from vision_classifier.cli import build_parser
    with pytest.raises(SystemExit) as exited:
        build_parser().parse_args(['run', 'robot.json', '--web', text])
    assert exited.value.code == 2 and 'argument --web: ' in capsys.readouterr().err


def test_web_parameters_name_every_camera_and_vision_service_of_a_config():
    from vision_classifier.core.config import translate
    from vision_classifier.web.node import web_parameters
    assert web_parameters(translate(config(), str(PACKAGES_DIR)), '0.0.0.0', 8081) == {
        'host': '0.0.0.0', 'port': 8081,
        'image_names': ['coffee', 'cat', 'overlay_cam'],
        'image_topics': ['/coffee/image_raw', '/cat/image_raw', '/overlay_cam/image'],
        'classification_names': ['coffee_classifier', 'cat_classifier'],
        'classification_topics': ['/coffee_classifier/classifications', '/cat_classifier/classifications']}


def test_web_parameters_show_a_ros_topic_camera_too():
    from vision_classifier.core.config import translate
    from vision_classifier.web.node import web_parameters
    robot = config()
    robot['components'].append({'name': 'usb', 'type': 'camera', 'model': 'ros_topic',
                                'attributes': {'topic': '/usb_cam/image_raw/compressed'}})
    parameters = web_parameters(translate(robot, str(PACKAGES_DIR)))
    assert parameters['image_names'][0] == 'usb'
    assert parameters['image_topics'][0] == '/usb_cam/image_raw/compressed'


def test_cameras_added_and_removed_while_serving(tmp_path):
    """
    Check a config edit changes the cameras served.

    A removed camera's streams end and its frames are gone; the page in Chromium rebuilds with the new set.
    """
    from vision_classifier.web.server import WebServer
    still = cv2.imencode('.jpg', np.full((48, 64, 3), 128, np.uint8))[1].tobytes()
    web = WebServer('127.0.0.1', 0)
    web.add_camera('first', '/first/image_raw', lambda value: (value, 64, 48))
    web.start()
    done = threading.Event()

    def camera():  # 10 frames a second to every camera served, as their topics would
        while not done.wait(0.1):
            for feed in web.cameras.values():
                feed.put(still, time.time())
            if len(web.streams) == 2 and 'first' in web.cameras:  # the stream below, and the page's
                web.remove_camera('first')
                web.add_camera('second', '/second/image_raw', lambda value: (value, 64, 48))
    feeder = threading.Thread(target=camera, daemon=True)
    feeder.start()
    try:
        stream = open_stream(web, 'first')
        received = b''
        while b'image/jpeg' not in received:
            received += stream.recv(65536)

        def swapped(html):
            return 'id="camera-second"' in html and 'id="camera-first"' not in html and \
                re.search(r'id="camera-second".*?class="size">64x48<', html, re.S)
        html = browse_until(swapped, web.url, tmp_path)
        assert swapped(html), html
        while not received.endswith(b'\r\n0\r\n\r\n'):  # the removed camera's stream ends: its last chunk
            received += stream.recv(65536)
        stream.close()
        assert status_code(request(web, b'GET /frame/first HTTP/1.1\r\nHost: x\r\n\r\n')) == 404
        assert status_code(request(web, b'GET /frame/second HTTP/1.1\r\nHost: x\r\n\r\n')) == 200
    finally:
        done.set()
        feeder.join()
        web.stop()
