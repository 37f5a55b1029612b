"""Checks that turn a regex hit into a credential verdict.

A pattern only says "this has the shape of a key". Many formats carry more structure than a
regex can express: a checksum (GitHub tokens, card numbers, IBANs, Bitcoin WIF keys, BIP-39 seed
phrases), a decodable header (JWTs) or simply randomness (API keys are random, identifiers and
placeholders are not). These functions check that structure so the scanner stays quiet on
lookalikes. All of them are pure, run in time linear in the (already bounded) matched value and
never raise on hostile input.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import itertools
import json
import math
from collections import Counter
from functools import lru_cache
from importlib import resources

import re2

_BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_BASE58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_MAX_VALUE = 4096  # validators never look at more than this many characters
_DIGITS = frozenset("0123456789")

_NON_VALUES = frozenset({"true", "false", "null", "none", "undefined", "nil", "required"})
# Dotted code references: os.environ, self.api_key, config.db.password.
_IDENTIFIER_CHAIN = re2.compile(r"[A-Za-z_$][A-Za-z0-9_$]*(?:\.[A-Za-z_$][A-Za-z0-9_$]*)+(?:\(\))?")

_UUID = re2.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
# CONSTANT_NAMES and DASHED-NAMES: identifiers, not values.
_CONSTANT_NAME = re2.compile(r"[A-Z][A-Z0-9]*(?:[_\-][A-Z0-9]+)+")

_VERSION = re2.compile(r"\d+\.\d+\.\d+")  # artifact coordinates: jjwt-jackson-0.11.2
_CAMEL_WORD = re2.compile(r"[A-Z]?[a-z]{3,}")

# Words and fragments that mark a value as an example, a template or a variable reference
# rather than a live credential. Compared against the lower-cased value.
_PLACEHOLDER_MARKERS = (
    "example",
    "xxxx",
    "****",
    "...",
    "###",
    "<",
    ">",
    "${",
    "{{",
    "$(",
    "%(",
    "your_",
    "your-",
    "yourkey",
    "placeholder",
    "changeme",
    "change_me",
    "replace",
    "redacted",
    "dummy",
    "sample",
    "insert",
    "secret_here",
    "token_here",
    "key_here",
    "here>",
    "todo",
    "fixme",
    "notreal",
    "not_a_real",
    "fake",
    "test123",
    "abcdef",
    "abc123",
    "123456",
    "password",
    "passwd",
)


def shannon_entropy(value: str) -> float:
    """Bits per character of `value`: random keys score high, words and repeats low."""
    if not value:
        return 0.0
    counts = Counter(value[:_MAX_VALUE])
    total = sum(counts.values())
    return -sum(c / total * math.log2(c / total) for c in counts.values())


def is_placeholder(value: str) -> bool:
    """True for documentation values: `<token>`, `${VAR}`, `xxxx`, `your_key_here`, `****`..."""
    low = value[:_MAX_VALUE].lower()
    if any(marker in low for marker in _PLACEHOLDER_MARKERS):
        return True
    if low.startswith(("$", "%", "@", "#")) and len(low) > 1:  # $VAR, %VAR%, @var, #ref
        return True
    return _dominant_char_share(low) > 0.5


def _dominant_char_share(value: str) -> float:
    """Share of the most frequent character: 'aaaaaaa1' and '00000000' are not keys."""
    if not value:
        return 1.0
    return Counter(value).most_common(1)[0][1] / len(value)


def is_random_token(value: str, *, min_len: int = 8, min_entropy: float = 3.0) -> bool:
    """A plausible machine-generated secret: long enough, varied and not a placeholder.

    Used where the format itself is too loose to tell a key from an identifier, so the value
    must look random. Words, constant-case names and camelCase identifiers never pass: a
    random mixed-case string flips case about every other letter, an identifier rarely.
    """
    if len(value) < min_len or len(value) > _MAX_VALUE or is_placeholder(value):
        return False
    core = "".join(c for c in value if c.isalnum())
    if not core:
        return False
    letters = [c for c in core if c.isalpha()]
    if len(letters) > 0.85 * len(core):  # words with a digit or two: MyDatabaseSecret1
        upper = sum(c.isupper() for c in letters) / len(letters)
        if not 0.2 <= upper <= 0.8:
            return False
    if _sequential_share(core) > 0.35:
        return False
    threshold = min_entropy if len(value) >= 16 else min(min_entropy, math.log2(len(value)) - 0.3)
    return shannon_entropy(value) >= threshold


def _sequential_share(value: str) -> float:
    """Share of neighbouring characters that step up by one ("abc", "123", "AbCd"): keyboard
    fillers such as `AbCdEF123` are mostly steps; in a random string about one pair in forty
    is one."""
    low = value.lower()
    if len(low) < 2:
        return 0.0
    steps = sum(ord(b) - ord(a) == 1 for a, b in itertools.pairwise(low))
    return steps / (len(low) - 1)


def _is_camel_words(value: str) -> bool:
    """camelCase / PascalCase names (MyTestDatabaseSecret1): mostly capitalised words.

    In a random mixed-case string only about a third of the letters sit in runs like `Abcd`;
    in an identifier nearly all of them do."""
    letters = [c for c in value if c.isalpha()]
    if not letters or not 0 < sum(c.isupper() for c in letters) <= 0.4 * len(letters):
        return False
    covered = sum(len(w) for w in _CAMEL_WORD.findall(value))
    return covered >= 0.7 * len(letters)


def is_generic_secret(value: str) -> bool:
    """Value of a `password = ...` / `api_key: ...` assignment that looks like a real secret.

    The name already says "secret", so the bar is randomness: letters and digits mixed, not a
    dotted code reference (`os.environ`, `self.token`), not a boolean or a placeholder."""
    stripped = value.strip("'\"`")
    if len(stripped) < 8 or stripped.lower() in _NON_VALUES:
        return False
    if _IDENTIFIER_CHAIN.fullmatch(stripped) or stripped.startswith(("http:", "https:")):
        return False
    if _UUID.fullmatch(stripped) or _CONSTANT_NAME.fullmatch(stripped):
        return False
    if _is_camel_words(stripped) or _VERSION.search(stripped):
        return False
    return _mixed_enough(stripped) and is_random_token(stripped, min_len=8, min_entropy=2.8)


def is_random_uuid(value: str) -> bool:
    """A version-4 (random) UUID, RFC 9562: the only kind that can serve as a secret. Versions 1
    and 6 carry a timestamp and a MAC address, 3 and 5 a hash of a name, 7 a timestamp; all
    are identifiers that documents and logs are full of."""
    stripped = value.strip("'\"`").lower()
    return (
        _UUID.fullmatch(stripped) is not None
        and stripped[14] == "4"
        and stripped[19] in "89ab"
        and is_hex_random(stripped)
    )


def is_header_secret(value: str) -> bool:
    """Value of an Authorization / API-key header: like `is_generic_secret`, UUIDs allowed
    (many services issue UUID API keys, and a header is never a mere identifier)."""
    stripped = value.strip("'\"`")
    if _UUID.fullmatch(stripped):
        return not is_placeholder(stripped)
    return is_generic_secret(stripped)


def _mixed_enough(value: str) -> bool:
    """Letters with digits, a long random-case letter run, or a long run of digits."""
    has_digit = any(c.isdigit() for c in value)
    has_alpha = any(c.isalpha() for c in value)
    if has_digit and has_alpha:
        return True
    return len(value) >= 16


def is_basic_credentials(value: str) -> bool:
    """An HTTP Basic payload: base64 of `user:password` with a real password."""
    try:
        decoded = base64.b64decode(value + "=" * (-len(value) % 4), validate=True)
        text = decoded.decode("utf-8", "replace")
    except (binascii.Error, ValueError):
        return False
    user, sep, password = text.partition(":")
    return bool(sep) and (is_url_password(password) or is_url_password(user))


def is_curl_user(value: str) -> bool:
    """`curl -u user:password`: a literal password (either side), not `$VAR` or `<pass>`."""
    user, _, password = value.replace('"', "").replace("'", "").partition(":")
    candidate = (password or user).removeprefix("{").removesuffix("}")
    return len(candidate) >= 6 and is_url_password(candidate) and not _is_word(candidate)


def _is_word(value: str) -> bool:
    """A plain dictionary-looking word (`password`, `token`, `username`)."""
    return value.isalpha() and (value.islower() or value.isupper())


def is_hex_random(value: str) -> bool:
    """Hex keys (private keys, API keys): both letters and digits, no long repeats."""
    low = value.lower()
    return (
        any(c.isdigit() for c in low)
        and any(c.isalpha() for c in low)
        and not is_placeholder(low)
        and shannon_entropy(low) >= 3.0
    )


def luhn_ok(number: str) -> bool:
    """Luhn (mod 10) check over the digits of `number`, ignoring spaces and dashes."""
    digits = [int(c) for c in number if c in _DIGITS]
    if not 12 <= len(digits) <= 19:
        return False
    total = 0
    for i, d in enumerate(reversed(digits)):
        if i % 2 == 1:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def is_card_number(value: str) -> bool:
    """Luhn-valid, and not a run of one digit or a trivial sequence like 4111... padding."""
    digits = "".join(c for c in value if c in _DIGITS)
    groups = value.replace("-", " ").split()
    if len(groups) == 4 and len(set(groups[1:])) == 1:  # "2650 1514 1514 1514": a table row
        return False
    return luhn_ok(digits) and _dominant_char_share(digits) <= 0.5


# ISO 13616 IBAN lengths per country (SWIFT IBAN registry).
IBAN_LENGTHS: dict[str, int] = {
    "AD": 24, "AE": 23, "AL": 28, "AT": 20, "AZ": 28, "BA": 20, "BE": 16, "BG": 22, "BH": 22,
    "BR": 29, "BY": 28, "CH": 21, "CR": 22, "CY": 28, "CZ": 24, "DE": 22, "DK": 18, "DO": 28,
    "EE": 20, "EG": 29, "ES": 24, "FI": 18, "FO": 18, "FR": 27, "GB": 22, "GE": 22, "GI": 23,
    "GL": 18, "GR": 27, "GT": 28, "HR": 21, "HU": 28, "IE": 22, "IL": 23, "IQ": 23, "IS": 26,
    "IT": 27, "JO": 30, "KW": 30, "KZ": 20, "LB": 28, "LC": 32, "LI": 21, "LT": 20, "LU": 20,
    "LV": 21, "MC": 27, "MD": 24, "ME": 22, "MK": 19, "MR": 27, "MT": 31, "MU": 30, "NL": 18,
    "NO": 15, "PK": 24, "PL": 28, "PS": 29, "PT": 25, "QA": 29, "RO": 24, "RS": 22, "SA": 24,
    "SC": 31, "SE": 24, "SI": 19, "SK": 24, "SM": 27, "ST": 25, "SV": 28, "TL": 23, "TN": 24,
    "TR": 26, "UA": 29, "VA": 22, "VG": 24, "XK": 20,
}  # fmt: skip


def iban_ok(value: str) -> bool:
    """Country length table plus the ISO 7064 mod-97 check (remainder 1)."""
    iban = "".join(value.split()).upper()
    if len(iban) < 15 or not iban.isalnum() or not iban.isascii():
        return False
    if IBAN_LENGTHS.get(iban[:2]) != len(iban) or not iban[2:4].isdigit():
        return False
    rearranged = iban[4:] + iban[:4]
    numeric = "".join(str(int(c, 36)) for c in rearranged)
    return int(numeric) % 97 == 1


def base62_encode(number: int, width: int) -> str:
    """Fixed-width base62 (digits, A-Z, a-z), zero-padded: GitHub's checksum alphabet."""
    out = []
    for _ in range(width):
        number, rem = divmod(number, 62)
        out.append(_BASE62[rem])
    return "".join(reversed(out))


