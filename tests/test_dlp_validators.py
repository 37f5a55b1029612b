"""Validators accept values with correct structure and reject one-character-off near misses.

Known-good values are computed here (check digits, checksums), never written literally.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import random
import string

import pytest
from hypothesis import given
from hypothesis import strategies as st

from wardgate.scan.dlp import validators as v

_RNG = random.Random(7)
BASE62 = string.digits + string.ascii_uppercase + string.ascii_lowercase
BASE58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"


def luhn_digit(partial: str) -> str:
    total = 0
    for i, ch in enumerate(reversed(partial)):
        d = int(ch) * (2 if i % 2 == 0 else 1)
        total += d - 9 if d > 9 else d
    return str((10 - total % 10) % 10)


def card(prefix: str, length: int) -> str:
    partial = prefix + "".join(_RNG.choice(string.digits) for _ in range(length - len(prefix) - 1))
    return partial + luhn_digit(partial)


def off_by_one(number: str) -> str:
    last = int(number[-1])
    return number[:-1] + str((last + 1) % 10)


@pytest.mark.parametrize(("prefix", "length"), [("4", 16), ("51", 16), ("2221", 16),
                                                 ("6011", 16), ("34", 15), ("37", 15)])  # fmt: skip
def test_luhn_accepts_computed_cards_and_rejects_one_digit_off(prefix: str, length: int) -> None:
    number = card(prefix, length)
    assert v.luhn_ok(number)
    assert v.is_card_number(number)
    assert v.is_card_number(f"{number[:4]} {number[4:8]} {number[8:12]} {number[12:]}")
    assert not v.luhn_ok(off_by_one(number))


def test_card_rejects_repeated_digit_and_wrong_length() -> None:
    assert not v.is_card_number("0" * 16)  # Luhn-valid but one repeated digit
    assert not v.luhn_ok("4" + "0" * 9)


def iban(country: str, bban: str) -> str:
    numeric = "".join(str(int(c, 36)) for c in bban + country + "00")
    return f"{country}{98 - int(numeric) % 97:02d}{bban}"


@pytest.mark.parametrize(("country", "bban_len"), [("DE", 18), ("GB", 18), ("FR", 23),
                                                   ("NL", 14), ("NO", 11)])  # fmt: skip
def test_iban_mod97(country: str, bban_len: int) -> None:
    bban = "".join(_RNG.choice(string.digits) for _ in range(bban_len))
    if country in ("GB", "NL"):
        bban = "ABCD" + bban[4:]
    good = iban(country, bban)
    assert v.iban_ok(good)
    assert v.iban_ok(" ".join(good[i : i + 4] for i in range(0, len(good), 4)))
    digit_index = next(i for i in range(len(good) - 1, 3, -1) if good[i].isdigit())
    bad = good[:digit_index] + str((int(good[digit_index]) + 1) % 10) + good[digit_index + 1 :]
    assert not v.iban_ok(bad)


def test_iban_rejects_wrong_country_length() -> None:
    good = iban("DE", "1" * 18)
    assert not v.iban_ok(good + "1")
    assert not v.iban_ok("ZZ" + good[2:])


def github_token(prefix: str) -> str:
    body = "".join(_RNG.choice(BASE62) for _ in range(30))
    crc = binascii.crc32(body.encode())
    check = ""
    for _ in range(6):
        crc, rem = divmod(crc, 62)
        check = BASE62[rem] + check
    return f"{prefix}_{body}{check}"


@pytest.mark.parametrize("prefix", ["ghp", "gho", "ghu", "ghs", "ghr"])
def test_github_checksum(prefix: str) -> None:
    good = github_token(prefix)
    assert v.github_checksum_ok(good)
    flipped = good[:-1] + ("0" if good[-1] != "0" else "1")
    assert not v.github_checksum_ok(flipped)
    body_changed = good[:5] + ("a" if good[5] != "a" else "b") + good[6:]
    assert not v.github_checksum_ok(body_changed)
    assert not v.github_checksum_ok(good[:-1])


def test_base62_is_zero_padded() -> None:
    assert v.base62_encode(0, 6) == "000000"
    assert v.base62_encode(61, 6) == "00000z"
    assert v.base62_encode(62, 6) == "000010"


def b58(raw: bytes) -> str:
    number = int.from_bytes(raw, "big")
    out = ""
    while number:
        number, rem = divmod(number, 58)
        out = BASE58[rem] + out
    return "1" * (len(raw) - len(raw.lstrip(b"\0"))) + out


@pytest.mark.parametrize("compressed", [False, True])
def test_bitcoin_wif(compressed: bool) -> None:
    payload = b"\x80" + _RNG.randbytes(32) + (b"\x01" if compressed else b"")
    check = hashlib.sha256(hashlib.sha256(payload).digest()).digest()[:4]
    good = b58(payload + check)
    assert v.base58check_ok(good)
    assert v.is_bitcoin_wif(good)
    last = BASE58.index(good[-1])
    assert not v.is_bitcoin_wif(good[:-1] + BASE58[(last + 1) % 58])
    other_version = b"\x00" + payload[1:]
    check2 = hashlib.sha256(hashlib.sha256(other_version).digest()).digest()[:4]
    assert v.base58check_ok(b58(other_version + check2))
    assert not v.is_bitcoin_wif(b58(other_version + check2))  # valid base58check, not a WIF
    assert v.b58decode("0OIl") is None


def mnemonic(entropy: bytes) -> list[str]:
    words = v.bip39_words()
    bits = "".join(f"{b:08b}" for b in entropy)
    bits += f"{hashlib.sha256(entropy).digest()[0]:08b}"[: len(entropy) // 4]
    return [words[int(bits[i : i + 11], 2)] for i in range(0, len(bits), 11)]


@pytest.mark.parametrize("n_bytes", [16, 20, 24, 28, 32])
def test_bip39_checksum(n_bytes: int) -> None:
    words = mnemonic(_RNG.randbytes(n_bytes))
    assert len(words) == n_bytes * 3 // 4
    assert v.bip39_checksum_ok(words)
    assert v.has_seed_phrase("please keep " + " ".join(words) + " safe")
    changed = [*words[:-1], next(w for w in v.bip39_words() if not v.bip39_checksum_ok(
        [*words[:-1], w]))]  # fmt: skip
    assert not v.bip39_checksum_ok(changed)
    assert not v.bip39_checksum_ok([*words[:-1], "notaword"])


def test_bip39_wordlist_shape() -> None:
    words = v.bip39_words()
    assert len(words) == 2048 == len(set(words))
    assert words[0] == "abandon" and words[-1] == "zoo"
    assert list(words) == sorted(words)


def test_jwt() -> None:
    def part(obj: object) -> str:
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).decode().rstrip("=")

    token = f"{part({'alg': 'RS256', 'typ': 'JWT'})}.{part({'sub': 'x'})}.c2lnbmF0dXJl"
    assert v.is_jwt(token)
    assert v.is_jwt(token.rsplit(".", 1)[0])  # unsigned, two parts
    assert not v.is_jwt(f"{part({'typ': 'JWT'})}.{part({'sub': 'x'})}.sig")
    assert not v.is_jwt(f"{part(['alg'])}.{part({'sub': 'x'})}.sig")
    assert not v.is_jwt("not.a.jwt")
    assert not v.is_jwt("a.b.c.d")


@pytest.mark.parametrize(
    "value",
    ["<token>", "${API_KEY}", "{{ secret }}", "your_api_key_here", "xxxxxxxxxxxx", "********",
     "REDACTED", "changeme123", "EXAMPLEKEY12", "aaaaaaaaaaaa1"],
)  # fmt: skip
def test_placeholders(value: str) -> None:
    assert v.is_placeholder(value)
    assert not v.is_random_token(value)


def test_random_token_vs_identifiers() -> None:
    rng = random.Random(3)
    token = "".join(rng.choice(string.ascii_letters + string.digits) for _ in range(32))
    letters = "".join(rng.choice(string.ascii_letters) for _ in range(32))
    assert v.is_random_token(token)
    assert v.is_random_token(letters)
    for ident in ("MAX_RETRY_COUNT", "max_retry_count", "documentation", "SHOUTINGWORDS"):
        assert not v.is_random_token(ident), ident


def test_generic_secret() -> None:
    rng = random.Random(5)
    value = "".join(rng.choice(string.ascii_letters + string.digits) for _ in range(20))
    assert v.is_generic_secret(value)
    assert v.is_generic_secret(f'"{value}"')
    for benign in ("os.environ.get()", "self.password", "true", "NEXUS-GPT4-API-KEY",
                   "K8S_CRED_ID", "a1b2c3", "MyTestDatabaseSecret1", "getUserNameFromRequest", "https://x.example/a1b2c3d4",
                   "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"):  # fmt: skip
        assert not v.is_generic_secret(benign), benign
    assert v.is_header_secret("0f1e2d3c-4b5a-4978-8796-a5b4c3d2e1f0")


def test_url_password_and_curl_and_basic() -> None:
    assert v.is_url_password("s3cr3t-Pw!")
    for stand_in in ("", "password", "${PASS}", "<pass>", "****", "$PASSWORD", "[PASSWORD]"):
        assert not v.is_url_password(stand_in), stand_in
    assert v.is_curl_user("admin:Zq8vK2mP4x")
    assert v.is_curl_user('"Zq8vK2mP4x!:"')
    assert not v.is_curl_user("username:password")
    assert not v.is_curl_user("$USER:$PASS")
    good = base64.b64encode(b"admin:Zq8vK2mP4x").decode()
    assert v.is_basic_credentials(good)
    assert not v.is_basic_credentials(base64.b64encode(b"user:password").decode())
    assert not v.is_basic_credentials(base64.b64encode(b"no-colon-here").decode())
    assert not v.is_basic_credentials("!!!not base64!!!")


def test_entropy() -> None:
    assert v.shannon_entropy("") == 0.0
    assert v.shannon_entropy("aaaa") == 0.0
    assert v.shannon_entropy("abcd") == 2.0


@given(st.text(max_size=300))
def test_validators_never_raise(value: str) -> None:
    for check in (v.is_random_token, v.is_generic_secret, v.is_header_secret, v.is_jwt,
                  v.iban_ok, v.luhn_ok, v.is_card_number, v.github_checksum_ok, v.is_bitcoin_wif,
                  v.is_url_password, v.is_curl_user, v.is_basic_credentials, v.has_seed_phrase,
                  v.is_hex_random, v.is_keyed_secret, v.is_placeholder):  # fmt: skip
        assert check(value) in (True, False)
