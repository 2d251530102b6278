"""XEP-0359 Unique and Stable Stanza IDs: the stanza id is the tidings message id."""
