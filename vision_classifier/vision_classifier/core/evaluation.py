"""
Measure a classifier on labelled images (no ROS, no plotting).

Accuracy, per-class precision and recall, the confusion matrix, precision and recall against a threshold, and the
thresholds (Viam's `default_minimum_confidence` and `label_confidences`) that reach a precision. A prediction is what
the vision service reports first for an image (core.vision.select): with `default_minimum_confidence` t the best
label when its score is at least t; with `label_confidences` the best of the listed labels that reach their minimum
(other labels are dropped).
"""
from dataclasses import dataclass
import math

import numpy as np

TOP_K = 5


@dataclass(frozen=True)
class Outcomes:
    """
    A model's scores on a labelled set of images, as much as the metrics need.

    `classes` are the dataset's classes as indices of the model's `labels`, in label order (so that ties break as
    core.vision.select breaks them); `truth[i]` is the position in `classes` of image i's class; `class_scores[i, c]`
    its score of class c; `top[i]` the model's best TOP_K label indices, best first, and `top_scores[i]` their scores.
    """

    labels: tuple
    classes: np.ndarray
    truth: np.ndarray
    class_scores: np.ndarray
    top: np.ndarray
    top_scores: np.ndarray

    @classmethod
    def collect(cls, labels, classes, rows):
        """Outcomes of (truth, scores) pairs: the position in `classes` and the model's scores of one image."""
        classes = np.asarray(classes, dtype=np.int64)
        if np.any(np.diff(classes) <= 0):
            raise ValueError('classes: expected distinct label indices in increasing order')
        k = min(TOP_K, len(labels))
        truth, class_scores, top, top_scores = [], [], [], []
        for position, scores in rows:
            scores = np.asarray(scores, dtype=np.float64)
            best = np.argsort(-scores, kind='stable')[:k]
            truth.append(position)
            class_scores.append(scores[classes])
            top.append(best)
            top_scores.append(scores[best])
        count = len(truth)
        return cls(tuple(labels), classes, np.array(truth, dtype=np.int64),
                   np.array(class_scores, dtype=np.float64).reshape(count, len(classes)),
                   np.array(top, dtype=np.int64).reshape(count, k), np.array(top_scores).reshape(count, k))

    @property
    def count(self):
        return len(self.truth)

    @property
    def class_names(self):
        return [self.labels[i] for i in self.classes]


def top_k_accuracy(outcomes, k):
    """Return the share of images whose class is among the model's best k labels."""
    if not outcomes.count:
        return math.nan
    hits = outcomes.top[:, :k] == outcomes.classes[outcomes.truth][:, None]
    return float(hits.any(axis=1).mean())


def predicted_classes(outcomes):
    """Return each image's best label as a position in `classes`, -1 where it is none of the dataset's classes."""
    positions = {label: c for c, label in enumerate(outcomes.classes)}
    return np.array([positions.get(label, -1) for label in outcomes.top[:, 0]], dtype=np.int64)


def confusion_matrix(outcomes):
    """Return counts[true class, predicted class], the last column for labels that are none of the classes."""
    count = len(outcomes.classes)
    predicted = predicted_classes(outcomes)
    matrix = np.zeros((count, count + 1), dtype=np.int64)
    np.add.at(matrix, (outcomes.truth, np.where(predicted < 0, count, predicted)), 1)
    return matrix


def most_confused(matrix, n):
    """Return the positions of the n classes most often in wrong predictions, as truth or as prediction."""
    wrong = matrix[:, :-1].copy()
    np.fill_diagonal(wrong, 0)
    involvement = wrong.sum(axis=0) + wrong.sum(axis=1) + matrix[:, -1]
    order = np.argsort(-involvement, kind='stable')[:n]
    return np.sort(order)


@dataclass(frozen=True)
class ClassScore:
    precision: float   # nan when the class is never predicted
    recall: float      # nan when the class has no image
    support: int       # images of the class
    predicted: int     # images predicted as the class


def per_class(truth, predicted, count):
    """Return the ClassScore of `count` classes from true and predicted positions (-1: none or another)."""
    scores = []
    for c in range(count):
        hits = int(np.sum((predicted == c) & (truth == c)))
        support, made = int(np.sum(truth == c)), int(np.sum(predicted == c))
        scores.append(ClassScore(hits / made if made else math.nan, hits / support if support else math.nan,
                                 support, made))
    return scores


def most_wrong(outcomes, n):
    """Return the indices of at most n wrongly predicted images, the most confident mistakes first."""
    wrong = np.flatnonzero(outcomes.top[:, 0] != outcomes.classes[outcomes.truth])
    return wrong[np.argsort(-outcomes.top_scores[wrong, 0], kind='stable')][:n]


def default_threshold_predictions(outcomes, threshold):
    """Return per image (reported, correct) with `default_minimum_confidence` = threshold."""
    reported = outcomes.top_scores[:, 0] >= threshold
    return reported, reported & (outcomes.top[:, 0] == outcomes.classes[outcomes.truth])


