"""
Service load: 8 clients x 10 `get_classifications` calls while a 640x480 camera stream is classified.

The classifier runs in its own process; the clients are 8 rclpy nodes in this process, each on its own thread and
executor, making its calls one after another. Every answer is compared with the same model run here in-process on
the same pixels. The stream is a camera in this process that sends its next frame as soon as the result of the one
before is back: it asks for the classifier's time as the clients do, however fast the machine, and must keep getting
it between the answers.
"""
import threading
import time

import cv2
import numpy as np
import rclpy
from rclpy.executors import SingleThreadedExecutor
from rclpy.qos import QoSProfile
from ros_helpers import image_msg, stamp_of
from sensor_msgs.msg import Image
from support import CAT_CLASSES, PHOTOS, TIMEOUT
from vision_classifier.core.image_files import read_rgb
from vision_classifier.core.tflite_model import ModelConfig, TfliteCpuModel
from vision_classifier.core.vision import VisionService
from vision_classifier_msgs.msg import Classifications
from vision_classifier_msgs.srv import GetClassifications

CLIENTS, CALLS = 8, 10
TOP = {'coffee.png': {'espresso'}, 'chelsea.png': CAT_CLASSES, 'rocket.jpg': {'missile'},
       'motorcycle_left.png': {'moped'}}
PHOTO_NAMES = sorted(TOP)
RESEND_SECONDS = 5.0  # a request or frame unanswered this long is sent again (discovery may lose the first)
# A fair executor takes the waiting frame in its next round, beside one request: about one stream result per answer
# or two. A starving one gave 1 result in ~600 answers.
ANSWERS_PER_STREAM_RESULT = 20


class Client(threading.Thread):
    """One client node making CALLS calls in a row with its own photo and n; mismatches go to `problems`."""

    def __init__(self, ros, index, pixels, photo, expected):
        super().__init__(name=f'client{index}', daemon=True)
        self.index, self.photo, self.expected = index, photo, expected
        self.n = len(expected)
        self.node = rclpy.create_node(f'load_client_{index}', context=ros.context)
        self.client = self.node.create_client(GetClassifications, '/my_classifier/get_classifications')
        self.executor = SingleThreadedExecutor(context=ros.context)
        self.executor.add_node(self.node)
        self.request = GetClassifications.Request(image=image_msg(pixels, frame_id=self.name), n=self.n)
        self.answered, self.problems, self.answer_times = 0, [], []

    def run(self):
        try:
            if not self.client.wait_for_service(timeout_sec=TIMEOUT):
                self.problems.append(f'{self.name}: service not available')
                return
            for i in range(CALLS):
                self.request.image.header.stamp.sec, self.request.image.header.stamp.nanosec = self.index, i
                response = self._call()  # serialized at once: the stamp may change after
                if response is None:
                    self.problems.append(f'{self.name} call {i}: no answer in {TIMEOUT:g} s')
                    return
                self.answer_times.append(time.monotonic())
                self._check(i, response)
                self.answered += 1
        except Exception as e:  # reported by the test, not lost in the thread
            self.problems.append(f'{self.name}: {e!r}')

    def _call(self):
        """Return the first answer to the request, sent again while unanswered; None after TIMEOUT."""
        deadline, sent = time.monotonic() + TIMEOUT, []
        while time.monotonic() < deadline and not any(f.done() for f in sent):
            sent.append(self.client.call_async(self.request))
            resend_at = min(deadline, time.monotonic() + RESEND_SECONDS)
            while time.monotonic() < resend_at and not any(f.done() for f in sent):
                self.executor.spin_once(timeout_sec=0.05)
        for future in sent:
            if not future.done():
                self.client.remove_pending_request(future)
        return next((f.result() for f in sent if f.done()), None)

    def _check(self, i, response):
        got = [(c.class_name, c.confidence) for c in response.classifications]
        if not response.success or response.error:
            self.problems.append(f'{self.name} call {i}: failed: {response.error}')
        elif stamp_of(response) != (self.index, i) or response.header.frame_id != self.name:
            self.problems.append(f'{self.name} call {i}: answer for {stamp_of(response)} {response.header.frame_id}')
        elif len(got) != self.n or got[0][0] not in TOP[self.photo]:
            self.problems.append(f'{self.name} call {i} ({self.photo}, n={self.n}): {got}')
        elif [name for name, _ in got] != [c.class_name for c in self.expected] or any(
                abs(confidence - c.confidence) > 1e-6 for (_, confidence), c in zip(got, self.expected)):
            self.problems.append(f'{self.name} call {i}: {got} differs from the in-process {self.expected}')

    def close(self):
        self.executor.shutdown()
        self.node.destroy_node()


