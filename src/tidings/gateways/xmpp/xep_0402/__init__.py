"""XEP-0402 bookmarks in PEP, and their XEP-0048 form for XEP-0049 private storage."""
