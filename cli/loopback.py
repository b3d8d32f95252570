"""A small HTTP server on 127.0.0.1, in a daemon thread, standing in for a remote host.

`simulate-call`, the transcription benchmark and the tests serve recordings and answer
Twilio's REST API with it; each keeps its own request logic in a `QuietHandler` subclass.
"""
from __future__ import annotations

import http.server
import threading

LOOPBACK_HOST = "127.0.0.1"


class QuietHandler(http.server.BaseHTTPRequestHandler):
    """Handle requests without logging each one to stderr."""

    def log_message(self, *args):
        pass

    def send_body(self, status: int, body: bytes = b"", content_type: str | None = None,
                  headers: dict[str, str] | None = None) -> None:
        """Answer with `status`, the given headers, a Content-Length and `body`."""
        self.send_response(status)
        if content_type:
            self.send_header("Content-Type", content_type)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class LoopbackServer:
    """Serve `handler` on a free port of 127.0.0.1 once started; use as a context manager."""

    def __init__(self, handler: type[http.server.BaseHTTPRequestHandler]):
        self.server = http.server.ThreadingHTTPServer((LOOPBACK_HOST, 0), handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def port(self) -> int:
        return self.server.server_address[1]

    @property
    def base_url(self) -> str:
        return f"http://{LOOPBACK_HOST}:{self.port}"

    def start(self) -> LoopbackServer:
        """Start serving in the background thread."""
        self.thread.start()
        return self

    def close(self) -> None:
        """Stop serving and release the port."""
        # shutdown() waits for serve_forever() to notice, so it would block for ever on a
        # server that was never started.
        if self.thread.is_alive():
            self.server.shutdown()
        self.server.server_close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.close()
