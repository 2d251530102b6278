"""XEP-0280 Message Carbons, 'sent' copies only (connectycube-wire §10.9)."""
