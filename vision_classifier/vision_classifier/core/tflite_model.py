"""Viam's `tflite_cpu` ML model service: a TFLite classifier run on the CPU."""
from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
import os
from pathlib import Path
import sys
import tempfile
import threading
from typing import Any

import numpy as np

from vision_classifier.core.labels import LabelError, labels_from_metadata, numbered_labels, read_label_file
from vision_classifier.core.paths import resolve_path
from vision_classifier.core.postprocess import confidences
from vision_classifier.core.preprocess import InputError, InputSpec, Normalization, Preprocessor
from vision_classifier.core.tflite_metadata import ModelMetadata, read_metadata, TFLITE_IDENTIFIER


class ModelError(ValueError):
    """A model that cannot be used; the message names the file and the cause."""


# LiteRT's C++ logger prints this on stderr when it prepares a model; no option or variable turns it off.
LITERT_INFO = b'INFO: Created TensorFlow Lite XNNPACK delegate for CPU.'


@contextmanager
def without_litert_info() -> Iterator[None]:
    """Run the block with file descriptor 2 captured, then pass on every line but LITERT_INFO."""
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError):
        yield
        return
    with tempfile.TemporaryFile() as capture:
        os.dup2(capture.fileno(), 2)
        try:
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            capture.seek(0)
            kept = b''.join(line for line in capture if line.rstrip(b'\r\n') != LITERT_INFO)
            while kept:
                kept = kept[os.write(2, kept):]


def interpreter_class() -> type:
    """Return the Interpreter class of LiteRT, or of tflite-runtime where only that is installed."""
    try:
        from ai_edge_litert.interpreter import Interpreter
    except ImportError:
        try:
            from tflite_runtime.interpreter import Interpreter
        except ImportError:
            raise ModelError('no TFLite runtime: pip install ai-edge-litert') from None
    return Interpreter


def check_num_threads(value: Any) -> int:
    """Return `value` if it is an integer of at least 1; else raise ModelError."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ModelError(f'num_threads: expected an integer of at least 1, got {value!r}')
    return value


@dataclass(frozen=True)
class ModelConfig:
    model_path: str
    label_path: str = ''
    num_threads: int = 1
    input_image_mean_value: tuple[float, ...] = ()
    input_image_std_dev: tuple[float, ...] = ()
    input_image_bgr: bool = False

    @classmethod
    def from_parameters(cls, p: Mapping[str, Any], packages_dir: str | Path | None = None) -> ModelConfig:
        """Return the config of a classifier node's parameters (missing ones take their defaults); raise PathError."""
        label_path = p.get('label_path', '')
        return cls(model_path=resolve_path(p.get('model_path', ''), packages_dir),
                   label_path=resolve_path(label_path, packages_dir) if label_path else '',
                   num_threads=p.get('num_threads', 1),
                   input_image_mean_value=tuple(p.get('input_image_mean_value') or ()),
                   input_image_std_dev=tuple(p.get('input_image_std_dev') or ()),
                   input_image_bgr=p.get('input_image_bgr', False))

    def describe(self) -> str:
        """Return the model path and whatever differs from the defaults, for log lines."""
        extras = [f'labels {self.label_path}' if self.label_path else '',
                  f'{self.num_threads} threads' if self.num_threads != 1 else '',
                  f'mean {list(self.input_image_mean_value)}' if self.input_image_mean_value else '',
                  f'std {list(self.input_image_std_dev)}' if self.input_image_std_dev else '',
                  'bgr' if self.input_image_bgr else '']
        return ', '.join([self.model_path, *filter(None, extras)])


def _read_model_file(path):
    if not path:
        raise ModelError('model_path: required')
    file = Path(path)
    if file.is_dir():
        raise ModelError(f'model_path {path}: is a directory, not a model file')
    if not file.is_file():
        raise ModelError(f'model_path {path}: no such file')
    try:
        data = file.read_bytes()
    except OSError as e:
        raise ModelError(f'model_path {path}: cannot read: {e.strerror or e}') from None
    if len(data) < 8 or data[4:8] != TFLITE_IDENTIFIER:
        what = 'empty file' if not data else 'no TFL3 identifier'
        raise ModelError(f'model_path {path}: not a TFLite model ({what})')
    return data


def _spec(detail):
    scale, zero_point = detail.get('quantization', (0.0, 0))
    shape = detail.get('shape_signature')
    if shape is None or len(shape) == 0:
        shape = detail['shape']
    return InputSpec(tuple(int(d) for d in shape), np.dtype(detail['dtype']).type, float(scale), int(zero_point))


