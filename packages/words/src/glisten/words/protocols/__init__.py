"""Chat protocols: :mod:`glisten.words.protocols.irc`."""
