"""Reproducible measurements of e5ops on the lab; see run.py."""
