"""The loopback sample web: a real HTTP server, and the bundled hosts it serves.

Every end-to-end test of heed stands on this server, so it is tested over real sockets
(``http.client`` to 127.0.0.1 with a ``Host`` header naming the sample host), and the
bundled tree is checked against ``data/demo_web/EXPECTED.md`` so the table the end-to-end
tests rely on cannot drift from what is actually served.
"""

from __future__ import annotations

import http.client
import json
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from crawler.demo.webserver import Hit, SampleWeb, host_from_header, load_site

REPO = Path(__file__).resolve().parents[1]
DEMO_ROOT = REPO / "data" / "demo_web"


# -- helpers ---------------------------------------------------------------------------------


@dataclass
class Answer:
    status: int
    headers: http.client.HTTPMessage
    body: bytes

    def header(self, name: str) -> str | None:
        return self.headers.get(name)


def ask(
    web: SampleWeb,
    host: str | None,
    path: str,
    *,
    method: str = "GET",
    headers: dict[str, str] | None = None,
    body: bytes | None = None,
) -> Answer:
    """One request to the server, connecting to its loopback address, naming *host*."""
    conn = http.client.HTTPConnection(web.address, web.port, timeout=10)
    try:
        conn.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
        if host is not None:
            conn.putheader("Host", f"{host}:{web.port}")
        for name, value in (headers or {}).items():
            conn.putheader(name, value)
        if body is not None:
            conn.putheader("Content-Length", str(len(body)))
        conn.endheaders(body)
        with conn.getresponse() as resp:
            return Answer(resp.status, resp.headers, resp.read())
    finally:
        conn.close()


