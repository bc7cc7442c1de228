"""The auth service's rules: pure functions and values, no I/O."""
