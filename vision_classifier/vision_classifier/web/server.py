"""
The control tab: one read-only web page.

It shows every camera live (MJPEG), the latest classifications of each vision service and each node's rate and
latency. A front-end without rclpy: web_node feeds it.

The pipeline never waits for a browser: feeds keep only the newest frame (put() stores a reference and counts),
a frame is encoded to JPEG at most once, off the ROS threads and only when someone watches, and every client is
sent the newest frame or none. Streams and connections are capped, a client that takes no frame for
`send_timeout` seconds is dropped, and each client's unsent bytes are bounded by the socket buffer.
"""
import asyncio
from collections import deque
from concurrent.futures import ThreadPoolExecutor
import json
import logging
from pathlib import Path
import socket
import threading
import time

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError

from vision_classifier.core.parameters import MAX_STREAMS, SEND_TIMEOUT

RATE_SECONDS = 5.0        # rates count the arrivals of the last few seconds
RATE_SAMPLES = 300        # and at most this many of them
MAX_CONNECTIONS = 64      # open HTTP connections; more get 503 and are closed
STREAM_SNDBUF = 256 * 1024  # kernel send buffer of a stream's socket: what a stalled client holds there
SEND_CHECK_SECONDS = 0.5  # how often a stalled write is checked against send_timeout (which may change meanwhile)
# cameras the page shows as MJPEG; the others as refreshed snapshots (browsers open at most 6 connections per host)
PAGE_STREAMS = 4
BOUNDARY = 'frame'
PAGE = Path(__file__).with_name('page.html')


def parse_address(text, default_host='127.0.0.1'):
    """Return (host, port) of '[HOST:]PORT'; raise ValueError naming the problem."""
    host, _, port = text.strip().rpartition(':')
    host = host.strip('[]') or default_host
    if not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ValueError(f'{text!r}: expected [HOST:]PORT with a port from 0 to 65535')
    return host, int(port)


class Feed:
    """One topic's newest message with counts, rate and latency; put() is called from ROS callbacks."""

    def __init__(self, name, topic):
        self.name, self.topic = name, topic
        self.lock = threading.Lock()
        self.seq = 0
        self.value = None
        self.stamp = None       # header stamp of the newest message (s)
        self.received = None    # when it arrived (time.time())
        self.arrivals = deque(maxlen=RATE_SAMPLES)
        self.notify = None      # set by WebServer: wakes streams waiting for a newer message

    def put(self, value, stamp):
        now = time.time()
        with self.lock:
            self.seq += 1
            self.value, self.stamp, self.received = value, stamp, now
            self.arrivals.append(time.monotonic())
        if self.notify is not None:
            self.notify(self)

    def status(self):
        with self.lock:
            now = time.monotonic()
            recent = [t for t in self.arrivals if t > now - RATE_SECONDS]
            rate = (len(recent) - 1) / (recent[-1] - recent[0]) if len(recent) > 1 and recent[-1] > recent[0] else 0.0
            age = time.time() - self.received if self.received is not None else None
            latency = self.received - self.stamp if self.stamp else None
            return {'name': self.name, 'topic': self.topic, 'count': self.seq, 'rate': round(rate, 2),
                    'age': None if age is None else round(age, 3),
                    'latency': None if latency is None else round(latency, 4)}


class CameraFeed(Feed):
    """
    Images of one camera.

    `encode(value)` -> (JPEG bytes, width, height) runs in the web server's worker, at most once per new frame,
    shared by all clients; what it raises is shown as the camera's error.
    """

    def __init__(self, name, topic, encode):
        super().__init__(name, topic)
        self.encode = encode
        self.encode_lock = threading.Lock()
        self.jpeg = (0, None)   # (seq it was made from, bytes)
        self.size = None
        self.error = None
        self.encoded = 0        # frames encoded: at most one per frame received, none while nobody watches

    def newest_jpeg(self):
        with self.encode_lock:
            with self.lock:
                seq, value = self.seq, self.value
            if seq != self.jpeg[0]:
                self.encoded += 1
                try:
                    data, width, height = self.encode(value)
                    self.size, self.error = (width, height) if width else None, None
                except Exception as e:  # any image from any node: shown as the camera's error, next frame tried
                    data, self.error = None, f'{type(e).__name__}: {e}'
                self.jpeg = (seq, data)
                with self.lock:
                    if self.seq == seq:
                        self.value = None   # encoded: the raw frame is not needed any more
            return self.jpeg

    def status(self):
        s = super().status()
        s.update(size=self.size, error=self.error, encoded=self.encoded)
        return s


class ResultFeed(Feed):
    """Classifications of one vision service (or one of its cameras): value is [(class_name, confidence)]."""

    def __init__(self, name, topic):
        super().__init__(name, topic)
        self.health = None  # the classifier's own counts and latency for these results: {key: text}

    def status(self):
        s = super().status()
        with self.lock:
            s['classifications'] = [{'class_name': n, 'confidence': round(float(c), 4)} for n, c in self.value or []]
            s['stamp'] = self.stamp
        s['health'] = self.health
        return s


