"""Trial's TestCase API, run by pytest or unittest."""
