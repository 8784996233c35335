#!/usr/bin/env python3
"""Strict mock OAuth token server for credrun tests (Python 3 stdlib only).

Usage:
    mock_server.py --port-file FILE [--expires-in SECONDS] [--client-id ID]
                   [--tls-cert PEM --tls-key PEM --tls-port-file FILE]

Binds 127.0.0.1 on an ephemeral port, writes the port number to FILE
atomically once listening, and serves until SIGTERM/SIGINT (exit 0).

The endpoints live in modules next to this file:
    mock_token.py     the token endpoint, its token model and failure modes,
                      and the admin API (/admin/...)
    mock_messages.py  a Messages API (/v1/messages) for the real claude
    mock_http.py      request body reading, answers, the server class

See tests/mock/mockctl for the client side.  Nothing is logged to stdout;
only unexpected errors go to stderr, and tokens are never logged.
"""

import argparse
import os
import signal
import sys
import threading
from urllib.parse import urlsplit

sys.dont_write_bytecode = True  # the source tree may be read-only, and is shipped
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from mock_http import BaseHandler, Server, write_port_file  # noqa: E402
from mock_messages import MessagesAPI  # noqa: E402
from mock_token import DEFAULT_CLIENT_ID, TOKEN_PATHS, Admin, State, TokenEndpoint  # noqa: E402


class Handler(TokenEndpoint, MessagesAPI, Admin, BaseHandler):
    """One request: dispatched by method and path to the modules' handlers."""

    @property
    def state(self):
        return self.server.state

    # ---- dispatch ----
    def do_POST(self):
        path = urlsplit(self.path).path
        body = self._read_body()
        if body is None:
            return
        if path in TOKEN_PATHS:
            self._token(path, body)
        elif path == "/v1/messages":
            self._messages(body)
        elif path == "/v1/responses":
            self._responses(body)
        elif path == "/admin/login":
            self._admin_login(body)
        elif path == "/admin/config":
            self._admin_config(body)
        elif path == "/admin/reset":
            with self.state.cond:
                self.state.reset()
                cfg = dict(self.state.config)
            self._send_json(200, cfg)
        elif path == "/admin/release":
            with self.state.cond:
                n = self.state.release()
            self._send_json(200, {"released": n})
        elif path in ("/admin/stats", "/admin/check"):
            self._send_json(405, {"error": "method_not_allowed"}, {"Allow": "GET"})
        else:
            self._send_json(404, {"error": "not_found"})

    def do_GET(self):
        path = urlsplit(self.path).path
        body = self._read_body()
        if body is None:
            return
        if path == "/admin/stats":
            with self.state.cond:
                s = self.state.stats()
            self._send_json(200, s)
        elif path == "/admin/config":
            with self.state.cond:
                cfg = dict(self.state.config)
            self._send_json(200, cfg)
        elif path == "/admin/check":
            self._admin_check()
        elif path == "/admin/check-refresh":
            self._admin_check(refresh=True)
        elif path in TOKEN_PATHS or path in ("/admin/login", "/admin/reset",
                                             "/admin/release"):
            self._send_json(405, {"error": "method_not_allowed"}, {"Allow": "POST"})
        else:
            self._send_json(404, {"error": "not_found"})



def main(argv=None):
    ap = argparse.ArgumentParser(description="Mock OAuth token server for credrun tests")
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--expires-in", type=float, default=3600)
    ap.add_argument("--client-id", default=DEFAULT_CLIENT_ID)
    ap.add_argument("--tls-cert", help="also serve HTTPS with this certificate (PEM)")
    ap.add_argument("--tls-key", help="the certificate's key (PEM)")
    ap.add_argument("--tls-port-file", help="where to write the HTTPS port")
    args = ap.parse_args(argv)

    expires_in = float(args.expires_in)
    if expires_in.is_integer():
        expires_in = int(expires_in)
    state = State(expires_in, args.client_id)

    stop = threading.Event()

    def on_signal(signum, frame):
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    httpd = Server(("127.0.0.1", 0), Handler)
    httpd.state = state
    t = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05},
                         name="serve_forever", daemon=True)
    t.start()
    tls = None
    if args.tls_cert:
        # The same state behind a second, HTTPS listener on loopback.
        import ssl
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(args.tls_cert, args.tls_key)
        tls = Server(("127.0.0.1", 0), Handler)
        tls.state = state
        tls.socket = ctx.wrap_socket(tls.socket, server_side=True)
        threading.Thread(target=tls.serve_forever, kwargs={"poll_interval": 0.05},
                         name="serve_tls", daemon=True).start()
        write_port_file(args.tls_port_file, tls.server_address[1])
    write_port_file(args.port_file, httpd.server_address[1])

    while not stop.wait(1.0):
        pass

    # Wake any held / hanging / delayed handlers, stop accepting, exit.
    with state.cond:
        state.shutting_down = True
        state.cond.notify_all()
    state.stop.set()
    httpd.shutdown()
    httpd.server_close()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


if __name__ == "__main__":
    main()
