"""The sandboxed command's environment, and wardgate's own without the agent's secrets.

The command gets every variable it had but the admin token, plus the proxy variables (upper
and lower case, since tools disagree on which they read), an empty NO_PROXY (so no host is
exempt), and with TLS interception the CA variables pointing at a bundle of the public roots
plus wardgate's CA.
wardgate keeps the rest of its environment but not one secret-looking variable: those values
only ever feed the env-leak detector.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import certifi

from wardgate.admin.token import ENV as ADMIN_TOKEN_ENV
from wardgate.config import Config
from wardgate.scan.envleak import looks_secret_valued

PROXY_VARS = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY")
NO_PROXY_VARS = ("NO_PROXY", "no_proxy")
CA_VARS = (
    "SSL_CERT_FILE",
    "REQUESTS_CA_BUNDLE",
    "NODE_EXTRA_CA_CERTS",
    "CURL_CA_BUNDLE",
    "GIT_SSL_CAINFO",
)


def command_env(
    environ: Mapping[str, str], proxy_url: str, ca_bundle: Path | None
) -> dict[str, str]:
    """The environment COMMAND runs with: never the admin token, which would let the agent
    approve its own held requests."""
    env = dict(environ)
    env.pop(ADMIN_TOKEN_ENV, None)
    for name in PROXY_VARS:
        env[name] = env[name.lower()] = proxy_url
    for name in NO_PROXY_VARS:
        env[name] = ""
    if ca_bundle is not None:
        for name in CA_VARS:
            env[name] = str(ca_bundle)
    return env


def secret_names(environ: Mapping[str, str], config: Config) -> set[str]:
    """Variables wardgate must not keep: those named in env_leak.names / env_leak.allow and
    every one whose name and value look like a credential (whether or not env_leak.auto
    is on: dropping a variable wardgate does not need costs nothing)."""
    leak = config.env_leak
    named = {*leak.names, *leak.allow}
    return {
        name
        for name, value in environ.items()
        if name in named or looks_secret_valued(name, value, min_length=leak.min_length)
    }


def without_secrets(environ: Mapping[str, str], config: Config) -> dict[str, str]:
    """wardgate's own environment for the serving process."""
    drop = secret_names(environ, config)
    return {k: v for k, v in environ.items() if k not in drop}


def write_ca_bundle(path: Path, ca_pem: bytes) -> Path:
    """Public roots (certifi) plus wardgate's CA in one PEM file, so a client told to trust
    only this file still verifies every site and trusts wardgate's interception."""
    roots = Path(certifi.where()).read_bytes()
    path.write_bytes(roots.rstrip(b"\n") + b"\n" + ca_pem)
    path.chmod(0o644)
    return path
