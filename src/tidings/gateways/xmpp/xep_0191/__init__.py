"""XEP-0191 Blocking Command over ``core.privacy`` (the same store as XEP-0016)."""
