"""mcp/tunnel.py: which proxy the environment names for an upstream, and the CONNECT
exchange against a real listening socket (a proxy that refuses, one that answers garbage)."""

from __future__ import annotations

import asyncio

import pytest

from wardgate.mcp.tunnel import HttpProxy, TunnelError, open_tunnel, proxy_for


def test_proxy_variables_are_read_like_curl() -> None:
    env = {"HTTPS_PROXY": "http://10.0.0.1:3128", "http_proxy": "http://10.0.0.2:8080"}
    assert proxy_for("https", "mcp.example", env) == HttpProxy("10.0.0.1", 3128)
    assert proxy_for("wss", "mcp.example", env) == HttpProxy("10.0.0.1", 3128)
    assert proxy_for("http", "mcp.example", env) == HttpProxy("10.0.0.2", 8080)
    assert proxy_for("http", "mcp.example", {"ALL_PROXY": "10.0.0.3:1"}) == HttpProxy("10.0.0.3", 1)
    assert proxy_for("https", "mcp.example", {}) is None
    lower_wins = {"https_proxy": "http://a:1", "HTTPS_PROXY": "http://b:2"}
    assert proxy_for("https", "x", lower_wins) == HttpProxy("a", 1)


@pytest.mark.parametrize(
    ("host", "no_proxy", "exempt"),
    [
        ("api.example.com", "example.com", True),
        ("api.example.com", ".example.com", True),
        ("example.com", ".example.com", True),
        ("badexample.com", "example.com", False),
        ("127.0.0.1", "localhost, 127.0.0.1", True),
        ("anything", "*", True),
        ("anything", "", False),
    ],
)
def test_no_proxy(host: str, no_proxy: str, exempt: bool) -> None:
    env = {"HTTPS_PROXY": "http://10.0.0.1:3128", "NO_PROXY": no_proxy}
    assert (proxy_for("https", host, env) is None) is exempt


def test_unusable_proxy_is_an_error_without_its_password() -> None:
    with pytest.raises(ValueError, match="only http://") as info:
        proxy_for("https", "x", {"HTTPS_PROXY": "socks5://user:hunter2@10.0.0.1:1080"})
    assert "hunter2" not in str(info.value)
    proxy = HttpProxy.parse("http://user:p%40ss@10.0.0.1:3128")
    assert proxy.authorization == "Basic dXNlcjpwQHNz"  # user:p@ss


def _answering(answer: bytes) -> tuple[list[bytes], object]:
    seen: list[bytes] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        seen.append(await reader.readuntil(b"\r\n\r\n"))
        writer.write(answer)
        await writer.drain()
        writer.close()

    return seen, handle


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        (b"HTTP/1.1 407 Proxy Authentication Required\r\n\r\n", "status 407"),
        (b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n", "status 403"),
        (b"SSH-2.0-OpenSSH\r\n\r\n", "a malformed answer"),
        (b"HTTP/1.1 200 OK\r\n" + b"X: y\r\n" * 4000 + b"\r\n", "oversized head"),
    ],
)
def test_refused_tunnel(answer: bytes, message: str) -> None:
    seen, handle = _answering(answer)

    async def scenario() -> str:
        server = await asyncio.start_server(handle, "127.0.0.1", 0)  # type: ignore[arg-type]
        port = server.sockets[0].getsockname()[1]
        proxy = HttpProxy("127.0.0.1", port, "Basic dTpw")
        try:
            await open_tunnel(proxy, "mcp.example", 443, timeout=5)
        except TunnelError as exc:
            return str(exc)
        finally:
            server.close()
        return "no error"

    error = asyncio.run(asyncio.wait_for(scenario(), 10))
    assert message in error
    assert seen[0].startswith(b"CONNECT mcp.example:443 HTTP/1.1\r\nHost: mcp.example:443\r\n")
    assert b"Proxy-Authorization: Basic dTpw\r\n" in seen[0]
