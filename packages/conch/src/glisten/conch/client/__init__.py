"""SSH client helpers: known hosts."""
