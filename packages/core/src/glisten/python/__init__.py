"""Python utilities the rest of glisten builds on: failures, legacy logging."""
