"""Shared test helpers.

The development corpus lives in the project's shared folder, beside the repository (CI lays a
copy there too). WARDGATE_CORPUS points elsewhere. A missing corpus is a failure, not a skip.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from pathlib import Path

import mcp.client.stdio as mcp_stdio

# Every wardgate the tests start (some with a temporary WARDGATE_HOME) shares one cache of
# compiled scanner databases, so each compiles once per machine, not once per test.
os.environ.setdefault("WARDGATE_CACHE", str(Path.home() / ".wardgate" / "cache"))
# Everything else wardgate keeps (audit store, admin token, CA) goes to a home of the test run's
# own, never into the user's ~/.wardgate; tests that need a particular home set their own.
if "WARDGATE_HOME" not in os.environ:
    _home = tempfile.mkdtemp(prefix="wardgate-test-home-")
    os.environ["WARDGATE_HOME"] = _home
    atexit.register(shutil.rmtree, _home, ignore_errors=True)

# The MCP SDK's stdio client gives the processes it starts only a short list of variables
# (HOME, PATH, ...). The `wardgate mcp` processes the tests start that way must keep the test
# run's home and pattern cache too, or they would write into the user's ~/.wardgate (the shared
# MCP tool registry among others) and compile the scanners again.
_inherited = mcp_stdio.DEFAULT_INHERITED_ENV_VARS
_inherited.extend(name for name in ("WARDGATE_HOME", "WARDGATE_CACHE") if name not in _inherited)

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
