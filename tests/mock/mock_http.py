"""HTTP plumbing shared by the mock's endpoints (Python 3 stdlib only).

BaseHandler reads request bodies (Content-Length or chunked, at most
MAX_REQUEST_BODY) and sends answers; Server is a threading HTTP server on
loopback that never does reverse DNS.  Nothing here knows about tokens.
"""

import json
import os
import socketserver
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

MAX_REQUEST_BODY = 1 << 20          # 1 MiB


def jdump(obj):
    return json.dumps(obj, separators=(",", ":")).encode("utf-8")


class BaseHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "credrun-mock/1"

    def version_string(self):
        return self.server_version

    # ---- quiet logging ----
    def log_message(self, fmt, *args):  # noqa: D401 - silence access log
        pass

    def log_error(self, fmt, *args):
        # Timeouts / malformed request lines; never includes bodies or tokens.
        try:
            sys.stderr.write("mock_server: %s\n" % (fmt % args))
            sys.stderr.flush()
        except Exception:
            pass

    # ---- low level ----
    def _read_body(self):
        """Read the request body. Returns bytes, or None after sending an error."""
        te = (self.headers.get("Transfer-Encoding") or "").strip().lower()
        if te:
            if te != "chunked":
                self.close_connection = True
                self._send(501, jdump({"error": "unsupported transfer-encoding"}))
                return None
            return self._read_chunked()
        cl = self.headers.get("Content-Length")
        if cl is None:
            return b""
        try:
            n = int(cl)
            if n < 0:
                raise ValueError
        except ValueError:
            self.close_connection = True
            self._send(400, jdump({"error": "invalid_request",
                                   "error_description": "bad Content-Length"}))
            return None
        if n > MAX_REQUEST_BODY:
            self.close_connection = True
            self._send(413, jdump({"error": "request_too_large"}))
            return None
        data = self.rfile.read(n)
        if len(data) != n:
            self.close_connection = True
            return None
        return data

    def _read_chunked(self):
        chunks = []
        total = 0
        while True:
            line = self.rfile.readline(1024)
            if not line:
                self.close_connection = True
                return None
            try:
                size = int(line.split(b";", 1)[0].strip(), 16)
            except ValueError:
                self.close_connection = True
                self._send(400, jdump({"error": "invalid_request",
                                       "error_description": "bad chunk"}))
                return None
            if size == 0:
                # trailers
                while True:
                    t = self.rfile.readline(8192)
                    if not t or t in (b"\r\n", b"\n"):
                        break
                return b"".join(chunks)
            total += size
            if total > MAX_REQUEST_BODY:
                self.close_connection = True
                self._send(413, jdump({"error": "request_too_large"}))
                return None
            data = self.rfile.read(size)
            if len(data) != size:
                self.close_connection = True
                return None
            chunks.append(data)
            self.rfile.readline(8)  # CRLF after chunk

    def _send(self, status, body, headers=None, content_type="application/json"):
        try:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            if self.close_connection:
                self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(body)
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError, TimeoutError, OSError):
            self.close_connection = True

    def _send_json(self, status, obj, headers=None):
        self._send(status, jdump(obj), headers)


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def server_bind(self):
        # Skip HTTPServer.server_bind's reverse DNS lookup (getfqdn).
        socketserver.TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name = host
        self.server_port = port

    def handle_error(self, request, client_address):
        exc = sys.exc_info()[1]
        if isinstance(exc, (ConnectionError, TimeoutError)):
            return
        super().handle_error(request, client_address)


def write_port_file(path, port):
    d = os.path.dirname(os.path.abspath(path))
    tmp = os.path.join(d, ".%s.tmp.%d" % (os.path.basename(path), os.getpid()))
    with open(tmp, "w") as f:
        f.write("%d\n" % port)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)

