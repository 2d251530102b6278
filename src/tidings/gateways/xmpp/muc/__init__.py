"""Group dialogs as XEP-0045 rooms at ``muc.<domain>``, with the SDK's self-presence quirk."""
