"""Sans-IO SSH agent protocol (draft-miller-ssh-agent): framing and message bodies."""
