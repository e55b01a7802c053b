"""paperscope: self-hostable research-paper discovery."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("paperscope")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0"
