"""tidings: a self-hosted backend for in-app chat and customer support."""

__version__ = "0.1.0"
__all__ = ["__version__"]
