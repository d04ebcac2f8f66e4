#!/usr/bin/env python3
"""Python `cryptography` peer: sign a CRL revoking every serial of SERIALS (one hex serial a
line) for keyCompromise, with the CA's P-256 key; 7 days validity, AKI and CRL number; DER.

All entries go to the builder as one list: `add_revoked_certificate()` per entry copies the
list each time and is quadratic (see shared/ANCHORS.md)."""
import argparse
import datetime

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization

p = argparse.ArgumentParser()
p.add_argument("--serials", required=True)
p.add_argument("--ca-key", required=True)
p.add_argument("--ca-cert", required=True)
p.add_argument("--out", required=True)
args = p.parse_args()

with open(args.ca_key, "rb") as f:
    key = serialization.load_pem_private_key(f.read(), password=None)
with open(args.ca_cert, "rb") as f:
    cert = x509.load_pem_x509_certificate(f.read())

now = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
reason = x509.CRLReason(x509.ReasonFlags.key_compromise)
with open(args.serials) as f:
    revoked = [
        x509.RevokedCertificateBuilder()
        .serial_number(int(line, 16))
        .revocation_date(now)
        .add_extension(reason, critical=False)
        .build()
        for line in f
        if line.strip()
    ]

crl = (
    x509.CertificateRevocationListBuilder(
        issuer_name=cert.subject,
        last_update=now,
        next_update=now + datetime.timedelta(days=7),
        revoked_certificates=revoked,
    )
    .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(key.public_key()), critical=False)
    .add_extension(x509.CRLNumber(1), critical=False)
    .sign(key, hashes.SHA256())
)
with open(args.out, "wb") as f:
    f.write(crl.public_bytes(serialization.Encoding.DER))
