"""The HTTP side: a `ThreadingHTTPServer` (one thread per connection) whose handler checks the
token, reads at most `Service.MAX_BODY` bytes of JSON, dispatches to `api`, and answers errors as
`{"error": "one line"}` — never a traceback.

Outside /v1 it serves the browser UI's static files (`/ui/`, no token: they hold no secrets).
On a loopback address it also refuses requests whose `Host` is not a loopback name or the
server's own address: a web page whose name was rebound to 127.0.0.1 (DNS rebinding) then
cannot reach the service even as the same origin.
"""

from __future__ import annotations

import contextlib
import ipaddress
import json
import queue
import re
import socket
import sys
import threading
import traceback
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

from mattetrack import __version__
from mattetrack.errors import MatteTrackError
from mattetrack.service.api import Service
from mattetrack.service.auth import token_matches
from mattetrack.service.browser import UI_HEADERS, static_file
from mattetrack.service.errors import ApiError, service_message
from mattetrack.service.routing import Reply, json_reply

_DRAIN = 16 << 20  # bytes of an oversized body read and dropped before answering 413


# Connections served at once (each on a worker thread, for as long as it stays open: a
# keep-alive client, an event stream); more wait in the listen queue. A studio's hosts and
# browser tabs are tens of clients.
WORKERS = 64
BACKLOG = 256  # connections the kernel queues before refusing (Python's default is 5)
IDLE_S = 15.0  # a connection silent this long (between requests, or mid-request) is closed
MAX_JSON_DEPTH = 8  # the service's bodies nest 4 deep at most


class ServiceServer(ThreadingHTTPServer):
    """The server; `service` holds the state, `token` the bearer token. Connections are served
    by a bounded pool of worker threads (`WORKERS`)."""

    daemon_threads = True
    request_queue_size = BACKLOG

    def __init__(self, address: tuple[str, int], service: Service, token: str) -> None:
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        self.service = service
        self.token = token
        # Daemon workers (not an executor's, which the interpreter joins at exit: a worker
        # waiting on an idle keep-alive connection would hold a stopping server for IDLE_S).
        self._connections: queue.SimpleQueue = queue.SimpleQueue()
        super().__init__(address, _Handler)  # (a failed bind closes the server: no workers)
        for i in range(WORKERS):
            threading.Thread(target=self._work, name=f"mattetrack-http-{i}", daemon=True).start()

    def process_request(self, request, client_address) -> None:
        self._connections.put((request, client_address))

    def _work(self) -> None:
        while (item := self._connections.get()) is not None:
            self.process_request_thread(*item)

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        host = f"[{host}]" if ":" in host else host
        return f"http://{host}:{port}"

    def server_close(self) -> None:
        super().server_close()
        for _ in range(WORKERS):
            self._connections.put(None)
        self.service.close()


def make_server(service: Service, token: str, host: str = "127.0.0.1",
                port: int = 8765) -> ServiceServer:
    """A bound server (port 0: any free port; see `.url`); run it with `serve_forever()`."""
    return ServiceServer((host, port), service, token)


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def host_name(header: str) -> str:
    """The name or address of a `Host` header, without port, brackets or a trailing dot."""
    header = header.strip().lower()
    if header.startswith("["):  # [v6]:port
        return header[1:].partition("]")[0]
    if header.count(":") == 1:
        header = header.partition(":")[0]
    return header.rstrip(".")


def host_allowed(header: str | None, bound: str) -> bool:
    """Whether a request's `Host` may reach a server bound to `bound`: always when it listens
    on a non-loopback address (the token is the guard there), else only loopback names
    (localhost, *.localhost, which browsers never resolve elsewhere), loopback addresses or the
    bound address itself. A request without `Host` is not from a browser: allowed."""
    if not is_loopback(bound) or header is None:
        return True
    name = host_name(header)
    return (name == bound.lower() or name == "localhost" or name.endswith(".localhost")
            or is_loopback(name))


