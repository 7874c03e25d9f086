"""
Read and write rosbag2 recordings (MCAP or sqlite3) without ROS, with rosbags.

A recording cut short (a power loss while recording) is read up to where it stops: an MCAP file without its
summary and footer is scanned record by record; a sqlite3 file shorter than its header says is copied, its header's
page count set to the pages present, and the messages readable in it are copied into a new database.
"""
from dataclasses import dataclass
from pathlib import Path
import sqlite3
import struct

from rosbags.interfaces import MessageDefinitionFormat, Qos, QosDurability, QosHistory, QosLiveliness, \
    QosReliability, QosTime
from rosbags.rosbag2 import Reader, ReaderError, StoragePlugin, Writer, WriterError
from rosbags.rosbag2.storage_mcap import McapReader
from rosbags.typesys import get_types_from_idl, get_types_from_msg, get_typestore, Stores, TypesysError
from rosbags.typesys.store import Typestore

from vision_classifier.tools.frames import COMPRESSED_IMAGE, IMAGE

INTERFACES = Path(__file__).resolve().parent / 'interfaces'  # our messages' and vision_msgs' .msg files
IMAGE_TYPES = (IMAGE, COMPRESSED_IMAGE)
STORAGES = {'.mcap': 'mcap', '.db3': 'sqlite3'}
MCAP_MAGIC = b'\x89MCAP0\r\n'
SQLITE_MAGIC = b'SQLite format 3\x00'
METADATA_VERSION = 8  # rosbag2's metadata.yaml version of Jazzy, which Jazzy and Kilted read
NEVER = QosTime(0, 0)


class BagError(ValueError):
    """A path that is no readable bag, or a bag without what was asked; the message names the cause."""


def typestore():
    """Return rosbags' types of the newest ROS 2 release, with ours and vision_msgs' from the bundled .msg files."""
    store = get_typestore(Stores.LATEST)
    types, paths = {}, sorted(INTERFACES.glob('*/msg/*.msg'))
    if not paths:
        raise FileNotFoundError(f'{INTERFACES}: no .msg files: vision_classifier was installed without its data')
    for path in paths:
        types.update(get_types_from_msg(path.read_text(), f'{path.parts[-3]}/msg/{path.stem}'))
    store.register(types)
    return store


def qos(depth=10, transient_local=False):
    """Return the offered QoS of a result topic: reliable, keep last `depth`, volatile or transient_local."""
    return Qos(QosHistory.KEEP_LAST, depth, QosReliability.RELIABLE,
               QosDurability.TRANSIENT_LOCAL if transient_local else QosDurability.VOLATILE, NEVER, NEVER,
               QosLiveliness.AUTOMATIC, NEVER, False)


@dataclass(frozen=True)
class Topic:
    name: str
    msgtype: str
    count: int  # -1: unknown (a cut file)


class _CutMcapReader(McapReader):
    """rosbags' MCAP reader for a file that lacks its summary and footer: its records are scanned from the start."""

    def _open(self):
        assert self.bio
        header = self.bio.read(9)
        if header[:8] != MCAP_MAGIC or header[8:] != b'\x01':
            raise ReaderError('not an MCAP file (no MCAP magic and header record at its start)')
        (length,) = struct.unpack('<Q', self.bio.read(8))
        self.bio.seek(length, 1)
        self.data_start = self.bio.tell()
        self.data_end = self.path.stat().st_size
        try:
            self.meta_scan()  # schemas and channels; it stops at the cut
        except (ReaderError, struct.error):
            pass


def _mcap_is_cut(path):
    with open(path, 'rb') as f:
        start = f.read(8)
        f.seek(max(0, path.stat().st_size - 8))
        return start == MCAP_MAGIC and f.read(8) != MCAP_MAGIC


def _sqlite_pages(path):
    """Return (page size, pages the header counts, pages present) of a sqlite3 file, None if it is not one."""
    with open(path, 'rb') as f:
        header = f.read(100)
    if len(header) < 100 or not header.startswith(SQLITE_MAGIC):
        return None
    page_size = int.from_bytes(header[16:18], 'big')
    page_size = 65536 if page_size == 1 else page_size
    return page_size, int.from_bytes(header[28:32], 'big'), path.stat().st_size // page_size


