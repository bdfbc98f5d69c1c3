"""Services, applications and the ``glisten`` command line."""
