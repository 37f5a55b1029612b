"""`wardgate sandbox` hides wardgate's own files from the command (contain/cover.py): the CA's
private key, the admin token, audit.db and the sentinel directory, while TLS interception
(the CA certificate in the command's bundle) keeps working. As root and as an unprivileged
user (uid 65534 in a user namespace), where the cover cannot be lifted either."""

from __future__ import annotations

import os
import random
import string
import subprocess
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from servers import Nginx, TlsFiles, make_tls_files, start_nginx, stop
from wardgate.proxy.ca import CertificateAuthority

PY = sys.executable
TIMEOUT = 60
UNPRIVILEGED = ("unshare", "--user", "--map-user=65534", "--map-group=65534", "--")

PROBE = """
home=$1; config=$2; url=$3
echo "home=[$(ls -A "$home" | tr '\\n' ' ')]"
cat "$home/ca-key.pem" >/dev/null 2>&1; echo "key=$?"
cat "$home/admin-token" >/dev/null 2>&1; echo "token=$?"
cat "$config" >/dev/null; echo "config-read=$?"
(echo 'mode: audit' >> "$config") 2>/dev/null; echo "config-write=$?"
touch "$home/killswitch" 2>/dev/null; echo "sentinel=$?"
curl -sS -m 30 "$url"
"""


def random_text(length: int) -> str:
    return "".join(random.choices(string.ascii_letters + string.digits, k=length))


@pytest.fixture(scope="module")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    return make_tls_files(tmp_path_factory.mktemp("tls"))


@pytest.fixture
def nginx(tmp_path: Path, tls_files: TlsFiles) -> Iterator[Nginx]:
    server = start_nginx(tmp_path / "web", {"hello.txt": b"hello through tls\n"}, tls=tls_files)
    try:
        yield server
    finally:
        stop(server.process)


