#!/usr/bin/env python3
"""Issue one certificate per CSR with Python `cryptography`, optionally storing each in SQLite.

Prints {"issued":N,"seconds":S,"per_sec":R}; only the issuance loop is timed.
"""
import argparse
import datetime
import json
import os
import sqlite3
import time

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509.oid import ExtendedKeyUsageOID

p = argparse.ArgumentParser()
p.add_argument("--ca-key", required=True)
p.add_argument("--ca-cert", required=True)
p.add_argument("--csrs", required=True, help="file of concatenated PEM CSRs")
p.add_argument("--db", help="SQLite database path (required unless --no-store)")
p.add_argument("--no-store", action="store_true")
p.add_argument("--sample", help="write the first issued certificate here (PEM), after timing")
args = p.parse_args()
if not args.no_store and not args.db:
    p.error("--db is required unless --no-store")

with open(args.ca_key, "rb") as f:
    ca_key = serialization.load_pem_private_key(f.read(), password=None)
with open(args.ca_cert, "rb") as f:
    ca_cert = x509.load_pem_x509_certificate(f.read())
end = b"-----END CERTIFICATE REQUEST-----\n"
with open(args.csrs, "rb") as f:
    blobs = [b + end for b in f.read().split(end) if b.strip()]

issuer = ca_cert.subject
aki = x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(
    ca_cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
)
ku = x509.KeyUsage(
    digital_signature=True, content_commitment=False, key_encipherment=False,
    data_encipherment=False, key_agreement=False, key_cert_sign=False,
    crl_sign=False, encipher_only=False, decipher_only=False,
)
eku = x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH])
bc = x509.BasicConstraints(ca=False, path_length=None)

db = None
if not args.no_store:
    db = sqlite3.connect(args.db)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    db.execute("CREATE TABLE IF NOT EXISTS certs"
               " (serial TEXT PRIMARY KEY, subject TEXT NOT NULL, not_after INTEGER NOT NULL, der BLOB NOT NULL)")
    db.commit()

first = None
t0 = time.perf_counter()
for pem in blobs:
    csr = x509.load_pem_x509_csr(pem)
    if not csr.is_signature_valid:
        raise SystemExit("CSR signature invalid")
    san = csr.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    now = datetime.datetime.now(datetime.timezone.utc)
    not_after = now + datetime.timedelta(days=90)
    pub = csr.public_key()
    cert = (
        x509.CertificateBuilder()
        .subject_name(csr.subject)
        .issuer_name(issuer)
        .public_key(pub)
        .serial_number(int.from_bytes(os.urandom(16), "big"))
        .not_valid_before(now)
        .not_valid_after(not_after)
        .add_extension(san, critical=False)
        .add_extension(bc, critical=True)
        .add_extension(ku, critical=True)
        .add_extension(eku, critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(pub), critical=False)
        .add_extension(aki, critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    if db is not None:
        db.execute("INSERT INTO certs VALUES (?, ?, ?, ?)",
                   (format(cert.serial_number, "x"), cert.subject.rfc4514_string(),
                    int(not_after.timestamp()), cert.public_bytes(serialization.Encoding.DER)))
        db.commit()
    if first is None:
        first = cert
seconds = time.perf_counter() - t0

if db is not None:
    stored = db.execute("SELECT count(*) FROM certs").fetchone()[0]
    if stored != len(blobs):
        raise SystemExit(f"stored {stored} certificates, expected {len(blobs)}")
    db.close()
if args.sample and first is not None:
    with open(args.sample, "wb") as f:
        f.write(first.public_bytes(serialization.Encoding.PEM))
print(json.dumps({"issued": len(blobs), "seconds": round(seconds, 4),
                  "per_sec": round(len(blobs) / seconds, 1)}))
