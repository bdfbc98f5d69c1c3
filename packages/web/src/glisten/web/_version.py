"""The version of glisten-web; hatchling reads it when building the wheel."""

__version__ = "0.2.0"
