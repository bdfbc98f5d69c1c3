"""The installed distribution and the module agree on the version."""

from importlib.metadata import version

from glisten.words import __version__


def test_versionMatchesMetadata() -> None:
    assert version("glisten-words") == __version__
