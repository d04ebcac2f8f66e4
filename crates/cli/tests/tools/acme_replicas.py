"""Complete ACME orders through a load balancer in front of two replicas, with the `acme`
library (certbot's), one connection per request so the balancer alternates them; then a
signed request sent twice, to one replica and then the other: its nonce is accepted once.

usage: acme_replicas.py DIRECTORY_URL ROOTS.pem HTTP01_PORT ORDERS OUT_DIR
Prints one JSON object of what it saw.
"""

import datetime
import json
import sys

import josepy as jose
import requests
from acme import client, messages
from acme import jws as acme_jws
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from http01_responder import answer_http01
from http01_responder import start as start_responder



def csr_pem(name):
    key = ec.generate_private_key(ec.SECP256R1())
    builder = x509.CertificateSigningRequestBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
    csr = builder.add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False).sign(key, hashes.SHA256())
    return csr.public_bytes(serialization.Encoding.PEM)


def main(directory_url, roots, port, orders, out_dir):
    server = start_responder(port)
    key = jose.JWKEC(key=ec.generate_private_key(ec.SECP256R1()))
    net = client.ClientNetwork(key, alg=jose.ES256, verify_ssl=roots, user_agent="ironpki-test")
    net.session.headers["Connection"] = "close"
    acme = client.ClientV2(client.ClientV2.get_directory(directory_url, net), net)
    regr = acme.new_account(messages.NewRegistration.from_data(terms_of_service_agreed=True))
    statuses = []
    for i in range(int(orders)):
        order = acme.new_order(csr_pem("localhost"))
        answer_http01(acme, key, order)
        order = acme.poll_and_finalize(order, deadline=datetime.datetime.now() + datetime.timedelta(seconds=30))
        statuses.append(order.body.status.name)
        with open(f"{out_dir}/chain{i}.pem", "w") as f:
            f.write(order.fullchain_pem)

    headers = {"Content-Type": "application/jose+json", "Connection": "close"}
    nonce = jose.b64.b64decode(requests.head(acme.directory["newNonce"], verify=roots, timeout=10, headers={"Connection": "close"}).headers["Replay-Nonce"])
    body = acme_jws.JWS.sign(b"", key=key, alg=jose.ES256, nonce=nonce, url=regr.uri, kid=regr.uri).json_dumps().encode()
    replies = [requests.post(regr.uri, data=body, headers=headers, verify=roots, timeout=10) for _ in range(2)]
    server.shutdown()
    print(json.dumps({"statuses": statuses, "replay": [replies[0].status_code, replies[1].status_code, replies[1].json().get("type")]}))


if __name__ == "__main__":
    main(*sys.argv[1:6])
