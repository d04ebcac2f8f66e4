#!/usr/bin/env python3
"""Write an `openssl ca` index.txt in which every serial of SERIALS (one hex serial a line)
is revoked for keyCompromise now, expiring at NOT_AFTER (unix seconds)."""
import argparse
import datetime

p = argparse.ArgumentParser()
p.add_argument("--serials", required=True)
p.add_argument("--not-after", type=int, required=True)
p.add_argument("--out", required=True)
args = p.parse_args()

utc = datetime.timezone.utc
expiry = datetime.datetime.fromtimestamp(args.not_after, utc).strftime("%y%m%d%H%M%SZ")
revoked = datetime.datetime.now(utc).strftime("%y%m%d%H%M%SZ")
prefix = f"R\t{expiry}\t{revoked},keyCompromise\t"
with open(args.serials) as serials, open(args.out, "w") as out:
    out.writelines(f"{prefix}{s.strip().upper()}\tunknown\t/CN=device.bench.example\n"
                   for s in serials if s.strip())
