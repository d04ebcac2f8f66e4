#!/usr/bin/env python3
"""Check one answer of bench/api.sh's first request to a target (before any load): the JSON
shape, and that the certificate is for NAME with a validity of DAYS. Writes the certificate
(and IronPKI's chain) as PEM for `openssl verify`."""
import argparse
import datetime
import json
import sys

from cryptography import x509

p = argparse.ArgumentParser()
p.add_argument("--kind", choices=["cfssl", "ironpki"], required=True)
p.add_argument("--body", required=True, help="the response body")
p.add_argument("--name", required=True, help="the DNS name the CSR asked for")
p.add_argument("--days", type=float, required=True, help="expected validity in days")
p.add_argument("--cert-out", required=True)
p.add_argument("--chain-out")
args = p.parse_args()


def fail(msg):
    sys.exit(f"api_check: {args.kind}: {msg}")


try:
    j = json.load(open(args.body))
except ValueError as e:
    fail(f"the answer is not JSON ({e}): {open(args.body).read()[:300]!r}")
if args.kind == "cfssl":
    if not j.get("success") or not isinstance(j.get("result"), dict):
        fail(f"no success: {json.dumps(j)[:300]}")
    pem = j["result"].get("certificate")
else:
    missing = [k for k in ("serial", "certificate", "chain", "not_after") if k not in j]
    if missing:
        fail(f"answer lacks {missing}: {json.dumps(j)[:300]}")
    pem = j["certificate"]
    chain = j["chain"]
    if isinstance(chain, list):
        chain = "".join(c if c.endswith("\n") else c + "\n" for c in chain)
    if not chain.strip():
        fail("empty chain")
    open(args.chain_out, "w").write(chain)
if not pem:
    fail("no certificate in the answer")
open(args.cert_out, "w").write(pem)
cert = x509.load_pem_x509_certificate(pem.encode())
sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value.get_values_for_type(x509.DNSName)
if sans != [args.name]:
    fail(f"SAN dNSName {sans}, expected [{args.name!r}]")
days = (cert.not_valid_after_utc - cert.not_valid_before_utc) / datetime.timedelta(days=1)
# IronPKI backdates notBefore by a few minutes: allow an hour either way.
if abs(days - args.days) > 1 / 24:
    fail(f"validity {days:.3f} days, expected {args.days}")
print(f"serial {cert.serial_number:x}, {days:.2f} days, SAN {sans[0]}")
