"""HTTP/1.1 server and client, resources, static files, WSGI and websockets for glisten."""

from glisten.web._version import __version__

__all__ = ["__version__"]
