"""Scanner benchmark: `make bench` (or `python bench/scan.py [--quick]`).

Measures, on the same inputs in one run:
  * URL scan time per URL (target <= 20 us median; Pipelock reports 31-40 us),
  * a 10 KB clean HTML response through the response pipeline (target <= 0.5 ms; Pipelock 8.4 ms),
  * a 1 KB request plus a 1 KB response: the fixed cost per small message,
  * throughput of the request pipeline on 10 MB of benign mixed text (target >= 100 MB/s, one core),
  * throughput of the response pipeline, balanced and strict presets, on 16 KB and on several MB
    of the same text (target >= 20 MB/s, one core),
  * CPU time of the response scan of bench/proxy.py's 16 KB body, which wardgate adds to every
    such response in that benchmark (issue 3's added-latency target is 0.5 ms in all),
  * detect-secrets (default plugins) on the same 10 MB, as the peer baseline,
  * peak memory of the scan (tracemalloc) and of the process (ru_maxrss).
Medians over repeated runs; the machine is shared and noisy, so read ratios, not absolutes.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import random
import resource
import statistics
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

from wardgate.config import load_config
from wardgate.scan.pipeline import Pipeline
from wardgate.scan.types import Direction, Message
from wardgate.scan.urls import scan_url

CORPUS = (
    Path(
        os.environ.get("WARDGATE_CORPUS", Path(__file__).resolve().parents[2] / "shared" / "corpus")
    )
    / "benign.jsonl.gz"
)
"""The benign corpus (../shared/corpus, or $WARDGATE_CORPUS as for the tests): a checkout
elsewhere (a worktree) measures the same text as the main tree."""
URLS = [
    "https://api.github.com/repos/octocat/hello-world/pulls?state=open&per_page=50",
    "https://registry.npmjs.org/@modelcontextprotocol%2fserver-filesystem/-/server-filesystem-1.0.2.tgz",
    "https://pypi.org/simple/httptools/",
    "https://en.wikipedia.org/wiki/Transport_Layer_Security#TLS_1.3",
    "https://raw.githubusercontent.com/org/repo/3f5e2a9c41d07b8e9a6f1c2d3e4f5a6b7c8d9e0f/README.md",
    "https://www.google.com/search?q=agent+firewall+prompt+injection&hl=en",
]


def median_seconds(
    fn: Callable[[], object],
    *,
    repeat: int,
    inner: int,
    clock: Callable[[], float] = time.perf_counter,
) -> float:
    """Median of `repeat` timings, each the mean of `inner` calls."""
    samples = []
    for _ in range(repeat):
        start = clock()
        for _ in range(inner):
            fn()
        samples.append((clock() - start) / inner)
    return statistics.median(samples)


_OVERRIDES: dict[str, Any] = {}
"""Configuration overrides of both pipelines (--no-cues)."""


def benign_text(target: int) -> str:
    """About `target` characters of mixed benign text: the corpus when present, else made up."""
    parts: list[str] = []
    size = 0
    if CORPUS.exists():
        with gzip.open(CORPUS, "rt", encoding="utf-8") as fh:
            rows = [json.loads(line)["text"] for line in fh]
        rng = random.Random(7)
        while size < target:
            text = rng.choice(rows)
            parts.append(text)
            size += len(text) + 1
    else:
        words = [
            "the",
            "agent",
            "fetched",
            "a",
            "page",
            "and",
            "the",
            "proxy",
            "scanned",
        ]
        rng = random.Random(7)
        while size < target:
            line = " ".join(rng.choice(words) for _ in range(12))
            parts.append(line)
            size += len(line) + 1
    return "\n".join(parts)[:target]


def clean_html(target: int) -> str:
    row = (
        "<tr><td>release {i}</td><td>Faster startup; configuration parsed lazily."
        " See the changelog for details.</td></tr>\n"
    )
    body = "".join(row.format(i=i) for i in range(target // len(row) + 1))
    return f"<html><body><table>{body}</table></body></html>"[:target]


def detect_secrets_seconds(text: str) -> tuple[float, int]:
    from detect_secrets import SecretsCollection
    from detect_secrets.settings import default_settings

    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as fh:
        fh.write(text)
        path = fh.name
    with default_settings():
        collection = SecretsCollection()
        start = time.perf_counter()
        collection.scan_file(path)
        elapsed = time.perf_counter() - start
    Path(path).unlink()
    return elapsed, sum(len(v) for v in collection.data.values())


RESPONSE_TARGET = 20.0  # MB/s on benign text, one core (issue 6)
PROXY_BODY = ("The agent fetched a page and the proxy scanned it. " * 400)[: 16 * 1024]
"""bench/proxy.py's 16k.txt (MEDIUM there), as the proxy scans it in every 16 KB response."""


