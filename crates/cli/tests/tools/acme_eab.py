"""External Account Binding with the `acme` library: newAccount refused without one,
accepted with a key from `ironpki acme eab create`, and refused with a used, wrong or
revoked key.

usage: acme_eab.py DIRECTORY_URL ROOTS.pem KID HMAC_KEY REVOKED_KID REVOKED_HMAC_KEY
Prints one JSON object of what it saw.
"""

import json
import sys

import josepy as jose
from acme import client, messages
from cryptography.hazmat.primitives.asymmetric import ec


def attempt(directory_url, roots, binding):
    """newAccount with a fresh key; `binding(key, directory)` gives the EAB or None."""
    key = jose.JWKEC(key=ec.generate_private_key(ec.SECP256R1()))
    net = client.ClientNetwork(key, alg=jose.ES256, verify_ssl=roots, user_agent="ironpki-test")
    directory = client.ClientV2.get_directory(directory_url, net)
    acme = client.ClientV2(directory, net)
    eab = binding(key, directory)
    try:
        regr = acme.new_account(messages.NewRegistration.from_data(terms_of_service_agreed=True, external_account_binding=eab))
        return regr.body.status
    except messages.Error as e:
        return e.typ


def main(directory_url, roots, kid, hmac_key, revoked_kid, revoked_hmac_key):
    def eab(kid, hmac_key):
        return lambda key, directory: messages.ExternalAccountBinding.from_data(
            account_public_key=key.public_key(), kid=kid, hmac_key=hmac_key, directory=directory)

    seen = {
        "without": attempt(directory_url, roots, lambda key, directory: None),
        "wrong_hmac": attempt(directory_url, roots, eab(kid, jose.b64.b64encode(b"x" * 32).decode())),
        "with": attempt(directory_url, roots, eab(kid, hmac_key)),
        "reused": attempt(directory_url, roots, eab(kid, hmac_key)),
        "revoked": attempt(directory_url, roots, eab(revoked_kid, revoked_hmac_key)),
    }
    print(json.dumps(seen))


if __name__ == "__main__":
    main(*sys.argv[1:7])
