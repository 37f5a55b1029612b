"""The learned detector: linear models over hashed n-grams, shipped as .npz in this package.

`load(name)` reads a model once per process (no network: the weights are package data) and
`warmed()` loads every model at start-up so the first message does not pay for it. The models
are trained by scripts/train_detector.py; docs/detection.md says how and on what.
"""

from __future__ import annotations

import importlib
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from wardgate.scan.learned.model import LinearModel, Window

MODEL_DIR = Path(__file__).resolve().parent
NAMES = ("injection", "tool")


@cache
def load(name: str) -> LinearModel:
    """The shipped model `name` ("injection" or "tool"), read on first use and kept."""
    if name not in NAMES:
        raise ValueError(f"unknown learned model {name!r} (known: {', '.join(NAMES)})")
    from wardgate.scan.learned.model import LinearModel

    return LinearModel.load(MODEL_DIR / f"{name}.npz")


def warmed() -> None:
    """Load every shipped model now (start-up), so a missing file fails before traffic."""
    for name in NAMES:
        load(name)


def __getattr__(name: str) -> Any:
    """LinearModel and Window on first use: numpy (about 16 MB resident) loads only in a
    process that runs a model; the balanced defaults do not."""
    if name in ("LinearModel", "Window"):
        return getattr(importlib.import_module("wardgate.scan.learned.model"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["MODEL_DIR", "NAMES", "LinearModel", "Window", "load", "warmed"]
