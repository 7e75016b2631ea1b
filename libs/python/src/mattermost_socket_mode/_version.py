"""The library's version: the plugin's (pyproject.toml, checked against /plugin.json by a test)."""

from importlib import metadata

try:
    __version__ = metadata.version("mattermost-socket-mode")
except metadata.PackageNotFoundError:  # imported from a source tree that was never installed
    __version__ = "0+unknown"
