"""The stdio relay as a real process around a raw line-level server (tests/mcp_servers)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

SERVER = Path(__file__).parent / "mcp_servers" / "raw_server.py"
TIMEOUT = 30


def _wardgate(tmp_path: Path, *server: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "wardgate",
            "mcp",
            "--audit-log",
            str(tmp_path / "a.jsonl"),
            "--",
            *(server or (sys.executable, str(SERVER))),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        env={**os.environ, "RAW_SERVER_LOG": str(tmp_path / "server.log")},
    )


def _exchange(proc: subprocess.Popen[bytes], lines: list[bytes]) -> tuple[list[Any], int]:
    out, _ = proc.communicate(b"".join(x + b"\n" for x in lines), timeout=TIMEOUT)
    return [json.loads(x) for x in out.splitlines()], proc.returncode


def test_relay_passes_through_and_answers_bad_input(tmp_path: Path) -> None:
    replies, code = _exchange(
        _wardgate(tmp_path),
        [
            b'{"jsonrpc":"2.0","id":"x1","method":"echo","params":{"v":1}}',
            b"{broken",
            b'{"jsonrpc":"2.0","method":"notifications/hello","params":{"n":2}}',
            b'{"jsonrpc":"2.0","id":2,"method":"garbage"}',
            b'[{"jsonrpc":"2.0","id":3,"method":"echo"},{"jsonrpc":"2.0","id":4,"method":"echo"}]',
            b'{"jsonrpc":"2.0","id":5,"method":"exit0"}',
        ],
    )
    assert code == 0
    by_id = {json.dumps(r["id"]): r for r in replies if isinstance(r, dict) and "id" in r}
    assert by_id['"x1"']["result"] == {"echo": {"v": 1}}
    assert by_id["null"]["error"]["code"] == -32700
    assert by_id["2"]["result"] == {"ok": True}  # the garbage line before it was dropped
    assert any(r.get("method") == "notifications/echo" for r in replies if isinstance(r, dict))
    assert {"3", "4"} <= set(by_id)
    received = (tmp_path / "server.log").read_text()
    assert any(x.startswith("[") for x in received.splitlines())  # forwarded as a batch
    assert "broken" not in received
    events = [json.loads(x) for x in (tmp_path / "a.jsonl").read_text().splitlines()]
    assert [e["findings"][0]["rule"] for e in events].count("mcp.malformed") == 2


def test_server_death_mid_call_answers_pending_and_propagates_code(tmp_path: Path) -> None:
    proc = _wardgate(tmp_path)
    assert proc.stdin is not None and proc.stdout is not None
    proc.stdin.write(b'{"jsonrpc":"2.0","id":1,"method":"hang"}\n')
    proc.stdin.write(b'{"jsonrpc":"2.0","id":2,"method":"die"}\n')
    proc.stdin.flush()  # stdin stays open: the relay must notice the child, not our EOF
    lines: list[dict[str, Any]] = []
    deadline = time.monotonic() + TIMEOUT
    while len(lines) < 2 and time.monotonic() < deadline:
        lines.append(json.loads(proc.stdout.readline()))
    assert {r["id"] for r in lines} == {1, 2}
    assert all(r["error"]["code"] == -32002 for r in lines)
    assert proc.wait(timeout=TIMEOUT) == 3
    proc.stdin.close()
    proc.stdout.close()


def test_exit_code_of_missing_command(tmp_path: Path) -> None:
    _, code = _exchange(_wardgate(tmp_path, str(tmp_path / "no-such-server")), [])
    assert code == 127


def test_sigterm_forwarded_and_child_gone(tmp_path: Path) -> None:
    pidfile = tmp_path / "pid"
    script = f"import os,time; open({str(pidfile)!r},'w').write(str(os.getpid())); time.sleep(60)"
    proc = _wardgate(tmp_path, sys.executable, "-c", script)
    deadline = time.monotonic() + TIMEOUT
    while not (pidfile.exists() and pidfile.read_text()) and time.monotonic() < deadline:
        time.sleep(0.05)
    child = int(pidfile.read_text())
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=TIMEOUT) == 128 + signal.SIGTERM
    for pipe in (proc.stdin, proc.stdout):
        assert pipe is not None
        pipe.close()
    time.sleep(0.1)
    try:
        os.kill(child, 0)
        alive = True
    except ProcessLookupError:
        alive = False
    assert not alive


def test_child_killed_when_wardgate_is_killed(tmp_path: Path) -> None:
    pidfile = tmp_path / "pid"
    script = f"import os,time; open({str(pidfile)!r},'w').write(str(os.getpid())); time.sleep(60)"
    proc = _wardgate(tmp_path, sys.executable, "-c", script)
    deadline = time.monotonic() + TIMEOUT
    while not (pidfile.exists() and pidfile.read_text()) and time.monotonic() < deadline:
        time.sleep(0.05)
    child = int(pidfile.read_text())
    proc.kill()  # SIGKILL: no cleanup code runs; PR_SET_PDEATHSIG does the job
    proc.wait(timeout=TIMEOUT)
    for pipe in (proc.stdin, proc.stdout):
        assert pipe is not None
        pipe.close()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            os.kill(child, 0)
        except ProcessLookupError:
            break
        time.sleep(0.05)
    else:
        raise AssertionError("the server outlived a killed wardgate")


def test_audit_stdout_never_mixes_into_the_json_rpc_channel(tmp_path: Path) -> None:
    config = tmp_path / "c.yaml"
    config.write_text("audit:\n  stdout: true\n")
    request = {"jsonrpc": "2.0", "id": 1, "method": "tools/call",
               "params": {"name": "echo", "arguments": {"message": "hi"}}}  # fmt: skip
    done = subprocess.run(
        [sys.executable, "-m", "wardgate", "mcp", "--config", str(config), "--",
         sys.executable, str(SERVER)],
        input=json.dumps(request) + "\n", capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    assert lines and all(line.get("jsonrpc") == "2.0" for line in lines), done.stdout


def test_stdin_from_a_regular_file(tmp_path: Path) -> None:
    """epoll cannot watch a regular file: the relay falls back to a reader thread."""
    request = {"jsonrpc": "2.0", "id": 7, "method": "echo", "params": {"x": 1}}
    source = tmp_path / "in.jsonl"
    source.write_text(json.dumps(request) + "\n")
    with source.open("rb") as stdin:
        done = subprocess.run(
            [sys.executable, "-m", "wardgate", "mcp", "--", sys.executable, str(SERVER)],
            stdin=stdin, capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
    answers = [json.loads(line) for line in done.stdout.splitlines()]
    assert any(a.get("id") == 7 and "result" in a for a in answers), done.stdout + done.stderr


def test_stdout_pipe_stays_blocking_and_a_file_works_too(tmp_path: Path) -> None:
    """The relay writes a stdout pipe through a non-blocking description of its own: the
    one it shares with whoever started it keeps its blocking flag. A regular file as stdout
    (no pipe to open again) gets every answer too."""
    requests = "".join(
        json.dumps({"jsonrpc": "2.0", "id": n, "method": "echo", "params": {"x": "y" * 9000}})
        + "\n"
        for n in range(20)
    )
    read_end, write_end = os.pipe()
    with open(read_end, "rb") as reader:
        proc = subprocess.Popen(
            [sys.executable, "-m", "wardgate", "mcp", "--", sys.executable, str(SERVER)],
            stdin=subprocess.PIPE, stdout=write_end,
        )  # fmt: skip
        os.close(write_end)
        assert proc.stdin is not None
        proc.stdin.write(requests.encode())
        proc.stdin.close()
        out = reader.read()  # until wardgate (the only writer left) exits
        assert proc.wait(timeout=60) == 0
    ids = [json.loads(line).get("id") for line in out.splitlines()]
    assert sorted(i for i in ids if i is not None) == list(range(20))

    shared_read, shared_write = os.pipe()
    try:
        with subprocess.Popen(
            [sys.executable, "-m", "wardgate", "mcp", "--", sys.executable, str(SERVER)],
            stdin=subprocess.PIPE, stdout=shared_write,
        ) as proc:  # fmt: skip
            assert proc.stdin is not None
            proc.stdin.close()
            assert proc.wait(timeout=60) == 0
        assert os.get_blocking(shared_write)  # the description we share was left alone
    finally:
        os.close(shared_read)
        os.close(shared_write)

    target = tmp_path / "out.jsonl"
    with target.open("wb") as stdout:
        done = subprocess.run(
            [sys.executable, "-m", "wardgate", "mcp", "--", sys.executable, str(SERVER)],
            input=requests.encode(), stdout=stdout, timeout=60, check=False,
        )  # fmt: skip
    assert done.returncode == 0
    ids = [json.loads(line).get("id") for line in target.read_text().splitlines()]
    assert sorted(i for i in ids if i is not None) == list(range(20))
