"""Structured, event-based logging."""
