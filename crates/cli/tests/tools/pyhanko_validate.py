"""Validates a certificate path with pyhanko-certvalidator, fetching CRLs and OCSP
responses from the URLs in the certificates, as an independent relying party would.

usage: pyhanko_validate.py MODE ROOTS.pem CHAIN.pem CERT.pem

MODE says which revocation information every certificate of the path must have:
  require    CRL or OCSP for every certificate (certvalidator's hard-fail "require")
  both-ee    CRL and OCSP for the end entity, CRL or OCSP for the CAs
  both-all   CRL and OCSP for every certificate

Prints "valid", "revoked: ..." (exit 2) or "invalid: ..." (exit 1).
"""

import asyncio
import sys

from asn1crypto import pem, x509
from pyhanko_certvalidator import CertificateValidator, ValidationContext
from pyhanko_certvalidator.errors import RevokedError
from pyhanko_certvalidator.fetchers.aiohttp_fetchers import AIOHttpFetcherBackend
from pyhanko_certvalidator.policy_decl import (
    CertRevTrustPolicy,
    RevocationCheckingPolicy,
    RevocationCheckingRule,
)

EITHER = RevocationCheckingRule.CRL_OR_OCSP_REQUIRED
BOTH = RevocationCheckingRule.CRL_AND_OCSP_REQUIRED
MODES = {
    "require": RevocationCheckingPolicy(EITHER, EITHER),
    "both-ee": RevocationCheckingPolicy(BOTH, EITHER),
    "both-all": RevocationCheckingPolicy(BOTH, BOTH),
}


def certs(path):
    with open(path, "rb") as f:
        return [x509.Certificate.load(der) for _, _, der in pem.unarmor(f.read(), multiple=True)]


async def main(mode, roots, chain, leaf):
    async with AIOHttpFetcherBackend() as fetchers:
        context = ValidationContext(
            trust_roots=certs(roots),
            other_certs=certs(chain),
            allow_fetching=True,
            fetchers=fetchers,
            revinfo_policy=CertRevTrustPolicy(MODES[mode]),
        )
        validator = CertificateValidator(certs(leaf)[0], validation_context=context)
        try:
            await validator.async_validate_usage({"digital_signature"})
        except RevokedError as e:
            print(f"revoked: {e}")
            return 2
        except Exception as e:  # every other refusal is a failed validation
            print(f"invalid: {type(e).__name__}: {e}")
            return 1
    print("valid")
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main(*sys.argv[1:5])))
