"""SQL of the portal schema: `sessions` only."""