def precision_recall_curve(outcomes, thresholds):
    """Return (precision, recall) arrays over `thresholds` as `default_minimum_confidence` (nan: none reported)."""
    precision, recall = [], []
    for threshold in thresholds:
        reported, correct = default_threshold_predictions(outcomes, threshold)
        precision.append(correct.sum() / reported.sum() if reported.any() else math.nan)
        recall.append(correct.sum() / outcomes.count if outcomes.count else math.nan)
    return np.array(precision), np.array(recall)


def label_confidence_predictions(outcomes, minimums):
    """
    Return the position in `classes` of what is reported first for each image, -1 where nothing is.

    `minimums` are the `label_confidences`, one per class (inf: not listed).
    """
    passing = outcomes.class_scores >= np.asarray(minimums)[None, :]
    masked = np.where(passing, outcomes.class_scores, -np.inf)
    best = np.argmax(masked, axis=1)  # the first of equal scores: the lowest label index, as select()
    return np.where(passing.any(axis=1), best, -1)


def shortest_between(low, high):
    """Return the number with the fewest decimals in (low, high]: a threshold that keeps `high`, drops `low`."""
    for digits in range(18):
        value = math.floor(high * 10 ** digits) / 10 ** digits
        if low < value <= high:
            return value
    return high


def _lowest_reaching(scores, correct, precision, floor):
    """
    Return the lowest score s >= floor at which the images scoring at least s are right `precision` of the time.

    inf when there is none.
    """
    order = np.argsort(-scores, kind='stable')
    scores, correct = scores[order], correct[order]
    hits = np.cumsum(correct)
    made = np.arange(1, len(scores) + 1)
    # only the last of equal scores counts: a threshold keeps all of them
    last = np.append(scores[1:] != scores[:-1], True) if len(scores) else np.array([], dtype=bool)
    ok = last & (hits >= precision * made - 1e-12) & (scores >= floor)
    return float(scores[ok].min()) if ok.any() else math.inf


def _decimal(threshold, scores):
    """Return `threshold` (one of `scores`, or inf) as a short decimal that splits `scores` as it does."""
    if math.isinf(threshold):
        return threshold
    below = scores[scores < threshold]
    return shortest_between(float(below.max()) if below.size else -math.inf, threshold)


@dataclass(frozen=True)
class Suggestion:
    """
    Thresholds that reach a precision on the data.

    `default_minimum_confidence` (None: none reaches it) with its overall precision and recall, and
    `label_confidences` (classes that cannot reach it are left out: never reported) with each class's ClassScore
    under them.
    """

    precision: float
    default_minimum_confidence: float
    default_scores: tuple     # (precision, recall) with default_minimum_confidence
    label_confidences: dict   # class name: minimum
    class_scores: tuple       # ClassScore per class, with label_confidences


def suggest(outcomes, precision):
    """Return the thresholds at the highest recall that reach `precision` on these outcomes (a Suggestion)."""
    if not 0.0 <= precision <= 1.0:
        raise ValueError(f'precision: expected a number from 0 to 1, got {precision!r}')
    top_scores = outcomes.top_scores[:, 0]
    _, correct = default_threshold_predictions(outcomes, 0.0)
    default = _decimal(_lowest_reaching(top_scores, correct, precision, 0.0), top_scores)
    if math.isinf(default):
        default, default_scores = None, (math.nan, 0.0)
    else:
        precision_at, recall_at = precision_recall_curve(outcomes, [default])
        default_scores = (float(precision_at[0]), float(recall_at[0]))
    minimums = _label_minimums(outcomes, precision)
    minimums = [_decimal(m, outcomes.class_scores[:, c]) for c, m in enumerate(minimums)]
    predicted = label_confidence_predictions(outcomes, minimums)
    names = outcomes.class_names
    return Suggestion(precision, default, default_scores,
                      {names[c]: m for c, m in enumerate(minimums) if not math.isinf(m)},
                      tuple(per_class(outcomes.truth, predicted, len(names))))


def _label_minimums(outcomes, precision):
    """
    Return one minimum per class (inf: left out) at which every class reaches `precision`.

    All start at 0; each class's minimum is raised to the lowest score at which its own predictions (the images it
    wins when it passes, given the other minimums) reach the precision, until none changes. Minimums only rise, so
    this ends; a class whose predictions cannot reach the precision gets inf.
    """
    scores, truth = outcomes.class_scores, outcomes.truth
    count = scores.shape[1]
    minimums = np.zeros(count)
    changed = True
    while changed:
        changed = False
        for c in range(count):
            others = np.where(scores >= minimums[None, :], scores, -np.inf)
            others[:, c] = -np.inf
            best = np.argmax(others, axis=1)
            best_score = others[np.arange(len(truth)), best]
            wins = (scores[:, c] > best_score) | ((scores[:, c] == best_score) & (c < best))
            if not wins.any():  # nothing to judge yet: it may win images once other minimums rise
                continue
            minimum = _lowest_reaching(scores[wins, c], truth[wins] == c, precision, minimums[c])
            if minimum > minimums[c]:
                minimums[c] = minimum
                changed = True
    return minimums
