"""A complete ACME issuance with the `acme` library: an account, an order for
`localhost` and `127.0.0.1`, http-01 answered by a responder on the provisioner's
http01_port, finalize, and the chain downloaded; then a refused identifier, and an
http-01 answer that does not match.

usage: acme_order.py DIRECTORY_URL ROOTS.pem HTTP01_PORT OUT_DIR
Prints one JSON object of what it saw.
"""

import datetime
import ipaddress
import json
import sys

import josepy as jose
from acme import challenges, client, errors, messages
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from http01_responder import ANSWERS, answer_http01
from http01_responder import start as start_responder



def csr_for(names, ips, key=None):
    key = key or ec.generate_private_key(ec.SECP256R1())
    sans = [x509.DNSName(n) for n in names] + [x509.IPAddress(ipaddress.ip_address(i)) for i in ips]
    subject = [x509.NameAttribute(NameOID.COMMON_NAME, names[0])] if names else []
    builder = x509.CertificateSigningRequestBuilder().subject_name(x509.Name(subject))
    csr = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False).sign(key, hashes.SHA256())
    return csr.public_bytes(serialization.Encoding.PEM)




def main(directory_url, roots, port, out_dir):
    server = start_responder(port)
    seen = {}
    key = jose.JWKEC(key=ec.generate_private_key(ec.SECP256R1()))
    net = client.ClientNetwork(key, alg=jose.ES256, verify_ssl=roots, user_agent="ironpki-test")
    acme = client.ClientV2(client.ClientV2.get_directory(directory_url, net), net)
    regr = acme.new_account(messages.NewRegistration.from_data(email="ops@example.com", terms_of_service_agreed=True))

    order = acme.new_order(csr_for(["localhost"], ["127.0.0.1"]))
    seen["challenge_types"] = sorted({c.to_partial_json()["type"] for a in order.authorizations for c in a.body.challenges})
    answer_http01(acme, key, order)
    deadline = datetime.datetime.now() + datetime.timedelta(seconds=30)
    order = acme.poll_and_finalize(order, deadline=deadline)
    seen["order_status"] = order.body.status.name
    with open(f"{out_dir}/fullchain.pem", "w") as f:
        f.write(order.fullchain_pem)

    # The library has no public call for these two reads: its POST-as-GET helper does them.
    orders_url = acme._post_as_get(regr.uri).json()["orders"]  # noqa: SLF001
    listed = acme._post_as_get(orders_url).json()  # noqa: SLF001
    seen["orders_listed"] = listed["orders"] == [order.uri]

    # revokeCert: not by another account; by the certificate's own key; then once only.
    def leaf(order):
        return x509.load_pem_x509_certificate(order.fullchain_pem.split("-----END CERTIFICATE-----")[0].encode() + b"-----END CERTIFICATE-----\n")

    first = leaf(order)
    stranger_key = jose.JWKEC(key=ec.generate_private_key(ec.SECP256R1()))
    stranger_net = client.ClientNetwork(stranger_key, alg=jose.ES256, verify_ssl=roots, user_agent="ironpki-test")
    stranger = client.ClientV2(client.ClientV2.get_directory(directory_url, stranger_net), stranger_net)
    stranger.new_account(messages.NewRegistration.from_data(terms_of_service_agreed=True))
    try:
        stranger.revoke(first, 1)
        seen["stranger_revoke"] = "revoked"
    except messages.Error as e:
        seen["stranger_revoke"] = e.typ
    acme.revoke(first, 4)
    seen["account_revoke"] = [format(first.serial_number, "x"), "superseded"]
    try:
        acme.revoke(first, 4)
        seen["revoked_twice"] = "revoked"
    except messages.Error as e:
        seen["revoked_twice"] = e.typ

    cert_key = ec.generate_private_key(ec.SECP256R1())
    second = acme.new_order(csr_for([], ["127.0.0.1"], cert_key))
    answer_http01(acme, key, second)
    second = acme.poll_and_finalize(second, deadline=datetime.datetime.now() + datetime.timedelta(seconds=30))
    by_key_net = client.ClientNetwork(jose.JWKEC(key=cert_key), alg=jose.ES256, verify_ssl=roots, user_agent="ironpki-test")
    by_key = client.ClientV2(client.ClientV2.get_directory(directory_url, by_key_net), by_key_net)
    by_key.revoke(leaf(second), 1)
    seen["key_revoke"] = [format(leaf(second).serial_number, "x"), "keyCompromise"]

    try:
        acme.new_order(csr_for(["www.example.com"], []))
        seen["foreign_name"] = "ordered"
    except messages.Error as e:
        seen["foreign_name"] = e.typ

    bad = acme.new_order(csr_for([], ["127.0.0.2"]))
    for authz in bad.authorizations:
        challb = next(c for c in authz.body.challenges if isinstance(c.chall, challenges.HTTP01))
        ANSWERS[challb.chall.encode("token")] = "not the key authorization"
        acme.answer_challenge(challb, challb.response(key))
    try:
        acme.poll_authorizations(bad, deadline=datetime.datetime.now() + datetime.timedelta(seconds=30))
        seen["wrong_answer"] = "valid"
    except errors.ValidationError as e:
        challenge = next(c for a in e.failed_authzrs for c in a.body.challenges if c.error)
        seen["wrong_answer"] = [e.failed_authzrs[0].body.status.name, challenge.error.typ, challenge.error.detail]
    server.shutdown()
    print(json.dumps(seen))


if __name__ == "__main__":
    main(*sys.argv[1:5])
