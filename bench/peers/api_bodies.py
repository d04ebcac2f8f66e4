#!/usr/bin/env python3
"""Turn concatenated CSR PEMs into JSON request bodies, one per line, for bench/api.sh:
cfssl's `{"certificate_request": PEM}` and IronPKI's `{"profile": P, "csr": PEM}`."""
import argparse
import json
import re

p = argparse.ArgumentParser()
p.add_argument("--csrs", required=True)
p.add_argument("--profile", required=True, help="IronPKI profile")
p.add_argument("--cfssl", required=True, help="output: cfssl bodies")
p.add_argument("--ironpki", required=True, help="output: IronPKI bodies")
args = p.parse_args()

pems = re.findall(r"-----BEGIN CERTIFICATE REQUEST-----.*?-----END CERTIFICATE REQUEST-----\n",
                  open(args.csrs).read(), re.S)
with open(args.cfssl, "w") as c, open(args.ironpki, "w") as i:
    for pem in pems:
        c.write(json.dumps({"certificate_request": pem}) + "\n")
        i.write(json.dumps({"profile": args.profile, "csr": pem}) + "\n")
print(len(pems))
