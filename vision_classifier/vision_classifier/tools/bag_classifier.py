"""
Classify the image topics of a rosbag2 recording offline into a new bag (the work of `vision_classifier bag`).

Every frame is classified as the classifier node classifies it; the new bag holds the recording's messages and the
results.

Frames are decoded by a pool of --num-threads threads while as many interpreters (one thread each) classify the
frames decoded before them; messages are written in the recording's order, each result right after its frame with
the frame's header and receive timestamp.
"""
from collections import Counter, deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
import math
from pathlib import Path
import queue
import signal
import sys
import tempfile
import threading
import time

from vision_classifier.core import topics
from vision_classifier.core.image_encoding import ImageError
from vision_classifier.core.output import write_line
from vision_classifier.core.parameters import CLASSIFIER
from vision_classifier.core.paths import PathError, resolve_path
from vision_classifier.core.tflite_model import load_model, ModelConfig, ModelError
from vision_classifier.core.vision import parse_label_confidences, Thresholds, VisionService
from vision_classifier.tools.bag import DEFAULT_SERVICE
from vision_classifier.tools.frames import decode_frame
from vision_classifier.tools.recording import BagError, create_writer, definition, IMAGE_TYPES, qos, Recording, \
    typestore

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)
RESULT_TYPES = {topics.CLASSIFICATIONS: 'vision_classifier_msgs/msg/Classifications',
                topics.VISION_CLASSIFICATION: 'vision_msgs/msg/Classification',
                topics.VISION_LABEL_INFO: 'vision_msgs/msg/LabelInfo'}


class UsageError(ValueError):
    """Options or a config that do not say what to classify; the message names the cause."""


@dataclass(frozen=True)
class Settings:
    """What the vision service classifies with: its name, model, thresholds and limits."""

    name: str
    model: ModelConfig
    thresholds: Thresholds
    max_classifications: int
    max_image_bytes: int


def settings(args, plan=None):
    """Return the Settings of `plan` (the translated --config) or of --model, with the options' thresholds."""
    if plan is not None:
        services = [spec for spec in plan.nodes if spec.kind == 'classifier']
        names = ', '.join(spec.name for spec in services) or 'none'
        if args.service:
            chosen = [spec for spec in services if spec.name == args.service]
            if not chosen:
                raise UsageError(f'{args.config}: no vision service named "{args.service}" (its vision services: '
                                 f'{names})')
        elif len(services) != 1:
            raise UsageError(f'{args.config}: {len(services)} vision services ({names}): choose one with --service')
        else:
            chosen = services
        name, p = chosen[0].name, chosen[0].parameters
        model = ModelConfig.from_parameters(p, args.packages_dir)
    else:
        name, p = args.service or DEFAULT_SERVICE, {}
        try:
            model = ModelConfig(resolve_path(args.model, args.packages_dir),
                                resolve_path(args.labels, args.packages_dir) if args.labels else '')
        except PathError as e:
            raise UsageError(str(e)) from None

    def option(key, value):
        return value if value is not None else p.get(key, CLASSIFIER[key].default)
    label_confidences = option('label_confidences', args.label_confidences) or []
    try:
        thresholds = Thresholds.create(option('default_minimum_confidence', args.default_minimum_confidence),
                                       parse_label_confidences(label_confidences))
    except ValueError as e:
        raise UsageError(str(e)) from None
    return Settings(name, model, thresholds, option('max_classifications', args.max_classifications),
                    p.get('max_image_bytes', CLASSIFIER['max_image_bytes'].default))


def namespaces(service, image_topics):
    """{image topic: where its results go}: /<service> for one topic, /<service>/<camera> for each of several."""
    if len(image_topics) == 1:
        return {image_topics[0]: f'/{service}'}
    found = {t: f'/{service}/{topics.camera_of_topic(t).strip("/")}' for t in image_topics}
    shared = [t for t in image_topics if list(found.values()).count(found[t]) > 1]
    if shared:
        raise UsageError(f'topics {", ".join(shared)} are one camera ({found[shared[0]]}): classify them in '
                         'separate runs')
    return found


