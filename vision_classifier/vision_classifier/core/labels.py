"""Class labels: from a label file, from the model's metadata, or Viam's fallback "1", "2", ..."""
from vision_classifier.core.tflite_metadata import read_packed_file


class LabelError(ValueError):
    pass


def parse_labels(text):
    """Return one label per line, in order; whitespace trimmed, blank lines skipped."""
    return [line.strip() for line in text.splitlines() if line.strip()]


def read_label_file(path):
    try:
        with open(path, 'rb') as f:
            raw = f.read()
    except OSError as e:
        raise LabelError(f'label_path {path}: cannot read: {e.strerror or e}') from None
    try:
        return parse_labels(raw.decode('utf-8-sig'))
    except UnicodeDecodeError as e:
        raise LabelError(f'label_path {path}: not UTF-8 text ({e.reason} at byte {e.start})') from None


def labels_from_metadata(model_bytes, metadata):
    """Return the labels file the model's metadata names (or the only .txt zipped in the model), else None."""
    names = [n for n in metadata.label_file_names if n in metadata.packed_files]
    if not names:
        names = [n for n in metadata.packed_files if n.lower().endswith('.txt')]
        if len(names) != 1:
            return None
    try:
        return parse_labels(read_packed_file(model_bytes, names[0]).decode('utf-8-sig'))
    except (OSError, ValueError, KeyError):
        return None


def numbered_labels(count):
    """Return Viam's documented fallback: classes read as "1", "2", and so on."""
    return [str(i) for i in range(1, count + 1)]
