"""SQL of the auth service, one module per concern. Functions take a connection, so the
caller (a use case) owns the transaction."""
