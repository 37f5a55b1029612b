"""Rebuild unseen.jsonl from the spikee wheel (not run in CI; see README.md).

    pip download --no-deps spikee==0.9.2 -d /tmp/dl
    python tests/data/injection_unseen/build.py /tmp/dl/spikee-0.9.2-py3-none-any.whl

spikee (Reversec, formerly WithSecure Labs; Apache-2.0) builds prompt-injection tests from
seed files: jailbreak templates with an `<INSTRUCTION>` slot, instructions (what the attacker
wants done), benign documents the attack is placed in, and benign questions for false-positive
tests. This script
assembles rows the way spikee does, deterministically, and writes them in the corpus format
(`text, label, kind, type, source, lang`).

The file is ordered for the project's dev/test protocol (even rows of each (origin, type)
group are dev, odd rows test): every jailbreak template and every instruction belongs to one
half only (by the parity of its first-seen index), and rows are interleaved so that a dev
template's rows land on even and a test template's rows on odd positions. A rule written for
a dev template's wording therefore cannot match a test row through the same template.
"""

from __future__ import annotations

import json
import sys
import tomllib
import zipfile
from collections.abc import Iterator
from pathlib import Path

OUT = Path(__file__).resolve().parent / "unseen.jsonl"
SEEDS = "spikee/data/workspace/datasets/"
# Instruction types that are attacks on their own (prompt extraction, exfiltration through a
# markdown image, an XSS string to echo). Translation, encoding and long-output instructions
# ("translate 'I live in London' to Italian") are ordinary requests unless a jailbreak
# template frames them, so they are used inside templates only.
STANDALONE_ATTACKS = frozenset({"sysmsg-extract", "data-exfil-markdown", "xss"})
# Instructions that are not prompt injection at all: topical-guardrail tests (investment
# advice, used as benign requests below) and plain harmful requests (no injection; dropped).
NOT_INJECTION = frozenset({"financial-adv"})
HARMFUL_ONLY_DIR = "seeds-harmful-instructions-only"
PER_TEMPLATE = 4  # instructions filled into each jailbreak template
POSITIONS = ("start", "middle", "end")


def _jsonl(zf: zipfile.ZipFile, name: str) -> Iterator[dict[str, str]]:
    for line in zf.read(name).decode("utf-8").splitlines():
        if line.strip():
            yield json.loads(line)


def _norm(text: str) -> str:
    return " ".join(text.casefold().split())


def _interleave(dev: list[str], test: list[str]) -> list[str]:
    """dev rows on even, test rows on odd positions; the longer side's excess is dropped,
    because two rows of one side in a row would put one of them in the other half."""
    out: list[str] = []
    for a, b in zip(dev, test, strict=False):
        out += [a, b]
    return out


