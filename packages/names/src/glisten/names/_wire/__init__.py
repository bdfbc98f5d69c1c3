"""
The sans-IO wire layer of glisten.names: what needs no reactor and no transport.

- :mod:`._query`: recognising a plain query and putting a response together from encoded sections;
- :mod:`._zones`: the authoritative data a server answers from, with a version counter and caches;
- :mod:`._respond`: :func:`~._respond.respond`, the one way a server answers from its zones;
- :mod:`._framing`: DNS over TCP's two-octet length prefix (RFC 1035 4.2.2);
- :mod:`._matching`: which answer belongs to which outstanding query (id, question, address).

Nothing here imports glisten's core.
"""