class _Handler(BaseHTTPRequestHandler):
    server: ServiceServer
    protocol_version = "HTTP/1.1"  # keep-alive: a host adapter's clicks reuse one connection
    server_version = f"MatteTrack/{__version__}"
    timeout = IDLE_S  # a stalled or silent client is dropped (socket timeout on every read)

    def do_GET(self) -> None:
        self._handle()

    def do_HEAD(self) -> None:  # GET's headers without its body
        self._handle()

    def do_OPTIONS(self) -> None:
        """No CORS: a page from elsewhere gets no preflight approval; the methods, as JSON."""
        self._send(Reply(204, b"", "application/json", headers={
            "Allow": "GET, HEAD, POST, PUT, DELETE, OPTIONS"}))

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """http.server's own errors (an unknown method, a malformed request line, headers too
        long) as JSON, like every other answer."""
        self.close_connection = True
        if getattr(self, "request_version", "HTTP/0.9") == "HTTP/0.9":
            self.request_version = "HTTP/1.0"  # a garbled request line: answer with headers
        with contextlib.suppress(OSError):
            self._send(json_reply({"error": message or self.responses.get(code, ("error",))[0]},
                                  code))

    def do_POST(self) -> None:
        self._handle()

    def do_DELETE(self) -> None:
        self._handle()

    def do_PUT(self) -> None:
        self._handle()

    def do_PATCH(self) -> None:
        self._handle()

    def log_message(self, format: str, *args: object) -> None:
        pass  # no access log: the server prints its start line and errors only

    def _handle(self) -> None:
        try:
            reply = self._reply()
        except ApiError as err:
            reply = json_reply({"error": str(err)}, err.status)
        except MatteTrackError as err:  # bad input found by the core: fields as JSON names them
            reply = json_reply({"error": service_message(err)}, 400)
        except Exception as err:
            print(f"mattetrack serve: {self.command} {self.path} failed:", file=sys.stderr)
            traceback.print_exc(file=sys.stderr)
            first = str(err).splitlines()[0] if str(err) else ""
            reply = json_reply({"error": f"internal error ({type(err).__name__}: {first})"}, 500)
        try:
            self._send(reply)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # the client went away

    def _reply(self) -> Reply:
        body = self._read_body()
        if not host_allowed(self.headers.get("Host"), self.server.server_address[0]):
            raise ApiError(403, f"Host {self.headers.get('Host')!r} is not this machine "
                           "(use 127.0.0.1 or localhost)")
        url = urlsplit(self.path)
        if url.path == "/" or url.path == "/ui" or url.path.startswith("/ui/"):
            return self._ui(url.path)
        if not token_matches(self.headers.get("Authorization"), self.server.token):
            raise ApiError(401, "missing or wrong token (Authorization: Bearer <token>)")
        query = dict(parse_qsl(url.query, keep_blank_values=True))
        data: dict = {}
        if body.strip():
            if _depth(body) > MAX_JSON_DEPTH:
                raise ApiError(400, f"JSON body nested over {MAX_JSON_DEPTH} levels deep")
            try:
                data = json.loads(body)
            except (ValueError, UnicodeDecodeError) as err:
                raise ApiError(400, f"malformed JSON body ({err})") from None
            if not isinstance(data, dict):
                raise ApiError(400, "the JSON body must be an object")
        method = "GET" if self.command == "HEAD" else self.command
        return self.server.service.dispatch(method, url.path.rstrip("/") or "/", query, data)

    def _ui(self, path: str) -> Reply:
        """The browser UI: `/` and `/ui` redirect to `/ui/`, `/ui/<name>` is a static file."""
        if self.command not in ("GET", "HEAD"):
            raise ApiError(405, f"{self.command} {path}: not allowed (use GET)")
        if path in ("/", "/ui"):
            # The browser keeps the URL fragment (the token) across the redirect.
            return Reply(302, b"", "text/plain", headers={"Location": "/ui/"})
        found = static_file(path.removeprefix("/ui/"))
        if found is None:
            raise ApiError(404, f"no file {path}")
        data, kind = found
        return Reply(200, data, kind, headers=dict(UI_HEADERS))

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            self.close_connection = True
            raise ApiError(400, "chunked request bodies are not accepted; send Content-Length")
        text = self.headers.get("Content-Length") or "0"
        length = int(text) if re.fullmatch(r"[0-9]{1,15}", text) else -1
        if length < 0:
            self.close_connection = True
            raise ApiError(400, f"bad Content-Length {text!r}")
        if length > Service.MAX_BODY:
            self.close_connection = True
            if length <= _DRAIN:  # read and drop it, so that the client gets to see the answer
                while length > 0:
                    chunk = self.rfile.read(min(length, 1 << 16))
                    if not chunk:
                        break
                    length -= len(chunk)
            raise ApiError(413, f"request body of {text} bytes; at most {Service.MAX_BODY}")
        return self.rfile.read(length)

    def _send(self, reply: Reply) -> None:
        self.send_response(reply.status)
        self.send_header("Content-Type", reply.content_type)
        self.send_header("Cache-Control", "no-store")
        # A JSON error or a PNG must never be sniffed into HTML by a browser.
        self.send_header("X-Content-Type-Options", "nosniff")
        for name, value in reply.headers.items():
            self.send_header(name, value)
        if reply.status == 401:
            self.send_header("WWW-Authenticate", 'Bearer realm="mattetrack"')
        if self.close_connection:
            self.send_header("Connection", "close")
        if reply.stream is None:
            self.send_header("Content-Length", str(len(reply.body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(reply.body)
            return
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        for chunk in reply.stream:
            self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            self.wfile.flush()
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()


_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"')
_BRACKETS = re.compile(rb"[\[\]{}]")


def _depth(body: bytes) -> int:
    """How deep brackets nest in a JSON text, strings skipped (checked before parsing: a body
    of 100,000 brackets would exhaust the parser's recursion)."""
    depth = deepest = 0
    for bracket in _BRACKETS.findall(_STRING.sub(b"", body)):
        depth += 1 if bracket in (b"[", b"{") else -1
        deepest = max(deepest, depth)
    return deepest
