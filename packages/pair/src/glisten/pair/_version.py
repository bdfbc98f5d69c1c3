"""The version of glisten-pair; hatchling reads it when building the wheel."""

__version__ = "0.2.0"
