"""The agent web console at ``/console``: server-rendered pages, a little JavaScript,
live updates over a WebSocket of its own (``/console/ws``)."""

from tidings.console.routes import install_console

__all__ = ["install_console"]
