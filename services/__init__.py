"""newsdrop: drop news-article files into a folder, get a clean deduplicated Redis stream."""

__version__ = "0.1.0"
