"""State that outlives one message: drip windows (later: rate limits, tool baselines)."""
