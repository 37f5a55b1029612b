"""MCP support: JSON-RPC framing (jsonrpc), the session tool registry (tools), the sans-I/O
policy (guard) and the stdio relay (stdio)."""

from wardgate.mcp.guard import Guard, Outcome
from wardgate.mcp.tools import (
    MALFORMED,
    RUG_PULL,
    TOOL_REMOVED,
    PinError,
    ToolRegistry,
    fingerprint,
    load_pins,
    write_pins,
)

__all__ = [
    "MALFORMED",
    "RUG_PULL",
    "TOOL_REMOVED",
    "Guard",
    "Outcome",
    "PinError",
    "ToolRegistry",
    "fingerprint",
    "load_pins",
    "write_pins",
]
