"""Scale-out benchmark: `python bench/scale.py [--quick]` (see bench/README.md).

Starts, all on 127.0.0.1 with ports the OS picks: nginx (the upstream), redis-server, one
wardgate with in-memory state and three with Redis state (all the balanced preset, a rate
limit configured so every request is charged), and one HAProxy (TCP mode, round robin) in
front of each group: 1 x memory, 1 x redis, 2 x redis, 3 x redis. wrk drives each group
through its HAProxy; the table gives requests/s and p50 latency as ratios to 1 replica with
memory state. On a 2-core machine more replicas add contention, not speed: the ratios show
the overhead of sharing state, which is what this measures.

The per-request Redis cost is measured directly too: the state work one proxied request does
(the rate-limit `take_all` script plus the drip-window load) timed in-process with uvloop,
Redis against memory; its median difference is the cost added per request (target <= 150 us).

Every process started here is stopped on exit, error or Ctrl-C.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from proxy import HOST, WARDGATE, WRK_LUA, Service, clean_env, free_port, start, wait_for_port

HAPROXY = shutil.which("haproxy") or "/usr/sbin/haproxy"
REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
TARGET_REDIS_US = 150.0
LIMIT_PER_MINUTE = 1_000_000_000  # never reached: every request is charged, none refused
GROUPS = (("1 x memory", "memory", 1), ("1 x redis", "redis", 1),
          ("2 x redis", "redis", 2), ("3 x redis", "redis", 3))  # fmt: skip

NGINX_CONF = """
worker_processes 1;
daemon off;
user root;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log warn;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    keepalive_requests 1000000;
    client_body_temp_path {prefix}/body;
    proxy_temp_path {prefix}/proxy;
    fastcgi_temp_path {prefix}/fastcgi;
    uwsgi_temp_path {prefix}/uwsgi;
    scgi_temp_path {prefix}/scgi;
    server {{
        listen {host}:{port};
        root {root};
    }}
}}
"""

HAPROXY_CONF = """
global
    maxconn 4096
    nbthread 1
defaults
    mode tcp
    timeout connect 5s
    timeout client 60s
    timeout server 60s
frontend wardgates
    bind {host}:{port}
    default_backend replicas
backend replicas
    balance roundrobin
{servers}
"""


@dataclass
class Row:
    name: str
    rps: float
    p50_ms: float
    errors: int


def start_nginx(base: Path, stack: contextlib.ExitStack) -> Service:
    root, prefix = base / "www", base / "nginx"
    root.mkdir()
    prefix.mkdir()
    (root / "small.txt").write_bytes(b"hello\n")
    port = free_port()
    (prefix / "nginx.conf").write_text(
        NGINX_CONF.format(prefix=prefix, host=HOST, port=port, root=root)
    )
    return start("nginx", [NGINX, "-c", str(prefix / "nginx.conf"), "-p", str(prefix)], port,
                 stack)  # fmt: skip


def start_redis(base: Path, stack: contextlib.ExitStack) -> Service:
    port = free_port()
    cmd = [REDIS_SERVER, "--port", str(port), "--bind", HOST, "--save", "", "--appendonly",
           "no", "--dir", str(base)]  # fmt: skip
    return start("redis", cmd, port, stack)


def start_wardgate(base: Path, name: str, state: str, stack: contextlib.ExitStack) -> Service:
    base.mkdir()
    port, admin = free_port(), free_port()
    cfg = base / "wardgate.yaml"
    cfg.write_text(
        f"preset: balanced\nlimits: {{requests_per_minute: {LIMIT_PER_MINUTE}}}\n{state}\n"
    )
    cmd = [str(WARDGATE), "run", "--config", str(cfg), "--listen", f"{HOST}:{port}",
           "--admin", f"{HOST}:{admin}", "--allow-internal", "127.0.0.0/8"]  # fmt: skip
    # one compiled-scanner cache for all four replicas: each would otherwise compile its own
    cache = os.environ.get("WARDGATE_CACHE", str(Path.home() / ".wardgate" / "cache"))
    env = clean_env(WARDGATE_HOME=str(base / "home"), WARDGATE_CACHE=cache)
    return start(name, cmd, port, stack, timeout=90, env=env)


def start_haproxy(
    base: Path, name: str, backends: Sequence[Service], stack: contextlib.ExitStack
) -> Service:
    port = free_port()
    servers = "\n".join(f"    server r{i} {HOST}:{s.port}" for i, s in enumerate(backends))
    cfg = base / f"{name.replace(' ', '')}.cfg"
    cfg.write_text(HAPROXY_CONF.format(host=HOST, port=port, servers=servers))
    return start(f"haproxy {name}", [HAPROXY, "-f", str(cfg), "-db"], port, stack)


def wrk(lua: Path, via: Service, upstream: Service, *, connections: int, seconds: int) -> Row:
    """One wrk run through `via`: wrk connects to it and sends the absolute URL."""
    target = f"http://{HOST}:{upstream.port}/small.txt"
    threads = min(2, connections)
    cmd = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--timeout", "5s",
           "-s", str(lua), f"http://{HOST}:{via.port}/", "--", target,
           f"{HOST}:{upstream.port}"]  # fmt: skip
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 30,
                             env=clean_env())  # fmt: skip
    except subprocess.TimeoutExpired:
        return Row(via.name, 0.0, 0.0, 1)
    match = re.search(r"^WRKJSON (\{.*\})$", out.stdout, re.MULTILINE)
    if match is None:
        print(f"  wrk failed through {via.name}: {(out.stderr or out.stdout)[-300:]}")
        return Row(via.name, 0.0, 0.0, 1)
    data = json.loads(match.group(1))
    errors = sum(data["errors"].values()) + (0 if data["requests"] else 1)
    return Row(via.name, data["requests"] / (data["duration_us"] / 1e6),
               data["p50_us"] / 1000, errors)  # fmt: skip


# -- the per-request Redis cost, in process --------------------------------------------------


async def _state_cost(redis_url: str, rounds: int) -> tuple[float, float]:
    """Median microseconds of one request's state work, memory and Redis, interleaved."""
    from wardgate.config import Config
    from wardgate.config.models import StateSettings
    from wardgate.policy.limits import Limiter
    from wardgate.scan.split import Fragment
    from wardgate.state.factory import State, build_state

    config = Config.model_validate({"limits": {"requests_per_minute": LIMIT_PER_MINUTE}})
    redis = StateSettings.model_validate({"backend": "redis", "url": redis_url,
                                          "prefix": "bench-cost"})  # fmt: skip

    async def one(state: State, limiter: Limiter) -> float:
        started = time.perf_counter()
        await limiter.admit("bench.example")
        async with state.drip.around("bench.example", 0.0) as window:
            window.add("bench.example", [Fragment("url.path[0]", "small.txt")], 0.0)
        return (time.perf_counter() - started) * 1e6

    states = [build_state(StateSettings(), config.split_secrets, {}),
              build_state(redis, config.split_secrets, {})]  # fmt: skip
    limiters = [Limiter(config.limits, s.store) for s in states]
    samples: list[list[float]] = [[], []]
    try:
        for i in range(rounds + 100):  # the first 100 warm up connections and scripts
            for k in (0, 1):
                took = await one(states[k], limiters[k])
                if i >= 100:
                    samples[k].append(took)
    finally:
        for state in states:
            await state.close()
    return statistics.median(samples[0]), statistics.median(samples[1])


