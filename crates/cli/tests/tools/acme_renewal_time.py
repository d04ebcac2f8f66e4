"""When the `acme` library (certbot's) would renew a certificate: ClientV2.renewal_time,
which reads the server's renewal information (RFC 9773).

usage: acme_renewal_time.py DIRECTORY_URL ROOTS.pem CERT.pem
Prints {"renewal_time": unix seconds, "retry_after": unix seconds}.
"""

import json
import sys

import josepy as jose
from acme import client
from cryptography.hazmat.primitives.asymmetric import ec


def main(directory_url, roots, cert_path):
    key = jose.JWKEC(key=ec.generate_private_key(ec.SECP256R1()))
    net = client.ClientNetwork(key, alg=jose.ES256, verify_ssl=roots, user_agent="ironpki-test")
    acme = client.ClientV2(client.ClientV2.get_directory(directory_url, net), net)
    with open(cert_path, "rb") as f:
        renewal, retry_after = acme.renewal_time(f.read())
    print(json.dumps({"renewal_time": renewal.timestamp(), "retry_after": retry_after.timestamp()}))


if __name__ == "__main__":
    main(*sys.argv[1:4])
