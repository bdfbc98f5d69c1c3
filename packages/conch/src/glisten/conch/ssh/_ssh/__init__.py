"""
The sans-IO SSH core: wire encoding, the binary packet protocol, key exchange and the
transport state machine. Nothing here knows about sockets, reactors or glisten core; the
Protocol classes in :mod:`glisten.conch.ssh.transport` feed it bytes and write what it returns.
"""
