"""XEP-0199 XMPP Ping."""
