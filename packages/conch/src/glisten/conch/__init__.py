"""SSH and Telnet for glisten."""

from glisten.conch._version import __version__

__all__ = ["__version__"]