@pytest.mark.parametrize("prefix", [(), UNPRIVILEGED], ids=["root", "userns"])
def test_wardgate_home_hidden_while_interception_works(
    tmp_path: Path, nginx: Nginx, tls_files: TlsFiles, prefix: Sequence[str]
) -> None:
    home = tmp_path / "home"
    CertificateAuthority.create(home, days=2)
    (home / "admin-token").write_text(random_text(40))
    config = tmp_path / "wardgate.yaml"
    text = (
        f"tls: {{intercept: true, upstream_ca: [{tls_files.ca}]}}\n"
        "ssrf: {allow: [localhost, 127.0.0.1]}\n"
    )
    config.write_text(text)
    # Outside the sandbox the same user reads all of it (so the assertions below can fail).
    assert (home / "ca-key.pem").read_bytes() and (home / "admin-token").read_text()
    url = f"https://localhost:{nginx.tls_port}/hello.txt"
    result = subprocess.run(
        [*prefix, PY, "-m", "wardgate.contain.cli", "sandbox", "--config", str(config), "--",
         "sh", "-c", PROBE, "probe", str(home), str(config), url],
        capture_output=True,
        timeout=TIMEOUT,
        env={**os.environ, "WARDGATE_HOME": str(home)},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout.decode().splitlines() == [
        "home=[]",  # an empty cover: no CA key, token, audit.db, cache
        "key=1",
        "token=1",
        "config-read=0",  # the policy is readable...
        "config-write=2",  # ...not writable (it is reloaded when it changes)
        "sentinel=1",  # the cover is read-only too
        "hello through tls",  # intercepted with the CA whose key the command cannot see
    ], result.stderr
    assert config.read_text() == text
    assert not (home / "killswitch").exists()
    assert (home / "audit.db").exists()  # wardgate itself still writes there


def test_unprivileged_command_cannot_lift_the_cover(tmp_path: Path) -> None:
    """Without capabilities umount is refused, and in a nested user namespace the cover
    came locked from the more privileged one: it cannot be taken off there either."""
    home = tmp_path / "home"
    home.mkdir()
    (home / "admin-token").write_text(random_text(40))
    script = (
        'umount "$WARDGATE_HOME" 2>/dev/null; echo "umount=$?"; '
        'unshare -Urm sh -c \'umount "$WARDGATE_HOME" 2>/dev/null; echo "nested=$?"; '
        'ls -A "$WARDGATE_HOME"\'; echo end'
    )
    result = subprocess.run(
        [*UNPRIVILEGED, PY, "-m", "wardgate.contain.cli", "sandbox", "--", "sh", "-c", script],
        capture_output=True,
        timeout=TIMEOUT,
        env={**os.environ, "WARDGATE_HOME": str(home)},
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.decode().splitlines()
    assert lines[0] == "umount=32" and lines[1] == "nested=32", lines  # 32: mount failure
    assert lines[2:] == ["end"], lines  # still the empty cover: no admin-token listed


def test_files_outside_home_are_covered_and_cwd_inside_is_refused(tmp_path: Path) -> None:
    """admin.token_file and audit.file elsewhere get an empty read-only file bound over them;
    a working directory below $WARDGATE_HOME would reach under the cover, so it is refused."""
    home, elsewhere = tmp_path / "home", tmp_path / "elsewhere"
    home.mkdir()
    elsewhere.mkdir()
    token_file = elsewhere / "token"
    token_file.write_text(random_text(40))
    audit = elsewhere / "audit.jsonl"
    config = tmp_path / "wardgate.yaml"
    config.write_text(f"admin: {{token_file: {token_file}}}\naudit: {{file: {audit}}}\n")
    script = (
        'wc -c < "$1"; (echo forged >> "$2") 2>/dev/null; echo "append=$?"; '
        'echo ok > "$3/mine.txt"; cat "$3/mine.txt"'
    )
    argv = [PY, "-m", "wardgate.contain.cli", "sandbox", "--config", str(config), "--",
            "sh", "-c", script, "probe", str(token_file), str(audit), str(elsewhere)]  # fmt: skip
    env = {**os.environ, "WARDGATE_HOME": str(home)}
    result = subprocess.run(argv, capture_output=True, timeout=TIMEOUT, env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.decode().split() == ["0", "append=2", "ok"]  # the rest stays usable
    assert b"forged" not in audit.read_bytes()
    (home / "sub").mkdir()
    inside = subprocess.run(argv, capture_output=True, timeout=TIMEOUT, env=env, cwd=home / "sub")
    assert inside.returncode == 125
    assert b"inside wardgate's hidden files" in inside.stderr
    assert inside.stdout == b""


def test_root_command_is_confined_and_cannot_lift_the_cover(tmp_path: Path) -> None:
    """As root, COMMAND runs in a user namespace of its own: still uid 0 with the host's ids
    (it writes root's files), but the covers arrive locked (no umount, no non-recursive bind
    of the parent that would show what is under them), its network namespace is not its own
    to reconfigure, and init, which keeps root's capabilities, cannot be read or ptraced."""
    assert os.geteuid() == 0  # the suite runs as root (.ci/run installs as root)
    home = tmp_path / "home"
    home.mkdir()
    (home / "admin-token").write_text(random_text(40))
    outside = tmp_path / "work"
    outside.mkdir()
    script = (
        'cat /proc/self/uid_map | tr -s " " | sed "s/^ //"; '
        'umount "$WARDGATE_HOME" 2>/dev/null; echo "umount=$?"; '
        'umount -l "$WARDGATE_HOME" 2>/dev/null; echo "lazy=$?"; '
        f"mkdir -p {outside}/peek; "
        f'mount --bind {tmp_path} {outside}/peek 2>/dev/null; echo "bind=$?"; '
        'ip link set lo down 2>/dev/null; echo "lo-down=$?"; '
        'cat /proc/1/environ >/dev/null 2>&1; echo "init-environ=$?"; '
        f'echo written > {outside}/by-root && echo "write=0"; '
        'ls -A "$WARDGATE_HOME"; echo end'
    )
    result = subprocess.run(
        [PY, "-m", "wardgate.contain.cli", "sandbox", "--", "sh", "-c", script],
        capture_output=True,
        timeout=TIMEOUT,
        env={**os.environ, "WARDGATE_HOME": str(home)},
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.decode().splitlines() == [
        "0 0 4294967295",  # the host's ids, one to one
        "umount=32",
        "lazy=32",
        "bind=32",
        "lo-down=2",
        "init-environ=1",
        "write=0",
        "end",  # the empty cover: no admin-token listed
    ], result.stderr
    assert (outside / "by-root").read_text() == "written\n"
    assert b"root-unconfined" not in result.stderr and b"capabilities" not in result.stderr
