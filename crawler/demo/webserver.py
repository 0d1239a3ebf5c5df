"""A sample web of several named hosts, served over real HTTP on a loopback address.

heed has to be shown against real sockets, real status codes and real headers: a robots.txt
that answers 503, a page that carries ``tdm-reservation: 1``, a redirect into a private
directory of another host. Nothing may touch the internet, so this module serves a whole
little web from one directory tree on 127.0.0.1::

    <root>/<hostname>/index.html          ->  http://<hostname>:<port>/
    <root>/<hostname>/tracks/a.html       ->  http://<hostname>:<port>/tracks/a.html
    <root>/<hostname>/_site.json          ->  per-path overrides (never served)

The host is picked from the ``Host`` header (port stripped, lower-cased), the way a virtual
host server does; the crawler reaches these names through ``POLICY_RESOLVE``
(:meth:`SampleWeb.resolve_map`). ``_site.json`` shapes what a static file cannot express::

    {"default_headers": {"X-Served-By": "sample"},
     "routes": {"/robots.txt": {"status": 503, "headers": {"Retry-After": "120"}},
                "/tracks/*":   {"headers": {"tdm-reservation": "1"}},
                "/go/away":    {"status": 302, "headers": {"Location": "http://b.test:{port}/"}},
                "/slow":       {"delay": 3, "body": "late"}}}

A ``Range: bytes=…`` request for a 200 answer gets ``206 Partial Content`` with
``Content-Range`` (a single range; ``416`` outside the body), unless the route's headers
say ``Accept-Ranges: none``, which makes the server ignore ``Range`` like one without range
support.

A route key is an exact path, or a prefix ending in ``*`` (exact beats prefix, longer prefix
beats shorter). A route may set ``status``, ``headers`` (a list value sends several header
lines), ``body`` (text), ``content_type``, ``delay`` (seconds) and ``conditional`` (see
below). ``{port}`` and ``{host}`` in header values and bodies are replaced by the server's
port and the requested host, so a redirect can point at another sample host.

A file served with ``200`` carries validators, so a recrawl can be shown to be cheap: a
strong ``ETag`` made from the body's SHA-256 and a ``Last-Modified`` from the file's mtime.
A ``GET``/``HEAD`` whose ``If-None-Match`` names the current ETag (or, without
``If-None-Match``, whose ``If-Modified-Since`` is not older than the file) is answered
``304 Not Modified`` with no body and the route's headers (so a ``X-Robots-Tag`` or
``tdm-reservation`` still rides on it). ``"conditional": false`` on a route serves its
files without validators and ignores conditional headers, like a server that has none.

Every request, policy files and 404s included, is recorded as a :class:`Hit` (and appended to
an optional JSON-lines access log), which is how the end-to-end tests prove what heed did
*not* fetch. Only the standard library is used, and only the given loopback address is bound.
"""

from __future__ import annotations

import argparse
import email.utils
import hashlib
import ipaddress
import json
import logging
import mimetypes
import signal
import socket
import socketserver
import sys
import threading
import time
from dataclasses import asdict, dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from collections.abc import Mapping
from typing import IO, Any, Final
from urllib.parse import unquote, urlsplit

logger = logging.getLogger(__name__)

SITE_FILE: Final = "_site.json"

#: Content types by extension; anything else falls back to :mod:`mimetypes`, then octet-stream.
CONTENT_TYPES: Final[dict[str, str]] = {
    ".html": "text/html; charset=utf-8",
    ".htm": "text/html; charset=utf-8",
    ".txt": "text/plain; charset=utf-8",
    ".lrc": "text/plain; charset=utf-8",
    ".csv": "text/csv; charset=utf-8",
    ".json": "application/json",
    ".jsonld": "application/ld+json",
    ".xml": "application/xml",
    ".rss": "application/rss+xml",
    ".ttml": "application/ttml+xml",
    ".mp3": "audio/mpeg",
    ".flac": "audio/flac",
    ".ogg": "audio/ogg",
    ".wav": "audio/wav",
    ".m4a": "audio/mp4",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".png": "image/png",
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
}

#: Statuses whose responses never carry a body (RFC 9110).
_NO_BODY: Final = frozenset({204, 304})


