"""
Read what a classifier needs from a TFLite flatbuffer: its TFLite metadata (normalization, label file names).

A minimal reader of the two flatbuffer schemas (tensorflow/lite/schema/schema.fbs and
tensorflow_lite_support/metadata/metadata_schema.fbs), so no TensorFlow or tflite-support is needed.
"""
from dataclasses import dataclass
import io
import struct
import zipfile

from flatbuffers import encode
from flatbuffers import number_types as N
from flatbuffers.table import Table

TFLITE_IDENTIFIER = b'TFL3'
METADATA_NAME = 'TFLITE_METADATA'
# schema.fbs field indices
_MODEL_BUFFERS, _MODEL_METADATA = 4, 6
_METADATA_NAME, _METADATA_BUFFER = 0, 1
_BUFFER_DATA, _BUFFER_OFFSET, _BUFFER_SIZE = 0, 1, 2
# metadata_schema.fbs field indices
_MM_SUBGRAPHS, _MM_ASSOCIATED_FILES = 3, 6
_SG_INPUTS, _SG_OUTPUTS = 2, 3
_TM_PROCESS_UNITS, _TM_ASSOCIATED_FILES = 4, 6
_PU_OPTIONS_TYPE, _PU_OPTIONS = 0, 1
_NORMALIZATION_OPTIONS = 1
_NORM_MEAN, _NORM_STD = 0, 1
_AF_NAME, _AF_TYPE = 0, 2
_TENSOR_AXIS_LABELS = 2


@dataclass(frozen=True)
class ModelMetadata:
    # On the 0..255 pixel scale: normalized = (pixel - mean) / std.
    normalization_mean: tuple = ()
    normalization_std: tuple = ()
    label_file_names: tuple = ()
    packed_files: tuple = ()


def _offset(table, index):
    return table.Offset(4 + 2 * index)


def _root(data):
    return Table(data, encode.Get(N.UOffsetTFlags.packer_type, data, 0))


def _subtable(table, index):
    o = _offset(table, index)
    return Table(table.Bytes, table.Indirect(o + table.Pos)) if o else None


def _tables(table, index):
    o = _offset(table, index)
    if not o:
        return []
    start = table.Vector(o)
    return [Table(table.Bytes, table.Indirect(start + 4 * k)) for k in range(table.VectorLen(o))]


def _string(table, index):
    o = _offset(table, index)
    return table.String(o + table.Pos).decode('utf-8', 'replace') if o else ''


def _scalar(table, index, flags, default):
    o = _offset(table, index)
    return table.Get(flags, o + table.Pos) if o else default


def _numbers(table, index, flags):
    o = _offset(table, index)
    return tuple(table.GetVectorAsNumpy(flags, o).tolist()) if o else ()


def _buffer_bytes(data, model, index):
    buffers = _tables(model, _MODEL_BUFFERS)
    if not 0 <= index < len(buffers):
        return b''
    buffer = buffers[index]
    o = _offset(buffer, _BUFFER_DATA)
    if o:
        start = buffer.Vector(o)
        return bytes(data[start:start + buffer.VectorLen(o)])
    offset = _scalar(buffer, _BUFFER_OFFSET, N.Uint64Flags, 0)
    size = _scalar(buffer, _BUFFER_SIZE, N.Uint64Flags, 0)
    return bytes(data[offset:offset + size]) if offset > 1 else b''


def _metadata_table(data):
    model = _root(data)
    for entry in _tables(model, _MODEL_METADATA):
        if _string(entry, _METADATA_NAME) == METADATA_NAME:
            raw = _buffer_bytes(data, model, _scalar(entry, _METADATA_BUFFER, N.Uint32Flags, 0))
            return _root(bytearray(raw)) if len(raw) >= 8 else None
    return None


def _label_files(table, index):
    return [_string(f, _AF_NAME) for f in _tables(table, index)
            if _scalar(f, _AF_TYPE, N.Int8Flags, 0) == _TENSOR_AXIS_LABELS]


def packed_files(data):
    """Return the names of the files zipped onto the end of the model (TFLite metadata's associated files)."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            return tuple(archive.namelist())
    except (zipfile.BadZipFile, OSError, ValueError):
        return ()


def read_packed_file(data, name):
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return archive.read(name)


def read_metadata(data):
    """Parse the TFLite metadata of the model bytes `data`; missing or corrupt parts come back empty."""
    try:
        return _read_metadata(bytearray(data))
    except (struct.error, IndexError, TypeError, ValueError, AttributeError, UnicodeDecodeError):
        return ModelMetadata(packed_files=packed_files(bytes(data)))


def _read_metadata(data):
    mean, std, labels = (), (), []
    table = _metadata_table(data)
    if table is not None:
        subgraphs = _tables(table, _MM_SUBGRAPHS)
        if subgraphs:
            inputs = _tables(subgraphs[0], _SG_INPUTS)
            for unit in _tables(inputs[0], _TM_PROCESS_UNITS) if inputs else []:
                if _scalar(unit, _PU_OPTIONS_TYPE, N.Uint8Flags, 0) == _NORMALIZATION_OPTIONS:
                    options = _subtable(unit, _PU_OPTIONS)
                    mean = _numbers(options, _NORM_MEAN, N.Float32Flags)
                    std = _numbers(options, _NORM_STD, N.Float32Flags)
            outputs = _tables(subgraphs[0], _SG_OUTPUTS)
            if outputs:
                labels = _label_files(outputs[0], _TM_ASSOCIATED_FILES)
        labels = labels or _label_files(table, _MM_ASSOCIATED_FILES)
    return ModelMetadata(mean, std, tuple(labels), packed_files(bytes(data)))