def _rebuild_sqlite(path, scratch):
    """Copy the tables and the readable messages of a cut sqlite3 file; return (the copy, where it stopped)."""
    page_size, claimed, pages = _sqlite_pages(path)
    patched, rebuilt = scratch / f'{path.stem}.cut.db3', scratch / path.name
    with open(path, 'rb') as source, open(patched, 'wb') as copy:
        data = bytearray(source.read(page_size))
        data[28:32] = pages.to_bytes(4, 'big')
        copy.write(data)
        for _ in range(pages - 1):
            copy.write(source.read(page_size))
    read, last, cause = 0, None, ''
    cut, db = sqlite3.connect(f'file:{patched}?immutable=1', uri=True), sqlite3.connect(rebuilt)
    try:
        for name, sql in cut.execute("SELECT name, sql FROM sqlite_master WHERE type = 'table'").fetchall():
            db.execute(sql)
            if name != 'messages':
                rows = cut.execute(f'SELECT * FROM "{name}"').fetchall()
                if rows:
                    db.executemany(f'INSERT INTO "{name}" VALUES ({", ".join("?" * len(rows[0]))})', rows)
        cursor = cut.execute('SELECT id, topic_id, timestamp, data FROM messages ORDER BY id')
        try:
            for row in cursor:
                db.execute('INSERT INTO messages VALUES (?, ?, ?, ?)', row)
                read, last = read + 1, row[2]
        except sqlite3.DatabaseError as e:
            cause = str(e)
        db.execute('CREATE INDEX timestamp_idx ON messages (timestamp ASC)')
        db.commit()
    except sqlite3.DatabaseError as e:
        raise BagError(f'{path}: cut short ({pages} of its pages present) and nothing of it is readable: {e}') \
            from None
    finally:
        cut.close()
        db.close()
        patched.unlink()
    return rebuilt, _stopped(path, f'{pages} of the {claimed} pages its header counts', read, last, cause)


def _stopped(path, where, count, last, cause=''):
    """Where reading a file stopped: how much of it was there, how many messages were read, the last one's time."""
    last = f', the last recorded at {last / 1e9:.3f} s' if last is not None else ''
    return f'{path}: cut short ({where}): {count} message(s) read{last}' + (f'; then: {cause}' if cause else '')


