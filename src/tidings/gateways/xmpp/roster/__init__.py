"""RFC 6121 roster and presence subscription, over the core's contact list."""
