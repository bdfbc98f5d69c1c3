"""IRC and XMPP for glisten."""

from glisten.words._version import __version__

__all__ = ["__version__"]
