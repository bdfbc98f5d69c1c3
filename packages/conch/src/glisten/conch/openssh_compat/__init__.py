"""Readers for OpenSSH's own files (Twisted's ``twisted.conch.openssh_compat``)."""
