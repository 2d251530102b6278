"""XEP-0085 Chat State Notifications (typing)."""
