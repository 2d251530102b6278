"""RFC 6121 §4 presence: broadcast per resource, probes at login, directed presence."""
