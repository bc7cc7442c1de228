"""The FAQ service's rules as pure functions: no I/O, unit-tested on their own."""
