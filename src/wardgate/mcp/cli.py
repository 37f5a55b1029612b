"""`wardgate mcp`: the MCP command line, every transport behind one subcommand.

    wardgate mcp [OPTIONS] -- COMMAND [ARGS...]        stdio server as a child (mcp/stdio.py)
    wardgate mcp pin --out FILE -- COMMAND [ARGS...]   record the server's tool fingerprints
    wardgate mcp --upstream URL --listen HOST:PORT     Streamable HTTP endpoint (mcp/http.py; an
                                                       sse or ws(s):// upstream: http_channel.py)
    wardgate mcp --upstream URL [--transport sse]      stdio client to a Streamable HTTP, old
                                                       HTTP+SSE or ws(s):// server (mcp/bridge.py)

`--upstream NAME=URL` may be repeated with --listen: each server is served at /mcp/NAME and
the servers are checked for tool shadowing against each other (mcp/shadow.py). A process
fronting one server (stdio, or a stdio client bridged to one URL) checks its tools against
every other such process of the user through the shared registry (mcp/registry.py).

Every transport writes its events to the configured sinks and the SQLite audit store, obeys
the kill switch, and holds `ask` tool calls for approval (mcp/runtime.py); `--admin HOST:PORT`
serves the admin API and dashboard from this process, so `wardgate approve --admin HOST:PORT`
reaches calls held here.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from wardgate.audit import Sink, sink_from_config
from wardgate.config import Config, ConfigError, load_config
from wardgate.config.models import parse_endpoint

if TYPE_CHECKING:
    from wardgate.mcp.runtime import McpRuntime
    from wardgate.scan.pipeline import Pipeline
    from wardgate.scan.types import Message, Verdict

EXIT_OK, EXIT_BLOCK, EXIT_ERROR = 0, 1, 2
TRANSPORTS = ("auto", "streamable", "sse")


class UsageError(Exception):
    """Bad command-line input: printed as one line, exit 2."""


def add_parser(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Register `wardgate mcp` and its options."""
    mcp = commands.add_parser(
        "mcp",
        help="guard an MCP server: `wardgate mcp [OPTIONS] -- COMMAND` or `--upstream URL`",
        description="Relay MCP between a client and a server, scanning tool descriptions, "
        "calls and results. stdio: `wardgate mcp -- COMMAND [ARGS...]`. HTTP: `wardgate mcp "
        "--upstream https://host/mcp --listen 127.0.0.1:8890` serves the endpoint at "
        "http://127.0.0.1:8890/mcp; without --listen the client speaks stdio to us. "
        "`wardgate mcp pin --out FILE -- COMMAND` records the server's tool fingerprints; "
        "`--pins FILE` holds a session to them.",
    )
    mcp.add_argument("--config", metavar="FILE", help="YAML configuration file")
    mcp.add_argument("--preset", metavar="NAME", help="base preset (see `wardgate presets`)")
    mcp.add_argument("--audit-log", metavar="FILE", help="write audit events as JSONL here")
    mcp.add_argument("--pins", metavar="FILE", help="tool fingerprints from `wardgate mcp pin`")
    mcp.add_argument("--mode", choices=["audit", "enforce"])
    mcp.add_argument(
        "--admin",
        metavar="HOST:PORT",
        help="serve the admin API and dashboard here (approve held tool calls, kill switch)",
    )
    mcp.add_argument(
        "--upstream",
        action="append",
        default=[],
        metavar="URL|NAME=URL",
        help="the MCP server's http(s):// or ws(s):// URL (NAME=URL repeatable with --listen)",
    )
    mcp.add_argument("--listen", metavar="HOST:PORT", help="serve MCP over HTTP here")
    mcp.add_argument(
        "--header",
        action="append",
        default=[],
        metavar="'NAME: VALUE'",
        help="header added to every upstream request, e.g. 'Authorization: Bearer ...' "
        "(repeatable; '@ENV_VAR' as the value reads it from the environment)",
    )
    mcp.add_argument(
        "--transport",
        choices=TRANSPORTS,
        default="auto",
        help="upstream HTTP flavour: streamable (POST/GET /mcp), sse (the old GET /sse + "
        "POST endpoint), auto (sse when the URL path ends in /sse)",
    )
    mcp.add_argument(
        "--allow-internal",
        action="append",
        default=[],
        metavar="CIDR_OR_HOST",
        help="exempt an internal upstream from the SSRF block (repeatable; adds to ssrf.allow)",
    )
    mcp.add_argument("argv", nargs=argparse.REMAINDER, metavar="-- COMMAND [ARGS...]")
    mcp.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    try:
        return _run(args)
    except (ConfigError, UsageError) as exc:
        print(f"wardgate: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        return 130


def _run(args: argparse.Namespace) -> int:
    argv = list(args.argv)
    if argv[:1] == ["pin"]:
        return _pin(args, argv[1:])
    if argv[:1] == ["--"]:
        argv = argv[1:]
    if args.upstream and argv:
        raise UsageError("mcp: give either --upstream URL or -- COMMAND, not both")
    if not args.upstream and not argv:
        raise UsageError(
            "mcp: give the server command after --, e.g. wardgate mcp -- npx srv, or --upstream URL"
        )
    if not args.upstream and (args.listen or args.header):
        raise UsageError("mcp: --listen and --header need --upstream URL")
    config = _config(args)
    pins = _pins(args.pins)
    audit = config.audit
    # On stdio, stdout is the client's JSON-RPC channel: audit.stdout cannot apply there
    # (events go to audit.file / --audit-log only).
    to_stdout = audit.stdout and bool(args.listen)
    base = sink_from_config(
        audit.file, to_stdout, audit.max_bytes, audit.backups, extra=_remote(config)
    )
    from wardgate.mcp.registry import ServerIdentity
    from wardgate.mcp.runtime import build_runtime
    from wardgate.proxy.ca import default_home

    upstreams = _upstreams(args.upstream, bool(args.listen)) if not argv else []
    # One server per process (stdio, or bridged to one URL) joins the shared tool registry.
    server = (
        ServerIdentity.for_command(argv) if argv
        else None if args.listen
        else ServerIdentity.for_url(upstreams[0][1])
    )  # fmt: skip
    try:
        runtime = build_runtime(config, base, home=default_home(), admin=args.admin, server=server)
    except ConfigError:
        base.close()
        raise
    try:
        if argv:
            return _stdio(config, pins, runtime, argv)
        headers = _headers(args.header, os.environ)
        if args.listen:
            return _listen(config, pins, runtime, upstreams, headers, args.listen, args.transport)
        return _bridge(config, pins, runtime, upstreams[0][1], headers, args.transport)
    finally:
        runtime.sink.close()


def _remote(config: Config) -> list[Sink]:
    """The network sinks (syslog, webhook, OTLP) of `audit`, as `wardgate run` has them."""
    from wardgate.audit.remote import remote_sinks

    try:
        return remote_sinks(config.audit, os.environ)
    except ValueError as exc:
        raise ConfigError([str(exc)]) from None


def _config(args: argparse.Namespace) -> Config:
    overrides: dict[str, Any] = {}
    if args.mode:
        overrides["mode"] = args.mode
    if args.audit_log:
        overrides["audit"] = {"file": args.audit_log}
    if args.allow_internal:
        base = load_config(args.config, preset=args.preset)
        overrides["ssrf"] = {"allow": [*base.ssrf.allow, *args.allow_internal]}
    return load_config(args.config, preset=args.preset, overrides=overrides or None)


def _pins(path: str | None) -> dict[str, str] | None:
    from wardgate.mcp.tools import PinError, load_pins

    try:
        return load_pins(path) if path else None
    except PinError as exc:
        raise UsageError(str(exc)) from None


def _upstreams(values: Sequence[str], listen: bool) -> list[tuple[str, str]]:
    """(name, url) pairs; the name is "" for a lone unnamed upstream."""
    pairs: list[tuple[str, str]] = []
    for value in values:
        name, sep, url = value.partition("=")
        if not sep or "://" in name:
            name, url = "", value
        elif not name.replace("-", "").replace("_", "").isalnum():
            raise UsageError(f"mcp: upstream name {name!r} must be letters, digits, - or _")
        pairs.append((name, url))
    if len(pairs) > 1 and not listen:
        raise UsageError("mcp: several --upstream servers need --listen")
    names = [name for name, _ in pairs]
    if len(pairs) > 1 and ("" in names or len(set(names)) != len(names)):
        raise UsageError("mcp: with several --upstream, give each a distinct NAME=URL")
    return pairs


def _headers(values: Sequence[str], environ: Mapping[str, str]) -> list[tuple[str, str]]:
    headers = []
    for value in values:
        name, sep, text = value.partition(":")
        name, text = name.strip(), text.strip()
        if not sep or not name:
            raise UsageError("mcp: --header must be 'NAME: VALUE' (got a value without ':')")
        if text.startswith("@"):
            if text[1:] not in environ:
                raise UsageError(f"mcp: --header {name}: environment variable {text[1:]} is unset")
            text = environ[text[1:]]
        headers.append((name, text))
    return headers


def _transport(choice: str, url: str) -> str:
    if choice != "auto":
        return choice
    return "sse" if url.rstrip("/").endswith("/sse") else "streamable"


def _kind(choice: str, url: str) -> str:
    """The upstream's transport: ws for a ws(s):// URL, else per --transport."""
    return "ws" if url.startswith(("ws://", "wss://")) else _transport(choice, url)


# -- stdio -----------------------------------------------------------------------------------


def _scanner(config: Config) -> Any:
    from wardgate.scan.pipeline import Pipeline

    return _dripping(config, Pipeline(config, environ=os.environ))


def _dripping(config: Config, pipeline: Pipeline) -> Callable[[Message], Verdict]:
    """`pipeline.scan` with a drip window for tools/calls: a key cut into the arguments of
    several calls is joined like one dripped over HTTP requests (one window per process:
    an agent may spread the pieces over the servers behind one wardgate)."""
    import time

    from wardgate.scan.types import Direction
    from wardgate.state.fragments import FragmentWindow

    split = config.split_secrets
    window = FragmentWindow(
        window_seconds=split.drip_window_seconds, min_fragment=split.drip_min_fragment
    )

    def scan(message: Message) -> Verdict:
        if message.direction is Direction.TOOL_CALL:
            return pipeline.scan(message, drip=window, now=time.monotonic(), drip_key="mcp")
        return pipeline.scan(message)

    return scan


def _stdio(
    config: Config, pins: dict[str, str] | None, runtime: McpRuntime, argv: list[str]
) -> int:
    from wardgate.mcp import Guard, ToolRegistry
    from wardgate.mcp.stdio import run_stdio

    label = "stdio:" + " ".join(os.path.basename(a) for a in argv[:2])
    guard = Guard(
        config, _scanner(config), registry=ToolRegistry(pins=pins), destination=label,
        **runtime.guard_options(),
    )  # fmt: skip
    return run_stdio(guard, runtime.sink, argv, runtime)


def _pin(args: argparse.Namespace, argv: list[str]) -> int:
    """`wardgate mcp pin --out FILE -- COMMAND` (or `--upstream URL` for a Streamable HTTP
    server): write the server's tool fingerprints."""
    from wardgate.mcp import Guard, ToolRegistry, write_pins
    from wardgate.mcp.pin_http import list_tools_http
    from wardgate.mcp.stdio import list_tools
    from wardgate.mcp.upstream_client import UpstreamError

    sub = argparse.ArgumentParser(prog="wardgate mcp pin")
    sub.add_argument("--out", metavar="FILE", required=True)
    sub.add_argument("--config", metavar="FILE", default=args.config)
    sub.add_argument("--preset", metavar="NAME", default=args.preset)
    sub.add_argument("--upstream", metavar="URL", help="a Streamable HTTP server instead")
    sub.add_argument("--header", action="append", default=list(args.header), metavar="'N: V'")
    sub.add_argument("--allow-internal", action="append", default=list(args.allow_internal))
    sub.add_argument("argv", nargs=argparse.REMAINDER)
    pin_args = sub.parse_args(argv)
    command = list(pin_args.argv)
    if command[:1] == ["--"]:
        command = command[1:]
    if bool(command) == bool(pin_args.upstream):
        raise UsageError("mcp pin: give the server command after --, or --upstream URL")
    base = load_config(pin_args.config, preset=pin_args.preset)
    allow = {"ssrf": {"allow": [*base.ssrf.allow, *pin_args.allow_internal]}}
    config = load_config(pin_args.config, preset=pin_args.preset, overrides=allow)
    guard = Guard(config, _scanner(config), registry=ToolRegistry(), destination="pin")
    try:
        if pin_args.upstream:
            headers = _headers(pin_args.header, os.environ)
            upstream = _http_upstream(config, pin_args.upstream, headers)
            _run_loop(list_tools_http(guard, upstream))
        else:
            asyncio.run(list_tools(guard, command))
    except (OSError, ConnectionError, TimeoutError, ValueError, UpstreamError) as exc:
        raise UsageError(f"mcp pin: {type(exc).__name__}: {exc}"[:300]) from None
    registry = guard.registry
    pinned = {n: d for n, d in registry.current.items() if n not in registry.removed}
    write_pins(pin_args.out, pinned)
    for name, rule in sorted(registry.removed.items()):
        print(f"wardgate: not pinned: {name} ({rule})", file=sys.stderr)
    print(f"pinned {len(pinned)} tools to {pin_args.out}", file=sys.stderr)
    return EXIT_BLOCK if registry.removed else EXIT_OK


# -- HTTP ------------------------------------------------------------------------------------


def _http_upstream(config: Config, url: str, headers: Sequence[tuple[str, str]]) -> Any:
    from wardgate.mcp.tunnel import proxy_for
    from wardgate.mcp.upstream_client import Endpoint, HttpUpstream
    from wardgate.proxy.ca import CAError, upstream_context
    from wardgate.proxy.resolve import Resolver

    try:
        endpoint = Endpoint.parse(url, headers)
    except ValueError as exc:
        raise UsageError(f"mcp: --upstream: {exc}") from None
    try:
        proxy = proxy_for(endpoint.scheme, endpoint.host, os.environ)
    except ValueError as exc:
        raise UsageError(f"mcp: {exc}") from None
    extra_ca = list(config.tls.upstream_ca)
    if proxy is not None and os.environ.get("SSL_CERT_FILE"):
        # `wardgate sandbox` with TLS interception points this at public roots + its CA.
        extra_ca.append(os.environ["SSL_CERT_FILE"])
    try:
        tls = upstream_context(extra_ca)
    except CAError as exc:
        raise ConfigError([f"tls.upstream_ca: {exc}"]) from None
    tls.set_alpn_protocols(["http/1.1"])
    return HttpUpstream(
        endpoint,
        resolver=Resolver(config.dns.servers, timeout=config.proxy.upstream_timeout),
        tls=tls,
        allow=config.ssrf.allow,
        ssrf=config.ssrf.enabled,
        timeout=config.proxy.upstream_timeout,
        proxy=proxy,
    )


def _listen(
    config: Config,
    pins: dict[str, str] | None,
    runtime: McpRuntime,
    upstreams: list[tuple[str, str]],
    headers: list[tuple[str, str]],
    listen: str,
    transport: str,
) -> int:
    from wardgate.mcp.http import McpHttpProxy, Route
    from wardgate.mcp.sessions import SessionBaselines
    from wardgate.proxy.app import warm_up
    from wardgate.scan.pipeline import Pipeline

    try:
        host, port = parse_endpoint(listen)
    except ValueError as exc:
        raise UsageError(f"mcp: --listen: {exc}") from None
    pipeline = Pipeline(config, environ=os.environ)
    kv = runtime.state.kv
    routes = [
        Route(
            name=name or "default",
            path=f"/mcp/{name}" if name else "/mcp",
            upstream=_http_upstream(config, url, headers),
            baselines=SessionBaselines(kv, name or url),
            pins=pins,
            kind=_kind(transport, url),
        )
        for name, url in upstreams
    ]
    proxy = McpHttpProxy(config, _dripping(config, pipeline), runtime.sink, routes, runtime=runtime)

    async def serve() -> None:
        print("wardgate: preparing scanners...", file=sys.stderr, flush=True)
        warm_up(pipeline)
        try:
            server = await proxy.serve(host, port)
        except OSError as exc:
            raise ConfigError([f"cannot listen on {listen}: {exc.strerror}"]) from None
        await runtime.start()
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        for route in routes:
            print(
                f"wardgate mcp: http://{listen}{route.path} -> {route.upstream.endpoint.url}",
                file=sys.stderr,
                flush=True,
            )
        try:
            await stop.wait()
        finally:
            server.close()
            proxy.close()
            await runtime.close()

    _run_loop(serve())
    return EXIT_OK


def _bridge(
    config: Config,
    pins: dict[str, str] | None,
    runtime: McpRuntime,
    url: str,
    headers: list[tuple[str, str]],
    transport: str,
) -> int:
    from wardgate.mcp.bridge import run_bridge

    upstream = _http_upstream(config, url, headers)
    return run_bridge(config, _scanner(config), runtime, upstream, pins, _kind(transport, url))


def _run_loop(main: Any) -> None:
    from wardgate.mcp.stdio import run_loop

    run_loop(main)


if __name__ == "__main__":
    _parser = argparse.ArgumentParser(prog="wardgate")
    add_parser(_parser.add_subparsers(dest="command"))
    sys.exit(run(_parser.parse_args(["mcp", *sys.argv[1:]])))
