"""Image fuzz: malformed `sensor_msgs/Image` fields (raw, YUV 4:2:2 and Bayer encodings) and `CompressedImage` data,
made from a fixed seed and each tagged with the ImageError kind it must give, checked against `image_encoding.decode`
and `compressed.decode_compressed` in-process; raw images are also sent over DDS to the classifier and the overlay
with good frames mixed in (compressed ones: test_compressed_input.py)."""
import itertools
import re
import resource
import string
import time
import tracemalloc
from dataclasses import dataclass

import cv2
import numpy as np
import pytest
from builtin_interfaces.msg import Time
from rclpy.qos import QoSProfile
from sensor_msgs.msg import Image
from std_msgs.msg import Header
from vision_classifier_msgs.msg import Classification, Classifications
from vision_classifier_msgs.srv import GetClassifications

from conftest import fixture_model
from ros_helpers import stamp_of
from vision_classifier.compressed import decode_compressed
from vision_classifier.image_encoding import CONVERTED, decode, DEFAULT_MAX_IMAGE_BYTES, ENCODINGS, ImageError
from vision_classifier.tflite_model import ModelConfig, TfliteCpuModel
from vision_classifier.vision import VisionService

SEED = 20240611
UINT32 = 2**32 - 1
MAX_BYTES = DEFAULT_MAX_IMAGE_BYTES  # the nodes' default max_image_bytes
KINDS = ('encoding', 'size', 'step', 'too_large', 'data_length')
SIXTEEN_BIT = {'rgb8': 'rgb16', 'bgr8': 'bgr16', 'rgba8': 'rgba16', 'bgra8': 'bgra16', 'mono8': 'mono16',
               '8UC1': '16UC1', '8UC3': '16UC3'}
UNSUPPORTED = ['YUV422', 'yuv', 'nv12', 'nv21', 'nv24', 'bayer_rggb', 'bayer_rgbg8', 'jpeg', 'png', 'RGB8', 'Mono8',
               'BGR8', ' rgb8', 'rgb8 ', 'rgb 8', 'bgr8\n', 'rgb8;', 'rgb', 'mono', '8UC',
               '8UC2', '8SC1', '8SC3', 'rgb8\u00e9', '\u753b\u50cf', 'rgb16be', 'mono16_be', 'rgba16le']
UNSUPPORTED_DEEP = ['16SC1', '16SC3', '16UC2', '16UC4', '32FC1', '32FC3', '32SC1', '64FC1', 'bayer_rggb16',
                    'bayer_gbrg16', 'mono32', 'rgb32f', 'rgba32f']
PALETTE = [(230, 20, 20), (20, 230, 20), (20, 20, 230), (128, 128, 128), (250, 250, 250), (0, 0, 0),
           (230, 230, 20), (20, 230, 230), (230, 20, 230)]
MODEL = fixture_model('with_metadata.tflite')  # 8x8 input, labels red/green/blue/gray: fast rounds


ALL_ENCODINGS = (*ENCODINGS, *CONVERTED)


def layout(encoding):
    """(bytes per pixel, bytes per channel) of a supported encoding."""
    if encoding in ENCODINGS:
        channels, depth, _ = ENCODINGS[encoding]
        return channels * depth, depth
    return CONVERTED[encoding][0], 1


def order_of(encoding):
    return ENCODINGS[encoding][2] if encoding in ENCODINGS else 'rgb'


def fit_width(encoding, width):
    """A width the encoding allows: even for YUV 4:2:2, at least 2 for Bayer."""
    if encoding in CONVERTED:
        return width + width % 2 if CONVERTED[encoding][0] == 2 else max(2, width)
    return width


def fit_height(encoding, height):
    return max(2, height) if encoding in CONVERTED and CONVERTED[encoding][0] == 1 else height


