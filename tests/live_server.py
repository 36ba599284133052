"""A real HTTP server (waitress) in a thread, serving a test's app on 127.0.0.1."""

from __future__ import annotations

import threading
from typing import Any

from waitress import create_server


class LiveServer:
    """Start first (the port is known at once), hand it the app later."""

    def __init__(self) -> None:
        self.app: Any = None
        self.httpd = create_server(self._serve, host="127.0.0.1", port=0, threads=4,
                                   ident="sargs-test")
        self.url = f"http://127.0.0.1:{self.httpd.effective_port}"
        self.thread = threading.Thread(target=self.httpd.run, name="waitress", daemon=True)
        self.thread.start()

    def _serve(self, environ: dict[str, Any], start_response: Any) -> Any:
        return self.app(environ, start_response)

    def close(self) -> None:
        self.httpd.close()
        self.httpd.task_dispatcher.shutdown()
        self.thread.join(timeout=10)