class Recording:
    """
    A rosbag2 bag opened for reading.

    It is a folder with metadata.yaml, a folder of storage files without it, or one .mcap or .db3 file.

    `topics` are its topics; `messages(topics)` yields (topic, msgtype, timestamp, raw CDR data) in the order of
    the storage files; `stops` says, after reading, where a cut file ended.
    """

    def __init__(self, path, scratch):
        self.path, self.scratch = Path(path), Path(scratch)
        self.stops, self.notes = [], []
        self.readers = []  # (reader, storage file or None, cut: an MCAP file read record by record)
        try:
            self._open()
        except BaseException:
            self.close()
            raise
        self.storage = self._storage()
        self.connections = [c for reader, _, _ in self.readers for c in reader.connections]

    def _open(self):
        path = self.path
        if not path.exists():
            raise BagError(f'{path}: no such file or folder')
        if path.is_dir() and (path / 'metadata.yaml').is_file():
            reader = Reader(path)
            try:
                reader.open()
                self.readers.append((reader, None, False))
                return
            except ReaderError as e:
                files = [f for f in sorted(path.iterdir()) if f.suffix in STORAGES]
                if not files:
                    raise BagError(f'{path}: not a readable bag: {e}') from None
                self.notes.append(f'{path}: {str(e).rstrip(".")}; reading its storage files one by one')
        elif path.is_dir():
            files = [f for f in sorted(path.iterdir()) if f.suffix in STORAGES]
            if not files:
                raise BagError(f'{path}: not a bag: no metadata.yaml and no .mcap or .db3 file in it')
            self.notes.append(f'{path}: no metadata.yaml (a recording that was not closed?); reading '
                              + ', '.join(f.name for f in files))
        elif path.suffix in STORAGES:
            files = [path]
        else:
            raise BagError(f'{path}: not a bag: expected a bag folder (metadata.yaml and .mcap or .db3 files) or '
                           'an .mcap or .db3 file')
        for file in files:
            self._open_file(file)

    def _open_file(self, file):
        reader = Reader(file)
        try:
            reader.open()
            self.readers.append((reader, file, False))
            return
        except ReaderError as e:
            error = e
        if file.suffix == '.mcap' and _mcap_is_cut(file):
            cut = _CutMcapReader(file)
            cut.open()
            self.readers.append((cut, file, True))
            return
        pages = _sqlite_pages(file) if file.suffix == '.db3' else None
        if pages and pages[2] < pages[1]:
            rebuilt, stop = _rebuild_sqlite(file, self.scratch)
            self.stops.append(stop)
            reader = Reader(rebuilt)
            reader.open()
            self.readers.append((reader, file, False))
            return
        kind = 'MCAP' if file.suffix == '.mcap' else 'sqlite3'
        raise BagError(f'{file}: not a readable {kind} bag file: {error}')

    def _storage(self):
        files = [f for _, f, _ in self.readers if f is not None] or list(self.path.glob('*.db3*'))
        return 'sqlite3' if any('.db3' in f.name for f in files) else 'mcap'

    @property
    def topics(self):
        """{name: Topic} of every topic in the bag, by name."""
        found = {}
        cut = [reader for reader, _, is_cut in self.readers if is_cut]
        for c in self.connections:
            count = -1 if any(c.owner is reader for reader in cut) else c.msgcount
            old = found.get(c.topic)
            found[c.topic] = Topic(c.topic, c.msgtype if old is None or old.msgtype == c.msgtype else 'mixed',
                                   -1 if count < 0 or (old and old.count < 0) else count + (old.count if old else 0))
        return found

    def describe_topics(self):
        """Return the bag's topics with their types and message counts, for error messages."""
        if not self.connections:
            return 'no topics'

        def count(topic):
            return f'{topic.count} message{"s" * (topic.count != 1)}' if topic.count >= 0 else 'cut short'
        topics = sorted(self.topics.values(), key=lambda t: t.name)
        return ', '.join(f'{t.name} ({t.msgtype}, {count(t)})' for t in topics)

    def messages(self, names=None):
        """Yield (connection, timestamp, raw data) of every message (of topics `names`) in the storage order."""
        for reader, file, cut in self.readers:
            connections = [c for c in reader.connections if names is None or c.topic in names]
            if not connections:
                continue
            count, last = 0, None
            try:
                for connection, timestamp, data in reader.messages(connections):
                    count, last = count + 1, timestamp
                    yield connection, timestamp, data
            except (ReaderError, struct.error) as e:
                where = f'{file.stat().st_size} bytes, no MCAP summary or footer' if cut else 'a damaged record'
                self.stops.append(_stopped(file or self.path, where, count, last, str(e).rstrip('.')))
                continue
            if cut:
                self.stops.append(_stopped(file, f'{file.stat().st_size} bytes, no MCAP summary or footer', count,
                                           last))

    def close(self):
        for reader, _, _ in self.readers:
            reader.close()
        self.readers = []


def definition(connection, store):
    """Return (message definition, RIHS01 hash) to write a connection of another bag again; raise BagError."""
    msgdef = connection.msgdef.data if connection.msgdef.format != MessageDefinitionFormat.NONE else ''
    if msgdef and connection.digest:
        return msgdef, connection.digest
    msgtype = connection.msgtype
    if msgtype not in store.types:
        if not msgdef:
            raise BagError(f'{connection.topic}: the bag has no definition of {msgtype}, and rosbags knows none')
        parse = get_types_from_idl if connection.msgdef.format == MessageDefinitionFormat.IDL else get_types_from_msg
        store = Typestore()
        try:
            store.register(parse(msgdef, msgtype) if parse is get_types_from_msg else parse(msgdef))
        except (TypesysError, ValueError) as e:
            raise BagError(f'{connection.topic}: cannot read the definition of {msgtype}: {e}') from None
    return msgdef or store.generate_msgdef(msgtype, ros_version=2)[0], connection.digest or store.hash_rihs01(msgtype)


def create_writer(path, storage):
    """Return a rosbags Writer of a new bag at `path` in `storage` ('mcap' or 'sqlite3'), opened."""
    try:
        writer = Writer(path, version=METADATA_VERSION, storage_plugin=StoragePlugin[storage.upper()])
        writer.open()
    except (WriterError, OSError) as e:
        raise BagError(f'{path}: cannot write the output bag: {e}') from None
    return writer
