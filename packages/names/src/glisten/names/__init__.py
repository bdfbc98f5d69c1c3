"""DNS client, server, cache and zones for glisten."""

from glisten.names._version import __version__

__all__ = ["__version__"]
