"""Viam's `mlmodel` vision service: classifications from a model's confidences."""
from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np


@dataclass(frozen=True)
class Classification:
    """One result: the label and its confidence; `index` is the label's place in the model's output (-1: unknown)."""

    class_name: str
    confidence: float
    index: int = field(default=-1, repr=False, compare=False)


@dataclass(frozen=True)
class Thresholds:
    default_minimum_confidence: float = 0.0
    # Per-label minimums, keys lower-cased; when set, labels not in it are dropped.
    label_confidences: dict[str, float] = field(default_factory=dict)

    @classmethod
    def create(cls, default_minimum_confidence: float = 0.0,
               label_confidences: Mapping[str, float] | None = None) -> Thresholds:
        """Return checked thresholds (each from 0 to 1, labels lower-cased); raise ValueError naming a bad one."""
        def check(name, value):
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 <= value <= 1.0:
                raise ValueError(f'{name}: expected a number from 0 to 1, got {value!r}')
            return float(value)
        check('default_minimum_confidence', default_minimum_confidence)
        per_label = {str(k).strip().lower(): check(f'label_confidences.{k}', v)
                     for k, v in (label_confidences or {}).items()}
        return cls(float(default_minimum_confidence), per_label)


def parse_label_confidences(entries: Iterable[str]) -> dict[str, float]:
    """Return {label: minimum} from "label:minimum" strings (the last colon separates); skip blank entries."""
    result = {}
    for entry in filter(str.strip, entries):
        label, sep, value = entry.rpartition(':')
        try:
            if not sep or not label.strip():
                raise ValueError
            result[label.strip()] = float(value)
        except ValueError:
            raise ValueError(f'label_confidences: expected "label:minimum", got {entry!r}') from None
    return result


def select(scores: np.ndarray | Sequence[float], labels: Sequence[str], n: int = 0,
           thresholds: Thresholds = Thresholds()) -> list[Classification]:
    """
    Return the classifications best first, filtered like Viam, then the top n (n <= 0: all).

    Filtered by label_confidences, else by default_minimum_confidence.
    """
    scores = np.asarray(scores, dtype=np.float64)
    if thresholds.label_confidences:
        minimums = np.array([thresholds.label_confidences.get(label.lower(), np.inf) for label in labels])
        keep = np.flatnonzero(scores >= minimums)
    elif thresholds.default_minimum_confidence > 0:
        keep = np.flatnonzero(scores >= thresholds.default_minimum_confidence)
    else:
        keep = np.arange(scores.size)
    order = keep[np.argsort(-scores[keep], kind='stable')]
    if n > 0:
        order = order[:n]
    return [Classification(labels[i], float(scores[i]), int(i)) for i in order]


class Model(Protocol):
    """What VisionService needs of a model (TfliteCpuModel is one)."""

    @property
    def labels(self) -> Sequence[str]:
        """Return one label per score."""

    def scores(self, image: np.ndarray, order: str = 'rgb') -> np.ndarray:
        """Return confidences in [0, 1], one per label, for an HxWxC uint8 image with channels in `order`."""

    def scores_of_tensor(self, tensor: np.ndarray) -> np.ndarray:
        """Return the confidences for an input tensor the model's preprocessor made of an image."""


class VisionService:
    """A classifier: a model plus the thresholds; either may be replaced while it runs (`model = ...`)."""

    def __init__(self, model: Model, thresholds: Thresholds = Thresholds()) -> None:
        self.model = model
        self.thresholds = thresholds

    def classify(self, image: np.ndarray, n: int = 0, order: str = 'rgb') -> list[Classification]:
        """Return the classifications of an HxWxC uint8 image (channels in `order`), best first; n <= 0: all."""
        model = self.model  # read once: a frame started with the old model finishes with it
        return select(model.scores(image, order), model.labels, n, self.thresholds)

    def classify_tensor(self, tensor: np.ndarray, n: int = 0) -> list[Classification]:
        """Return the classifications of an input tensor made by the model's preprocessor; as `classify`."""
        model = self.model
        return select(model.scores_of_tensor(tensor), model.labels, n, self.thresholds)
