"""SSH version 2: transport, keys, user authentication and the connection protocol."""