def content_type_for(path: str) -> str:
    """The Content-Type a file named *path* is served with."""
    suffix = Path(path).suffix.lower()
    if suffix in CONTENT_TYPES:
        return CONTENT_TYPES[suffix]
    guessed, _ = mimetypes.guess_type(path, strict=False)
    return guessed or "application/octet-stream"


@dataclass(frozen=True, slots=True)
class Hit:
    """One request as the server saw it."""

    ts: float  # time.time() when the request arrived
    host: str  # from the Host header, port stripped, lower-cased ("" when missing)
    method: str
    path: str  # origin-form target: path plus query string
    status: int
    headers: dict[str, str]  # request headers, names lower-cased, repeated lines joined


@dataclass(frozen=True, slots=True)
class Route:
    """Overrides for one path (or path prefix) of one host, from ``_site.json``."""

    status: int | None = None
    headers: tuple[tuple[str, str], ...] = ()
    body: str | None = None
    content_type: str | None = None
    delay: float = 0.0
    #: False: no ETag / Last-Modified, conditional request headers ignored
    conditional: bool = True


@dataclass(frozen=True, slots=True)
class Site:
    """One host's ``_site.json``, validated."""

    default_headers: tuple[tuple[str, str], ...] = ()
    routes: dict[str, Route] = field(default_factory=dict)
    prefixes: tuple[tuple[str, Route], ...] = ()  # longest prefix first

    def route_for(self, path: str) -> Route | None:
        exact = self.routes.get(path)
        if exact is not None:
            return exact
        for prefix, route in self.prefixes:
            if path.startswith(prefix):
                return route
        return None


@dataclass(frozen=True, slots=True)
class Reply:
    """What the server will answer to one request."""

    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes
    delay: float = 0.0
    #: a file-backed 200 with validators: conditional request headers are honoured
    conditional: bool = False


def _header_pairs(raw: Any, where: str) -> tuple[tuple[str, str], ...]:
    if not isinstance(raw, dict):
        raise ValueError(f"{where}: headers must be an object, got {type(raw).__name__}")
    pairs: list[tuple[str, str]] = []
    for name, value in raw.items():
        values = value if isinstance(value, list) else [value]
        for one in values:
            if not isinstance(one, str | int | float) or isinstance(one, bool):
                raise ValueError(f"{where}: header {name!r} must be text or a list of text")
            pairs.append((str(name), str(one)))
    return tuple(pairs)


def load_site(path: Path) -> Site:
    """Read and validate a ``_site.json``; a missing file means no overrides."""
    if not path.is_file():
        return Site()
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"{path}: cannot read: {exc}") from exc
    if not isinstance(raw, dict):
        raise ValueError(f"{path}: top level must be an object")
    unknown = set(raw) - {"routes", "default_headers"}
    if unknown:
        raise ValueError(f"{path}: unknown keys {sorted(unknown)}")
    routes: dict[str, Route] = {}
    prefixes: list[tuple[str, Route]] = []
    for key, spec in raw.get("routes", {}).items():
        where = f"{path} route {key!r}"
        if not key.startswith("/") or not isinstance(spec, dict):
            raise ValueError(f"{where}: key must start with '/' and map to an object")
        extra = set(spec) - {"status", "headers", "body", "content_type", "delay", "conditional"}
        if extra:
            raise ValueError(f"{where}: unknown keys {sorted(extra)}")
        status = spec.get("status")
        if status is not None and not (isinstance(status, int) and 100 <= status <= 599):
            raise ValueError(f"{where}: status must be an integer 100-599")
        delay = spec.get("delay", 0)
        if not isinstance(delay, int | float) or delay < 0:
            raise ValueError(f"{where}: delay must be a non-negative number")
        conditional = spec.get("conditional", True)
        if not isinstance(conditional, bool):
            raise ValueError(f"{where}: conditional must be true or false")
        route = Route(
            status=status,
            headers=_header_pairs(spec.get("headers", {}), where),
            body=spec.get("body"),
            content_type=spec.get("content_type"),
            delay=float(delay),
            conditional=conditional,
        )
        if key.endswith("*"):
            prefixes.append((key[:-1], route))
        else:
            routes[key] = route
    prefixes.sort(key=lambda item: len(item[0]), reverse=True)
    return Site(
        default_headers=_header_pairs(raw.get("default_headers", {}), f"{path} default_headers"),
        routes=routes,
        prefixes=tuple(prefixes),
    )


