"""Decompression bombs: small image files whose header claims far more pixels than max_image_bytes."""
import struct
import zlib

PNG_MAGIC = b'\x89PNG\r\n\x1a\n'


def _chunk(kind, body):
    return struct.pack('>I', len(body)) + kind + body + struct.pack('>I', zlib.crc32(kind + body))


def bomb_png(width=30000, height=30000, block=1 << 24):
    """
    Return a valid PNG of width x height black RGB pixels, a few MB for gigabytes of pixels.

    Its zlib stream is one block of deflated zeros repeated: after a full flush the compressor forgets what came
    before, so every further block of zeros compresses to the same bytes, and the stream is made in a second.
    30000 x 30000 (the default) is 2.6 MB on disk and 2.7 GB decoded.
    """
    size = (1 + 3 * width) * height  # each row: filter byte 0, then its pixels, all zero
    block = min(block, size)
    count, rest = divmod(size, block)
    deflate = zlib.compressobj(9)
    first = deflate.compress(bytes(block)) + deflate.flush(zlib.Z_FULL_FLUSH)  # with the zlib header
    again = deflate.compress(bytes(block)) + deflate.flush(zlib.Z_FULL_FLUSH)
    end = deflate.compress(bytes(rest)) + deflate.flush()
    adler = (size % 65521) << 16 | 1  # Adler-32 of `size` zero bytes
    stream = first + again * (count - 1) + end[:-4] + struct.pack('>I', adler)
    header = struct.pack('>IIBBBBB', width, height, 8, 2, 0, 0, 0)  # 8 bits, RGB
    return PNG_MAGIC + _chunk(b'IHDR', header) + _chunk(b'IDAT', stream) + _chunk(b'IEND', b'')
