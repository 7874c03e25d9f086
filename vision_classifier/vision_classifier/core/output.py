"""
Lines of output written whole.

One write per line, so that lines written from several threads or processes to one stream never mix within a line
(print() writes the text and the newline separately).
"""
import sys


def write_line(text, stream=None):
    """Write `text` and a newline to `stream` (default: sys.stdout) in one write, then flush."""
    stream = sys.stdout if stream is None else stream
    stream.write(f'{text}\n')
    stream.flush()