@dataclass
class Case:
    fault: str            # what was broken ('good' for a valid image)
    kind: str             # the ImageError kind decode must raise; None for a good image
    encoding: str
    height: int
    width: int
    step: int
    is_bigendian: int
    data: bytes
    pixels: np.ndarray = None  # good images: the 8-bit HxWxC pixels decode must give

    def fields(self):
        return self.encoding, self.height, self.width, self.step, self.is_bigendian, self.data

    def msg(self, stamp, frame_id='camera'):
        msg = Image(header=Header(stamp=Time(sec=stamp[0], nanosec=stamp[1]), frame_id=frame_id),
                    encoding=self.encoding, height=self.height, width=self.width, step=self.step,
                    is_bigendian=self.is_bigendian)
        msg.data = self.data
        return msg


def good_case(rng, encoding=None, max_side=24, pad=None):
    """A valid image: random size, encoding, endianness and row padding; pixels near a palette colour (raw
    encodings) or random bytes (YUV, Bayer: their pixels are OpenCV's conversion of the unpadded rows)."""
    encoding = encoding or str(rng.choice(ALL_ENCODINGS))
    height, width = (int(v) for v in rng.integers(1, max_side + 1, 2))
    height, width = fit_height(encoding, height), fit_width(encoding, width)
    big = int(rng.integers(2))
    if encoding in CONVERTED:
        pixel_bytes, code = CONVERTED[encoding]
        rows = rng.integers(0, 256, (height, width * pixel_bytes), dtype=np.uint8)
        pixels = cv2.cvtColor(rows.reshape(height, width, pixel_bytes), code)
        depth = 1
    else:
        channels, depth, order = ENCODINGS[encoding]
        colour = np.array(PALETTE[rng.integers(len(PALETTE))] + (255,))[:channels] if channels > 1 else \
            np.array([PALETTE[rng.integers(len(PALETTE))][0]])
        if order.startswith('bgr'):
            colour[:3] = colour[2::-1]
        noise = rng.integers(-15, 16, (height, width, channels))
        pixels = np.clip(colour + noise, 0, 255).astype(np.uint8)
        if depth == 1:
            rows = pixels.reshape(height, -1)
        else:  # the high byte carries the pixel, the low byte is noise
            words = (pixels.astype(np.uint16) << 8) | rng.integers(0, 256, pixels.shape, dtype=np.uint16)
            rows = words.astype('>u2' if big else '<u2').view(np.uint8).reshape(height, -1)
    pad = int(rng.integers(4)) * depth if pad is None else pad
    rows = np.hstack([rows, rng.integers(0, 256, (height, pad), dtype=np.uint8)])
    return Case('good', None, encoding, height, width, rows.shape[1], big, rows.tobytes(), pixels)


def _log_uniform(rng, low, high):
    return int(min(high, max(low, round(np.exp(rng.uniform(np.log(low), np.log(high)))))))


def _row_bytes(case):
    return case.width * layout(case.encoding)[0]


def _junk(rng, low, high):
    return rng.integers(0, 256, int(rng.integers(low, high + 1)), dtype=np.uint8).tobytes()


def _unknown_encoding(rng, c):
    c.encoding = str(rng.choice(UNSUPPORTED))


def _garbage_encoding(rng, c):
    length = _log_uniform(rng, 1, 4096)
    c.encoding = ''.join(rng.choice(list(string.printable), length))
    if c.encoding in ALL_ENCODINGS:
        c.encoding += '?'


def _empty_encoding(rng, c):
    c.encoding = ''


def _unsupported_deep(rng, c):
    c.encoding = str(rng.choice(UNSUPPORTED_DEEP))
    c.is_bigendian = int(rng.integers(2))


def _zero_size(rng, c):
    which = int(rng.integers(3))
    c.width = 0 if which != 1 else c.width
    c.height = 0 if which != 0 else c.height
    if rng.integers(2):
        c.data, c.step = b'', int(rng.integers(0, c.step + 1))


def _short_step(rng, c):
    c.step = int(rng.integers(0, _row_bytes(c)))
    c.data = _junk(rng, c.step * c.height, c.step * c.height)


