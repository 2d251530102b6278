"""Benchmarks: tidings next to Prosody and ejabberd (see bench/README.md)."""
