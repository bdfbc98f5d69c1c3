"""XMPP (Jabber) for glisten under Twisted's names: JIDs, XML streams with STARTTLS and SASL,
clients and (XEP-0114) components."""
