"""
The metrics and the threshold search of `evaluate` (core.evaluation).

They are checked against core.vision.select: the rule the vision service reports by.
"""
import math

import numpy as np
import pytest

from vision_classifier.core import evaluation
from vision_classifier.core.vision import select, Thresholds

LABELS = ['cat', 'dog', 'cup', 'bird', 'car']
CLASSES = [0, 1, 3]  # cat, dog, bird: the dataset's classes; cup and car are labels of no class


def outcomes_of(rows):
    return evaluation.Outcomes.collect(LABELS, CLASSES, rows)


SMALL = outcomes_of([
    (0, [0.7, 0.1, 0.1, 0.05, 0.05]),   # cat, right
    (0, [0.3, 0.1, 0.4, 0.1, 0.1]),     # cat, got cup
    (1, [0.05, 0.9, 0.0, 0.05, 0.0]),   # dog, right
    (1, [0.6, 0.3, 0.05, 0.05, 0.0]),   # dog, got cat
    (2, [0.1, 0.1, 0.1, 0.2, 0.5]),     # bird, got car
])


def test_accuracy_confusion_and_per_class_scores():
    assert evaluation.top_k_accuracy(SMALL, 1) == pytest.approx(2 / 5)
    assert evaluation.top_k_accuracy(SMALL, 2) == pytest.approx(5 / 5)
    assert list(evaluation.predicted_classes(SMALL)) == [0, -1, 1, 0, -1]
    assert evaluation.confusion_matrix(SMALL).tolist() == [[1, 0, 0, 1], [1, 1, 0, 0], [0, 0, 0, 1]]
    cat, dog, bird = evaluation.per_class(SMALL.truth, evaluation.predicted_classes(SMALL), 3)
    assert (cat.precision, cat.recall, cat.support, cat.predicted) == (0.5, 0.5, 2, 2)
    assert (dog.precision, dog.recall) == (1.0, 0.5)
    assert math.isnan(bird.precision) and bird.recall == 0.0
    assert list(evaluation.most_wrong(SMALL, 2)) == [3, 4]  # got cat at 0.6, car at 0.5
    # cat: 1 mistaken for it, 1 lost to another label; dog and bird 1 each: the first of equals
    assert list(evaluation.most_confused(evaluation.confusion_matrix(SMALL), 2)) == [0, 1]


def test_precision_and_recall_against_the_threshold():
    precision, recall = evaluation.precision_recall_curve(SMALL, [0.0, 0.55, 0.65, 0.95])
    assert precision[:3].tolist() == pytest.approx([2 / 5, 2 / 3, 2 / 2])
    assert recall[:3].tolist() == pytest.approx([2 / 5, 2 / 5, 2 / 5])
    assert math.isnan(precision[3]) and recall[3] == 0.0


@pytest.mark.parametrize('low, high, expected', [(0.31, 0.4, 0.4), (0.3921568, 0.3960784, 0.396), (-math.inf, 0.7, 0),
                                                 (0.5, 0.5000001, 0.5000001)])
def test_shortest_between_keeps_high_and_drops_low(low, high, expected):
    value = evaluation.shortest_between(low, high)
    assert low < value <= high and value == pytest.approx(expected)


def random_outcomes(seed, count=300):
    """Return scores of a noisy model: each image's class gets a boost of random size; softmax-like rows."""
    rng = np.random.default_rng(seed)
    truth = rng.integers(0, len(CLASSES), count)
    rows = []
    for t in truth:
        logits = rng.normal(0.0, 1.0, len(LABELS))
        logits[CLASSES[t]] += rng.uniform(0.0, 3.0)
        scores = np.round(np.exp(logits) / np.exp(logits).sum(), 3)  # quantized: ties happen, as uint8 models have
        rows.append((int(t), scores))
    return rows


def reported(rows, thresholds):
    """Return what the vision service reports first for each image (None: nothing), by core.vision.select."""
    first = [select(scores, LABELS, 1, thresholds) for _, scores in rows]
    return [r[0].class_name if r else None for r in first]


def precision_of(rows, names, label=None):
    made = [(name, LABELS[CLASSES[t]]) for (t, _), name in zip(rows, names) if name is not None
            and (label is None or name == label)]
    return sum(name == truth for name, truth in made) / len(made) if made else math.nan


@pytest.mark.parametrize('seed', [1, 2, 3])
@pytest.mark.parametrize('precision', [0.6, 0.8, 0.95])
def test_suggested_thresholds_reach_the_precision_as_the_vision_service_applies_them(seed, precision):
    rows = random_outcomes(seed)
    suggestion = evaluation.suggest(outcomes_of(rows), precision)

    default = suggestion.default_minimum_confidence
    assert default is not None
    names = reported(rows, Thresholds.create(default))
    assert precision_of(rows, names) >= precision
    assert suggestion.default_scores[0] == pytest.approx(precision_of(rows, names))
    # the highest recall: a threshold just below the suggested one reports more and misses the precision
    top = sorted({max(scores) for _, scores in rows if max(scores) < default})
    if top:
        assert precision_of(rows, reported(rows, Thresholds.create(top[-1]))) < precision

    assert suggestion.label_confidences, 'some classes reach it'
    names = reported(rows, Thresholds.create(0.0, suggestion.label_confidences))
    for c, label in enumerate(LABELS[i] for i in CLASSES):
        score = suggestion.class_scores[c]
        if label in suggestion.label_confidences:
            assert precision_of(rows, names, label) >= precision or math.isnan(score.precision)
            assert score.precision == pytest.approx(precision_of(rows, names, label), nan_ok=True)
        else:
            assert label not in names
    assert not {'cup', 'car'} & set(names), 'labels of no class are dropped'


def test_a_precision_nothing_reaches_is_said_so():
    rows = [(0, [0.2, 0.8, 0.0, 0.0, 0.0]), (1, [0.9, 0.1, 0.0, 0.0, 0.0])]  # both wrong, confidently
    suggestion = evaluation.suggest(outcomes_of(rows), 0.9)
    assert suggestion.default_minimum_confidence is None
    assert suggestion.label_confidences == {}


def test_collect_takes_classes_in_label_order_only():
    with pytest.raises(ValueError, match='increasing order'):
        evaluation.Outcomes.collect(LABELS, [3, 0], [])
    empty = outcomes_of([])
    assert empty.count == 0 and math.isnan(evaluation.top_k_accuracy(empty, 1))
