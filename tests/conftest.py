"""Shared test helpers.

The development corpus lives in the project's shared folder, beside the repository (CI lays a
copy there too). WARDGATE_CORPUS points elsewhere. A missing corpus is a failure, not a skip.
"""

from __future__ import annotations

import os
from pathlib import Path

# Every wardgate the tests start (some with a temporary WARDGATE_HOME) shares one cache of
# compiled scanner databases, so each compiles once per machine, not once per test.
os.environ.setdefault("WARDGATE_CACHE", str(Path.home() / ".wardgate" / "cache"))

CORPUS_DIR = Path(
    os.environ.get("WARDGATE_CORPUS", Path(__file__).resolve().parents[2] / "shared" / "corpus")
)


def corpus_file(name: str) -> Path:
    path = CORPUS_DIR / name
    if not path.exists():
        raise FileNotFoundError(
            f"{path} is missing: the shared corpus must sit beside the repository "
            "(../shared/corpus) or be named by WARDGATE_CORPUS"
        )
    return path