def host_from_header(value: str | None) -> str:
    """``Open.Test:8080`` -> ``open.test``; ``[::1]:80`` -> ``::1``."""
    if not value:
        return ""
    value = value.strip().lower()
    if value.startswith("["):
        return value[1:].split("]", 1)[0]
    if value.count(":") == 1:
        value = value.rsplit(":", 1)[0]
    return value.rstrip(".")


def _plain(status: int, text: str | None = None) -> tuple[bytes, str]:
    if text is None:
        try:
            text = f"{status} {HTTPStatus(status).phrase}\n"
        except ValueError:
            text = f"{status}\n"
    return text.encode("utf-8"), "text/plain; charset=utf-8"


class SampleWeb:
    """Serves every host directory under *root* on one loopback port.

    Use as a context manager (``with SampleWeb(root) as web: ...``) or call :meth:`start`
    and :meth:`stop`. The recorded :class:`Hit` list is safe to read from any thread.
    """

    def __init__(
        self,
        root: Path,
        *,
        address: str = "127.0.0.1",
        port: int = 0,
        access_log: Path | None = None,
    ) -> None:
        self.root = Path(root)
        if not self.root.is_dir():
            raise FileNotFoundError(f"sample web root is not a directory: {self.root}")
        if not ipaddress.ip_address(address).is_loopback:
            raise ValueError(f"SampleWeb only binds loopback addresses, not {address!r}")
        self.address = address
        self._wanted_port = port
        self.access_log = Path(access_log) if access_log is not None else None
        self._dirs: dict[str, Path] = {}
        self.hosts: tuple[str, ...] = ()
        self._sites: dict[str, Site] = {}
        self.reload()
        self._lock = threading.Lock()
        self._hits: list[Hit] = []
        self._stopping = threading.Event()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._log_file: IO[str] | None = None

    def reload(self) -> None:
        """Read the host directories and their ``_site.json`` again (files are always read
        per request): a test changes a site between two crawls on the same port."""
        dirs = {
            child.name.lower(): child
            for child in self.root.iterdir()
            if child.is_dir() and not child.name.startswith((".", "_"))
        }
        sites = {host: load_site(directory / SITE_FILE) for host, directory in dirs.items()}
        self._dirs, self._sites, self.hosts = dirs, sites, tuple(sorted(dirs))

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> SampleWeb:
        """Bind and serve in a daemon thread; returns ``self``."""
        if self._server is not None:
            raise RuntimeError("SampleWeb already started")
        self._stopping.clear()
        if self.access_log is not None:
            self.access_log.parent.mkdir(parents=True, exist_ok=True)
            self._log_file = self.access_log.open("a", encoding="utf-8")
        self._server = _Server(self, (self.address, self._wanted_port))
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"sampleweb-{self.port}",
            daemon=True,
        )
        self._thread.start()
        logger.info(
            "Sample web serving %(count)d hosts on %(address)s:%(port)d",
            {"count": len(self.hosts), "address": self.address, "port": self.port},
        )
        return self

    def stop(self) -> None:
        """Stop serving, cut delays short, close every connection and the access log."""
        server, thread = self._server, self._thread
        if server is None:
            return
        self._stopping.set()
        server.shutdown()
        server.drop_connections()
        server.server_close()  # joins the handler threads
        if thread is not None:
            thread.join()
        self._server = self._thread = None
        with self._lock:
            if self._log_file is not None:
                self._log_file.close()
                self._log_file = None

    def __enter__(self) -> SampleWeb:
        return self if self._server is not None else self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- addressing --------------------------------------------------------------------------

    @property
    def port(self) -> int:
        if self._server is not None:
            return int(self._server.server_address[1])
        if self._wanted_port:
            return self._wanted_port
        raise RuntimeError("SampleWeb has no port before start()")

    def url(self, host: str, path: str = "/") -> str:
        """``http://<host>:<port><path>``."""
        if not path.startswith("/"):
            raise ValueError(f"path must start with '/': {path!r}")
        return f"http://{host}:{self.port}{path}"

    def resolve_map(self) -> dict[str, str]:
        """``{host: address}`` for every host, the shape of heed's ``POLICY_RESOLVE``."""
        return {host: self.address for host in self.hosts}

    # -- what was requested ------------------------------------------------------------------

    @property
    def hits(self) -> list[Hit]:
        return self.hits_snapshot()

    def hits_snapshot(self) -> list[Hit]:
        with self._lock:
            return list(self._hits)

    def requested(self, host: str | None = None) -> list[str]:
        """Paths requested so far (optionally of one host), in arrival order."""
        wanted = host.lower() if host is not None else None
        return [hit.path for hit in self.hits_snapshot() if wanted is None or hit.host == wanted]

    def clear(self) -> None:
        """Forget the recorded hits (the access log file is left as it is)."""
        with self._lock:
            self._hits.clear()

    def _record(self, hit: Hit) -> None:
        line = json.dumps(asdict(hit), ensure_ascii=False, sort_keys=True)
        with self._lock:
            self._hits.append(hit)
            if self._log_file is not None:
                self._log_file.write(line + "\n")
                self._log_file.flush()

    # -- answering ---------------------------------------------------------------------------

    def reply_for(
        self, method: str, host: str, path: str, request_headers: Mapping[str, str] | None = None
    ) -> Reply:
        """Decide the answer to *method* on *host* for the origin-form target *path*;
        *request_headers* (names lower-cased) may make it a ``304``."""
        directory = self._dirs.get(host)
        if directory is None:
            body, ctype = _plain(421, f"421 Misdirected Request: no host {host!r} here\n")
            return Reply(421, (("Content-Type", ctype),), body)
        site = self._sites[host]
        if method not in ("GET", "HEAD"):
            body, ctype = _plain(405)
            return Reply(405, (("Content-Type", ctype), ("Allow", "GET, HEAD")), body)
        split = urlsplit(path)
        url_path = unquote(split.path) or "/"
        status, ctype, found, mtime = self._from_file(directory, url_path, split.query)
        extra: list[tuple[str, str]] = []
        if isinstance(found, str):  # a directory asked for without its slash
            extra.append(("Location", found))
            body, ctype = _plain(status)
        else:
            body = found
        route = site.route_for(url_path)
        if route is not None:
            if route.body is not None:
                body = self._fill(route.body, host).encode("utf-8")
                ctype = content_type_for(url_path) if Path(url_path).suffix else _plain(200)[1]
                status = route.status or 200
                extra.clear()
                mtime = None  # not the file any more
            elif route.status is not None and route.status != status:
                keep_file = status == 200 and 200 <= route.status < 300
                status = route.status
                extra.clear()
                if not keep_file:
                    body, ctype = _plain(status)
            if route.content_type is not None:
                ctype = route.content_type
        headers = self._merge(site.default_headers, route.headers if route else (), host)
        if not any(name.lower() == "content-type" for name, _ in headers):
            headers = (("Content-Type", ctype), *headers)
        conditional = status == 200 and mtime is not None and (route is None or route.conditional)
        if conditional:
            headers = (*headers, *validators(body, mtime, headers))  # type: ignore[arg-type]  # body is bytes here
        reply = Reply(status, (*headers, *extra), body, route.delay if route else 0.0, conditional)
        return apply_conditional(reply, method, request_headers or {})

    def _from_file(
        self, directory: Path, url_path: str, query: str
    ) -> tuple[int, str, bytes | str, float | None]:
        """(status, content type, body, file mtime) from the tree; a 301 carries its
        Location as body; the mtime is None when no file was read."""
        segments = [seg for seg in url_path.split("/") if seg]
        if any(seg in (".", "..", SITE_FILE) or "\\" in seg or "\0" in seg for seg in segments):
            body, ctype = _plain(404)
            return 404, ctype, body, None
        target = directory.joinpath(*segments)
        if target.is_dir():
            if not url_path.endswith("/"):
                return 301, "", url_path + "/" + (f"?{query}" if query else ""), None
            target = target / "index.html"
        try:
            inside = target.resolve().is_relative_to(directory.resolve())
        except OSError:
            inside = False
        if not inside or not target.is_file():
            body, ctype = _plain(404)
            return 404, ctype, body, None
        return 200, content_type_for(target.name), target.read_bytes(), target.stat().st_mtime

    def _fill(self, text: str, host: str) -> str:
        return text.replace("{port}", str(self.port)).replace("{host}", host)

    def _merge(
        self,
        defaults: tuple[tuple[str, str], ...],
        overrides: tuple[tuple[str, str], ...],
        host: str,
    ) -> tuple[tuple[str, str], ...]:
        overridden = {name.lower() for name, _ in overrides}
        kept = [(n, v) for n, v in defaults if n.lower() not in overridden]
        return tuple((name, self._fill(value, host)) for name, value in (*kept, *overrides))

    def _wait_delay(self, seconds: float) -> None:
        """Sleep for a route's delay, cut short when the server stops."""
        if seconds > 0:
            self._stopping.wait(seconds)


