"""Image fuzz over DDS: malformed images sent to the classifier and the overlay with good frames mixed in."""
import re
import time

from builtin_interfaces.msg import Time
from fuzz_cases import bad_cases, compressed_cases, encoded, good_cases, KINDS, MAX_BYTES, MODEL, order_of, SEED
import numpy as np
import pytest
from rclpy.qos import QoSProfile
from ros_helpers import call, send_until, stamp_of
from sensor_msgs.msg import Image
from std_msgs.msg import Header
from support import TIMEOUT
from vision_classifier.core.image_encoding import decode, ImageError
from vision_classifier.core.tflite_model import ModelConfig, TfliteCpuModel
from vision_classifier.core.vision import VisionService
from vision_classifier_msgs.msg import Classification, Classifications
from vision_classifier_msgs.srv import GetClassifications


def case_msg(case, stamp, frame_id='camera'):
    """Return the Image message of a fuzz case."""
    msg = Image(header=Header(stamp=Time(sec=stamp[0], nanosec=stamp[1]), frame_id=frame_id),
                encoding=case.encoding, height=case.height, width=case.width, step=case.step,
                is_bigendian=case.is_bigendian)
    msg.data = case.data
    return msg


CLASSIFIER, OVERLAY = 'vision_classifier.nodes.classifier_node', 'vision_classifier.nodes.overlay_node'
COMPRESSED_ROUNDS, COMPRESSED_BURST = 60, 10  # 600 bad compressed frames on the topic


def results_msg(stamp, *results):
    return Classifications(header=Header(stamp=Time(sec=stamp[0], nanosec=stamp[1]), frame_id='camera'),
                           classifications=[Classification(class_name=n, confidence=c) for n, c in results])


def rejected(log):
    """Return (kind, count so far) of each 'image rejected' warning in a node's log."""
    pattern = r'image rejected: .*\((\d+) (\w+) (?:faults,|in all;)'
    return [(m.group(2), int(m.group(1))) for m in re.finditer(pattern, log)]


def first_of_each_kind(cases):
    return [next(c for c in cases if c.kind == kind) for kind in KINDS]


class Fuzzer:
    """Sends images to a node under test and collects what it publishes, keyed by stamp."""

    def __init__(self, ros, process, output_type, output_topic):
        self.ros, self.process = ros, process
        self.images = ros.node.create_publisher(Image, '/fuzz/image_raw', QoSProfile(depth=100))
        self.output = {}
        self.subscription = ros.node.create_subscription(
            output_type, output_topic, lambda m: self.output.setdefault(stamp_of(m), []).append(m), 100)
        self.sent = dict.fromkeys(KINDS, 0)  # bad images sent, per kind
        self.good = {}                           # stamp -> good Case
        self.started = time.monotonic()

    def connected(self, *publishers):
        for publisher in (self.images, *publishers):
            assert self.ros.wait_for_subscriber(publisher), self.process.log()
        assert self.ros.wait_for_publisher(self.subscription), self.process.log()

    def send(self, case, stamp):
        self.images.publish(case_msg(case, stamp))
        if case.kind:
            self.sent[case.kind] += 1
        else:
            self.good[stamp] = case

    def wait_for(self, stamp):
        assert self.ros.spin_until(lambda: stamp in self.output), self.process.log()[-3000:]

    def until(self, send, done):
        """Send until `done()`: before the first answer, discovery may lose what is sent."""
        assert send_until(self.ros, send, done), f'no answer in {TIMEOUT:g} s; log:\n{self.process.log()[-3000:]}'

    def check_node(self, bad_sent, period=5.0):
        """
        Check the node is up, without a traceback, and warned of every kind of fault, rate-limited.

        At most one warning per kind per `period` s (the node's fault_log_period).
        """
        log = self.process.log()
        assert self.process.proc.poll() is None and 'Traceback' not in log, log[-3000:]
        warnings = rejected(log)
        assert {kind for kind, _ in warnings} == set(KINDS), warnings
        elapsed = time.monotonic() - self.started
        assert len(warnings) <= len(KINDS) * (elapsed / period + 1), (len(warnings), elapsed)
        assert len(warnings) < bad_sent, len(warnings)
        return warnings


CLASSIFIER_ROUNDS, CLASSIFIER_BURST = 250, 20  # 5000 bad images on the topic
SERVICE_BAD = 3000                              # and 3000 through the service, each answered


