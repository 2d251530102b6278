"""XEP-0153 vCard-based avatars: the avatar hash in presence, from ``core.users``."""
