"""The reactor, transports, Deferreds and everything else that moves bytes."""