def validators(body: bytes, mtime: float, headers: tuple[tuple[str, str], ...]) -> tuple[tuple[str, str], ...]:
    """A strong ``ETag`` from the body's digest and ``Last-Modified`` from *mtime*, unless
    the route's own *headers* already set one."""
    have = {name.lower() for name, _ in headers}
    out = []
    if "etag" not in have:
        out.append(("ETag", f'"{hashlib.sha256(body).hexdigest()[:32]}"'))
    if "last-modified" not in have:
        out.append(("Last-Modified", email.utils.formatdate(mtime, usegmt=True)))
    return tuple(out)


def _etags(value: str) -> list[str]:
    """The entity tags of an ``If-None-Match`` value (``*`` included as is)."""
    return [tag.strip() for tag in value.split(",") if tag.strip()]


def _weak_match(a: str, b: str) -> bool:
    """RFC 9110 weak comparison: equal opaque tags, either or both may be weak."""
    return a.removeprefix("W/") == b.removeprefix("W/")


def apply_conditional(reply: Reply, method: str, request_headers: Mapping[str, str]) -> Reply:
    """``304 Not Modified`` for a GET/HEAD whose validators match a conditional *reply*
    (RFC 9110 13.2.2: ``If-None-Match`` first; ``If-Modified-Since`` only without it)."""
    if not reply.conditional or method not in ("GET", "HEAD"):
        return reply
    sent = {name.lower(): value for name, value in reply.headers}
    none_match = request_headers.get("if-none-match")
    if none_match is not None:
        etag = sent.get("etag", "")
        tags = _etags(none_match)
        matched = "*" in tags or any(_weak_match(tag, etag) for tag in tags)
    else:
        since = request_headers.get("if-modified-since")
        if since is None or "last-modified" not in sent:
            return reply
        try:
            asked = email.utils.parsedate_to_datetime(since)
            modified = email.utils.parsedate_to_datetime(sent["last-modified"])
        except (TypeError, ValueError):
            return reply  # an invalid date is ignored (RFC 9110 13.1.3)
        if asked.tzinfo is None or modified.tzinfo is None:
            return reply
        matched = modified <= asked
    if not matched:
        return reply
    headers = tuple((n, v) for n, v in reply.headers if n.lower() not in ("content-type", "content-length"))
    return Reply(304, headers, b"", reply.delay)


