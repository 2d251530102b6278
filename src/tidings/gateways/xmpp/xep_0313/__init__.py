"""XEP-0313 Message Archive Management over ``core.messages.history``."""