class _QuietMalformed(logging.Filter):
    """Malformed requests are answered 4xx and not logged; errors of our own handlers still are."""

    def filter(self, record):  # noqa: A003
        return not (record.exc_info and isinstance(record.exc_info[1], HttpProcessingError))


LOG = logging.getLogger(__name__)
LOG.addFilter(_QuietMalformed())


class _Refused(asyncio.Protocol):
    """A connection over the cap: answered 503 and closed."""

    def connection_made(self, transport):
        transport.write(b'HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n')
        transport.close()


class _Counted:
    """aiohttp's protocol of one connection, telling when the connection is lost."""

    def __init__(self, protocol, on_lost):
        self._protocol, self._on_lost = protocol, on_lost

    def __getattr__(self, name):
        return getattr(self._protocol, name)

    def connection_lost(self, exc):
        self._on_lost()
        self._protocol.connection_lost(exc)


class WebServer:
    """
    The page, `/status.json`, `/stream/<camera>` (MJPEG) and `/frame/<camera>` (newest JPEG).

    Served by aiohttp on its own thread and event loop. Cameras and vision services may be added and removed while
    it serves (the dicts are replaced, never changed, so the server's thread reads a consistent set).
    """

    def __init__(self, host='127.0.0.1', port=8080, max_streams=MAX_STREAMS, max_connections=MAX_CONNECTIONS,
                 send_timeout=SEND_TIMEOUT, title='vision_classifier'):
        self.host, self.port = host, port
        self.max_streams, self.max_connections, self.send_timeout = max_streams, max_connections, send_timeout
        self.title = title
        self.page = PAGE.read_text(encoding='utf-8').replace('{title}', title).replace(
            '{page_streams}', str(PAGE_STREAMS))
        self.cameras, self.classifiers = {}, {}
        self.streams = {}      # open stream responses -> their request's transport
        self.refused_streams = 0
        self.loop = None
        self._thread = None
        self._waiters = {}     # camera name -> future resolved by its next frame
        self._encoder = ThreadPoolExecutor(max_workers=1, thread_name_prefix='web-jpeg')
        self._stopping = False
        self._open = 0         # open connections

    def add_camera(self, name, topic, encode):
        feed = CameraFeed(name, topic, encode)
        feed.notify = self._notify_threadsafe  # nobody waits before start()
        self.cameras = {**self.cameras, name: feed}
        return feed

    def add_classifier(self, name, topic):
        feed = ResultFeed(name, topic)
        self.classifiers = {**self.classifiers, name: feed}
        return feed

    def remove_camera(self, name):
        """Remove a camera: its streams end; its frames are no longer served."""
        feed = self.cameras.get(name)
        self.cameras = {n: f for n, f in self.cameras.items() if n != name}
        if feed is not None:
            feed.notify = None
            if self.loop is not None and not self._stopping:
                self._notify_threadsafe(feed, always=True)

    def remove_classifier(self, name):
        self.classifiers = {n: f for n, f in self.classifiers.items() if n != name}

    @property
    def url(self):
        host = f'[{self.host}]' if ':' in self.host else self.host
        return f'http://{host}:{self.port}/'

    def start(self):
        """Bind and serve; raise OSError (e.g. the port is in use) from the caller's thread."""
        started = threading.Event()
        failure = []

        def serve():
            self.loop = asyncio.new_event_loop()
            try:
                self.loop.run_until_complete(self._start())
            except Exception as e:  # bind errors and the like go to start()'s caller
                failure.append(e)
                started.set()
                self.loop.close()
                return
            started.set()
            self.loop.run_forever()
            self.loop.run_until_complete(self._shutdown())
            self.loop.close()

        self._thread = threading.Thread(target=serve, name='web', daemon=True)
        self._thread.start()
        started.wait()  # serve() sets it whether it binds or fails
        if failure:
            self._thread.join()  # its loop is closed: stop() has nothing left to stop
            raise failure[0]

    def stop(self):
        if self._thread is None or not self._thread.is_alive():
            return
        self._stopping = True
        for feed in self.cameras.values():
            feed.notify = None
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(10)
        self._encoder.shutdown(wait=False)

    async def _start(self):
        app = web.Application(middlewares=[_headers])
        app.add_routes([web.get('/', self._page), web.get('/status.json', self._status),
                        web.get('/stream/{name}', self._stream, allow_head=False),
                        web.get('/frame/{name}', self._frame)])
        self._runner = web.AppRunner(app, handle_signals=False, access_log=None, keepalive_timeout=15, logger=LOG)
        await self._runner.setup()
        handler = self._runner.server

        def connection():  # counted here: a burst of connections is accepted before any connection_made runs
            if self._open >= self.max_connections:
                return _Refused()
            self._open += 1
            return _Counted(handler(), self._closed)
        self._server = await asyncio.get_running_loop().create_server(connection, self.host, self.port,
                                                                      reuse_address=True)
        self.port = self._server.sockets[0].getsockname()[1]

    def _closed(self):
        self._open -= 1

    async def _shutdown(self):
        self._server.close()
        for future in self._waiters.values():
            if not future.done():
                future.set_result(None)
        await self._runner.server.shutdown(1.0)
        await self._runner.cleanup()

    def _notify_threadsafe(self, feed, always=False):
        if always or feed.name in self._waiters:  # someone waits for this camera's next frame
            try:
                self.loop.call_soon_threadsafe(self._wake, feed.name)
            except RuntimeError:  # the loop has just closed: nobody waits any more
                pass

    def _wake(self, name):
        future = self._waiters.pop(name, None)
        if future is not None and not future.done():
            future.set_result(None)

    async def _newer_frame(self, feed, seen, timeout):
        """Wait up to `timeout` for a frame newer than `seen`; return the newest (seq, JPEG) or (seen, None)."""
        if feed.seq == seen:
            future = self._waiters.get(feed.name)
            if future is None:
                future = self._waiters[feed.name] = self.loop.create_future()
            if feed.seq == seen:  # re-checked: a frame may have come before the waiter was registered
                try:
                    await asyncio.wait_for(asyncio.shield(future), timeout)
                except asyncio.TimeoutError:
                    return seen, None
        if feed.seq == seen:
            return seen, None
        return await self.loop.run_in_executor(self._encoder, feed.newest_jpeg)

    def _camera(self, request):
        feed = self.cameras.get(request.match_info['name'])
        if feed is None:
            raise web.HTTPNotFound(text='no such camera\n')
        return feed

    async def _page(self, request):
        return web.Response(text=self.page, content_type='text/html')

    async def _status(self, request):
        body = {'title': self.title, 'time': time.time(),
                'cameras': [f.status() for f in self.cameras.values()],
                'classifiers': [f.status() for f in self.classifiers.values()],
                'streams': len(self.streams), 'max_streams': self.max_streams, 'connections': self._open,
                'refused_streams': self.refused_streams,
                'stream_buffers': [t.get_write_buffer_size() for t in self.streams.values() if t is not None]}
        return web.Response(text=json.dumps(body), content_type='application/json')

    async def _frame(self, request):
        feed = self._camera(request)
        seq, data = await self._newer_frame(feed, 0, 5.0)
        if data is None:
            raise web.HTTPServiceUnavailable(text=f'no frame from {feed.topic} yet\n', headers={'Retry-After': '1'})
        return web.Response(body=data, content_type='image/jpeg')

    async def _stream(self, request):
        feed = self._camera(request)
        if len(self.streams) >= self.max_streams:
            self.refused_streams += 1
            raise web.HTTPServiceUnavailable(text=f'at most {self.max_streams} streams\n',
                                             headers={'Retry-After': '5'})
        response = web.StreamResponse(headers={'Content-Type': f'multipart/x-mixed-replace; boundary={BOUNDARY}'})
        self.streams[response] = request.transport
        sock = request.transport.get_extra_info('socket') if request.transport else None
        if sock is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, STREAM_SNDBUF)
        try:
            await response.prepare(request)
            seen = 0
            while not self._stopping and self.cameras.get(feed.name) is feed:
                transport = request.transport
                if transport is None or transport.is_closing():
                    break
                seen, data = await self._newer_frame(feed, seen, 1.0)
                if data is None:
                    continue
                part = (f'--{BOUNDARY}\r\nContent-Type: image/jpeg\r\nContent-Length: {len(data)}\r\n\r\n'
                        .encode() + data + b'\r\n')
                if not await self._send(response, part):  # stalled client: drop it with whatever it has not taken
                    if request.transport is not None:
                        request.transport.abort()
                    break
        except (ConnectionError, RuntimeError):  # client gone (aiohttp raises ClientConnectionResetError)
            pass
        finally:
            self.streams.pop(response, None)
        return response

    async def _send(self, response, part):
        """Write `part`; return False once the client has taken nothing for send_timeout, read as it is changed."""
        began, write = self.loop.time(), asyncio.ensure_future(response.write(part))
        while not (await asyncio.wait({write}, timeout=SEND_CHECK_SECONDS))[0]:
            if self.loop.time() - began > self.send_timeout:
                write.cancel()
                return False
        write.result()  # a client gone raises here
        return True


@web.middleware
async def _headers(request, handler):
    response = await handler(request)
    response.headers['Cache-Control'] = 'no-store'
    response.headers['X-Content-Type-Options'] = 'nosniff'
    return response
