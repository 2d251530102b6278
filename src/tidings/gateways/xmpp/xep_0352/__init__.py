"""XEP-0352 Client State Indication: hold what can wait while the client is inactive."""