def response_rows(balanced: Pipeline, text: str, *, quick: bool) -> list[tuple[str, str, str]]:
    """Throughput of the response pipeline (injection patterns, and in strict also the
    learned model) on a 16 KB body and on a multi-MB one, for the balanced and strict
    presets, against the >= 20 MB/s target. Timed in CPU seconds of this process: the
    target is one core's worth, and other load on a shared machine should not count."""
    strict = Pipeline(load_config(preset="strict", overrides=_OVERRIDES), environ={})
    cases = [
        ("balanced", balanced, text[: 16 << 10], 15, 20),
        ("balanced", balanced, text, 3, 1),
        ("strict", strict, text[: 16 << 10], 5, 5),
        ("strict", strict, text[: (1 if quick else 2) << 20], 1, 1),
    ]
    rows = []
    for preset, pipeline, body, repeat, inner in cases:
        message = Message(Direction.RESPONSE, body=body, destination="example.com")
        pipeline.scan(message)  # warm: models, prefilter databases, Unicode tables
        seconds = median_seconds(
            partial(pipeline.scan, message), repeat=repeat, inner=inner, clock=time.process_time
        )
        mb = len(body.encode()) / 1e6
        rate = mb / seconds
        size = f"{mb * 1e3:.0f} KB" if mb < 1 else f"{mb:.0f} MB"
        verdict = "ok" if rate >= RESPONSE_TARGET else "NO"
        rows.append(
            (
                f"{size} benign text, response pipeline, {preset}",
                f"{rate:.1f} MB/s",
                f"target >= {RESPONSE_TARGET:.0f} MB/s: {verdict}; {seconds * 1e3:.2f} ms CPU",
            )
        )
    return rows


def proxy_body_row(pipeline: Pipeline, *, repeat: int) -> tuple[str, str, str]:
    """CPU time of the response scan of bench/proxy.py's 16 KB body: the scanner's share of
    the latency the proxy adds to that response."""
    message = Message(Direction.RESPONSE, body=PROXY_BODY, destination="example.com")
    pipeline.scan(message)
    seconds = median_seconds(
        partial(pipeline.scan, message), repeat=repeat, inner=100, clock=time.process_time
    )
    return (
        "16 KB response of bench/proxy.py, scan",
        f"{seconds * 1e3:.3f} ms",
        "CPU; part of the proxy's added latency (target <= 0.5 ms in all)",
    )


