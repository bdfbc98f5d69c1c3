"""Reusable protocol building blocks: line and length-prefixed framing, policies, AMP, TLS."""