def github_checksum_ok(token: str) -> bool:
    """GitHub ghp_/gho_/ghu_/ghs_/ghr_ tokens: 30 random base62 characters followed by the
    base62 CRC32 of those 30 characters (6 chars, zero-padded)."""
    _, _, body = token.partition("_")
    if len(body) != 36 or not body.isalnum() or not body.isascii():
        return False
    crc = binascii.crc32(body[:30].encode())
    return base62_encode(crc, 6) == body[30:]


def b58decode(value: str) -> bytes | None:
    """Base58 (Bitcoin alphabet) to bytes, None on a foreign character."""
    if len(value) > 128:
        return None
    number = 0
    for c in value:
        idx = _BASE58.find(c)
        if idx < 0:
            return None
        number = number * 58 + idx
    body = number.to_bytes((number.bit_length() + 7) // 8, "big") if number else b""
    pad = len(value) - len(value.lstrip("1"))
    return b"\x00" * pad + body


def base58check_ok(value: str) -> bool:
    """Base58Check: the last 4 bytes are the first 4 of sha256(sha256(payload))."""
    raw = b58decode(value)
    if raw is None or len(raw) < 5:
        return False
    payload, check = raw[:-4], raw[-4:]
    return hashlib.sha256(hashlib.sha256(payload).digest()).digest()[:4] == check


def is_bitcoin_wif(value: str) -> bool:
    """Wallet Import Format private key: version 0x80, 32-byte key (+0x01 if compressed)."""
    raw = b58decode(value)
    if raw is None or not base58check_ok(value):
        return False
    payload = raw[:-4]
    return payload[:1] == b"\x80" and (
        len(payload) == 33 or (len(payload) == 34 and payload[-1] == 1)
    )


def _b64url_decode(part: str) -> bytes | None:
    try:
        return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))
    except (binascii.Error, ValueError):
        return None


