#!/usr/bin/env python3
"""An HTTPS webhook receiver for the revocation-notice tests.

Usage: webhook_receiver.py CERT KEY FAILURES LOG

Listens on a free 127.0.0.1 port (printed on the first line of stdout), answers the
first FAILURES POSTs with 503, then 204; appends one JSON line per POST to LOG with
the status given, the X-IronPKI-Signature header and the body.
"""
import http.server
import json
import ssl
import sys

cert, key, failures, log = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
seen = 0


class Handler(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        global seen
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        seen += 1
        status = 503 if seen <= failures else 204
        with open(log, "a") as f:
            f.write(json.dumps({"status": status, "signature": self.headers.get("X-IronPKI-Signature"),
                                "body": body.decode()}) + "\n")
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
context.load_cert_chain(cert, key)
server.socket = context.wrap_socket(server.socket, server_side=True)
print(server.server_address[1], flush=True)
server.serve_forever()