class TfliteCpuModel:
    """A .tflite classifier, loaded; `scores(image)` returns one confidence per label."""

    config: ModelConfig
    metadata: ModelMetadata
    preprocessor: Preprocessor
    output_size: int
    labels: list[str]

    def __init__(self, config: ModelConfig) -> None:
        self.config = config
        threads = check_num_threads(config.num_threads)
        data = _read_model_file(config.model_path)
        path = config.model_path
        try:
            with without_litert_info():
                self._interpreter = interpreter_class()(model_content=data, num_threads=threads)
                self._interpreter.allocate_tensors()
        except (ValueError, RuntimeError) as e:
            raise ModelError(f'model_path {path}: cannot load: {str(e).strip()}') from None
        inputs = self._interpreter.get_input_details()
        outputs = self._interpreter.get_output_details()
        if len(inputs) < 1:
            raise ModelError(f'model_path {path}: the model has no input')
        self._input = inputs[0]
        self._output = self._pick_output(outputs, path)
        self.metadata = read_metadata(data)
        try:
            self.preprocessor = Preprocessor(_spec(self._input), self._normalization(), config.input_image_bgr)
        except InputError as e:
            raise ModelError(f'model_path {path}: {e}') from None
        self.output_size = int(np.prod(self._output['shape']))
        self.labels = self._load_labels(data)
        self._input_shape = tuple(self._input['shape'])
        self._lock = threading.Lock()

    @staticmethod
    def _pick_output(outputs, path):
        if not outputs:
            raise ModelError(f'model_path {path}: the model has no output: expected one classification output')
        if len(outputs) == 1:
            return outputs[0]
        named = [o for o in outputs if o['name'] == 'probability']
        if len(named) == 1:
            return named[0]
        raise ModelError(f'model_path {path}: {len(outputs)} outputs and none named "probability": '
                         'expected one classification output')

    def _normalization(self):
        config, metadata = self.config, self.metadata
        try:
            if config.input_image_mean_value or config.input_image_std_dev:
                return Normalization.from_values(config.input_image_mean_value or (0.5,),
                                                 config.input_image_std_dev or (0.5,))
            if metadata.normalization_mean and metadata.normalization_std:
                return Normalization.from_pixel_scale(metadata.normalization_mean, metadata.normalization_std)
        except InputError as e:
            raise ModelError(str(e)) from None
        return Normalization()

    def _load_labels(self, data):
        if self.config.label_path:
            try:
                labels, source = read_label_file(self.config.label_path), f'label_path {self.config.label_path}'
            except LabelError as e:
                raise ModelError(str(e)) from None
        else:
            labels, source = labels_from_metadata(data, self.metadata), 'the labels in the model metadata'
            if labels is None and self.metadata.label_file_names:
                # Named but not readable: a truncated model lost its zipped labels; do not fall back to "1", "2"...
                raise ModelError(f'model_path {self.config.model_path}: the metadata names the labels file '
                                 f'{self.metadata.label_file_names[0]}, but the model holds no readable copy '
                                 '(truncated file?); set label_path')
        if labels is None:
            return numbered_labels(self.output_size)
        if len(labels) != self.output_size:
            raise ModelError(f'{source}: {len(labels)} labels, but the model outputs {self.output_size} values')
        return labels

    def summary(self) -> str:
        """Return the number of classes and the input tensor's shape and type, for log lines."""
        return (f'{len(self.labels)} classes, input {[int(d) for d in self._input["shape"]]} '
                f'{np.dtype(self._input["dtype"]).name}')

    @property
    def input_details(self) -> dict[str, Any]:
        """Return LiteRT's details of the input tensor."""
        return self._input

    @property
    def output_details(self) -> dict[str, Any]:
        """Return LiteRT's details of the output tensor the classifications come from."""
        return self._output

    def invoke(self, tensor: np.ndarray) -> np.ndarray:
        """Run the model on a prepared input tensor; return the raw output."""
        with self._lock:
            if tensor.shape != self._input_shape:
                self._interpreter.resize_tensor_input(self._input['index'], tensor.shape)
                self._interpreter.allocate_tensors()
                self._input_shape = tensor.shape
            self._interpreter.set_tensor(self._input['index'], tensor)
            self._interpreter.invoke()
            return self._interpreter.get_tensor(self._output['index'])

    def scores(self, image: np.ndarray, order: str = 'rgb') -> np.ndarray:
        """Return confidences in [0, 1], one per label, for an HxWxC uint8 image with channels in `order`."""
        return self.scores_of_tensor(self.preprocessor(image, order))

    def scores_of_tensor(self, tensor: np.ndarray) -> np.ndarray:
        """Return confidences in [0, 1], one per label, for an input tensor made by `preprocessor`."""
        raw = self.invoke(tensor)
        scale, zero_point = self._output.get('quantization', (0.0, 0))
        return confidences(raw, scale, zero_point)


def load_model(config: ModelConfig) -> TfliteCpuModel:
    """Return a TfliteCpuModel that loads, has one label per output and classifies a test frame; else ModelError."""
    model = TfliteCpuModel(config)
    try:
        scores = model.scores(np.full((16, 16, 3), 128, np.uint8))
    except (ValueError, RuntimeError) as e:
        raise ModelError(f'model_path {config.model_path}: cannot classify a test frame: {str(e).strip()}') from None
    if len(scores) != len(model.labels):
        raise ModelError(f'model_path {config.model_path}: {len(scores)} scores for {len(model.labels)} labels')
    return model
