"""Credential detection (data loss prevention) on already-decoded text."""

from __future__ import annotations

from wardgate.scan.dlp.rules import RULES, SecretRule, rule_ids
from wardgate.scan.dlp.scanner import looks_like_secret, scan_secrets

__all__ = ["RULES", "SecretRule", "looks_like_secret", "rule_ids", "scan_secrets"]
