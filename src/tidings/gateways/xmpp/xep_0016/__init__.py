"""XEP-0016 Privacy Lists over ``core.privacy`` (connectycube-wire §10.12)."""
