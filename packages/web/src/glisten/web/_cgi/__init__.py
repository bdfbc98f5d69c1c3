"""The CGI side of :mod:`glisten.web.twcgi`, without I/O: the environment a script gets
(``_environ``) and the parser of the header block it writes (``_response``), with its limits
and error."""

from glisten.web._cgi._environ import cgiEnvironment
from glisten.web._cgi._errors import CGIResponseError
from glisten.web._cgi._limits import CGILimits
from glisten.web._cgi._response import CGIHead, CGIResponseParser

__all__ = ["CGIHead", "CGILimits", "CGIResponseError", "CGIResponseParser", "cgiEnvironment"]
