"""A local TCP server for the corpus's socket apps: it accepts each connection and closes it.

Started once, on first import (before any guarded run): its listening socket and thread are
there before the baseline and stay. The client side of each connection stays open until the
app closes it, as it would against a real server that hung up.
"""

from __future__ import annotations

import socket
import threading

_server = socket.create_server(("127.0.0.1", 0), backlog=128)
ADDRESS: tuple[str, int] = _server.getsockname()[:2]


def _serve() -> None:
    while True:
        connection, _ = _server.accept()
        connection.close()


threading.Thread(target=_serve, name="corpus-listener", daemon=True).start()
