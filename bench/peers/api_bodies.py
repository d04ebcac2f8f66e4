#!/usr/bin/env python3
"""Turn concatenated CSR PEMs into JSON request bodies, one per line, for bench/api.sh:
cfssl's `{"certificate_request": PEM}` and IronPKI's `{"profile": P, "csr": PEM}` (with
`"lifetime": L` too when --lifetime is given: bench/scale.sh asks for 24h)."""
import argparse
import json
import re

p = argparse.ArgumentParser()
p.add_argument("--csrs", required=True)
p.add_argument("--profile", required=True, help="IronPKI profile")
p.add_argument("--cfssl", required=True, help="output: cfssl bodies")
p.add_argument("--ironpki", required=True, help="output: IronPKI bodies")
p.add_argument("--lifetime", help="IronPKI bodies ask for this lifetime, e.g. 24h (default: the profile's)")
args = p.parse_args()

pems = re.findall(r"-----BEGIN CERTIFICATE REQUEST-----.*?-----END CERTIFICATE REQUEST-----\n",
                  open(args.csrs).read(), re.S)
with open(args.cfssl, "w") as c, open(args.ironpki, "w") as i:
    for pem in pems:
        c.write(json.dumps({"certificate_request": pem}) + "\n")
        body = {"profile": args.profile, "csr": pem}
        if args.lifetime:
            body["lifetime"] = args.lifetime
        i.write(json.dumps(body) + "\n")
print(len(pems))