class Results:
    """Messages of one image topic's results: ours, vision_msgs' Classification and (once) LabelInfo."""

    def __init__(self, store, writer, namespace, labels, class_id, threshold):
        self.store, self.types = store, store.types
        self.connections = {
            name: writer.add_connection(f'{namespace}/{name}', msgtype, typestore=store,
                                        offered_qos_profiles=[qos(1, True) if name == topics.VISION_LABEL_INFO
                                                              else qos()])
            for name, msgtype in RESULT_TYPES.items()}
        index = {}
        for i, label in enumerate(labels):
            index.setdefault(label, i)
        self.class_ids = {label: str(i) if class_id == 'index' else label for label, i in index.items()}
        self.labels, self.threshold, self.label_info_written = labels, threshold, False

    def write(self, writer, timestamp, header, classifications):
        t = self.types
        if not self.label_info_written:
            self.label_info_written = True
            info = t[RESULT_TYPES[topics.VISION_LABEL_INFO]](
                header=header, threshold=self.threshold,
                class_map=[t['vision_msgs/msg/VisionClass'](class_id=i, class_name=label)
                           for i, label in enumerate(self.labels[:65536])])
            self._write(writer, topics.VISION_LABEL_INFO, timestamp, info)
        ours = t[RESULT_TYPES[topics.CLASSIFICATIONS]](
            header=header, classifications=[t['vision_classifier_msgs/msg/Classification'](
                class_name=c.class_name, confidence=c.confidence) for c in classifications])
        theirs = t[RESULT_TYPES[topics.VISION_CLASSIFICATION]](
            header=header, results=[t['vision_msgs/msg/ObjectHypothesis'](
                class_id=self.class_ids[c.class_name], score=c.confidence) for c in classifications])
        self._write(writer, topics.CLASSIFICATIONS, timestamp, ours)
        self._write(writer, topics.VISION_CLASSIFICATION, timestamp, theirs)

    def _write(self, writer, name, timestamp, msg):
        writer.write(self.connections[name], timestamp, self.store.serialize_cdr(msg, RESULT_TYPES[name]))


class Classifier:
    """N interpreters classifying decoded frames while N threads decode the next ones."""

    def __init__(self, settings, threads, store):
        config = replace(settings.model, num_threads=1)
        services = [VisionService(load_model(config), settings.thresholds) for _ in range(threads)]
        self.services = queue.SimpleQueue()
        for service in services:
            self.services.put(service)
        self.model, self.settings, self.store = services[0].model, settings, store
        self.busy, self._busy_lock = 0.0, threading.Lock()  # seconds the interpreters spent classifying
        for msgtype in IMAGE_TYPES:  # rosbags makes its (de)serializers on first use: once, before the threads
            store.get_msgdef(msgtype)
        self.decoders = ThreadPoolExecutor(threads, thread_name_prefix='decode')
        self.classifiers = ThreadPoolExecutor(threads, thread_name_prefix='classify')

    def submit(self, msgtype, data):
        """Return a future of (header, classifications) of a frame's CDR data; its result() raises ImageError."""
        decoded = self.decoders.submit(self._decode, msgtype, data)
        return self.classifiers.submit(self._classify, decoded)

    def _decode(self, msgtype, data):
        """Return the frame's header and input tensor (decoded, preprocessed): the interpreters only invoke."""
        msg = self.store.deserialize_cdr(data, msgtype)
        image = decode_frame(msgtype, msg, self.settings.max_image_bytes, self.model)
        return msg.header, self.model.preprocessor(image.pixels, image.order)

    def _classify(self, decoded):
        header, tensor = decoded.result()
        service = self.services.get()
        started = time.perf_counter()
        try:
            return header, service.classify_tensor(tensor, self.settings.max_classifications)
        finally:
            took = time.perf_counter() - started
            self.services.put(service)
            with self._busy_lock:
                self.busy += took

    def close(self):
        self.decoders.shutdown(cancel_futures=True)
        self.classifiers.shutdown(cancel_futures=True)


def progress_bar(total, enabled):
    from tqdm import tqdm
    return tqdm(total=total if total >= 0 else None, unit='frames', disable=None if enabled is None else not enabled,
                file=sys.stderr, dynamic_ncols=True, smoothing=0.1,
                bar_format='{percentage:3.0f}%|{bar}| {n_fmt}/{total_fmt} frames [{elapsed}<{remaining} left, '
                           '{rate_fmt}]' if total >= 0 else None)


def run(args, plan=None):
    """Run the `bag` command; return 0 (also when interrupted), 1 (the recording was cut short) or 2 (not done)."""
    try:
        chosen = settings(args, plan)
    except (UsageError, PathError) as e:
        write_line(f'error: {e}', sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix='vision_classifier_bag_') as scratch:
        try:
            recording = Recording(args.bag, scratch)
        except BagError as e:
            write_line(f'error: {e}', sys.stderr)
            return 2
        try:
            return _classify(args, chosen, recording)
        except (BagError, UsageError, ModelError) as e:
            write_line(f'error: {e}', sys.stderr)
            return 2
        except KeyboardInterrupt:  # before the frames (while they are classified, _run stops and closes the output)
            write_line('interrupted', sys.stderr)
            return 0
        finally:
            recording.close()


def _check_topics(args, recording):
    found = recording.topics
    missing = [t for t in args.topic if t not in found]
    if missing:
        raise BagError(f'{args.bag}: no topic {", ".join(missing)}; it has {recording.describe_topics()}')
    wrong = [f'{t} is {found[t].msgtype}' for t in args.topic if found[t].msgtype not in IMAGE_TYPES]
    if wrong:
        raise BagError(f'{args.bag}: {"; ".join(wrong)}, not {" or ".join(IMAGE_TYPES)}')
    return found


