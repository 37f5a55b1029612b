"""audit.fail_closed on the proxy: while the primary audit sink (audit.file) cannot write,
`wardgate run` answers 503 with the block body (rule policy.audit_unavailable) in enforce
mode, and lets traffic through again once the sink writes.

The sink fails for real: audit.max_bytes is tiny so every event rotates the file, and a
non-empty directory where the rotated file must go makes each rotation (so each write) fail
until the directory is removed.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import httpx

from servers import start_nginx, start_wardgate, stop


def test_enforce_stops_traffic_while_the_audit_file_cannot_be_written(tmp_path: Path) -> None:
    nginx = start_nginx(tmp_path / "up", {"index.txt": b"ok\n"})
    wardgate = start_wardgate(
        tmp_path, config="mode: enforce\naudit:\n  max_bytes: 1\n  backups: 1\n"
    )
    blocker = Path(f"{wardgate.audit_log}.1")
    statuses: list[int] = []
    try:
        with httpx.Client(proxy=wardgate.proxy, timeout=10) as client:
            url = nginx.url("/index.txt")
            statuses.append(client.get(url).status_code)  # written: the trail works
            blocker.unlink(missing_ok=True)
            blocker.mkdir()
            (blocker / "keep").write_text("a rotation cannot replace a non-empty directory\n")
            statuses.append(client.get(url).status_code)  # served; its event fails to write
            refused = client.get(url)
            statuses.append(refused.status_code)
            shutil.rmtree(blocker)  # the disk is back
            statuses.append(client.get(url).status_code)  # its refusal is written...
            statuses.append(client.get(url).status_code)  # ...so traffic resumes
    finally:
        stop(wardgate.process)
        stop(nginx.process)
    assert statuses == [200, 200, 503, 503, 200]
    body = refused.json()
    assert body["error"] == "blocked by wardgate" and body["rule"] == "policy.audit_unavailable"
    assert refused.headers["x-wardgate-event"] == body["event_id"]
