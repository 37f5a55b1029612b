"""Rollout tools: `wardgate report` (what audit mode would have blocked, and how to tune it),
`wardgate audit DIR` (a starter config for a project) and the `wardgate run` banner."""
