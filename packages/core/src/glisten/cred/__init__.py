"""Pluggable authentication: portals, realms, credential checkers."""
