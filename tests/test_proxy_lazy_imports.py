"""What `wardgate run` loads before its first request.

Idle memory is part of the proxy's budget (bench/proxy.py, target <= 80 MB): `cryptography`
(~8 MB resident) is needed only when TLS is intercepted, wsproto only for a WebSocket and
dnspython only when `dns.servers` names servers, so a plain proxy must not import them at
start. Each check runs in a fresh interpreter, since the test process itself has long
imported all three."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

_BUILD = """
import sys
from wardgate import cli
from wardgate.config import load_config
from wardgate.proxy.app import build_server

cli._parser()  # `wardgate run` builds the whole command line first
config = load_config(sys.argv[1] or None)
server = build_server(config, {})
print(" ".join(sorted({name.split(".")[0] for name in sys.modules})))
print("ca" if server.ca is not None else "no-ca")
"""


def _loaded(tmp_path: Path, config_text: str) -> tuple[set[str], str]:
    """The top-level packages imported once `run` has built its server, and whether the
    server holds a CA."""
    config = ""
    if config_text:
        path = tmp_path / "wardgate.yaml"
        path.write_text(config_text)
        config = str(path)
    env = {**os.environ, "WARDGATE_HOME": str(tmp_path / "home")}
    done = subprocess.run(
        [sys.executable, "-c", _BUILD, config],
        capture_output=True, text=True, timeout=120, env=env, check=True,
    )  # fmt: skip
    modules, ca = done.stdout.strip().splitlines()[-2:]
    return set(modules.split()), ca


def test_plain_proxy_loads_no_cryptography_wsproto_or_dnspython(tmp_path: Path) -> None:
    modules, ca = _loaded(tmp_path, "")
    assert ca == "no-ca"
    assert "cryptography" not in modules
    assert "wsproto" not in modules and "h11" not in modules
    assert "dns" not in modules
    assert "certifi" in modules  # the upstream TLS context is still built at start


def test_dns_servers_load_dnspython(tmp_path: Path) -> None:
    modules, _ = _loaded(tmp_path, 'dns:\n  servers: ["127.0.0.1:5353"]\n')
    assert "dns" in modules


def test_interception_loads_the_certificate_authority(tmp_path: Path) -> None:
    home = tmp_path / "home"
    init = [sys.executable, "-m", "wardgate", "ca", "init"]
    env = {**os.environ, "WARDGATE_HOME": str(home)}
    subprocess.run(init, capture_output=True, timeout=120, env=env, check=True)
    modules, ca = _loaded(tmp_path, "tls:\n  intercept: true\n")
    assert ca == "ca"
    assert "cryptography" in modules
