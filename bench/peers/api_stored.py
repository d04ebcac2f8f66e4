#!/usr/bin/env python3
"""For bench/api.sh: how many of the certificates a target answered (2xx bodies written by
wrk-api.lua) are in its store. --serials is the store's serial column, one value a line.
cfssl answers {"result": {"certificate": PEM}} and stores the serial in decimal; IronPKI
answers {"serial": ...} and stores the same string. Prints one JSON object."""
import argparse
import json

from cryptography import x509

p = argparse.ArgumentParser()
p.add_argument("--kind", choices=["cfssl", "ironpki"], required=True)
p.add_argument("--serials", required=True)
p.add_argument("answers", nargs="+")
args = p.parse_args()


def norm(serial):
    """IronPKI serials as strings: case, colons and leading zeros do not count."""
    return serial.strip().lower().replace(":", "").lstrip("0")


def bodies(path):
    with open(path, "rb") as f:
        while line := f.readline():
            n = int(line)
            body = f.read(n)
            f.read(1)
            yield body


if args.kind == "cfssl":
    stored = {int(s) for s in open(args.serials) if s.strip()}
else:
    stored = {norm(s) for s in open(args.serials) if s.strip()}

answered = found = 0
missing = []
for path in args.answers:
    for body in bodies(path):
        answered += 1
        j = json.loads(body)
        if args.kind == "cfssl":
            serial = x509.load_pem_x509_certificate(j["result"]["certificate"].encode()).serial_number
        else:
            serial = norm(str(j["serial"]))
        if serial in stored:
            found += 1
        elif len(missing) < 5:
            missing.append(f"{serial:x}" if isinstance(serial, int) else serial)
print(json.dumps({"answered": answered, "stored": found, "store_rows": len(stored), "missing_examples": missing}))