def is_jwt(token: str) -> bool:
    """Three base64url parts whose header decodes to a JSON object with an "alg" member."""
    parts = token.split(".")
    if len(parts) not in (2, 3) or len(token) > _MAX_VALUE:
        return False
    header = _b64url_decode(parts[0])
    if header is None:
        return False
    try:
        decoded = json.loads(header)
    except (UnicodeDecodeError, ValueError):
        return False
    return isinstance(decoded, dict) and "alg" in decoded and _b64url_decode(parts[1]) is not None


@lru_cache(maxsize=1)
def bip39_words() -> tuple[str, ...]:
    """The 2048-word BIP-39 English list, in index order (shipped with the package)."""
    text = resources.files(__package__).joinpath("bip39_english.txt").read_text("utf-8")
    words = tuple(text.split())
    if len(words) != 2048:  # pragma: no cover - guards a damaged install
        raise RuntimeError("bip39_english.txt must hold 2048 words")
    return words


@lru_cache(maxsize=1)
def _bip39_index() -> dict[str, int]:
    return {w: i for i, w in enumerate(bip39_words())}


def bip39_checksum_ok(words: list[str]) -> bool:
    """A BIP-39 mnemonic: 12-24 list words whose trailing bits are the SHA-256 checksum."""
    index = _bip39_index()
    if len(words) not in (12, 15, 18, 21, 24) or any(w not in index for w in words):
        return False
    if len(set(words)) * 4 < len(words) * 3:  # "word word word ...": not random entropy
        return False
    bits = "".join(format(index[w], "011b") for w in words)
    n_check = len(words) // 3
    entropy_bits, check_bits = bits[:-n_check], bits[-n_check:]
    entropy = int(entropy_bits, 2).to_bytes(len(entropy_bits) // 8, "big")
    digest = hashlib.sha256(entropy).digest()
    return format(digest[0], "08b")[:n_check] == check_bits


def has_seed_phrase(run: str) -> bool:
    """True if a run of lower-case words contains a checksum-valid BIP-39 mnemonic.

    Ordinary prose breaks into short stretches of list words at once, so the common case
    costs one set lookup per word. Inside a long stretch the phrase is looked for near its
    edges only (a few stray list words such as "wallet" may sit next to it), which bounds
    the checksum work per stretch whatever an attacker feeds in. A phrase needs 12 list
    words in a row, which a membership mask built in C rules out for almost all prose."""
    index = _bip39_index()
    words = run.split()[:48]
    if _TWELVE_IN_A_ROW not in bytes(map(index.__contains__, words)):
        return False
    stretch: list[str] = []
    for word in [*words, ""]:
        if word in index:
            stretch.append(word)
            continue
        if len(set(stretch)) >= 9 and _stretch_has_phrase(stretch):
            return True
        stretch = []
    return False


_TWELVE_IN_A_ROW = b"\x01" * 12  # the shortest mnemonic, as has_seed_phrase's mask holds it
_EDGE_SLACK = 3  # stray list words tolerated before or after a phrase


def _stretch_has_phrase(words: list[str]) -> bool:
    for size in (24, 21, 18, 15, 12):
        spare = len(words) - size
        for offset in range(min(spare, _EDGE_SLACK) + 1):
            for start in {offset, spare - offset}:
                if bip39_checksum_ok(words[start : start + size]):
                    return True
    return False


_DB_PLACEHOLDER_PASSWORDS = frozenset(
    {"password", "pass", "passwd", "pwd", "secret", "changeme", "root", "admin", "user",
     "username", "postgres", "mysql", "redis", "guest", "test", "example", "xxx", "none",
     "null", "mongo", "rabbitmq", "default", "dbpass", "db_password", "mypassword"}
)  # fmt: skip


def is_url_password(password: str) -> bool:
    """The password part of scheme://user:PASSWORD@host is a real value, not a stand-in."""
    low = password.lower()
    if not password or low in _DB_PLACEHOLDER_PASSWORDS:
        return False
    if any(m in low for m in ("${", "{{", "<", ">", "$(", "%(", "****", "xxxx", "[", "]")):
        return False
    if "password" in low or "passwd" in low:
        return False
    return not (low.startswith("$") or _dominant_char_share(low) > 0.6)


def is_url_token(password: str) -> bool:
    """Password of a credential URL of any scheme (weaker context than a database URL):
    a real value that is not just a word (`https://apt:debian@...` in documentation)."""
    return is_url_password(password) and not _is_word(password)


def is_prefixed_secret(value: str) -> bool:
    """A value behind a distinctive public prefix (ghp_, xoxb-, glpat-): the prefix is the
    evidence, so only stand-ins are refused (`ghp_xxxx...`, `sk-ant-...abc123...`, a repeated
    character). Case and character mix are not judged: vendors' alphabets differ."""
    return len(value) <= _MAX_VALUE and not is_placeholder(value) and shannon_entropy(value) >= 3.0


def is_key_body(body: str) -> bool:
    """The base64 body of a PEM / OpenSSH / PGP private key: long and random. Placeholder
    bodies (`...`, `anything`, `xxxx`) fall below the entropy floor; no word list is used
    because a real 2 KB body contains short words by chance."""
    return len(body.strip()) >= 40 and shannon_entropy(body) >= 4.5


def is_keyed_secret(value: str) -> bool:
    """Value found next to a provider keyword: random enough to be a key, not a stand-in."""
    return is_random_token(value, min_len=8, min_entropy=2.5)
