import numpy as np
import pytest
from vision_classifier.core.vision import parse_label_confidences, select, Thresholds

LABELS = ['Cat', 'dog', 'bird', 'fish']
SCORES = np.array([0.1, 0.6, 0.25, 0.05])


def names(results):
    return [c.class_name for c in results]


def test_top_n_best_first():
    assert names(select(SCORES, LABELS, 2)) == ['dog', 'bird']


@pytest.mark.parametrize('n', [0, -1])
def test_n_of_zero_or_less_returns_all_sorted(n):
    results = select(SCORES, LABELS, n)
    assert names(results) == ['dog', 'bird', 'Cat', 'fish']
    assert [c.confidence for c in results] == sorted(SCORES, reverse=True)


def test_default_minimum_confidence_filters_before_top_n():
    assert names(select(SCORES, LABELS, 0, Thresholds.create(0.2))) == ['dog', 'bird']
    assert names(select(SCORES, LABELS, 0, Thresholds.create(0.25))) == ['dog', 'bird']


def test_label_confidences_are_case_insensitive_and_drop_other_labels():
    thresholds = Thresholds.create(0.0, {'cat': 0.05, 'DOG': 0.7})
    assert names(select(SCORES, LABELS, 0, thresholds)) == ['Cat']


def test_label_confidences_take_precedence_over_default_minimum():
    thresholds = Thresholds.create(0.5, {'fish': 0.01})
    assert names(select(SCORES, LABELS, 0, thresholds)) == ['fish']


@pytest.mark.parametrize('value', [-0.1, 1.5, 'x', True])
def test_thresholds_reject_values_outside_0_to_1(value):
    with pytest.raises(ValueError, match='default_minimum_confidence'):
        Thresholds.create(value)


def test_parse_label_confidences_uses_the_last_colon():
    assert parse_label_confidences(['a:b: 0.5', 'cat:0.2', ' ']) == {'a:b': 0.5, 'cat': 0.2}
    with pytest.raises(ValueError, match='expected "label:minimum"'):
        parse_label_confidences(['cat'])


def test_thresholds_defaults_and_bounds():
    assert Thresholds.create() == Thresholds() == Thresholds(0.0, {})
    assert Thresholds.create(1.0, {'Cat': 0.0, 'dog': 1}) == Thresholds(1.0, {'cat': 0.0, 'dog': 1.0})
    with pytest.raises(ValueError, match=r'^default_minimum_confidence: expected a number from 0 to 1, got 1\.5$'):
        Thresholds.create(1.5)
    with pytest.raises(ValueError, match=r'^label_confidences\.Cat: expected a number from 0 to 1, got -1$'):
        Thresholds.create(0.0, {'Cat': -1})


def test_results_are_immutable_values():
    from dataclasses import FrozenInstanceError
    from vision_classifier.core.vision import Classification
    result = select(SCORES, LABELS, 1)[0]
    assert result == Classification('dog', 0.6) and hash(result) == hash(Classification('dog', 0.6))
    with pytest.raises(FrozenInstanceError):
        result.confidence = 1.0
    with pytest.raises(FrozenInstanceError):
        Thresholds().default_minimum_confidence = 0.5


def test_select_returns_all_by_default_and_label_confidences_need_a_label():
    assert names(select(SCORES, LABELS)) == ['dog', 'bird', 'Cat', 'fish']
    for entry in (':0.5', ' :0.5', 'cat'):
        with pytest.raises(ValueError, match=rf'^label_confidences: expected "label:minimum", got {entry!r}$'):
            parse_label_confidences([entry])