def _width_grows(rng, c):
    c.width = fit_width(c.encoding, c.width + (c.step - _row_bytes(c)) // layout(c.encoding)[0]
                        + int(rng.integers(1, 1000)))


def _odd_step_16bit(rng, c):
    c.step = _row_bytes(c) + 2 * int(rng.integers(0, 4)) + 1
    c.data = _junk(rng, c.step * c.height, c.step * c.height)


def _eight_bit_data_16bit_label(rng, c):
    c.encoding = SIXTEEN_BIT[c.encoding]


def _huge_claim(rng, c):
    """Sizes far over max_image_bytes (up to the uint32 limits) backed by a few bytes."""
    pixel_bytes, depth = layout(c.encoding)
    while True:
        if rng.integers(4) == 0:
            c.width = c.height = 60000
        else:
            c.width = fit_width(c.encoding, _log_uniform(rng, 1, UINT32 // pixel_bytes - 1))
            c.height = fit_height(c.encoding, _log_uniform(rng, 1, UINT32))
        c.step = min(UINT32, _row_bytes(c) + int(rng.integers(0, 64)) * depth)
        if c.step * c.height > MAX_BYTES:
            break
    c.data = _junk(rng, 0, 64)
    c.is_bigendian = int(rng.integers(256))


def _huge_step(rng, c):
    c.step = _log_uniform(rng, max(_row_bytes(c), MAX_BYTES // c.height + 1), UINT32)
    if c.step * c.height <= MAX_BYTES:
        c.step = MAX_BYTES // c.height + 1
    c.data = _junk(rng, 0, 64)


def _claim_under_max(rng, c):
    """A claim the limit allows (1 MiB up to max_image_bytes) with a few bytes of data."""
    target = _log_uniform(rng, 2**20, MAX_BYTES)
    pixel_bytes, min_height = layout(c.encoding)[0], fit_height(c.encoding, 1)
    c.width = fit_width(c.encoding, _log_uniform(rng, 1, target // (pixel_bytes * min_height) - 2))
    c.step = _row_bytes(c)
    c.height = fit_height(c.encoding, max(1, target // c.step))
    c.data = _junk(rng, 0, 64)


def _truncated(rng, c):
    c.data = c.data[:int(rng.integers(0, len(c.data)))]


def _extra_data(rng, c):
    c.data += _junk(rng, 1, 64)


def _height_mismatch(rng, c):
    low = fit_height(c.encoding, 1)
    c.height = c.height + int(rng.integers(1, 100)) if c.height <= low or rng.integers(2) else \
        int(rng.integers(low, c.height))


def _step_grows(rng, c):
    c.step += int(rng.integers(1, 64))


def _sixteen_bit_label_double_step(rng, c):
    c.encoding, c.step = SIXTEEN_BIT[c.encoding], 2 * c.step


def _odd_width_yuv(rng, c):
    c.width += 1
    c.step = max(c.step, _row_bytes(c))
    c.data = _junk(rng, c.step * c.height, c.step * c.height)


def _bayer_one_row(rng, c):
    setattr(c, 'height' if rng.integers(2) else 'width', 1)
    c.step = max(c.step, _row_bytes(c))
    c.data = _junk(rng, c.step * c.height, c.step * c.height)


YUV = [e for e, (pixel_bytes, _) in CONVERTED.items() if pixel_bytes == 2]
BAYER = [e for e, (pixel_bytes, _) in CONVERTED.items() if pixel_bytes == 1]

# fault: (kind decode must raise, mutation, encodings of the good image it starts from; None: any)
FAULTS = {
    'unknown_encoding': ('encoding', _unknown_encoding, None),
    'garbage_encoding': ('encoding', _garbage_encoding, None),
    'empty_encoding': ('encoding', _empty_encoding, None),
    'unsupported_16_32_bit': ('encoding', _unsupported_deep, None),
    'zero_size': ('size', _zero_size, None),
    'short_step': ('step', _short_step, None),
    'width_grows': ('step', _width_grows, None),
    'odd_step_16bit': ('step', _odd_step_16bit, [e for e, (_, d, _) in ENCODINGS.items() if d == 2]),
    '8bit_data_16bit_label': ('step', _eight_bit_data_16bit_label, list(SIXTEEN_BIT)),
    'huge_claim': ('too_large', _huge_claim, None),
    'huge_step': ('too_large', _huge_step, None),
    'claim_under_max_little_data': ('data_length', _claim_under_max, None),
    'truncated': ('data_length', _truncated, None),
    'empty_data': ('data_length', lambda rng, c: setattr(c, 'data', b''), None),
    'extra_data': ('data_length', _extra_data, None),
    'height_mismatch': ('data_length', _height_mismatch, None),
    'step_grows': ('data_length', _step_grows, None),
    '16bit_label_double_step': ('data_length', _sixteen_bit_label_double_step, list(SIXTEEN_BIT)),
    'big_endian_16bit_truncated': ('data_length', _truncated, ['rgb16', 'bgr16', 'mono16', '16UC1', '16UC3']),
    'odd_width_yuv422': ('size', _odd_width_yuv, YUV),
    'bayer_one_row_or_column': ('size', _bayer_one_row, BAYER),
    'yuv_bayer_truncated': ('data_length', _truncated, YUV + BAYER),
    'yuv_bayer_huge_claim': ('too_large', _huge_claim, YUV + BAYER),
}


def bad_case(rng, fault):
    kind, mutate, encodings = FAULTS[fault]
    case = good_case(rng, str(rng.choice(encodings)) if encodings else None, max_side=16,
                     pad=0 if fault == '8bit_data_16bit_label' else None)
    if fault == 'big_endian_16bit_truncated':
        case.is_bigendian = 1
    mutate(rng, case)
    case.fault, case.kind, case.pixels = fault, kind, None
    return case


def bad_cases(seed, count):
    """`count` malformed images, the fault classes taken in turn."""
    rng = np.random.default_rng(seed)
    faults = list(FAULTS)
    return [bad_case(rng, faults[i % len(faults)]) for i in range(count)]


def good_cases(seed, count=None):
    """`count` valid images, or as many as are asked for."""
    rng = np.random.default_rng(seed)
    cases = (good_case(rng) for _ in itertools.count())
    return cases if count is None else [next(cases) for _ in range(count)]


# In-process: decode itself

def test_every_malformed_image_raises_its_image_error_and_allocates_nothing_for_its_claim():
    cases = bad_cases(SEED, 12000)
    tracemalloc.start()
    try:
        for case in cases:
            tracemalloc.reset_peak()
            before = tracemalloc.get_traced_memory()[0]
            try:
                decode(*case.fields(), max_bytes=MAX_BYTES)
            except ImageError as e:
                error = e
            else:
                pytest.fail(f'{case.fault}: accepted {case.fields()[:5]} with {len(case.data)} bytes')
            grown = tracemalloc.get_traced_memory()[1] - before
            assert error.kind == case.kind, (case.fault, case.fields()[:5], len(case.data), str(error))
            assert grown < 64 * 1024, (case.fault, case.fields()[:5], f'{grown} bytes allocated')
            assert len(str(error)) < 1000, (case.fault, str(error)[:200])
    finally:
        tracemalloc.stop()
    claims = [case.step * case.height for case in cases]
    assert sum(c > 2**30 for c in claims) > 500, 'plenty of claims over a GiB'
    assert {case.kind for case in cases} == set(KINDS)


@pytest.mark.parametrize('max_bytes', [MAX_BYTES, 2**31 - 1])
def test_huge_claims_with_ten_bytes_allocate_nothing_near_their_size(max_bytes):
    tracemalloc.start()
    try:
        for encoding, height, width in [('rgb8', 60000, 60000), ('mono8', 40000, 40000), ('rgba16', 23170, 23170),
                                        ('mono16', UINT32, 1), ('yuv422', 60000, 60000), ('bayer_bggr8', 60000, 60000)]:
            row = width * layout(encoding)[0]
            tracemalloc.reset_peak()
            before = tracemalloc.get_traced_memory()[0]
            with pytest.raises(ImageError) as error:
                decode(encoding, height, width, row, 1, bytes(10), max_bytes=max_bytes)
            assert error.value.kind == ('too_large' if row * height > max_bytes else 'data_length')
            assert tracemalloc.get_traced_memory()[1] - before < 64 * 1024
    finally:
        tracemalloc.stop()


def test_error_messages_name_the_fault():
    for case in bad_cases(SEED + 1, 500):
        with pytest.raises(ImageError) as error:
            decode(*case.fields(), max_bytes=MAX_BYTES)
        message = str(error.value)
        size = {'odd_width_yuv422': f'width {case.width} is odd: {case.encoding} packs pixels in pairs',
                'bayer_one_row_or_column': f'{case.encoding} needs at least 2x2 pixels'}
        expected = {'encoding': 'not supported', 'size': size.get(case.fault, 'width and height must be positive'),
                    'step': f'step {case.step} is ', 'too_large': 'over max_image_bytes',
                    'data_length': f'data has {len(case.data)} bytes'}[case.kind]
        assert expected in message, (case.fault, message)


def test_good_images_of_every_encoding_and_byte_order_decode_to_their_pixels():
    cases = good_cases(SEED, 2000)
    for case in cases:
        image = decode(*case.fields(), max_bytes=MAX_BYTES)
        np.testing.assert_array_equal(image.pixels, case.pixels, err_msg=f'{case.encoding} {case.is_bigendian}')
    assert {(c.encoding, c.is_bigendian) for c in cases} >= {(e, b) for e in ALL_ENCODINGS for b in (0, 1)}


# Over DDS: each node in its own process, fed on /fuzz/image_raw

CLASSIFIER, OVERLAY = 'vision_classifier.classifier_node', 'vision_classifier.overlay_node'
WAIT = 30.0  # a bound on each wait, to fail rather than hang


def results_msg(stamp, *results):
    return Classifications(header=Header(stamp=Time(sec=stamp[0], nanosec=stamp[1]), frame_id='camera'),
                           classifications=[Classification(class_name=n, confidence=c) for n, c in results])


def rejected(log):
    """(kind, count so far) of each 'image rejected' warning in a node's log."""
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
        self.sent = {kind: 0 for kind in KINDS}  # bad images sent, per kind
        self.good = {}                           # stamp -> good Case
        self.started = time.monotonic()

    def connected(self, *publishers):
        for publisher in (self.images, *publishers):
            assert self.ros.wait_for_subscriber(publisher, WAIT), self.process.log()
        assert self.ros.wait_for_publisher(self.subscription, WAIT), self.process.log()

    def send(self, case, stamp):
        self.images.publish(case.msg(stamp))
        if case.kind:
            self.sent[case.kind] += 1
        else:
            self.good[stamp] = case

    def wait_for(self, stamp):
        assert self.ros.spin_until(lambda: stamp in self.output, WAIT), self.process.log()[-3000:]

    def until(self, send, done):
        """Send until `done()`: before the first answer, discovery may lose what is sent."""
        for _ in range(int(WAIT / 0.5)):
            send()
            if self.ros.spin_until(done, 0.5):
                return
        pytest.fail(f'no answer in {WAIT} s; log:\n{self.process.log()[-3000:]}')

    def check_node(self, bad_sent, period=5.0):
        """Up, no traceback, a warning for every kind of fault, and at most one per kind per `period` s (the
        node's fault_log_period)."""
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
    assert client.wait_for_service(timeout_sec=WAIT)
    requests = bad[CLASSIFIER_ROUNDS * CLASSIFIER_BURST:]
    for start in range(0, len(requests), 8):  # 8 in flight, within the service queue's depth of 10
        chunk = requests[start:start + 8]
        futures = [client.call_async(GetClassifications.Request(image=c.msg((3, start + i)), n=1))
                   for i, c in enumerate(chunk)]
        assert ros.spin_until(lambda: all(f.done() for f in futures), WAIT), process.log()[-3000:]
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
        """Bad frames (the first with results, which must never be drawn), then a good frame and its results,
        in either order; returns once the annotated good frame is back, so every frame sent was taken."""
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
        assert ros.spin_until(lambda: f' {case.kind} in all; ' in process.log(), WAIT), process.log()[-3000:]
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


# CompressedImage data: truncated, garbage, bombs (headers claiming far more pixels than max_image_bytes)

def encoded(rng, codec):
    """A JPEG (baseline or progressive) or PNG of a random small image, and the image (BGR)."""
    height, width = (int(v) for v in rng.integers(1, 40, 2))
    bgr = rng.integers(0, 256, (height, width, 3), dtype=np.uint8)
    params = [cv2.IMWRITE_JPEG_PROGRESSIVE, int(rng.integers(2))] if codec == 'jpeg' else []
    return cv2.imencode('.jpg' if codec == 'jpeg' else '.png', bgr, params)[1].tobytes(), bgr


def with_size(data, width, height):
    """JPEG or PNG `data` whose header claims width x height (PNG: IHDR's CRC left stale)."""
    data = bytearray(data)
    if data.startswith(b'\x89PNG'):
        data[16:24] = width.to_bytes(4, 'big') + height.to_bytes(4, 'big')
        return bytes(data)
    i = 2
    while data[i + 1] not in (0xC0, 0xC2):  # to the frame header
        i += 2 + int.from_bytes(data[i + 2:i + 4], 'big')
    data[i + 5:i + 9] = height.to_bytes(2, 'big') + width.to_bytes(2, 'big')
    return bytes(data)


def _bomb(rng, data):
    limit = 65535 if data.startswith(b'\xff\xd8') else UINT32
    while True:
        width, height = _log_uniform(rng, 1, limit), _log_uniform(rng, 1, limit)
        if width * height * 3 > MAX_BYTES:
            return with_size(data, width, height)


def _flip_in_compressed_data(rng, data):
    data = bytearray(data)
    start = data.index(b'IDAT') + 8
    data[int(rng.integers(start, len(data) - 16))] ^= 0xFF
    return bytes(data)


# fault: (kinds allowed, codec of the good data it starts from, mutation of the data)
COMPRESSED_FAULTS = {
    'truncated': ({'compressed'}, None, lambda rng, d: d[:int(rng.integers(0, len(d) - 1))]),
    'empty': ({'compressed'}, None, lambda rng, d: b''),
    'garbage': ({'compressed'}, None, lambda rng, d: b'\0' + _junk(rng, 0, 5000)),
    'jpeg_magic_then_garbage': ({'compressed', 'size', 'too_large'}, 'jpeg',
                                lambda rng, d: b'\xff\xd8\xff' + _junk(rng, 0, 5000)),
    'png_magic_then_garbage': ({'compressed', 'size', 'too_large'}, 'png', lambda rng, d: d[:8] + _junk(rng, 0, 5000)),
    'no_frame_header': ({'compressed'}, 'jpeg', lambda rng, d: b'\xff\xd8\xff\xd9'),
    'png_corrupt_data': ({'compressed'}, 'png', _flip_in_compressed_data),
    'bomb': ({'too_large'}, None, _bomb),
    'zero_size': ({'size'}, None, lambda rng, d: with_size(d, 0, int(rng.integers(0, 100)))),
}


def compressed_cases(seed, count):
    """(fault, kinds allowed, format, data): the fault classes in turn."""
    rng = np.random.default_rng(seed)
    faults = list(COMPRESSED_FAULTS)
    cases = []
    for i in range(count):
        fault = faults[i % len(faults)]
        kinds, codec, mutate = COMPRESSED_FAULTS[fault]
        codec = codec or str(rng.choice(['jpeg', 'png']))
        data, _ = encoded(rng, codec)
        cases.append((fault, kinds, str(rng.choice([codec, f'rgb8; {codec} compressed bgr8', ''])), mutate(rng, data)))
    return cases


def test_every_malformed_compressed_image_raises_its_image_error_and_no_bomb_is_decoded():
    cases = compressed_cases(SEED + 7, 3000)
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    tracemalloc.start()
    try:
        for fault, kinds, format, data in cases:
            tracemalloc.reset_peak()
            before = tracemalloc.get_traced_memory()[0]
            with pytest.raises(ImageError) as error:
                decode_compressed(format, data, MAX_BYTES)
            grown = tracemalloc.get_traced_memory()[1] - before
            assert error.value.kind in kinds, (fault, format, data[:40], str(error.value))
            assert grown < 2 * len(data) + 64 * 1024, (fault, f'{grown} bytes allocated')
            assert len(str(error.value)) < 1000
    finally:
        tracemalloc.stop()
    # the bombs claim up to 12 GiB (JPEG) and 48 EiB (PNG) of pixels: none was decoded
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss_before < 100 * 1024  # KiB
    with pytest.raises(ImageError, match='compressed depth images are not supported') as error:
        decode_compressed('16UC1; compressedDepth png', cases[0][3])
    assert error.value.kind == 'encoding'


def test_good_compressed_images_decode_to_their_pixels():
    rng = np.random.default_rng(SEED + 8)
    for i in range(300):
        codec = ('jpeg', 'png')[i % 2]
        data, bgr = encoded(rng, codec)
        image = decode_compressed(f'bgr8; {codec} compressed bgr8', data, MAX_BYTES)
        assert image.order == 'bgr' and image.pixels.shape == bgr.shape
        if codec == 'png':
            np.testing.assert_array_equal(image.pixels, bgr)


COMPRESSED_ROUNDS, COMPRESSED_BURST = 60, 10  # 600 bad compressed frames on the topic


def test_classifier_classifies_every_good_jpeg_among_600_malformed_compressed_frames(start_node, ros):
    from sensor_msgs.msg import CompressedImage
    process = start_node(CLASSIFIER, '-r', '__node:=fuzz_classifier', '-r', 'image:=/fuzz/image_raw',
                         '-p', f'model_path:={MODEL}', '-p', 'image_transport:=compressed', name='classifier')
    frames = ros.node.create_publisher(CompressedImage, '/fuzz/image_raw/compressed', QoSProfile(depth=100))
    output = {}
    ros.node.create_subscription(Classifications, '/fuzz_classifier/classifications',
                                 lambda m: output.setdefault(stamp_of(m), []).append(m), 100)
    assert ros.wait_for_subscriber(frames, WAIT), process.log()
    bad = compressed_cases(SEED + 9, COMPRESSED_ROUNDS * COMPRESSED_BURST)
    rng = np.random.default_rng(SEED + 10)

    def msg(data, stamp, format='jpeg'):
        return CompressedImage(header=Header(stamp=Time(sec=stamp[0], nanosec=stamp[1]), frame_id='camera'),
                               format=format, data=data)

    good = {}
    for r in range(COMPRESSED_ROUNDS):
        for i, (_, _, format, data) in enumerate(bad[r * COMPRESSED_BURST:(r + 1) * COMPRESSED_BURST]):
            frames.publish(msg(data, (100 + r, i), format))
        stamp = (100 + r, COMPRESSED_BURST)
        good[stamp] = encoded(rng, str(rng.choice(['jpeg', 'png'])))[0]
        for _ in range(int(WAIT / 0.5)):  # the first rounds may be lost to discovery
            frames.publish(msg(good[stamp], stamp))
            if ros.spin_until(lambda: stamp in output, 0.5):
                break
        assert stamp in output, process.log()[-3000:]
    assert set(output) == set(good), 'a result for every good frame, none for a bad one'
    log = process.log()
    assert process.proc.poll() is None and 'Traceback' not in log, log[-3000:]
    assert {kind for kind, _ in rejected(log)} >= {'compressed', 'too_large', 'size'}, rejected(log)