class Stream(threading.Thread):
    """A camera that publishes its next frame when the result of the one before arrives (or again after a while)."""

    def __init__(self, ros, pixels):
        super().__init__(name='stream', daemon=True)
        self.node = rclpy.create_node('load_stream', context=ros.context)
        self.publisher = self.node.create_publisher(Image, '/cam/image_raw', QoSProfile(depth=1))
        self.node.create_subscription(Classifications, '/my_classifier/classifications', self._on_result, 100)
        self.executor = SingleThreadedExecutor(context=ros.context)
        self.executor.add_node(self.node)
        self.msg = image_msg(pixels, frame_id='cam')
        self.results = []  # (arrival time, result)
        self.sent_at, self.stopping = 0.0, threading.Event()

    def _publish(self, frame):
        self.msg.header.stamp.sec = frame
        self.publisher.publish(self.msg)
        self.sent_at = time.monotonic()

    def _on_result(self, msg):
        self.results.append((time.monotonic(), msg))
        if msg.header.stamp.sec == self.msg.header.stamp.sec:
            self._publish(self.msg.header.stamp.sec + 1)

    def run(self):
        self._publish(1)
        while not self.stopping.is_set():
            self.executor.spin_once(timeout_sec=0.05)
            if time.monotonic() - self.sent_at > RESEND_SECONDS:
                self._publish(self.msg.header.stamp.sec)

    def close(self):
        self.stopping.set()
        self.join(TIMEOUT)
        self.executor.shutdown()
        self.node.destroy_node()


def test_eight_clients_10_calls_each_while_the_stream_keeps_flowing(ros, start_node, default_model):
    classifier = start_node('vision_classifier.nodes.classifier_node', '-r', '__node:=my_classifier',
                            '-r', 'image:=/cam/image_raw', '-p', f'model_path:={default_model}', name='classifier')

    # Small photos keep the transfer cheap; n differs per client (1 to 8), the reference is this model, here.
    service = VisionService(TfliteCpuModel(ModelConfig(default_model)))
    photos = {name: cv2.resize(read_rgb(PHOTOS / name), (320, 240), interpolation=cv2.INTER_AREA)
              for name in PHOTO_NAMES}
    clients = []
    for k in range(CLIENTS):
        photo = PHOTO_NAMES[k % len(PHOTO_NAMES)]
        clients.append(Client(ros, k, photos[photo], photo, service.classify(photos[photo], k + 1)))
    frame = np.random.default_rng(7).integers(0, 256, (480, 640, 3), dtype=np.uint8)
    stream = Stream(ros, frame)
    stream.start()
    try:
        assert ros.spin_until(lambda: len(stream.results) >= 10), classifier.log()
        first = len(stream.results)  # the stream alone, for the printed rates
        assert ros.spin_until(lambda: len(stream.results) >= first + 10), classifier.log()
        alone = 10 / (stream.results[-1][0] - stream.results[first - 1][0])
        for client in clients:
            client.start()
        assert ros.spin_until(lambda: not any(c.is_alive() for c in clients), CALLS * TIMEOUT), 'clients still calling'
    finally:
        for client in clients:
            client.join(TIMEOUT)
            client.close()
        stream.close()

    problems = [p for c in clients for p in c.problems]
    assert problems == [], f'{len(problems)} problems, first: {problems[:5]}'
    assert [c.answered for c in clients] == [CALLS] * CLIENTS
    answers = sorted(t for c in clients for t in c.answer_times)
    window = answers[-1] - answers[0]
    during = [msg for arrived, msg in stream.results if answers[0] <= arrived <= answers[-1]]
    assert all(m.header.frame_id == 'cam' and len(m.classifications) == 5 for m in during)
    assert classifier.proc.poll() is None
    print(f'\n{len(answers)} calls in {window:.2f} s ({len(answers) / window:.1f} calls/s); stream results: '
          f'{alone:.1f}/s alone, {len(during) / window:.1f}/s during the calls ({len(during)} results)')
    # Interleaved: the classifier takes the stream's frames between the answers.
    assert len(during) >= len(answers) / ANSWERS_PER_STREAM_RESULT, 'the calls starved the stream'
