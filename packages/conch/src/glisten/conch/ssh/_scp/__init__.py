"""Sans-IO legacy scp protocol (what ``scp -O`` speaks to a remote ``scp -t``/``scp -f``):
control records and statuses in, events out; records and statuses as bytes. No reactor, no
transport."""
