"""The http-01 responder of the ACME test scripts: answers
/.well-known/acme-challenge/TOKEN with what ANSWERS holds for TOKEN (404 otherwise), on
every address of one port."""

import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from acme import challenges

ANSWERS = {}


class _Responder(BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 (the http.server interface)
        body = ANSWERS.get(self.path.rsplit("/", 1)[-1], "").encode()
        self.send_response(200 if body else 404)
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


class _DualStack(ThreadingHTTPServer):
    address_family = socket.AF_INET6


def start(port):
    """Serves on [::]:PORT from a thread of its own; returns the server (to shut down)."""
    server = _DualStack(("::", int(port)), _Responder)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def answer_http01(acme, account_key, order):
    """Publishes each authorization's http-01 key authorization and answers the challenge."""
    for authz in order.authorizations:
        challb = next(c for c in authz.body.challenges if isinstance(c.chall, challenges.HTTP01))
        response, validation = challb.response_and_validation(account_key)
        ANSWERS[challb.chall.encode("token")] = validation
        acme.answer_challenge(challb, response)
