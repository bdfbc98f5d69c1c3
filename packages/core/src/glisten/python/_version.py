"""The version of glisten-core; hatchling reads it when building the wheel."""

__version__ = "0.2.1"