def test_classifier_classifies_every_good_frame_among_8000_malformed_ones(start_node, ros):
    process = start_node(CLASSIFIER, '-r', '__node:=fuzz_classifier', '-r', 'image:=/fuzz/image_raw',
                         '-p', f'model_path:={MODEL}', '-p', 'max_classifications:=4', name='classifier')
    fuzz = Fuzzer(ros, process, Classifications, '/fuzz_classifier/classifications')
    fuzz.connected()
    bad = bad_cases(SEED + 2, CLASSIFIER_ROUNDS * CLASSIFIER_BURST + SERVICE_BAD)
    good = good_cases(SEED + 3, CLASSIFIER_ROUNDS + 1)

    fuzz.until(lambda: fuzz.send(good[-1], (1, 0)), lambda: (1, 0) in fuzz.output)
    for i, case in enumerate(first_of_each_kind(bad)):  # each kind's first fault is logged
        fuzz.until(lambda: fuzz.send(case, (2, i)), lambda: f' {case.kind} faults, ' in process.log())
    # Bursts of bad frames, then a good one whose result comes before the next burst. The subscription keeps
    # the newest frame only, so bad frames may be dropped unseen, but never the good one that ends a burst.
    for r in range(CLASSIFIER_ROUNDS):
        for i, case in enumerate(bad[r * CLASSIFIER_BURST:(r + 1) * CLASSIFIER_BURST]):
            fuzz.send(case, (100 + r, i))
        fuzz.send(good[r], (100 + r, CLASSIFIER_BURST))
        fuzz.wait_for((100 + r, CLASSIFIER_BURST))

    assert set(fuzz.output) == set(fuzz.good), 'a result for every good frame, none for a bad one'
    assert all(len(fuzz.output[s]) == 1 for s in fuzz.good if s != (1, 0)), 'each good frame answered once'
    service = VisionService(TfliteCpuModel(ModelConfig(model_path=MODEL)))
    for stamp, case in fuzz.good.items():
        expected = [c.class_name for c in service.classify(case.pixels, 4, order_of(case.encoding))]
        got = [c.class_name for c in fuzz.output[stamp][0].classifications]
        assert got == expected, (case.encoding, case.is_bigendian, got, expected)

    # The service answers every request: each bad image gets the error decode gives for it.
    client = ros.node.create_client(GetClassifications, '/fuzz_classifier/get_classifications')
    requests = bad[CLASSIFIER_ROUNDS * CLASSIFIER_BURST:]
    # A first call sent until answered: then the service's response writer has matched this client (ros2/ros2#1253)
    assert not call(ros, client, GetClassifications.Request(image=case_msg(requests[0], (3, 0)), n=1)).success
    for start in range(0, len(requests), 8):  # 8 in flight, within the service queue's depth of 10
        chunk = requests[start:start + 8]
        futures = [client.call_async(GetClassifications.Request(image=case_msg(c, (3, start + i)), n=1))
                   for i, c in enumerate(chunk)]
        assert ros.spin_until(lambda: all(f.done() for f in futures)), process.log()[-3000:]
        for case, future in zip(chunk, futures):
            with pytest.raises(ImageError) as error:
                decode(*case.fields(), max_bytes=MAX_BYTES)
            response = future.result()
            assert not response.success and response.error == str(error.value), (case.fault, response.error)

    fuzz.check_node(sum(fuzz.sent.values()) + SERVICE_BAD)


OVERLAY_ROUNDS, OVERLAY_BURST = 1250, 4  # 5000 bad images; a burst and its good frame fit the depth of 5
OVERLAY_FAULT_PERIOD = 1.0               # the node's fault_log_period: the last check waits it out per kind


