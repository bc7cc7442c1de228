"""SQL of the FAQ service, one module per concern. Functions take a pool or a
connection; callers own transactions."""
