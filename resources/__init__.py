"""Bundled icons, palette and style sheets, read with importlib.resources."""
