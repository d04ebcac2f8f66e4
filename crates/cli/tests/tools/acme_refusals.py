"""What an ACME server must refuse, driven with the `acme` library (certbot's) and signed
requests of its JWS code: an unsigned request (alg none), an unknown kid, a url header
that is not the request's URL, a CSR whose names differ from the order's, a CSR with a key
the profile forbids; then the order, untouched by all that, is finalized. Then the
per-account limits: new orders per hour (rateLimited with Retry-After), and the orders
list in pages; and an account whose validation failed refused further orders.

usage: acme_refusals.py DIRECTORY_URL ROOTS.pem HTTP01_PORT ORDERS_PER_HOUR
Prints one JSON object of what it saw.
"""

import datetime
import json
import sys

import josepy as jose
import requests
from acme import challenges, client, errors, messages
from acme import jws as acme_jws
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID
from http01_responder import answer_http01
from http01_responder import start as start_responder

HEADERS = {"Content-Type": "application/jose+json"}


def csr_for(name, key):
    builder = x509.CertificateSigningRequestBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
    csr = builder.add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False).sign(key, hashes.SHA256())
    return csr.public_bytes(serialization.Encoding.DER)


def b64(data):
    return jose.b64.b64encode(data).decode()


class Raw:
    """Signed requests built by hand, for what the client library would never send."""

    def __init__(self, directory, roots, key, kid):
        self.directory, self.roots, self.key, self.kid = directory, roots, key, kid

    def nonce(self):
        return requests.head(self.directory["newNonce"], verify=self.roots, timeout=10).headers["Replay-Nonce"]

    def post(self, url, payload, signed_url=None, kid=None):
        nonce = jose.b64.b64decode(self.nonce())
        body = json.dumps(payload).encode() if payload is not None else b""
        jws = acme_jws.JWS.sign(body, key=self.key, alg=jose.ES256, nonce=nonce, url=signed_url or url, kid=kid or self.kid)
        return requests.post(url, data=jws.json_dumps().encode(), headers=HEADERS, verify=self.roots, timeout=10)

    def unsigned(self, url, payload):
        protected = {"alg": "none", "nonce": self.nonce(), "url": url, "kid": self.kid}
        body = {"protected": b64(json.dumps(protected).encode()), "payload": b64(json.dumps(payload).encode()), "signature": ""}
        return requests.post(url, data=json.dumps(body).encode(), headers=HEADERS, verify=self.roots, timeout=10)


def outcome(reply):
    return [reply.status_code, reply.json().get("type")]


def connect(directory_url, roots):
    key = jose.JWKEC(key=ec.generate_private_key(ec.SECP256R1()))
    net = client.ClientNetwork(key, alg=jose.ES256, verify_ssl=roots, user_agent="ironpki-test")
    acme = client.ClientV2(client.ClientV2.get_directory(directory_url, net), net)
    regr = acme.new_account(messages.NewRegistration.from_data(terms_of_service_agreed=True))
    return acme, key, regr


def main(directory_url, roots, port, orders_per_hour):
    server = start_responder(port)
    seen = {}
    acme, key, regr = connect(directory_url, roots)
    directory = acme.directory
    raw = Raw(directory, roots, key, regr.uri)
    cert_key = ec.generate_private_key(ec.SECP256R1())
    order = acme.new_order(serialization_pem(csr_for("localhost", cert_key)))
    answer_http01(acme, key, order)
    acme.poll_authorizations(order, deadline=datetime.datetime.now() + datetime.timedelta(seconds=30))
    order_url = order.uri
    finalize_url = order.body.finalize
    seen["ready"] = raw.post(order_url, None).json()["status"]

    new_order_url = directory["newOrder"]
    seen["alg_none"] = outcome(raw.unsigned(new_order_url, {"identifiers": [{"type": "dns", "value": "localhost"}]}))
    seen["unknown_kid"] = outcome(raw.post(new_order_url, {"identifiers": [{"type": "dns", "value": "localhost"}]}, kid=regr.uri + "x"))
    seen["url_mismatch"] = outcome(raw.post(order_url, None, signed_url=new_order_url))
    seen["csr_other_names"] = outcome(raw.post(finalize_url, {"csr": b64(csr_for("other.internal", cert_key))}))
    seen["csr_weak_key"] = outcome(raw.post(finalize_url, {"csr": b64(csr_for("localhost", rsa.generate_private_key(65537, 1024)))}))
    seen["still_ready"] = raw.post(order_url, None).json()["status"]
    seen["finalized"] = raw.post(finalize_url, {"csr": b64(csr_for("localhost", cert_key))}).json()["status"]

    # New orders up to the hour's limit, then rateLimited; the orders list pages through them.
    for _ in range(int(orders_per_hour) - 1):
        acme.new_order(serialization_pem(csr_for("localhost", cert_key)))
    limited = raw.post(new_order_url, {"identifiers": [{"type": "dns", "value": "localhost"}]})
    seen["limited"] = outcome(limited) + [limited.headers.get("Retry-After")]
    orders_url = raw.post(regr.uri, None).json()["orders"]
    first = raw.post(orders_url, None)
    second_url = first.links.get("next", {}).get("url")
    second = raw.post(second_url, None)
    seen["pages"] = [len(first.json()["orders"]), second_url == orders_url + "?page=1", len(second.json()["orders"]), "next" in second.links]
    seen["pages_distinct"] = not set(first.json()["orders"]) & set(second.json()["orders"])

    # A failed validation: with failed_validations_per_hour 1, the next order is refused.
    other, other_key, _ = connect(directory_url, roots)
    failing = other.new_order(serialization_pem(csr_for("localhost", cert_key)))
    for authz in failing.authorizations:
        challb = next(c for c in authz.body.challenges if isinstance(c.chall, challenges.HTTP01))
        other.answer_challenge(challb, challb.response(other_key))
    try:
        other.poll_authorizations(failing, deadline=datetime.datetime.now() + datetime.timedelta(seconds=30))
    except errors.ValidationError:
        pass
    try:
        other.new_order(serialization_pem(csr_for("localhost", cert_key)))
        seen["after_failure"] = "ordered"
    except messages.Error as e:
        seen["after_failure"] = [e.typ, e.detail]
    server.shutdown()
    print(json.dumps(seen))


def serialization_pem(der):
    return x509.load_der_x509_csr(der).public_bytes(serialization.Encoding.PEM)


if __name__ == "__main__":
    main(*sys.argv[1:5])
