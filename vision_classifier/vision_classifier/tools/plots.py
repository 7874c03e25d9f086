"""
The plots of `vision_classifier evaluate`, drawn off screen with matplotlib.

A confusion matrix per model, and precision and recall against the threshold for all models.
"""
from matplotlib.figure import Figure  # drawn by Agg, without pyplot's global state
import numpy as np

from vision_classifier.core import evaluation

THRESHOLDS = np.linspace(0.0, 1.0, 201)


def confusion_plot(result, path, max_classes):
    """
    Write `result`'s confusion matrix to `path`.

    Rows are the true classes, columns the predicted ones (`other`: a label of no class); with more than
    `max_classes` classes only the most confused ones are shown.
    """
    matrix = evaluation.confusion_matrix(result.outcomes)
    names = list(result.classes)
    title = f'{result.name}: confusion ({result.outcomes.count} images)'
    if len(names) > max_classes:
        shown = evaluation.most_confused(matrix, max_classes)
        matrix = np.hstack([matrix[np.ix_(shown, shown)], matrix[shown, -1:]])
        names = [names[i] for i in shown]
        title += f', the {max_classes} most confused of {len(result.classes)} classes'
    size = 2.5 + 0.45 * len(names)
    fig = Figure(figsize=(size + 1.0, size))
    ax = fig.subplots()
    image = ax.imshow(matrix, cmap='Blues')
    ax.set_xticks(range(len(names) + 1), [*names, 'other'], rotation=45, ha='right')
    ax.set_yticks(range(len(names)), names)
    ax.set_xlabel('predicted (best label)')
    ax.set_ylabel('true class')
    ax.set_title(title, fontsize=10)
    if len(names) <= max_classes:
        for (row, column), count in np.ndenumerate(matrix):
            if count:
                ax.text(column, row, str(count), ha='center', va='center',
                        color='white' if count > matrix.max() / 2 else 'black', fontsize=8)
    fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04)
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    return path


def precision_recall_plot(results, path, precision=None, suggestions=None):
    """
    Write precision (solid) and recall (dashed) of each result against default_minimum_confidence to `path`.

    With `precision`, its line and each model's suggested threshold (dotted) too.
    """
    fig = Figure(figsize=(7, 4.5))
    ax = fig.subplots()
    for i, result in enumerate(results):
        color = f'C{i}'
        p, r = evaluation.precision_recall_curve(result.outcomes, THRESHOLDS)
        ax.plot(THRESHOLDS, p, color=color, label=f'{result.name} precision')
        ax.plot(THRESHOLDS, r, color=color, linestyle='--', label=f'{result.name} recall')
        chosen = (suggestions or {}).get(result.name)
        if chosen is not None and chosen.default_minimum_confidence is not None:
            ax.axvline(chosen.default_minimum_confidence, color=color, linestyle=':', linewidth=1)
    if precision is not None:
        ax.axhline(precision, color='gray', linestyle=':', linewidth=1, label=f'precision {precision:g}')
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.02)
    ax.set_xlabel('default_minimum_confidence')
    ax.set_ylabel('precision, recall (best label)')
    ax.set_title('precision and recall against the threshold', fontsize=10)
    ax.legend(fontsize=8, loc='lower left')
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    return path
