"""Drives an ACME server's account endpoints with the `acme` library (certbot's), as a
client would: directory, newNonce, newAccount (ES256, ES384 and RS256 keys), the existing
account found again, POST-as-GET, contact update, keyChange, deactivation, and a
replayed request.

usage: acme_account.py DIRECTORY_URL ROOTS.pem
Prints one JSON object of what it saw.
"""

import json
import sys

import josepy as jose
import requests
from acme import client, errors, messages
from acme import jws as acme_jws
from cryptography.hazmat.primitives.asymmetric import ec, rsa


def connect(directory_url, roots, key, alg):
    net = client.ClientNetwork(key, alg=alg, verify_ssl=roots, user_agent="ironpki-test")
    directory = client.ClientV2.get_directory(directory_url, net)
    return client.ClientV2(directory, net), net, directory


def lookup(directory_url, roots, key, alg):
    """newAccount with onlyReturnExisting from a fresh client: the account URL found, or
    the error type."""
    client_v2, _, _ = connect(directory_url, roots, key, alg)
    try:
        client_v2.new_account(messages.NewRegistration.from_data(only_return_existing=True))
        return "created"
    except errors.ConflictError as e:
        return e.location
    except messages.Error as e:
        return e.typ


def main(directory_url, roots):
    seen = {}
    ec_key = jose.JWKEC(key=ec.generate_private_key(ec.SECP256R1()))
    acme, net, directory = connect(directory_url, roots, ec_key, jose.ES256)
    seen["eab_required"] = directory.meta.external_account_required

    regr = acme.new_account(messages.NewRegistration.from_data(email="ops@example.com", terms_of_service_agreed=True))
    seen["account_url"] = regr.uri
    seen["status"] = regr.body.status
    seen["contact"] = list(regr.body.contact)

    # The same key, from a client that has lost its account URL, finds the account.
    seen["existing"] = lookup(directory_url, roots, ec_key, jose.ES256)
    stranger_key_taken = jose.JWKEC(key=ec.generate_private_key(ec.SECP384R1()))
    taken, _, _ = connect(directory_url, roots, stranger_key_taken, jose.ES384)
    seen["taken_account"] = taken.new_account(messages.NewRegistration.from_data(terms_of_service_agreed=True)).uri
    stranger_key = jose.JWKEC(key=ec.generate_private_key(ec.SECP384R1()))
    seen["unknown_key"] = lookup(directory_url, roots, stranger_key, jose.ES384)

    seen["queried_status"] = acme.query_registration(regr).body.status
    updated = acme.update_registration(regr.update(body=regr.body.update(contact=("mailto:new@example.com",))))
    seen["updated_contact"] = list(updated.body.contact)

    # The same signed request twice: the second is refused for its nonce.
    fresh = requests.head(directory["newNonce"], verify=roots, timeout=10)
    nonce = jose.b64.b64decode(fresh.headers["Replay-Nonce"])
    body = acme_jws.JWS.sign(b"", key=ec_key, alg=jose.ES256, nonce=nonce, url=regr.uri, kid=regr.uri).json_dumps().encode()
    headers = {"Content-Type": "application/jose+json"}
    first = requests.post(regr.uri, data=body, headers=headers, verify=roots, timeout=10)
    second = requests.post(regr.uri, data=body, headers=headers, verify=roots, timeout=10)
    seen["replay"] = [first.status_code, second.status_code, second.json().get("type"), "Replay-Nonce" in second.headers]

    # keyChange: an inner JWS signed by the new key, naming the account and its old key.
    def change_key(new_key, alg):
        url = directory["keyChange"]
        claims = json.dumps({"account": regr.uri, "oldKey": ec_key.public_key().to_partial_json()}).encode()
        inner = acme_jws.JWS.sign(claims, key=new_key, alg=alg, nonce=None, url=url)
        nonce = jose.b64.b64decode(requests.head(directory["newNonce"], verify=roots, timeout=10).headers["Replay-Nonce"])
        outer = acme_jws.JWS.sign(inner.json_dumps().encode(), key=ec_key, alg=jose.ES256, nonce=nonce, url=url, kid=regr.uri)
        reply = requests.post(url, data=outer.json_dumps().encode(), headers=headers, verify=roots, timeout=10)
        return reply.status_code, reply.json().get("type", reply.json().get("status")), reply.headers.get("Location")

    seen["key_change_to_taken_key"] = list(change_key(stranger_key_taken, jose.ES384))
    new_key = jose.JWKEC(key=ec.generate_private_key(ec.SECP256R1()))
    seen["key_change"] = list(change_key(new_key, jose.ES256))
    seen["found_with_new_key"] = lookup(directory_url, roots, new_key, jose.ES256)
    seen["found_with_old_key"] = lookup(directory_url, roots, ec_key, jose.ES256)
    renewed, _, _ = connect(directory_url, roots, new_key, jose.ES256)

    renewed_regr = renewed.query_registration(regr)
    deactivated = renewed.deactivate_registration(renewed_regr)
    seen["deactivated"] = deactivated.body.status
    try:
        renewed.query_registration(regr)
        seen["after_deactivation"] = "answered"
    except messages.Error as e:
        seen["after_deactivation"] = e.typ

    rsa_key = jose.JWKRSA(key=rsa.generate_private_key(public_exponent=65537, key_size=2048))
    rsa_acme, _, _ = connect(directory_url, roots, rsa_key, jose.RS256)
    seen["rsa_status"] = rsa_acme.new_account(messages.NewRegistration.from_data(terms_of_service_agreed=True)).body.status
    print(json.dumps(seen))


if __name__ == "__main__":
    main(*sys.argv[1:3])
