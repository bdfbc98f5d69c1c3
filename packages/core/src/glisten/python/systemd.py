"""Sockets systemd passes to a service (``LISTEN_FDS``), as in ``twisted.python.systemd``.

``ListenFDs.fromEnvironment()`` reads what systemd's socket activation set;
``inheritedDescriptors()`` and ``inheritedNamedDescriptors()`` give the descriptors to adopt
(the ``systemd:`` endpoint strings do that for you).
"""

from __future__ import annotations

from glisten.internet._systemd import ListenFDs

__all__ = ["ListenFDs"]
