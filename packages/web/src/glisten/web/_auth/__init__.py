"""HTTP authentication for :mod:`glisten.web.guard`: credential factories (Basic, Digest) and
the wrapper resource."""
