"""Viam's `mlmodel` vision service: classifications from a model's confidences."""
from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class Classification:
    class_name: str
    confidence: float


@dataclass(frozen=True)
class Thresholds:
    default_minimum_confidence: float = 0.0
    # Per-label minimums, keys lower-cased; when set, labels not in it are dropped.
    label_confidences: dict = field(default_factory=dict)

    @classmethod
    def create(cls, default_minimum_confidence=0.0, label_confidences=None):
        def check(name, value):
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 <= value <= 1.0:
                raise ValueError(f'{name}: expected a number from 0 to 1, got {value!r}')
            return float(value)
        check('default_minimum_confidence', default_minimum_confidence)
        per_label = {str(k).strip().lower(): check(f'label_confidences.{k}', v)
                     for k, v in (label_confidences or {}).items()}
        return cls(float(default_minimum_confidence), per_label)


def parse_label_confidences(entries):
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


def select(scores, labels, n=0, thresholds=Thresholds()):
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
    return [Classification(labels[i], float(scores[i])) for i in order]


class VisionService:
    """A classifier: a model plus the thresholds; either may be replaced while it runs (`model = ...`)."""

    def __init__(self, model, thresholds=Thresholds()):
        self.model = model
        self.thresholds = thresholds

    def classify(self, image, n=0, order='rgb'):
        model = self.model  # read once: a frame started with the old model finishes with it
        return select(model.scores(image, order), model.labels, n, self.thresholds)
