"""A model endpoint on loopback for the CLI tests (transcription, frame labels): a real HTTP
server (http.server, one thread per request) started by the test, answering POSTs through
the subclass's handle(h); `release` frees requests held to simulate a stall."""
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Endpoint:
    """Subclasses set their state, then call Endpoint.__init__, and define handle(h)."""

    def __init__(self):
        self.release = threading.Event()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def do_POST(self):
                server.handle(self)

        self.httpd = ThreadingHTTPServer(('127.0.0.1', 0), Handler)
        self.httpd.daemon_threads = True
        self.url = 'http://127.0.0.1:%d' % self.httpd.server_address[1]
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def handle(self, h):
        raise NotImplementedError

    def close(self):
        self.release.set()
        self.httpd.shutdown()
        self.httpd.server_close()

    def __enter__(self):
        return self

    def __exit__(self, *a):
        self.close()

    @staticmethod
    def reply(h, status, body, headers=()):
        """A JSON answer (body: an object, or raw bytes sent as they are)."""
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        h.send_response(status)
        for k, v in headers:
            h.send_header(k, v)
        h.send_header('Content-Type', 'application/json')
        h.send_header('Content-Length', str(len(data)))
        h.end_headers()
        h.wfile.write(data)