def state_cost(redis_url: str, rounds: int) -> tuple[float, float]:
    import uvloop

    return uvloop.run(_state_cost(redis_url, rounds))


# -- main -------------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="2 s per wrk run instead of 5")
    args = parser.parse_args(argv)
    seconds = 2 if args.quick else 5
    rounds = 2000 if args.quick else 10000
    for tool in ("wrk", HAPROXY, REDIS_SERVER, NGINX):
        if shutil.which(tool) is None:
            print(f"missing: {tool} (apt-get install wrk haproxy redis-server nginx)")
            return 2
    with (
        tempfile.TemporaryDirectory(prefix="wardgate-scale-") as tmp,
        contextlib.ExitStack() as stack,
    ):
        base = Path(tmp)
        print("starting:", flush=True)
        upstream = start_nginx(base, stack)
        redis = start_redis(base, stack)
        url = f"redis://{HOST}:{redis.port}/0"
        shared = f"state: {{backend: redis, url: '{url}', prefix: bench}}"
        memory = start_wardgate(base / "m", "wg-memory", "", stack)
        replicas = [start_wardgate(base / f"r{i}", f"wg-redis{i}", shared, stack) for i in range(3)]
        fronts = {}
        for name, kind, count in GROUPS:
            backends = [memory] if kind == "memory" else replicas[:count]
            fronts[name] = start_haproxy(base, name, backends, stack)
        wait_for_port(upstream.port, timeout=5)
        lua = base / "proxy.lua"
        lua.write_text(WRK_LUA)
        print(f"\nwrk, {seconds} s per run, small GET through HAProxy (TCP, round robin):")
        busy = {name: wrk(lua, front, upstream, connections=32, seconds=seconds)
                for name, front in fronts.items()}  # fmt: skip
        single = {name: wrk(lua, front, upstream, connections=1, seconds=seconds)
                  for name, front in fronts.items()}  # fmt: skip
        cost_memory, cost_redis = state_cost(url, rounds)
    base_busy, base_single = busy[GROUPS[0][0]], single[GROUPS[0][0]]
    print(f"\n{'group':<12} {'req/s c=32':>11} {'ratio':>6} {'p50 c=1 ms':>11} {'ratio':>6}"
          f" {'errors':>7}")  # fmt: skip
    for name, _, _ in GROUPS:
        b, s = busy[name], single[name]
        print(f"{name:<12} {b.rps:>11.0f} {b.rps / max(base_busy.rps, 1e-9):>6.2f}"
              f" {s.p50_ms:>11.3f} {s.p50_ms / max(base_single.p50_ms, 1e-9):>6.2f}"
              f" {b.errors + s.errors:>7}")  # fmt: skip
    added = cost_redis - cost_memory
    latency_added = (single["1 x redis"].p50_ms - base_single.p50_ms) * 1000
    verdict = "met" if added <= TARGET_REDIS_US else "NOT met"
    print(f"\nstate work per request (rate-limit take_all + drip window), median of {rounds}:")
    print(f"  memory {cost_memory:.1f} us, redis {cost_redis:.1f} us -> added {added:.1f} us"
          f" (target <= {TARGET_REDIS_US:.0f} us: {verdict})")  # fmt: skip
    print(f"  wrk p50 at 1 connection, 1 x redis minus 1 x memory: {latency_added:.0f} us")
    errors = sum(r.errors for r in (*busy.values(), *single.values()))
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
