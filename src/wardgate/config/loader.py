"""Loading a configuration: preset + YAML file + overrides, validated into a `Config`.

Layering, weakest first: the built-in defaults (balanced), the chosen preset, the file, the
`overrides` mapping (command-line flags). Each layer is deep-merged over the one below:
mappings merge key by key, lists and scalars replace. The preset is chosen by the `preset`
argument (the `--preset` flag) when given, else the file's `preset:` key, else balanced.

Every problem becomes one `ConfigError` whose message has one line per problem, each naming
where the bad value came from (file, preset or command line), its dotted key path and what was
expected, because the person reading it is editing a YAML file, not a pydantic model.
"""

from __future__ import annotations

import difflib
import enum
import os
import types
import typing
from collections.abc import Mapping, Sequence
from importlib import resources
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from wardgate.config.models import Config
from wardgate.scan.dlp import scan_secrets
from wardgate.scan.redact import mask_secret

DEFAULT_PRESET = "balanced"
_MAX_FILE_BYTES = 1_048_576
_MAX_PROBLEMS = 20  # a badly broken file should not print thousands of lines
_MAX_SHOWN = 60
_DESCRIPTION = "# description:"
_CLI = "command line"


class ConfigError(Exception):
    """A configuration that cannot be used. `str(e)` is the message for the user; `problems`
    holds its lines."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = tuple(problems)
        super().__init__("\n".join(self.problems))


# --------------------------------------------------------------------------- YAML


class _Loader(yaml.SafeLoader):
    """SafeLoader that rejects duplicate keys, which PyYAML would silently let the last win."""


def _construct_mapping(loader: _Loader, node: yaml.MappingNode) -> dict[Any, Any]:
    loader.flatten_mapping(node)
    seen: set[Any] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node)
        if not isinstance(key, typing.Hashable):
            continue  # construct_mapping reports unhashable keys itself
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r}", key_node.start_mark
            )
        seen.add(key)
    return loader.construct_mapping(node)


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def _parse_yaml(text: str, label: str) -> dict[str, Any]:
    """Parse one YAML document that must be a mapping (an empty document is `{}`)."""
    try:
        data = yaml.load(text, Loader=_Loader)  # _Loader derives from SafeLoader
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"line {mark.line + 1}: " if mark is not None else ""
        problem = exc.problem or exc.context or "syntax error"
        raise ConfigError([f"{label}: {where}not valid YAML: {problem}"]) from None
    except yaml.YAMLError as exc:
        raise ConfigError([f"{label}: not valid YAML: {exc}"]) from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError([f"{label}: expected a mapping of settings (got {_show(data)})"])
    return data


def _read_file(path: str | os.PathLike[str]) -> dict[str, Any]:
    label = os.fspath(path)
    try:
        with open(path, "rb") as fh:
            raw = fh.read(_MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise ConfigError([f"{label}: cannot read: {exc.strerror or exc}"]) from None
    if len(raw) > _MAX_FILE_BYTES:
        raise ConfigError([f"{label}: larger than {_MAX_FILE_BYTES} bytes"])
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError([f"{label}: not UTF-8 text (byte {exc.start})"]) from None
    return _parse_yaml(text, label)


# --------------------------------------------------------------------------- presets


def _preset_files() -> dict[str, resources.abc.Traversable]:
    folder = resources.files("wardgate.config").joinpath("presets")
    return {
        entry.name.removesuffix(".yaml"): entry
        for entry in folder.iterdir()
        if entry.name.endswith(".yaml")
    }


def _preset_file(name: str) -> resources.abc.Traversable:
    files = _preset_files()
    if name not in files:
        known = ", ".join(sorted(files))
        raise ConfigError([f"unknown preset {name!r} (known: {known})"])
    return files[name]


def list_presets() -> list[tuple[str, str]]:
    """(name, one-line description) of every shipped preset, sorted by name.

    The description is the preset file's first line, `# description: ...`, so it is shown
    without being part of the schema.
    """
    out = []
    for name, entry in _preset_files().items():
        first = entry.read_text(encoding="utf-8").partition("\n")[0]
        out.append((name, first.removeprefix(_DESCRIPTION).strip()))
    return sorted(out)


def preset_data(name: str) -> dict[str, Any]:
    """The raw mapping of a shipped preset (its differences from the built-in defaults)."""
    entry = _preset_file(name)
    return _parse_yaml(entry.read_text(encoding="utf-8"), f"preset {name!r}")


# --------------------------------------------------------------------------- loading


def _deep_merge(base: Mapping[str, Any], top: Mapping[str, Any]) -> dict[str, Any]:
    """`top` over `base`: mappings merge key by key, anything else replaces.

    Recursion only follows keys that are mappings on both sides, so it is bounded by the
    depth of the shallower side.
    """
    out = dict(base)
    for key, value in top.items():
        below = out.get(key)
        if isinstance(value, Mapping) and isinstance(below, Mapping):
            out[key] = _deep_merge(below, value)
        else:
            out[key] = value
    return out


def load_config(
    path: str | os.PathLike[str] | None = None,
    *,
    preset: str | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> Config:
    """Build the effective configuration; raise ConfigError describing every problem.

    `preset` (the --preset flag) wins over the file's `preset:` key; `overrides` is a nested
    mapping applied last (command-line flags such as --mode or --listen).
    """
    file_data = _read_file(path) if path is not None else {}
    file_label = os.fspath(path) if path is not None else "config"
    name = preset if preset is not None else file_data.get("preset", DEFAULT_PRESET)
    if not isinstance(name, str):
        raise ConfigError([f"{file_label}: preset: expected a preset name (got {_show(name)})"])
    try:
        base = preset_data(name)
    except ConfigError as exc:
        if preset is not None:
            raise
        raise ConfigError([f"{file_label}: preset: {exc}"]) from None
    layers: list[tuple[str, Mapping[str, Any]]] = [
        (f"preset {name!r}", base),
        (file_label, {k: v for k, v in file_data.items() if k != "preset"}),
        (_CLI, overrides or {}),
    ]
    merged: dict[str, Any] = {}
    for _, data in layers:
        merged = _deep_merge(merged, data)
    merged["preset"] = name
    try:
        return Config.model_validate(merged)
    except ValidationError as exc:
        raise ConfigError(_describe(exc, merged, layers)) from None


# --------------------------------------------------------------------------- error messages


def _describe(
    exc: ValidationError, merged: Mapping[str, Any], layers: Sequence[tuple[str, Any]]
) -> list[str]:
    errors = exc.errors(include_url=False)
    lines = []
    for err in errors[:_MAX_PROBLEMS]:
        steps = _user_steps(merged, err["loc"])
        lines.append(f"{_origin(steps, layers)}: {_path(steps, err)}: {_explain(err)}")
    if len(errors) > _MAX_PROBLEMS:
        lines.append(f"... and {len(errors) - _MAX_PROBLEMS} more problem(s)")
    return lines


def _user_steps(data: Any, loc: tuple[int | str, ...]) -> list[tuple[Any, bool]]:
    """A pydantic error location as the user wrote it: (key, is_list_index) pairs.

    Location parts with no counterpart in the data are dropped: the index pydantic adds when
    one rule mapping is normalized to a list, and the '[key]' marker of a bad mapping key.
    """
    steps: list[tuple[Any, bool]] = []
    node = data
    for item in loc:
        synthetic = isinstance(item, int) and isinstance(node, dict) and item not in node
        if item == "[key]" or synthetic:
            continue
        steps.append((item, isinstance(node, list)))
        node = _child(node, item)
    return steps


_ABSENT = object()


def _child(node: Any, key: Any) -> Any:
    """node[key] for a mapping key or an in-range list index, else _ABSENT."""
    if isinstance(node, dict):
        return node.get(key, _ABSENT)
    if isinstance(node, list) and isinstance(key, int) and 0 <= key < len(node):
        return node[key]
    return _ABSENT


def _path(steps: Sequence[tuple[Any, bool]], err: ErrorDetails) -> str:
    """Keys joined by '.', list indexes as [i]; a non-text key shown as YAML would."""
    if err["type"] == "invalid_key" and steps:
        steps = [*steps[:-1], (_show(err["input"]), False)]
    text = ""
    for key, is_index in steps:
        text += f"[{key}]" if is_index else f"{'.' if text else ''}{key}"
    return text or "(top level)"


def _origin(steps: Sequence[tuple[Any, bool]], layers: Sequence[tuple[str, Any]]) -> str:
    """The label of the last layer that set the deepest existing part of `steps` (a missing
    key is blamed on whoever wrote the mapping it is missing from)."""
    for depth in range(len(steps), 0, -1):
        for label, data in reversed(layers):
            node = data
            for key, _ in steps[:depth]:
                node = _child(node, key)
            if node is not _ABSENT:
                return str(label)
    return str(layers[-2][0])


_EXPECTED = {
    "missing": "required key is missing",
    "int_type": "expected a whole number",
    "int_parsing": "expected a whole number",
    "int_from_float": "expected a whole number",
    "float_type": "expected a number",
    "float_parsing": "expected a number",
    "bool_type": "expected true or false",
    "bool_parsing": "expected true or false",
    "string_type": "expected a string",
    "dict_type": "expected a mapping",
    "model_type": "expected a mapping",
    "model_attributes_type": "expected a mapping",
    "tuple_type": "expected a list",
    "list_type": "expected a list",
    "string_too_short": "expected a non-empty string",
}

_BOUNDS = {
    "greater_than": "expected a number above {gt}",
    "greater_than_equal": "expected a number of at least {ge}",
    "less_than": "expected a number below {lt}",
    "less_than_equal": "expected a number of at most {le}",
    "too_long": "expected at most {max_length} entries",
}


def _explain(err: ErrorDetails) -> str:
    kind, loc, ctx = err["type"], err["loc"], err.get("ctx", {})
    if kind == "extra_forbidden":
        return _unknown_key(loc)
    if kind == "invalid_key":
        return "keys must be text: quote it (YAML reads unquoted on/off/yes/no as true/false)"
    if kind == "value_error":
        return str(ctx.get("error", err["msg"]))
    if kind in ("enum", "literal_error"):
        choices = _enum_choices(loc)
        expected = f"expected one of {choices}" if choices else err["msg"]
    elif kind in _BOUNDS:
        expected = _BOUNDS[kind].format(**ctx)
    else:
        expected = _EXPECTED.get(kind, err["msg"])
    if kind == "missing":
        return expected
    return f"{expected} (got {_show(err['input'])})"


def _show(value: Any) -> str:
    """A short, YAML-flavoured rendering of a bad value."""
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, list | tuple):
        return "a list"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str) and scan_secrets(value):
        return f"'{mask_secret(value)}'"  # a credential pasted in the wrong place stays hidden
    shown = repr(value)
    return shown if len(shown) <= _MAX_SHOWN else shown[: _MAX_SHOWN - 4] + "...'"


def _unknown_key(loc: tuple[int | str, ...]) -> str:
    model = _unwrap(_type_at(loc[:-1]))
    if not (isinstance(model, type) and issubclass(model, BaseModel)):
        return "unknown key"
    known = list(model.model_fields)
    close = difflib.get_close_matches(str(loc[-1]), known, n=1, cutoff=0.6)
    if close:
        return f"unknown key (did you mean {close[0]!r}?)"
    return f"unknown key (expected one of: {', '.join(known)})"


def _enum_choices(loc: tuple[int | str, ...]) -> str:
    kind = _unwrap(_type_at(loc))
    if isinstance(kind, type) and issubclass(kind, enum.Enum):
        return ", ".join(repr(member.value) for member in kind)
    return ""


def _type_at(loc: tuple[int | str, ...]) -> Any:
    """The annotation pydantic validated at `loc`, found by walking the Config models."""
    current: Any = Config
    for item in loc:
        current = _unwrap(current)
        if isinstance(current, type) and issubclass(current, BaseModel):
            field = current.model_fields.get(item) if isinstance(item, str) else None
            current = field.annotation if field is not None else None
        elif typing.get_origin(current) is dict:
            current = typing.get_args(current)[1]
        elif typing.get_origin(current) in (tuple, list):
            current = typing.get_args(current)[0]
        else:
            return None
    return current


def _unwrap(annotation: Any) -> Any:
    """Strip Annotated[...] and `X | None` down to the type that carries the structure."""
    for _ in range(8):  # annotations nest a few levels at most
        origin = typing.get_origin(annotation)
        if origin is typing.Annotated:
            annotation = typing.get_args(annotation)[0]
        elif origin in (typing.Union, types.UnionType):
            members = [a for a in typing.get_args(annotation) if a is not type(None)]
            annotation = members[0] if len(members) == 1 else annotation
            if len(members) != 1:
                break
        else:
            break
    return annotation
