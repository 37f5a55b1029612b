"""Policy decisions that need state or configuration beyond one message: rate limits and data
budgets (later: destinations, modes, approvals). Transports ask; they never decide themselves."""

from wardgate.policy.limits import DATA_BUDGET, RATE_LIMIT, LimitDecision, Limiter

__all__ = ["DATA_BUDGET", "RATE_LIMIT", "LimitDecision", "Limiter"]
