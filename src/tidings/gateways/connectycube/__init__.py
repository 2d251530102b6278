"""ConnectyCube-compatible REST API: the unmodified ConnectyCube SDKs talk to tidings.

Mounted by ``server.py`` at ``/connectycube``; see ``docs/connectycube.md``.
"""

from tidings.gateways.connectycube.app import build_connectycube_app

__all__ = ["build_connectycube_app"]
