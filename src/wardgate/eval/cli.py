"""`wardgate eval FILE.jsonl[.gz]... [--preset P] [--config F] [--json]`.

Scores labelled corpora (the ../shared/corpus format) with a preset's pipeline and prints
recall, false-positive rate, precision and F1 per kind, type and source, the threshold curve,
throughput and the worst misses and false alarms. Exit 0 after a report, 2 on bad input or
configuration (the message names the file and line).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path

from wardgate.config import ConfigError, load_config
from wardgate.eval import harness
from wardgate.eval.corpus import CorpusError, Row, read_rows
from wardgate.scan.pipeline import Pipeline

EXIT_OK, EXIT_ERROR = 0, 2


def add_parser(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Register `eval` on the wardgate command line."""
    parser = commands.add_parser(
        "eval",
        help="measure detection quality on labelled JSONL corpora",
        description="Score labelled rows ({text, label, kind, type, source} per line, plain or "
        ".gz) as the traffic they stand for and report recall, FPR, precision and F1.",
    )
    parser.add_argument("files", nargs="+", metavar="FILE.jsonl[.gz]")
    parser.add_argument("--config", metavar="FILE", help="YAML configuration file")
    parser.add_argument("--preset", metavar="NAME", help="base preset (see `wardgate presets`)")
    parser.add_argument("--json", action="store_true", help="print the report as one JSON object")
    parser.add_argument(
        "--patterns-only",
        action="store_true",
        help="turn the learned model off (injection.model: false) to measure the patterns alone",
    )
    parser.add_argument("--worst", type=int, default=10, metavar="N", help="misses/alarms shown")
    parser.add_argument("--quiet", action="store_true", help="no progress lines on stderr")
    parser.set_defaults(handler=run)


def _all_rows(paths: Sequence[str]) -> Iterator[Row]:
    for name in paths:
        yield from read_rows(Path(name))


def run(args: argparse.Namespace) -> int:
    """Run the evaluation; errors are one line on stderr and exit 2."""
    try:
        overrides = {"injection": {"model": False}} if args.patterns_only else None
        config = load_config(args.config, preset=args.preset, overrides=overrides)
        pipeline = Pipeline(config, environ={})
        rows = list(_all_rows(args.files))  # validate every line before scanning any
        if not rows:
            raise CorpusError("no rows in " + ", ".join(args.files))
        scored = harness.run(pipeline, rows, progress=None if args.quiet else sys.stderr)
    except (ConfigError, CorpusError) as exc:
        print(f"wardgate eval: {exc}", file=sys.stderr)
        return EXIT_ERROR
    report = harness.summarise(scored, worst=max(0, args.worst))
    report["preset"] = config.preset
    report["model"] = config.injection.model
    if args.json:
        print(json.dumps(report, ensure_ascii=False))
    else:
        print(harness.format_report(report))
    return EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="wardgate")
    add_parser(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["eval", *(sys.argv[1:] if argv is None else argv)])
    return int(args.handler(args))


if __name__ == "__main__":
    sys.exit(main())
