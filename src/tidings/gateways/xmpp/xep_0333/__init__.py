"""XEP-0333 Chat Markers (the SDK's delivered/read statuses)."""
