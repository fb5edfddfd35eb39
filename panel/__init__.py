from importlib.metadata import version

# From the installed package's metadata (pyproject.toml's version): shown in the page footer,
# in GET /api/health and by ``panel --version``.
__version__ = version("panel")