def _classify(args, chosen, recording):
    for note in recording.notes:
        write_line(f'warning: {note}', sys.stderr)
    image_topics = list(dict.fromkeys(args.topic))
    found = _check_topics(args, recording)
    where = namespaces(chosen.name, image_topics)
    store = typestore()
    classifier = Classifier(chosen, args.num_threads, store)
    writer = create_writer(Path(args.out), args.format or recording.storage)
    try:
        copies = {}
        for c in recording.connections:
            key = (c.topic, c.msgtype)
            if key not in copies:
                try:
                    msgdef, digest = definition(c, store)
                except BagError as e:
                    write_line(f'warning: {e}: not copied', sys.stderr)
                    copies[key] = None
                    continue
                copies[key] = writer.add_connection(c.topic, c.msgtype, msgdef=msgdef, rihs01=digest,
                                                    serialization_format=c.ext.serialization_format,
                                                    offered_qos_profiles=c.ext.offered_qos_profiles)
        labels = classifier.model.labels
        results = {t: Results(store, writer, where[t], labels, args.class_id,
                              chosen.thresholds.default_minimum_confidence) for t in image_topics}
        counts = _run(args, recording, classifier, writer, copies, results,
                      sum(found[t].count for t in image_topics) if all(found[t].count >= 0 for t in image_topics)
                      else -1)
    finally:
        classifier.close()
        writer.close()
    _report(args, chosen, recording, where, counts)
    return 1 if recording.stops else 0


@dataclass
class Counts:
    frames: Counter
    classified: Counter
    faults: Counter
    first_fault: dict
    seconds: float
    busy: float  # share of the time the interpreters were classifying
    interrupted: bool = False


def _run(args, recording, classifier, writer, copies, results, total):
    counts = Counts(Counter(), Counter(), Counter(), {}, 0.0, 0.0)
    pending = deque()  # (connection, timestamp, data, topic, future or None), in the recording's order
    in_flight = 2 * args.num_threads + 2
    bar = progress_bar(total, args.progress)
    started = time.monotonic()

    def finish():
        connection, timestamp, data, topic, frame = pending.popleft()
        try:
            header, classifications = frame.result() if frame is not None else (None, None)
        except ImageError as e:
            header, fault = None, e
        if connection is not None:
            writer.write(connection, timestamp, data)
        if frame is None:
            return
        counts.frames[topic] += 1
        bar.update(1)
        if header is None:
            counts.faults[fault.kind] += 1
            counts.first_fault.setdefault(fault.kind, f'{topic} at {timestamp / 1e9:.3f} s: {fault}')
            return
        counts.classified[topic] += 1
        results[topic].write(writer, timestamp, header, classifications)

    # Ctrl-C or SIGTERM stops reading: the frames under way are finished and the output closed, never a frame
    # written without its result
    stop = threading.Event()
    previous = {number: signal.signal(number, lambda *_: stop.set()) for number in STOP_SIGNALS}
    try:
        frames = 0
        for connection, timestamp, data in recording.messages():
            if stop.is_set():
                break
            frame = None
            if connection.topic in results:
                frame = classifier.submit(connection.msgtype, data)
                frames += 1
            pending.append((copies[(connection.topic, connection.msgtype)], timestamp, data, connection.topic, frame))
            while pending and (frames >= in_flight or pending[0][4] is None or pending[0][4].done()):
                frames -= pending[0][4] is not None
                finish()
        while pending:
            finish()
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
        counts.interrupted = stop.is_set()
        counts.seconds = time.monotonic() - started
        counts.busy = classifier.busy / (args.num_threads * counts.seconds) if counts.seconds > 0 else 0.0
        bar.close()
    return counts


def _report(args, chosen, recording, where, counts):
    frames = sum(counts.frames.values())
    rate = frames / counts.seconds if counts.seconds > 0 else math.inf
    write_line(f'{args.bag}: {frames} frames in {counts.seconds:.1f} s ({rate:.1f} frames/s, '
               f'{args.num_threads} thread(s), interpreters busy {100 * counts.busy:.0f}% of the time), classified '
               f'by {chosen.model.model_path}')
    for topic, namespace in where.items():
        write_line(f'  {topic}: {counts.classified[topic]} of {counts.frames[topic]} frames classified: results on '
                   f'{namespace}/{topics.CLASSIFICATIONS} and {namespace}/{topics.VISION_CLASSIFICATION}')
    for kind, count in sorted(counts.faults.items()):
        write_line(f'  {count} frame(s) rejected ({kind}); the first: {counts.first_fault[kind]}')
    for stop in recording.stops:
        write_line(f'error: {stop}', sys.stderr)
    if counts.interrupted:
        write_line(f'interrupted: {args.out} holds the messages before that', sys.stderr)
    write_line(f'wrote {args.out}')
