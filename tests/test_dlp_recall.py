"""Issue 6 recall fixes: formats read from their public specifications, and the generic
context rule made stricter where secret-looking non-secrets used to fire.

Credentials are assembled at run time from a seeded generator; no real-format secret is
written in this file.
"""

from __future__ import annotations

import random
import string
import uuid

import pytest

from wardgate.scan.dlp import scan_secrets
from wardgate.scan.dlp.rules import VENDOR_PREFIXES
from wardgate.scan.dlp.validators import is_random_token, is_random_uuid

_RNG = random.Random(6)
ALNUM = string.ascii_letters + string.digits
HEX = "0123456789abcdef"
URLSAFE = ALNUM + "_-"


def rnd(n: int, alphabet: str = ALNUM) -> str:
    return "".join(_RNG.choice(alphabet) for _ in range(n))


def mixed_hex(n: int) -> str:
    return "".join(c.upper() if _RNG.random() < 0.5 else c for c in rnd(n, HEX))


def digit_id(n: int) -> str:
    """A random numeric id that uses every digit (a run like 2881111355 is too repetitive to
    tell from a counter, and the rules rightly let it pass)."""
    chars = list(string.digits + rnd(n - 10, string.digits))
    _RNG.shuffle(chars)
    return "".join(chars)


def rules(text: str) -> set[str]:
    return {f.rule for f in scan_secrets(text)}


@pytest.mark.parametrize(
    ("text", "rule"),
    [
        # GitLab's published rule: glptt- + 40 characters of the URL-safe alphabet, not only hex.
        ("glptt-" + rnd(40, URLSAFE), "dlp.gitlab_pipeline_trigger_token"),
        # CI job tokens without the partition part.
        ("glcbt-" + rnd(20, URLSAFE), "dlp.gitlab_ci_job_token"),
        ("glcbt-7f_" + rnd(20, URLSAFE), "dlp.gitlab_ci_job_token"),
        # Sourcegraph tokens written with upper-case hex, and the bare 40-hex form after a name.
        ("sgp_" + mixed_hex(16) + "_" + mixed_hex(40), "dlp.sourcegraph_token"),
        ("sgp_local_" + mixed_hex(40), "dlp.sourcegraph_token"),
        ("sourcegraph: " + mixed_hex(40), "dlp.sourcegraph_token"),
        # Keyword context in the common config syntaxes.
        (f"<linkedinToken>\n    {rnd(14)}\n</linkedinToken>", "dlp.linkedin_client_secret"),
        (f"export LINKEDIN_TOKEN={rnd(14)}", "dlp.linkedin_client_secret"),
        (f'string asanaToken = "{digit_id(16)}";', "dlp.asana_token"),
        (f"asana_pat: 1/{digit_id(16)}:{rnd(32)}", "dlp.asana_token"),
        (f"SONAR_TOKEN={rnd(40, HEX)}", "dlp.sonarqube_token"),
        ("test_" + rnd(35, HEX), "dlp.lob_api_key"),
        ("sandbox_" + rnd(40, URLSAFE), "dlp.gocardless_api_token"),
    ],
)
def test_fires(text: str, rule: str) -> None:
    assert rule in rules(text)
    assert rule in rules(f"config:\n  {text}\nend")


@pytest.mark.parametrize(
    "text",
    [
        # Version-1 UUIDs carry a clock and a MAC address: identifiers, never secrets.
        f"_authToken={uuid.UUID(int=_RNG.getrandbits(128), version=1)}",
        f'apiToken = "{uuid.UUID(int=_RNG.getrandbits(128), version=1)}"',
        # Keyboard fillers.
        "SUMO_ACCESS_KEY: AbCdEF123",
        'password = "qrstuvwxyz789"',
        # A vendor prefix that the vendor's own rule refused (too short, digit fillers).
        f'"token3": "xoxp-1234-1234-1234-{rnd(32, HEX)}"',
        f'nextToken := "sm_pat_{rnd(10)}"',
        # GitLab tokens of the wrong length.
        "glptt-" + rnd(39, URLSAFE),
        "glcbt-" + rnd(12, URLSAFE),
    ],
)
def test_stays_quiet(text: str) -> None:
    assert rules(text) == set()


def test_v4_uuid_in_a_token_field_still_fires() -> None:
    value = str(uuid.UUID(int=_RNG.getrandbits(128), version=4))
    assert "dlp.generic_uuid_token" in rules(f'apiToken = "{value}"')
    assert is_random_uuid(value)
    assert not is_random_uuid(str(uuid.uuid5(uuid.NAMESPACE_DNS, "example.org")))


def test_generic_rule_still_fires_on_unknown_prefixes() -> None:
    assert "dlp.generic_secret_assignment" in rules(f'api_key = "zz_{rnd(30)}"')


def test_vendor_prefixes_are_distinctive() -> None:
    assert "xoxp-" in VENDOR_PREFIXES and "ghp_" not in VENDOR_PREFIXES  # ghp_ is 4 chars
    assert all(len(p) >= 5 and p[-1] in "_-." for p in VENDOR_PREFIXES)
    assert not {"test_", "live_", "secret_"} & set(VENDOR_PREFIXES)


def test_random_tokens_are_not_mistaken_for_sequences() -> None:
    rng = random.Random(11)
    passed = sum(is_random_token("".join(rng.choice(ALNUM) for _ in range(24))) for _ in range(500))
    assert passed >= 495