def _embed(document: str, payload: str, position: str) -> str:
    """The payload placed in a carrier document the way spikee does: before it, after it,
    or at the sentence break nearest the middle."""
    if position == "start":
        return f"{payload}\n{document}"
    if position == "end":
        return f"{document}\n{payload}"
    cut = document.find(". ", len(document) // 2)
    cut = len(document) // 2 if cut < 0 else cut + 2
    return f"{document[:cut]}{payload} {document[cut:]}"


def build(wheel: Path) -> list[dict[str, object]]:
    """All rows, in file order."""
    version = wheel.name.split("-")[1]
    origin = f"pypi:spikee-{version}/{SEEDS}"
    with zipfile.ZipFile(wheel) as zf:
        names = sorted(n for n in zf.namelist() if n.startswith(SEEDS))
        templates: dict[str, str] = {}  # normalised -> text, first seen first
        instructions: dict[str, tuple[str, str]] = {}  # normalised -> (text, type)
        documents: dict[str, str] = {}
        standalone: list[tuple[str, str]] = []  # (text, type)
        questions: list[tuple[str, str, str]] = []  # (text, type, file)
        system_messages: dict[str, str] = {}
        for name in names:
            folder, _, leaf = name[len(SEEDS) :].partition("/")
            if leaf == "jailbreaks.jsonl":
                for o in _jsonl(zf, name):
                    if o["jailbreak_type"] != "no-jailbreak":  # the bare instruction itself
                        templates.setdefault(_norm(o["text"]), o["text"])
            elif leaf == "instructions.jsonl" and folder != HARMFUL_ONLY_DIR:
                for o in _jsonl(zf, name):
                    kind = o["instruction_type"]
                    if kind in NOT_INJECTION:
                        questions.append((o["instruction"], "spikee_advice_request", name))
                    else:
                        instructions.setdefault(_norm(o["instruction"]), (o["instruction"], kind))
            elif leaf == "base_user_inputs.jsonl":
                for o in _jsonl(zf, name):
                    if "<PLACEHOLDER>" not in o["document"]:
                        documents.setdefault(_norm(o["document"]), o["document"])
            elif leaf == "standalone_user_inputs.jsonl":
                for o in _jsonl(zf, name):
                    if folder.startswith("seeds-investment-advice"):
                        questions.append((o["text"], "spikee_advice_question", name))
                    else:  # app prompts with an attack planted in the user part
                        standalone.append((o["text"], "spikee_planted_in_app_prompt"))
            elif leaf == "system_messages.toml":
                for conf in tomllib.loads(zf.read(name).decode("utf-8"))["configurations"]:
                    text = conf["system_message"].strip().replace("\\n", "\n")
                    system_messages.setdefault(_norm(text), text)

    rows: list[dict[str, object]] = []

    def add(text: str, label: int, type_: str, source: str) -> None:
        rows.append({"text": text, "label": label, "kind": "injection" if label else "benign",
                     "type": type_, "source": origin + source, "lang": None})  # fmt: skip

    tpl = list(templates.values())
    ins = list(instructions.values())
    pools = (ins[0::2], ins[1::2])  # instructions of dev / test templates
    filled: tuple[list[str], list[str]] = ([], [])
    embedded: tuple[list[str], list[str]] = ([], [])
    for t_index, template in enumerate(tpl):
        half = t_index % 2
        pool = pools[half]
        for k in range(PER_TEMPLATE + 1):
            text, _ = pool[(t_index // 2 * PER_TEMPLATE + k) % len(pool)]
            payload = template.replace("<INSTRUCTION>", text)
            if k < PER_TEMPLATE:
                filled[half].append(payload)
            else:  # one more instruction, placed in a carrier document
                docs = list(documents.values())
                doc = docs[t_index // 2 % len(docs)]
                position = POSITIONS[t_index // 2 % len(POSITIONS)]
                embedded[half].append(_embed(doc, payload, position))
    seen: set[str] = set()

    def fresh(texts: list[str]) -> list[str]:
        out = [t for t in texts if _norm(t) not in seen]
        seen.update(_norm(t) for t in out)
        return out

    for text in _interleave(fresh(filled[0]), fresh(filled[1])):
        add(text, 1, "spikee_jailbreak_template", "*/jailbreaks.jsonl + */instructions.jsonl")
    for text in _interleave(fresh(embedded[0]), fresh(embedded[1])):
        add(text, 1, "spikee_embedded_in_document", "*/base_user_inputs.jsonl + jailbreaks")
    bare = [(i % 2, t) for i, (t, kind) in enumerate(ins) if kind in STANDALONE_ATTACKS]
    for text in _interleave(fresh([t for h, t in bare if h == 0]),
                            fresh([t for h, t in bare if h == 1])):  # fmt: skip
        add(text, 1, "spikee_bare_instruction", "*/instructions.jsonl")
    for text, type_ in standalone:
        if _norm(text) not in seen:
            seen.add(_norm(text))
            add(text, 1, type_, "*/standalone_user_inputs.jsonl")
    for text in documents.values():
        add(text, 0, "spikee_carrier_document", "*/base_user_inputs.jsonl")
    for text in system_messages.values():
        add(text, 0, "spikee_system_message", "*/system_messages.toml")
    for text, type_, name in questions:
        if _norm(text) not in seen:
            seen.add(_norm(text))
            add(text, 0, type_, name[len(SEEDS) :])
    return rows


def main() -> int:
    if len(sys.argv) != 2:
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    rows = build(Path(sys.argv[1]))
    with OUT.open("w", encoding="utf-8") as fh:
        for row in rows:
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")
    pos = sum(1 for r in rows if r["label"])
    print(f"{OUT}: {pos} injection + {len(rows) - pos} benign rows")
    return 0


if __name__ == "__main__":
    sys.exit(main())