class PageScan(HTMLParser):
    """JSON-LD blocks (text and attributes), robots meta in <head>, and link targets."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.blocks: list[tuple[dict[str, str | None], str]] = []
        self.head_robots: list[str] = []
        self.links: list[str] = []
        self._in_head = False
        self._ld_attrs: dict[str, str | None] | None = None
        self._ld_text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        named = dict(attrs)
        if tag == "head":
            self._in_head = True
        elif tag == "script" and named.get("type") == "application/ld+json":
            self._ld_attrs, self._ld_text = named, []
        elif tag == "meta" and self._in_head and (named.get("name") or "").lower() == "robots":
            self.head_robots.append(named.get("content") or "")
        elif tag == "a" and named.get("href"):
            self.links.append(str(named["href"]))

    def handle_endtag(self, tag: str) -> None:
        if tag == "head":
            self._in_head = False
        elif tag == "script" and self._ld_attrs is not None:
            self.blocks.append((self._ld_attrs, "".join(self._ld_text)))
            self._ld_attrs = None

    def handle_data(self, data: str) -> None:
        if self._ld_attrs is not None:
            self._ld_text.append(data)


def scan(html: bytes) -> PageScan:
    page = PageScan()
    page.feed(html.decode("utf-8"))
    page.close()
    return page


def recordings_in(block: object) -> int:
    """How many top-level MusicRecording nodes one parsed JSON-LD block holds."""
    if isinstance(block, list):
        nodes = block
    elif isinstance(block, dict) and "@graph" in block:
        nodes = block["@graph"]
    else:
        nodes = [block]
    count = 0
    for node in nodes:
        kind = node.get("@type") if isinstance(node, dict) else None
        kinds = kind if isinstance(kind, list) else [kind]
        count += "MusicRecording" in kinds
    return count


def expected_tables() -> tuple[dict[str, int], dict[str, tuple[str, str, int]]]:
    """(host -> robots.txt status, url -> (outcome, reason family, recordings)) from EXPECTED.md."""
    hosts: dict[str, int] = {}
    urls: dict[str, tuple[str, str, int]] = {}
    for line in (DEMO_ROOT / "EXPECTED.md").read_text(encoding="utf-8").splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if not line.startswith("| `") or len(cells) < 4:
            continue
        key = cells[0].strip("`")
        if key.startswith("http://"):
            urls[key] = (cells[1], cells[2], int(cells[3]))
        else:
            hosts[key] = int(cells[2])
    return hosts, urls


def seed_hosts() -> list[str]:
    lines = (DEMO_ROOT / "seeds.txt").read_text(encoding="utf-8").splitlines()
    return [urlsplit(line).hostname or "" for line in lines if line.strip()]


# -- a tiny tree -----------------------------------------------------------------------------


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    root = tmp_path / "web"
    a = root / "a.test"
    (a / "docs").mkdir(parents=True)
    (a / "index.html").write_text("<!doctype html><title>a</title>", encoding="utf-8")
    (a / "docs" / "index.html").write_text("<p>docs</p>", encoding="utf-8")
    (a / "page.html").write_text("<p>page</p>", encoding="utf-8")
    (a / "notes.txt").write_text("plain words\n", encoding="utf-8")
    (a / "data.json").write_text('{"ok": true}\n', encoding="utf-8")
    (a / "feed.xml").write_text("<rss/>", encoding="utf-8")
    (a / "song.mp3").write_bytes(b"ID3\x03\x00\x00\x00\x00\x00\x00" + bytes(32))
    (a / "robots.txt").write_text("User-agent: *\nAllow: /\n", encoding="utf-8")
    (a / "_site.json").write_text(
        json.dumps(
            {
                "default_headers": {"X-Site": "a", "X-Robots-Tag": "all"},
                "routes": {
                    "/robots.txt": {"status": 503},
                    "/page.html": {"headers": {"tdm-reservation": "1", "Link": ["<a>; rel=x", "<b>; rel=y"]}},
                    "/old": {"status": 301, "headers": {"Location": "/page.html"}},
                    "/away": {"status": 302, "headers": {"Location": "http://b.test:{port}/"}},
                    "/hello": {"body": "hello from {host}\n"},
                    "/gone.json": {"status": 410, "body": '{"gone": true}'},
                    "/files/*": {"headers": {"X-Robots-Tag": "noai"}},
                    "/files/special/*": {"status": 403},
                    "/slow": {"delay": 0.2, "body": "late\n"},
                    "/stuck": {"delay": 600, "body": "never\n"},
                }
            }
        ),
        encoding="utf-8",
    )
    (a / "files" / "special").mkdir(parents=True)
    (a / "files" / "one.txt").write_text("one\n", encoding="utf-8")
    (a / "files" / "special" / "two.txt").write_text("two\n", encoding="utf-8")
    b = root / "B.Test"  # directory names are matched case-insensitively
    b.mkdir()
    (b / "index.html").write_text("<p>b</p>", encoding="utf-8")
    (root / "_ignored").mkdir()
    (root / "stray.txt").write_text("not a host\n", encoding="utf-8")
    return root


@pytest.fixture
def web(tree: Path, tmp_path: Path) -> Iterator[SampleWeb]:
    with SampleWeb(tree, access_log=tmp_path / "logs" / "access.jsonl") as server:
        yield server


def test_hosts_addressing_and_resolve_map(web: SampleWeb) -> None:
    assert web.hosts == ("a.test", "b.test")
    assert web.port > 0
    assert web.url("a.test") == f"http://a.test:{web.port}/"
    assert web.url("b.test", "/x?y=1") == f"http://b.test:{web.port}/x?y=1"
    assert web.resolve_map() == {"a.test": "127.0.0.1", "b.test": "127.0.0.1"}
    with pytest.raises(ValueError, match="must start with '/'"):
        web.url("a.test", "x")


@pytest.mark.parametrize(
    ("path", "content_type", "body"),
    [
        ("/", "text/html; charset=utf-8", b"<!doctype html><title>a</title>"),
        ("/docs/", "text/html; charset=utf-8", b"<p>docs</p>"),
        ("/notes.txt", "text/plain; charset=utf-8", b"plain words\n"),
        ("/data.json", "application/json", b'{"ok": true}\n'),
        ("/feed.xml", "application/xml", b"<rss/>"),
        ("/song.mp3", "audio/mpeg", None),
        ("/notes.txt?version=2", "text/plain; charset=utf-8", b"plain words\n"),
    ],
)
def test_files_are_served_with_their_content_type(
    web: SampleWeb, path: str, content_type: str, body: bytes | None
) -> None:
    answer = ask(web, "a.test", path)
    assert answer.status == 200
    assert answer.header("Content-Type") == content_type
    assert answer.header("Content-Length") == str(len(answer.body))
    if body is not None:
        assert answer.body == body
    else:
        assert answer.body.startswith(b"ID3")


def test_host_is_chosen_by_host_header(web: SampleWeb) -> None:
    assert ask(web, "b.test", "/").body == b"<p>b</p>"
    assert ask(web, "B.TEST", "/").body == b"<p>b</p>"  # case-insensitive, port stripped
    assert ask(web, "a.test", "/").body != b"<p>b</p>"


def test_absolute_form_target_names_the_host(web: SampleWeb) -> None:
    answer = ask(web, "a.test", f"http://b.test:{web.port}/?q=1")
    assert answer.body == b"<p>b</p>"
    assert web.hits_snapshot()[-1].host == "b.test"
    assert web.hits_snapshot()[-1].path == "/?q=1"


@pytest.mark.parametrize(
    ("value", "host"),
    [
        ("open.test:8080", "open.test"),
        ("Open.Test", "open.test"),
        ("open.test.:80", "open.test"),
        ("[::1]:8080", "::1"),
        ("", ""),
        (None, ""),
    ],
)
def test_host_from_header(value: str | None, host: str) -> None:
    assert host_from_header(value) == host


def test_directory_without_slash_redirects(web: SampleWeb) -> None:
    answer = ask(web, "a.test", "/docs?x=1")
    assert answer.status == 301
    assert answer.header("Location") == "/docs/?x=1"


def test_unknown_host_missing_host_and_missing_file(web: SampleWeb) -> None:
    unknown = ask(web, "nowhere.test", "/")
    assert unknown.status == 421
    assert ask(web, None, "/").status == 421
    missing = ask(web, "a.test", "/no/such/page.html")
    assert missing.status == 404
    assert missing.header("Content-Type") == "text/plain; charset=utf-8"
    assert 0 < len(missing.body) < 100


@pytest.mark.parametrize(
    "path", ["/_site.json", "/%5Fsite.json", "/docs/../_site.json", "/../a.test/_site.json", "/..%2F_site.json"]
)
def test_site_json_is_never_served(web: SampleWeb, path: str) -> None:
    answer = ask(web, "a.test", path)
    assert answer.status == 404
    assert b"routes" not in answer.body


def test_no_path_escapes_the_host_directory(web: SampleWeb) -> None:
    for path in ("/../b.test/index.html", "/%2e%2e/b.test/index.html", "/..\\b.test\\index.html"):
        answer = ask(web, "a.test", path)
        assert answer.status == 404
        assert answer.body != b"<p>b</p>"


def test_site_json_status_override(web: SampleWeb) -> None:
    answer = ask(web, "a.test", "/robots.txt")
    assert answer.status == 503
    assert answer.body == b"503 Service Unavailable\n"
    assert answer.header("X-Site") == "a"  # default headers apply to every response


def test_site_json_extra_headers_keep_the_file(web: SampleWeb) -> None:
    answer = ask(web, "a.test", "/page.html")
    assert answer.status == 200
    assert answer.body == b"<p>page</p>"
    assert answer.header("tdm-reservation") == "1"
    assert answer.headers.get_all("Link") == ["<a>; rel=x", "<b>; rel=y"]
    assert answer.header("X-Site") == "a"


def test_site_json_redirects(web: SampleWeb) -> None:
    moved = ask(web, "a.test", "/old")
    assert moved.status == 301
    assert moved.header("Location") == "/page.html"
    away = ask(web, "a.test", "/away")
    assert away.status == 302
    assert away.header("Location") == f"http://b.test:{web.port}/"


def test_site_json_body_status_and_placeholders(web: SampleWeb) -> None:
    hello = ask(web, "a.test", "/hello")
    assert (hello.status, hello.body) == (200, b"hello from a.test\n")
    assert hello.header("Content-Type") == "text/plain; charset=utf-8"
    gone = ask(web, "a.test", "/gone.json")
    assert (gone.status, gone.body) == (410, b'{"gone": true}')
    assert gone.header("Content-Type") == "application/json"


def test_prefix_routes_longest_first_and_override_defaults(web: SampleWeb) -> None:
    one = ask(web, "a.test", "/files/one.txt")
    assert (one.status, one.body) == (200, b"one\n")
    assert one.headers.get_all("X-Robots-Tag") == ["noai"]  # the route's value replaces the default
    assert ask(web, "a.test", "/files/special/two.txt").status == 403
    assert ask(web, "a.test", "/notes.txt").headers.get_all("X-Robots-Tag") == ["all"]


def test_delay_holds_the_answer_back(web: SampleWeb) -> None:
    started = time.monotonic()
    answer = ask(web, "a.test", "/slow")
    assert answer.body == b"late\n"
    assert time.monotonic() - started >= 0.19


def test_head_sends_headers_without_body(web: SampleWeb) -> None:
    get = ask(web, "a.test", "/page.html")
    head = ask(web, "a.test", "/page.html", method="HEAD")
    assert head.status == 200
    assert head.body == b""
    assert head.header("Content-Length") == get.header("Content-Length")
    assert head.header("tdm-reservation") == "1"
    assert ask(web, "a.test", "/robots.txt", method="HEAD").status == 503


def test_other_methods_are_refused_and_recorded(web: SampleWeb) -> None:
    answer = ask(web, "a.test", "/page.html", method="POST", body=b"x=1")
    assert answer.status == 405
    assert answer.header("Allow") == "GET, HEAD"
    assert web.hits_snapshot()[-1].method == "POST"


def test_keep_alive_serves_several_requests_on_one_connection(web: SampleWeb) -> None:
    conn = http.client.HTTPConnection(web.address, web.port, timeout=10)
    try:
        for path in ("/", "/notes.txt", "/nothing"):
            conn.request("GET", path, headers={"Host": "a.test"})
            with conn.getresponse() as resp:
                resp.read()
                assert resp.status in (200, 404)
    finally:
        conn.close()
    assert web.requested("a.test") == ["/", "/notes.txt", "/nothing"]


def test_hits_record_every_request(web: SampleWeb) -> None:
    before = time.time()
    ask(web, "a.test", "/robots.txt", headers={"User-Agent": "heed-test/1"})
    ask(web, "a.test", "/page.html?x=1&y=2")
    ask(web, "b.test", "/missing")
    ask(web, "nowhere.test", "/")
    after = time.time()
    hits = web.hits_snapshot()
    assert [(h.host, h.method, h.path, h.status) for h in hits] == [
        ("a.test", "GET", "/robots.txt", 503),
        ("a.test", "GET", "/page.html?x=1&y=2", 200),
        ("b.test", "GET", "/missing", 404),
        ("nowhere.test", "GET", "/", 421),
    ]
    assert all(before <= h.ts <= after for h in hits)
    assert [h.ts for h in hits] == sorted(h.ts for h in hits)
    assert hits[0].headers["user-agent"] == "heed-test/1"
    assert hits[0].headers["host"] == f"a.test:{web.port}"
    assert web.hits == hits
    assert web.requested() == ["/robots.txt", "/page.html?x=1&y=2", "/missing", "/"]
    assert web.requested("a.test") == ["/robots.txt", "/page.html?x=1&y=2"]
    assert web.requested("B.test") == ["/missing"]
    web.clear()
    assert web.hits_snapshot() == []
    assert web.requested() == []


def test_access_log_has_one_flushed_json_line_per_request(web: SampleWeb, tmp_path: Path) -> None:
    ask(web, "a.test", "/")
    ask(web, "b.test", "/nope")
    log = tmp_path / "logs" / "access.jsonl"
    lines = log.read_text(encoding="utf-8").splitlines()  # read while the server still runs
    rows = [json.loads(line) for line in lines]
    assert [(r["host"], r["path"], r["status"], r["method"]) for r in rows] == [
        ("a.test", "/", 200, "GET"),
        ("b.test", "/nope", 404, "GET"),
    ]
    assert set(rows[0]) == {"ts", "host", "method", "path", "status", "headers"}
    assert [Hit(**row) for row in rows] == web.hits_snapshot()
    web.clear()  # clearing the hits leaves the file alone
    assert len(log.read_text(encoding="utf-8").splitlines()) == 2


def test_access_log_is_appended_across_runs(tree: Path, tmp_path: Path) -> None:
    log = tmp_path / "access.jsonl"
    for _ in range(2):
        with SampleWeb(tree, access_log=log) as server:
            ask(server, "a.test", "/")
    assert len(log.read_text(encoding="utf-8").splitlines()) == 2


def test_stop_ends_idle_connections_and_pending_delays(tree: Path) -> None:
    server = SampleWeb(tree).start()
    idle = http.client.HTTPConnection(server.address, server.port, timeout=10)
    outcome: list[BaseException | int] = []

    def slow_request() -> None:
        try:
            outcome.append(ask(server, "a.test", "/stuck").status)
        except (OSError, http.client.HTTPException) as exc:
            outcome.append(exc)

    try:
        idle.request("GET", "/", headers={"Host": "a.test"})
        with idle.getresponse() as resp:
            resp.read()
        waiter = threading.Thread(target=slow_request)
        waiter.start()
        for _ in range(500):  # the slow request is recorded on arrival, before its delay
            if "/stuck" in server.requested():
                break
            time.sleep(0.01)
        assert "/stuck" in server.requested()
        assert ask(server, "b.test", "/").status == 200  # answered while /stuck is pending
        server.stop()
        waiter.join(timeout=30)
        assert not waiter.is_alive()
        assert len(outcome) == 1
    finally:
        idle.close()
        server.stop()
    server.stop()  # idempotent


def test_restart_after_stop(tree: Path) -> None:
    server = SampleWeb(tree)
    with pytest.raises(RuntimeError):
        _ = server.port
    with server:
        assert ask(server, "a.test", "/").status == 200
        with pytest.raises(RuntimeError, match="already started"):
            server.start()
    with server:
        assert ask(server, "b.test", "/").status == 200


def test_only_loopback_addresses_are_bound(tree: Path) -> None:
    for address in ("0.0.0.0", "192.0.2.1", "::"):
        with pytest.raises(ValueError, match="loopback"):
            SampleWeb(tree, address=address)
    with pytest.raises(FileNotFoundError):
        SampleWeb(tree / "missing")


@pytest.mark.parametrize(
    "site",
    [
        "[]",
        "{not json",
        '{"routes": {"/x": {"status": 999}}}',
        '{"routes": {"/x": {"delay": -1}}}',
        '{"routes": {"x": {}}}',
        '{"routes": {"/x": {"colour": "red"}}}',
        '{"routes": {"/x": {"headers": {"A": {"nested": 1}}}}}',
        '{"extra": 1}',
    ],
)
def test_invalid_site_json_is_refused_with_its_path(tmp_path: Path, site: str) -> None:
    path = tmp_path / "_site.json"
    path.write_text(site, encoding="utf-8")
    with pytest.raises(ValueError, match="_site.json"):
        load_site(path)


def test_main_serves_until_terminated(tree: Path) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "crawler.demo.webserver", str(tree), "--port", "0"],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()
        match = re.search(r"on 127\.0\.0\.1:(\d+)", first)
        assert match, first
        port = int(match.group(1))
        listing = [proc.stdout.readline() for _ in range(3)]
        assert listing[0].strip() == f"http://a.test:{port}/"
        assert json.loads(listing[2].split("=", 1)[1]) == {"a.test": "127.0.0.1", "b.test": "127.0.0.1"}
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        try:
            conn.request("GET", "/", headers={"Host": "b.test"})
            with conn.getresponse() as resp:
                assert resp.read() == b"<p>b</p>"
        finally:
            conn.close()
        proc.send_signal(signal.SIGTERM)  # handled like Ctrl-C
        _, err = proc.communicate(timeout=30)
        assert proc.returncode == 0, err
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()


def test_main_reports_a_bad_root(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "crawler.demo.webserver", str(tmp_path / "nope")],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "not a directory" in done.stderr


# -- the bundled sample web ------------------------------------------------------------------


@pytest.fixture(scope="module")
def demo() -> Iterator[SampleWeb]:
    with SampleWeb(DEMO_ROOT) as server:
        yield server


def test_hosts_seeds_and_expected_table_agree(demo: SampleWeb) -> None:
    hosts, urls = expected_tables()
    assert len(demo.hosts) >= 12
    assert sorted(hosts) == list(demo.hosts)
    assert sorted(seed_hosts()) == list(demo.hosts)
    for line in (DEMO_ROOT / "seeds.txt").read_text(encoding="utf-8").splitlines():
        assert re.fullmatch(r"http://[a-z0-9-]+(\.[a-z0-9-]+)*\.test/", line), line
    served = {urlsplit(url).hostname for url in urls} - {"elsewhere.test"}
    assert served == set(demo.hosts)
    assert all(host.endswith(".test") for host in demo.hosts)


def test_every_host_has_an_index_and_the_expected_robots_status(demo: SampleWeb) -> None:
    hosts, _ = expected_tables()
    for host, robots_status in hosts.items():
        index = ask(demo, host, "/")
        assert index.status == 200, host
        assert index.header("Content-Type") == "text/html; charset=utf-8"
        assert (DEMO_ROOT / host / "index.html").is_file()
        assert ask(demo, host, "/robots.txt").status == robots_status, host


def test_every_page_is_in_the_url_table_with_its_recording_count(demo: SampleWeb) -> None:
    _, urls = expected_tables()
    pages = {
        f"http://{path.relative_to(DEMO_ROOT).parts[0]}/"
        + "/".join(path.relative_to(DEMO_ROOT).parts[1:]).removesuffix("index.html")
        for path in DEMO_ROOT.rglob("*.html")
    }
    listed = {url for url in urls
              if not urlsplit(url).path.startswith("/go/") and urlsplit(url).path.endswith(("/", ".html"))}
    assert pages == listed - {"http://elsewhere.test/tracks/borrowed-time.html"}
    outcomes = {"fetched", "deny:fetch", "deny:use", "hold", "unseen", "offsite"}
    for url, (outcome, family, expected) in urls.items():
        assert outcome in outcomes, url
        assert bool(family) == (outcome in {"deny:fetch", "deny:use", "hold"}), url
        parts = urlsplit(url)
        if outcome == "offsite":
            assert parts.hostname not in demo.hosts
            continue
        answer = ask(demo, parts.hostname, parts.path)
        if parts.path.startswith("/go/"):
            assert answer.status == 302, url
            continue
        routed = load_site(DEMO_ROOT / parts.hostname / "_site.json").route_for(parts.path)
        assert answer.status == (routed.status if routed and routed.status else 200), url
        if not parts.path.endswith(("/", ".html")):
            assert expected == 0, url  # a linked file, not a page
            continue
        found = sum(recordings_in(json.loads(text)) for attrs, text in scan(answer.body).blocks
                    if attrs.get("id") != "broken-jsonld")
        assert found == expected, url
    fetched = sum(count for outcome, _, count in urls.values() if outcome == "fetched")
    assert fetched == 13
    assert sum(count for _, _, count in urls.values()) - fetched == 24


def test_json_ld_blocks_parse_except_the_deliberately_broken_one() -> None:
    broken: list[str] = []
    blocks = 0
    for path in sorted(DEMO_ROOT.rglob("*.html")):
        for attrs, text in scan(path.read_bytes()).blocks:
            blocks += 1
            if attrs.get("id") == "broken-jsonld":
                with pytest.raises(json.JSONDecodeError):
                    json.loads(text)
                broken.append(path.relative_to(DEMO_ROOT).as_posix())
            else:
                parsed = json.loads(text)
                assert recordings_in(parsed) == 1, path
    assert broken == ["open.test/tracks/two-sides.html"]
    assert blocks == 38


def test_json_ld_varieties_are_present() -> None:
    texts = "\n".join(
        text for path in DEMO_ROOT.rglob("*.html") for _, text in scan(path.read_bytes()).blocks
    )
    for needle in ('"@graph"', '"PT3M35S"', '"P00H04M12S"', '"GB-K9R-21-00123"', '"NLA1B2200045"',
                   '"contentUrl"', "creativecommons.org/licenses/by-sa/4.0/", '"MusicRelease"'):
        assert needle in texts, needle
    paper = scan((DEMO_ROOT / "open.test/tracks/paper-lanterns.html").read_bytes()).blocks
    assert isinstance(json.loads(paper[0][1]), list)
    assert isinstance(json.loads(paper[0][1])[1]["byArtist"], list)


def test_links_stay_on_their_host_and_resolve(demo: SampleWeb) -> None:
    offsite: list[str] = []
    for path in sorted(DEMO_ROOT.rglob("*.html")):
        host = path.relative_to(DEMO_ROOT).parts[0]
        for href in scan(path.read_bytes()).links:
            if href.startswith("http://"):
                offsite.append(f"{host} -> {href}")
                continue
            assert href.startswith("/"), href
            assert ask(demo, host, href).status in (200, 302, 401), f"{host}{href}"
    assert offsite == ["open.test -> http://elsewhere.test/tracks/borrowed-time.html"]
    index = scan(ask(demo, "open.test", "/").body)
    assert len([link for link in index.links if link.startswith("/tracks/")]) >= 2


def test_open_test_carries_no_signal(demo: SampleWeb) -> None:
    robots = ask(demo, "open.test", "/robots.txt")
    assert robots.header("Content-Type") == "text/plain; charset=utf-8"
    assert b"User-agent: *\nAllow: /\n" in robots.body
    assert ask(demo, "open.test", "/.well-known/tdmrep.json").status == 404
    page = ask(demo, "open.test", "/tracks/night-ferry.html")
    assert page.header("tdm-reservation") is None
    assert scan(page.body).head_robots == []
    audio = ask(demo, "open.test", "/audio/night-ferry.mp3")
    assert audio.header("Content-Type") == "audio/mpeg"
    assert audio.body.startswith(b"ID3") and b"GBK9R2100123" in audio.body


def test_robots_files_say_what_the_table_says(demo: SampleWeb) -> None:
    def robots(host: str) -> str:
        return ask(demo, host, "/robots.txt").body.decode("utf-8")

    assert "User-agent: *\nDisallow: /private/" in robots("robots-private.test")
    ai = robots("ai-tokens.test")
    assert re.search(r"User-agent: GPTBot\nSitemap: \S+\nUser-agent: CCBot\nDisallow: /\n", ai)
    assert "User-agent: *\nAllow: /" in ai
    assert "User-agent: Scrapy\nDisallow: /\n\nUser-agent: *\nAllow: /" in robots("scrapy-group.test")
    assert "User-agent: hee\nDisallow: /\n\nUser-agent: *\nAllow: /" in robots("prefix-trap.test")
    for host in ("registry-listed.test", "tdm-file.test", "tdm-header.test", "redirects.test"):
        assert "Disallow" not in robots(host), host
    assert ask(demo, "noai.test", "/robots.txt").status == 404


def test_tdm_signals(demo: SampleWeb) -> None:
    tdmrep = ask(demo, "tdm-file.test", "/.well-known/tdmrep.json")
    assert tdmrep.status == 200
    assert tdmrep.header("Content-Type") == "application/json"
    assert json.loads(tdmrep.body) == [
        {"location": "/music/", "tdm-reservation": 1, "tdm-policy": "https://tdm-file.test/policy.json"}
    ]
    assert ask(demo, "tdm-header.test", "/").header("tdm-reservation") is None
    for page in ("/tracks/aurora-line.html", "/tracks/cold-open.html"):
        answer = ask(demo, "tdm-header.test", page)
        assert answer.status == 200
        assert answer.header("tdm-reservation") == "1"
        assert (answer.header("tdm-policy") or "").startswith("https://tdm-header.test/")
    assert ask(demo, "tdm-header.test", "/robots.txt").header("tdm-reservation") is None


def test_noai_meta_sits_in_the_head_of_track_pages_only(demo: SampleWeb) -> None:
    assert scan(ask(demo, "noai.test", "/").body).head_robots == []
    for page in ("/tracks/quill.html", "/tracks/inkwell.html"):
        assert scan(ask(demo, "noai.test", page).body).head_robots == ["noai, noimageai"]


def test_redirects_point_where_the_table_says(demo: SampleWeb) -> None:
    private = ask(demo, "redirects.test", "/go/private")
    assert private.status == 302
    assert private.header("Location") == f"http://robots-private.test:{demo.port}/private/secret.html"
    target = urlsplit(private.header("Location") or "")
    assert ask(demo, target.hostname, target.path).status == 200  # it exists; robots.txt forbids it
    opened = ask(demo, "redirects.test", "/go/open")
    assert opened.status == 302
    assert ask(demo, "redirects.test", opened.header("Location") or "").status == 200


def test_status_only_hosts(demo: SampleWeb) -> None:
    assert ask(demo, "unreachable.test", "/robots.txt").status == 503
    assert ask(demo, "forbidden.test", "/robots.txt").status == 403
    for host in ("unreachable.test", "forbidden.test"):
        assert ask(demo, host, "/").status == 200
        assert ask(demo, host, "/_site.json").status == 404
