"""The short banner `wardgate run` prints once it listens: everything an operator needs to
point an agent at it and to find the controls, in a few lines on stderr."""

from __future__ import annotations

from pathlib import Path

from wardgate.config.models import Config


def banner(
    config: Config,
    *,
    ca_path: Path | None,
    killswitch_file: Path,
    admin_url: str,
    admin_token_hint: str | None = None,
) -> str:
    """The banner text. `admin_token_hint` is where the admin server's token (or how to find
    it) goes; the dashboard link is printed with it when given."""
    proxy = f"http://{config.listen}"
    lines = [
        f"wardgate {config.mode.value} mode, preset {config.preset}",
        f"  proxy      {proxy}   (HTTPS_PROXY={proxy} HTTP_PROXY={proxy})",
        f"  admin      {admin_url}",
    ]
    if admin_token_hint:
        lines.append(f"  dashboard  {admin_token_hint}")
    if ca_path is not None:
        lines.append(f"  TLS CA     {ca_path}   (interception on: trust it in the agent)")
    else:
        lines.append("  TLS        tunnels only (tls.intercept off)")
    lines.append(f"  audit log  {config.audit.file or 'none (set audit.file or --audit-log)'}")
    lines.append(
        f"  controls   SIGHUP or edit the config: reload; SIGUSR1 or touch {killswitch_file}: "
        "kill switch"
    )
    if config.mode.value == "audit":
        lines.append("  audit mode blocks nothing: `wardgate report` shows what it would block")
    return "\n".join(lines)
