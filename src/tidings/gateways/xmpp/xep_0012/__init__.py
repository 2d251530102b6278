"""XEP-0012 Last Activity over ``core.presence``."""
