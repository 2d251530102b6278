"""Tables, queries and migrations. Store functions take a connection and never commit."""
