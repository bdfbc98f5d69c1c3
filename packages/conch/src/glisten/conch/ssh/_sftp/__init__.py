"""Sans-IO SFTP version 3 (draft-ietf-secsh-filexfer-02, as OpenSSH speaks it): packets in,
events out; replies and requests as bytes. No reactor, no transport."""