def apply_range(reply: Reply, header: str | None) -> Reply:
    """Answer a single ``Range: bytes=a-b`` (or ``a-``, ``-n``) of a 200 reply with 206 and
    ``Content-Range``; 416 when it lies outside the body. Replies whose headers say
    ``Accept-Ranges: none`` ignore ``Range``, as a server without range support does."""
    if reply.status != 200 or not header or any(
        n.lower() == "accept-ranges" and v.strip().lower() == "none" for n, v in reply.headers
    ):
        return reply
    unit, _, spec = header.strip().partition("=")
    first, dash, last = spec.strip().partition("-")
    if unit.strip().lower() != "bytes" or not dash or "," in spec or not (first + last).isdigit():
        return reply
    size = len(reply.body)
    start, end = (int(first), int(last) if last else size - 1) if first else (max(0, size - int(last)), size - 1)
    if start >= size or end < start:
        return Reply(416, (*reply.headers, ("Content-Range", f"bytes */{size}")), b"", reply.delay)
    end = min(end, size - 1)
    headers = (*reply.headers, ("Content-Range", f"bytes {start}-{end}/{size}"))
    return Reply(206, headers, reply.body[start : end + 1], reply.delay)


class _Server(ThreadingHTTPServer):
    """A threading HTTP server that remembers its open connections so stop() can end them."""

    daemon_threads = True

    def __init__(self, web: SampleWeb, server_address: tuple[str, int]) -> None:
        self.web = web
        self._live: set[socket.socket] = set()
        self._live_lock = threading.Lock()
        if ipaddress.ip_address(server_address[0]).version == 6:
            self.address_family = socket.AF_INET6
        super().__init__(server_address, _Handler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind resolves the bound address with getfqdn(); skip that lookup.
        socketserver.TCPServer.server_bind(self)
        self.server_name = str(self.server_address[0])
        self.server_port = int(self.server_address[1])

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._live_lock:
            self._live.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._live_lock:
            self._live.discard(request)
        super().shutdown_request(request)

    def drop_connections(self) -> None:
        """Wake handlers blocked on idle keep-alive connections so they can finish."""
        with self._live_lock:
            live = list(self._live)
        for sock in live:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass  # already closed by the peer

    def handle_error(self, request: Any, client_address: Any) -> None:
        if isinstance(sys.exc_info()[1], ConnectionError):  # the client hung up: not our fault
            logger.debug("Sample web client %(client)s went away", {"client": client_address})
            return
        logger.exception("Sample web failed while serving %(client)s", {"client": client_address})


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"
    server_version = "heed-sampleweb/1"
    sys_version = ""
    timeout = 30  # an idle keep-alive connection is closed after this many seconds

    def version_string(self) -> str:
        return self.server_version

    def _answer(self) -> None:
        arrival = time.time()
        web = self.server.web
        target = self.path
        host = host_from_header(self.headers.get("Host"))
        if "://" in target.split("?", 1)[0]:  # absolute-form: the target names the host
            split = urlsplit(target)
            host = host_from_header(split.netloc)
            target = (split.path or "/") + (f"?{split.query}" if split.query else "")
        self._drain_body()
        request_headers: dict[str, str] = {}
        for name, value in self.headers.items():
            key = name.lower()
            request_headers[key] = f"{request_headers[key]}, {value}" if key in request_headers else value
        try:
            reply = web.reply_for(self.command, host, target, request_headers)
        except Exception:
            logger.exception("Sample web could not answer %(method)s %(host)s%(path)s",
                             {"method": self.command, "host": host, "path": target})
            body, ctype = _plain(500)
            reply = Reply(500, (("Content-Type", ctype),), body)
        if self.command == "GET":
            reply = apply_range(reply, self.headers.get("Range"))
        web._record(Hit(arrival, host, self.command, target, reply.status, request_headers))
        web._wait_delay(reply.delay)
        body = b"" if reply.status in _NO_BODY or 100 <= reply.status < 200 else reply.body
        try:
            self.send_response(reply.status)
            for name, value in reply.headers:
                self.send_header(name, value)
            if reply.status != 304:  # a 304 describes the 200's body, whose length it omits
                self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD" and body:
                self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            logger.debug("Client went away before %(path)s was sent", {"path": target})
            self.close_connection = True

    # Every method is answered (and recorded); reply_for refuses all but GET and HEAD.
    do_GET = do_HEAD = do_POST = do_PUT = do_DELETE = do_OPTIONS = do_PATCH = _answer

    def _drain_body(self) -> None:
        length = self.headers.get("Content-Length")
        if length and length.isdigit():
            self.rfile.read(min(int(length), 1 << 20))

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        logger.debug("sample web: " + format, *args)

    def log_error(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        logger.warning("sample web: " + format, *args)


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    """``python -m crawler.demo.webserver ROOT [--port N]``: serve until Ctrl-C."""
    parser = argparse.ArgumentParser(
        prog="python -m crawler.demo.webserver",
        description="Serve a directory of named hosts (<root>/<hostname>/...) on loopback.",
    )
    parser.add_argument("root", type=Path, help="directory holding one sub-directory per host")
    parser.add_argument("--port", type=int, default=0, help="port to bind (default: any free one)")
    parser.add_argument("--address", default="127.0.0.1", help="loopback address to bind")
    parser.add_argument("--access-log", type=Path, help="append one JSON line per request here")
    args = parser.parse_args(argv)
    try:
        web = SampleWeb(args.root, address=args.address, port=args.port, access_log=args.access_log)
        web.start()
    except (OSError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    previous = None
    if threading.current_thread() is threading.main_thread():
        previous = signal.signal(signal.SIGTERM, _interrupt)  # stop cleanly under process managers
    try:
        print(f"Serving {len(web.hosts)} hosts on {web.address}:{web.port} (Ctrl-C to stop)")
        for host in web.hosts:
            print(f"  {web.url(host)}")
        print("POLICY_RESOLVE = " + json.dumps(web.resolve_map()), flush=True)
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        web.stop()
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
    return 0


if __name__ == "__main__":
    sys.exit(main())
