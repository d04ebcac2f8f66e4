#!/usr/bin/env python3
"""Write N ECDSA P-256 CSRs as concatenated PEM: the shared input of every contender."""
import argparse

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

p = argparse.ArgumentParser()
p.add_argument("--count", type=int, required=True)
p.add_argument("--out", required=True)
p.add_argument("--domain", default="bench.example", help="names are dev-<i>.DOMAIN")
args = p.parse_args()

with open(args.out, "wb") as out:
    for i in range(args.count):
        name = f"dev-{i}.{args.domain}"
        key = ec.generate_private_key(ec.SECP256R1())
        csr = (
            x509.CertificateSigningRequestBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
            .sign(key, hashes.SHA256())
        )
        out.write(csr.public_bytes(serialization.Encoding.PEM))
