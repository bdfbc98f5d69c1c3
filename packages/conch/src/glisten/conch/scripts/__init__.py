"""Command-line tools of glisten-conch (Twisted's ``twisted.conch.scripts``)."""