def small_message_row(pipeline: Pipeline, body: str, *, repeat: int) -> tuple[str, str, str]:
    """CPU time of a 1 KB request plus a 1 KB response: the fixed cost per message that the
    HTTP proxy pays per small request and the MCP relay per message."""
    pair = (
        Message(
            Direction.REQUEST, body=body, destination="example.com", url="https://example.com/v1"
        ),
        Message(Direction.RESPONSE, body=body, destination="example.com"),
    )
    seconds = median_seconds(
        lambda: [pipeline.scan(m) for m in pair], repeat=repeat, inner=200, clock=time.process_time
    )
    return (
        "1 KB request + 1 KB response, per pair",
        f"{seconds * 1e6:.0f} us",
        "fixed per-message cost (proxy, MCP relay); CPU",
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1 MB instead of 10 MB, fewer rounds")
    parser.add_argument(
        "--no-cues",
        action="store_true",
        help="cue model off (injection.cues), to measure its share",
    )
    args = parser.parse_args()
    if args.no_cues:
        _OVERRIDES["injection"] = {"cues": False}
    megabytes = 1 if args.quick else 10
    repeat = 5 if args.quick else 9

    pipeline = Pipeline(load_config(preset="balanced", overrides=_OVERRIDES), environ={})
    rows: list[tuple[str, str, str]] = []

    url_us = (
        statistics.median(
            median_seconds(lambda u=u: scan_url(u, pipeline.url_policy), repeat=repeat, inner=2000)
            for u in URLS
        )
        * 1e6
    )
    full_url_us = (
        statistics.median(
            median_seconds(
                lambda u=u: pipeline.scan(Message(Direction.REQUEST, url=u, destination="x")),
                repeat=repeat,
                inner=500,
            )
            for u in URLS
        )
        * 1e6
    )
    rows.append(
        (
            "URL scan (scan_url), median",
            f"{url_us:.1f} us",
            f"target <= 20 us; Pipelock 31-40 us -> {35 / url_us:.1f}x",
        )
    )
    rows.append(
        (
            "URL through full request pipeline",
            f"{full_url_us:.1f} us",
            "DLP + env + split on URL fields",
        )
    )

    html = clean_html(10 * 1024)
    response = Message(Direction.RESPONSE, body=html, destination="example.com")
    resp_ms = median_seconds(lambda: pipeline.scan(response), repeat=repeat, inner=200) * 1e3
    rows.append(
        (
            "10 KB clean response",
            f"{resp_ms:.3f} ms",
            f"target <= 0.5 ms; Pipelock 8.4 ms -> {8.4 / resp_ms:.0f}x",
        )
    )

    text = benign_text(megabytes << 20)
    mb = len(text.encode()) / 1e6
    rows.append(small_message_row(pipeline, text[:1024], repeat=repeat))
    rows.append(proxy_body_row(pipeline, repeat=repeat))
    request = Message(Direction.REQUEST, body=text, destination="example.com")
    tracemalloc.start()
    start = time.perf_counter()
    verdict = pipeline.scan(request)
    first = time.perf_counter() - start
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    timings = [first]
    for _ in range(2 if args.quick else 4):
        start = time.perf_counter()
        pipeline.scan(request)
        timings.append(time.perf_counter() - start)
    req_s = statistics.median(timings)
    rows.append(
        (
            f"{mb:.0f} MB benign text, request pipeline",
            f"{mb / req_s:.0f} MB/s",
            f"target >= 100 MB/s; {len(verdict.findings)} findings",
        )
    )
    rows += response_rows(pipeline, text, quick=args.quick)
    rows.append(
        (
            "peak traced memory during the request scan",
            f"{peak / 2**20:.1f} MiB",
            f"{peak / len(text):.1f} bytes per input char",
        )
    )

    ds_s, ds_hits = detect_secrets_seconds(text)
    rows.append(
        (
            "detect-secrets, same text (peer)",
            f"{mb / ds_s:.1f} MB/s",
            f"wardgate is {ds_s / req_s:.0f}x faster; detect-secrets flagged {ds_hits}",
        )
    )
    rows.append(
        (
            "process max RSS",
            f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB",
            "",
        )
    )

    width = max(len(r[0]) for r in rows)
    print(
        f"wardgate scan benchmark ({'quick' if args.quick else 'full'},"
        f" python {sys.version.split()[0]})"
    )
    for name, value, note in rows:
        print(f"  {name:<{width}}  {value:>12}  {note}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
