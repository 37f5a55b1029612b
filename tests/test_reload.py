"""Hot reload of `wardgate run`: a real subprocess, real nginx, raw keep-alive sockets.

A reload (file watch or SIGHUP) swaps the policy without dropping connections: a request whose
body is still arriving completes under the new policy on the same socket; a broken config is
refused, the old policy keeps deciding, and the refusal is on stderr and in the audit log.
"""

from __future__ import annotations

import signal
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from servers import Nginx, Wardgate, start_nginx, start_wardgate, stop
from wardgate.config import Config, load_config
from wardgate.config.reload import carry_restart_only, checked

ALLOW = "preset: balanced\nmode: enforce\n"
DENY = ALLOW + 'destinations: {deny: ["127.0.0.1"]}\n'
BROKEN = ALLOW + "destinations: {default: maybe}\n"


@pytest.fixture
def upstream(tmp_path: Path) -> Iterator[Nginx]:
    nginx = start_nginx(tmp_path / "up", {"index.txt": b"hello from upstream\n"})
    yield nginx
    stop(nginx.process)


@pytest.fixture
def proxy(tmp_path: Path) -> Iterator[Wardgate]:
    wardgate = start_wardgate(tmp_path, config=ALLOW)
    yield wardgate
    stop(wardgate.process)


def _response(sock: socket.socket) -> tuple[int, bytes]:
    """Read one HTTP/1.1 response with a Content-Length body; (status, body)."""
    data = b""
    deadline = time.monotonic() + 10
    while b"\r\n\r\n" not in data:
        assert time.monotonic() < deadline, "no response head"
        chunk = sock.recv(65536)
        assert chunk, f"connection closed before a response: {data!r}"
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    length = next(
        int(line.split(":", 1)[1]) for line in lines if line.lower().startswith("content-length:")
    )
    while len(body) < length:
        assert time.monotonic() < deadline, "body not complete"
        chunk = sock.recv(65536)
        assert chunk, "connection closed mid-body"
        body += chunk
    return int(lines[0].split()[1]), body[:length]


def _get(sock: socket.socket, url: str) -> tuple[int, bytes]:
    sock.sendall(f"GET {url} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode())
    return _response(sock)


def _connect(proxy: Wardgate) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", proxy.port), timeout=10)
    return sock


def _config_events(proxy: Wardgate) -> list[dict[str, object]]:
    return [e for e in proxy.events() if e["transport"] == "config"]


def _wait_config_events(proxy: Wardgate, count: int, *, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while len(_config_events(proxy)) < count:
        assert time.monotonic() < deadline, f"no reload event: {_config_events(proxy)}"
        time.sleep(0.05)


def test_file_change_swaps_policy_without_dropping_the_connection(
    proxy: Wardgate, upstream: Nginx, tmp_path: Path
) -> None:
    sock = _connect(proxy)
    try:
        status, body = _get(sock, upstream.url("/index.txt"))
        assert (status, body) == (200, b"hello from upstream\n")
        # a request in flight: head and half of the body sent before the reload
        sock.sendall(
            f"POST {upstream.url('/echo')} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            "Content-Type: text/plain\r\nContent-Length: 10\r\n\r\nhello".encode()
        )
        (tmp_path / "wardgate.yaml").write_text(DENY)
        _wait_config_events(proxy, 1)
        assert _config_events(proxy)[0]["method"] == "reload"
        assert "error" not in _config_events(proxy)[0]
        sock.sendall(b"world")  # the rest of the in-flight body, same socket
        status, body = _response(sock)
        assert status == 403 and b"policy.destination_denied" in body
    finally:
        sock.close()
    with _connect(proxy) as fresh:
        assert _get(fresh, upstream.url("/index.txt"))[0] == 403


def test_sighup_reload_keeps_keepalive_connection(
    proxy: Wardgate, upstream: Nginx, tmp_path: Path
) -> None:
    with _connect(proxy) as sock:
        assert _get(sock, upstream.url("/index.txt"))[0] == 200
        config = tmp_path / "wardgate.yaml"
        # write the new policy where the watcher cannot see it change the content, then HUP
        config.write_text(ALLOW + 'destinations: {default: allow, deny: ["*.invalid"]}\n')
        _wait_config_events(proxy, 1)  # the watcher reloads it (same policy for 127.0.0.1)
        proxy.process.send_signal(signal.SIGHUP)
        _wait_config_events(proxy, 2)
        status, body = _get(sock, upstream.url("/index.txt"))  # same socket, still open
        assert (status, body) == (200, b"hello from upstream\n")


def test_broken_config_is_refused_and_old_policy_keeps_working(
    proxy: Wardgate, upstream: Nginx, tmp_path: Path
) -> None:
    config = tmp_path / "wardgate.yaml"
    config.write_text(DENY)
    _wait_config_events(proxy, 1)
    config.write_text(BROKEN)
    _wait_config_events(proxy, 2)
    proxy.process.send_signal(signal.SIGHUP)
    _wait_config_events(proxy, 3)
    refused = _config_events(proxy)[1:]
    assert all("reload refused" in str(e["error"]) for e in refused)
    assert all("destinations.default" in str(e["error"]) for e in refused)
    with _connect(proxy) as sock:  # the DENY policy still decides
        status, body = _get(sock, upstream.url("/index.txt"))
        assert status == 403 and b"policy.destination_denied" in body
    config.write_text(ALLOW)  # and a good config is taken again
    _wait_config_events(proxy, 4)
    with _connect(proxy) as sock:
        assert _get(sock, upstream.url("/index.txt"))[0] == 200
    stop(proxy.process)
    assert proxy.process.stderr is not None
    stderr = proxy.process.stderr.read().decode()
    assert "refused, the running config stays" in stderr
    assert "expected one of 'allow', 'deny'" in stderr


def test_unknown_rule_id_is_refused_like_wardgate_check(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("rules: {dlp.not_a_rule: {action: warn}}\n")
    with pytest.raises(Exception, match="unknown rule id"):
        checked(lambda: load_config(path))


def test_restart_only_sections_keep_their_running_values() -> None:
    old = Config()
    new = Config.model_validate(
        {"listen": "127.0.0.1:9999", "mode": "audit", "audit": {"file": "/tmp/x.jsonl"}}
    )
    merged, kept = carry_restart_only(old, new)
    assert sorted(kept) == ["audit", "listen"]
    assert merged.listen == old.listen and merged.audit == old.audit
    assert merged.mode.value == "audit"  # policy sections do change