def test_overlay_annotates_every_good_frame_among_5000_malformed_ones_and_counts_each(start_node, ros):
    process = start_node(OVERLAY, '-r', '__node:=fuzz_overlay', '-r', 'image:=/fuzz/image_raw',
                         '-r', 'classifications:=/fuzz_classifier/classifications',
                         '-p', 'result_timeout:=60.0',  # results always come: no waiting frame expires
                         '-p', f'fault_log_period:={OVERLAY_FAULT_PERIOD}', name='overlay')
    fuzz = Fuzzer(ros, process, Image, '/fuzz_overlay/image')
    results = ros.node.create_publisher(Classifications, '/fuzz_classifier/classifications', QoSProfile(depth=100))
    fuzz.connected(results)
    bad = bad_cases(SEED + 5, OVERLAY_ROUNDS * OVERLAY_BURST)
    good = good_cases(SEED + 6)

    def frame_round(sec, bursts):
        """
        Send bad frames (the first with results, which must never be drawn), then a good frame and its results.

        The good frame and its results go in either order; this returns once the annotated good frame is back, so
        every frame sent was taken.
        """
        for i, case in enumerate(bursts):
            fuzz.send(case, (sec, i))
        if bursts:
            results.publish(results_msg((sec, 0), ('ghost', 0.9)))
        stamp = (sec, len(bursts))
        sends = [lambda: fuzz.send(next(good), stamp), lambda: results.publish(results_msg(stamp, ('cup', 0.5)))]
        for send in sends if sec % 2 else sends[::-1]:
            send()
        fuzz.wait_for(stamp)

    warm_up = next(good)
    fuzz.until(lambda: (fuzz.send(warm_up, (1, 0)), results.publish(results_msg((1, 0), ('cup', 0.5)))),
               lambda: (1, 0) in fuzz.output)
    for i, case in enumerate(first_of_each_kind(bad)):  # each kind's first fault is logged
        frame_round(2 + i, [case])
        assert ros.spin_until(lambda: f' {case.kind} in all; ' in process.log()), process.log()[-3000:]
    for r in range(OVERLAY_ROUNDS):
        frame_round(100 + r, bad[r * OVERLAY_BURST:(r + 1) * OVERLAY_BURST])
    # One more fault of each kind once its rate limit lets it through: the count it logs is every bad frame of
    # that kind sent, so each one was taken and rejected as that kind.
    logged = {kind: sum(k == kind for k, _ in rejected(process.log())) for kind in KINDS}
    pending = first_of_each_kind(bad)
    for sec in range(10**6, 10**6 + 300):
        frame_round(sec, pending[:OVERLAY_BURST])
        warnings = rejected(process.log())
        pending = [c for c in pending if sum(k == c.kind for k, _ in warnings) == logged[c.kind]]
        if not pending:
            break
        ros.spin_until(lambda: False, 0.1)  # pacing only: the rate limit opens a period after a kind's last warning
    assert not pending and dict(rejected(process.log())) == fuzz.sent, (rejected(process.log()), fuzz.sent)

    assert set(fuzz.output) == set(fuzz.good), 'every good frame annotated, no bad one'
    assert all(len(fuzz.output[s]) == 1 for s in fuzz.good if s != (1, 0)), 'each good frame once'
    for stamp, case in fuzz.good.items():
        encoding = 'bgr8' if order_of(case.encoding) == 'bgr' else 'rgb8'
        assert all((m.height, m.width, m.encoding) == (case.height, case.width, encoding) for m in fuzz.output[stamp])
    fuzz.check_node(sum(fuzz.sent.values()), OVERLAY_FAULT_PERIOD)


def test_classifier_classifies_every_good_jpeg_among_600_malformed_compressed_frames(start_node, ros):
    from sensor_msgs.msg import CompressedImage
    process = start_node(CLASSIFIER, '-r', '__node:=fuzz_classifier', '-r', 'image:=/fuzz/image_raw',
                         '-p', f'model_path:={MODEL}', '-p', 'image_transport:=compressed', name='classifier')
    frames = ros.node.create_publisher(CompressedImage, '/fuzz/image_raw/compressed', QoSProfile(depth=100))
    output = {}
    ros.node.create_subscription(Classifications, '/fuzz_classifier/classifications',
                                 lambda m: output.setdefault(stamp_of(m), []).append(m), 100)
    assert ros.wait_for_subscriber(frames), process.log()
    bad = compressed_cases(SEED + 9, COMPRESSED_ROUNDS * COMPRESSED_BURST)
    rng = np.random.default_rng(SEED + 10)

    def msg(data, stamp, image_format='jpeg'):
        return CompressedImage(header=Header(stamp=Time(sec=stamp[0], nanosec=stamp[1]), frame_id='camera'),
                               format=image_format, data=data)

    good = {}
    for r in range(COMPRESSED_ROUNDS):
        for i, (_, _, image_format, data) in enumerate(bad[r * COMPRESSED_BURST:(r + 1) * COMPRESSED_BURST]):
            frames.publish(msg(data, (100 + r, i), image_format))
        stamp = (100 + r, COMPRESSED_BURST)
        good[stamp] = encoded(rng, str(rng.choice(['jpeg', 'png'])))[0]
        # the first rounds may be lost to discovery
        assert send_until(ros, lambda: frames.publish(msg(good[stamp], stamp)), lambda: stamp in output), \
            process.log()[-3000:]
    assert set(output) == set(good), 'a result for every good frame, none for a bad one'
    log = process.log()
    assert process.proc.poll() is None and 'Traceback' not in log, log[-3000:]
    assert {kind for kind, _ in rejected(log)} >= {'compressed', 'too_large', 'size'}, rejected(log)
