"""XEP-0115 entity capabilities: the server's own, and its clients' (for PEP ``+notify``)."""
