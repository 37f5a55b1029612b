"""Prompt-injection and MCP tool-poisoning detection.

`scan_injection(text)` scores text an agent is about to read (web pages, e-mails, tool
results); `scan_injection(text, tool=True)` adds the tool-description rules (file access,
parameter smuggling, shadowing, pre-call demands, output-as-instructions). Compare the score
with DEFAULT_THRESHOLD (0.5) or a preset's own threshold.
"""

from wardgate.scan.injection.scanner import (
    DEFAULT_THRESHOLD,
    InjectionResult,
    rule_ids,
    scan_injection,
)

__all__ = ["DEFAULT_THRESHOLD", "InjectionResult", "rule_ids", "scan_injection"]
