"""The version of glisten-mail; hatchling reads it when building the wheel."""

__version__ = "0.2.0"
