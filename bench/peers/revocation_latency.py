"""Revocation to OCSP "revoked": for each certificate, revoke it through the REST API
(mTLS, the admin certificate) and poll the OCSP responder (GET, one kept-alive
connection) until it answers "revoked". Prints the latencies as Markdown table rows.

usage: revocation_latency.py API_HOST:PORT OCSP_HOST:PORT ROOTS ADMIN_CERT ADMIN_KEY ISSUER CERT...
"""

import base64
import http.client
import json
import random
import ssl
import statistics
import sys
import time
import urllib.parse

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509 import ocsp


def load(path):
    with open(path, "rb") as f:
        return x509.load_pem_x509_certificate(f.read())


def main(api, responder, roots, admin_cert, admin_key, issuer_path, *cert_paths):
    issuer = load(issuer_path)
    context = ssl.create_default_context(cafile=roots)
    context.check_hostname = False
    context.load_cert_chain(admin_cert, admin_key)
    host, port = api.rsplit(":", 1)
    api_conn = http.client.HTTPSConnection(host, int(port), context=context)
    host, port = responder.rsplit(":", 1)
    ocsp_conn = http.client.HTTPConnection(host, int(port))

    def status(path):
        ocsp_conn.request("GET", path)
        reply = ocsp_conn.getresponse()
        body = reply.read()
        if reply.status != 200:
            raise SystemExit(f"OCSP answered {reply.status}")
        return ocsp.load_der_ocsp_response(body).certificate_status

    after_request, after_commit, polls = [], [], 0
    for cert_path in cert_paths:
        cert = load(cert_path)
        request = ocsp.OCSPRequestBuilder().add_certificate(cert, issuer, hashes.SHA1()).build()
        der = request.public_bytes(serialization.Encoding.DER)
        path = "/ocsp/" + urllib.parse.quote(base64.b64encode(der).decode(), safe="")
        if status(path) != ocsp.OCSPCertStatus.GOOD:
            raise SystemExit(f"{cert_path} is not good before its revocation")
        serial = format(cert.serial_number, "x")
        # A random pause first: without it each revocation follows the previous answer
        # "revoked" by a millisecond, so it lands just after the server's 100 ms poll
        # every time, and the samples measure one whole poll interval.
        time.sleep(random.uniform(0, 0.25))
        start = time.perf_counter()
        api_conn.request("POST", f"/api/v1/certificates/{serial}/revoke", body=json.dumps({"reason": "keyCompromise"}),
                         headers={"Content-Type": "application/json"})
        reply = api_conn.getresponse()
        reply.read()
        committed = time.perf_counter()
        if reply.status != 200:
            raise SystemExit(f"revoking {serial} answered {reply.status}")
        while status(path) != ocsp.OCSPCertStatus.REVOKED:
            polls += 1
            if time.perf_counter() - committed > 10:
                raise SystemExit(f"{serial} still not revoked after 10 s")
        done = time.perf_counter()
        after_request.append((done - start) * 1000)
        after_commit.append((done - committed) * 1000)

    def summary(values):
        values = sorted(values)
        return {"p50_ms": statistics.median(values), "p99_ms": values[min(len(values) - 1, int(len(values) * 0.99))],
                "max_ms": values[-1], "mean_ms": statistics.fmean(values)}

    for name, values in (("the revoke request sent", after_request), ("the revoke answered (committed)", after_commit)):
        s = summary(values)
        print(f"| {name} | {len(values)} | {s['p50_ms']:.1f} ms | {s['p99_ms']:.1f} ms | {s['max_ms']:.1f} ms | {s['mean_ms']:.1f} ms |")
    print(f"\n{polls} OCSP polls in all.")


if __name__ == "__main__":
    main(*sys.argv[1:])
