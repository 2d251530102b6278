"""XEP-0049 private XML storage, kept as XEP-0223 private PEP nodes."""
