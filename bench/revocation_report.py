#!/usr/bin/env python3
"""Print the revocation results (bench/revocation.sh) as markdown and write them to WORK/results.md."""
import argparse
import datetime
import json
import os
import re
import subprocess

import cryptography

p = argparse.ArgumentParser()
p.add_argument("--work", required=True)
p.add_argument("--command", required=True)
p.add_argument("--ironpki", required=True)
p.add_argument("--nginx", required=True)
args = p.parse_args()
OCSP = os.path.join(args.work, "ocsp")
CRL = os.path.join(args.work, "crl")


def wrk(name):
    """requests/s, p50 and p99 in ms, and error counts from wrk --latency output."""
    text = open(os.path.join(OCSP, f"wrk-{name}.txt")).read()
    scale = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 6e4}

    def pct(p):
        m = re.search(rf"^\s+{p}%\s+([\d.]+)(us|ms|s|m)\s*$", text, re.M)
        return float(m.group(1)) * scale[m.group(2)]

    errors = []
    m = re.search(r"Socket errors: (.*)", text)
    if m:
        errors.append("socket " + m.group(1))
    m = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    if m:
        errors.append(f"{m.group(1)} non-2xx")
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))
    return {"rate": rate, "p50": pct(50), "p99": pct(99), "errors": "; ".join(errors) or "0"}


def size(path):
    return os.path.getsize(os.path.join(OCSP, path))


def ratio(a, b):
    r = a / b
    return f"{r:.{3 if r < 0.1 else 2 if r < 10 else 1}f}x"


def verdict(ok):
    return "met" if ok else "**missed**"


def run(*cmd):
    r = subprocess.run(cmd, capture_output=True, text=True)
    return (r.stdout + r.stderr).strip().splitlines()[0] if (r.stdout + r.stderr).strip() else "?"


ocsp = [
    ("IronPKI `serve`, GET, pre-signed cached response", "ironpki", "ironpki.der", "wrk"),
    ("nginx, static file of the same bytes", "nginx", "nginx/got.der", "wrk"),
    ("`openssl ocsp -port`, 1 process", "openssl-ocsp", "openssl/openssl-ocsp.der", "wrk, no connect check"),
    ("`openssl ocsp -port -multi 2`", "openssl-ocsp-multi2", "openssl/openssl-ocsp-multi2.der", "wrk, no connect check"),
]
ocsp = [(label, wrk(name), size(der), tool) for label, name, der, tool in ocsp]
iron_rate = ocsp[0][1]["rate"]
crl = [
    ("IronPKI `crl generate`", "ironpki"),
    ("`openssl ca -gencrl`", "openssl"),
    ("Python `cryptography` CRL builder (one list)", "python"),
]
crl = [(label, json.load(open(os.path.join(CRL, f"{name}.json")))) for label, name in crl]
iron_crl, ossl_crl = crl[0][1], crl[1][1]
n = iron_crl["entries"]
setup = json.load(open(os.path.join(args.work, "crl-setup.json")))

cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
mem = next(int(l.split()[1]) for l in open("/proc/meminfo") if l.startswith("MemTotal"))
built = datetime.datetime.fromtimestamp(os.path.getmtime(args.ironpki), datetime.timezone.utc)
root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
head = run("git", "-C", root, "rev-parse", "--short", "HEAD")
dirty = subprocess.run(["git", "-C", root, "status", "--porcelain", "--untracked-files=no"],
                       capture_output=True, text=True).stdout.strip()
seconds = re.search(r"--seconds (\S+)", args.command).group(1)

out = [
    "## Revocation: OCSP throughput and CRL signing (ECDSA P-256)",
    "",
    f"- date: {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M UTC}",
    f"- machine: {len(os.sched_getaffinity(0))} cores (nproc), {cpu}, {mem / 2**20:.0f} GiB",
    f"- IronPKI: {run(args.ironpki, '--version')}, binary built {built:%Y-%m-%d %H:%M UTC}, "
    f"tree at {head}{' with uncommitted changes' if dirty else ''}",
    f"- peers: {run('openssl', 'version').split(' (')[0]}; {run(args.nginx, '-v').split(': ')[-1]}; "
    f"wrk {run('wrk', '--version').split()[1]}; "
    f"Python cryptography {cryptography.__version__}",
    f"- command: `{args.command}`",
    "",
    f"### A. OCSP, one certificate, no nonce: `wrk -t2 -c64 -d{seconds}s --latency`",
    "",
    "Everything runs on this machine over loopback, wrk included, so wrk takes CPU from the "
    "server. Every contender answers the same request (IronPKI and nginx at `/ocsp/BASE64`, "
    "openssl at `/BASE64`) with a `good` response that `openssl ocsp -respin` verifies.",
    "",
    "| contender | response bytes | requests/s | p50 ms | p99 ms | errors | load | IronPKI / contender |",
    "|---|---:|---:|---:|---:|---|---|---:|",
]
for label, w, nbytes, tool in ocsp:
    out.append(f"| {label} | {nbytes} | {w['rate']:,.0f} | {w['p50']:.2f} | {w['p99']:.2f} "
               f"| {w['errors']} | {tool} | {ratio(iron_rate, w['rate'])} |")
nginx_ratio = iron_rate / ocsp[1][1]["rate"]
out += [
    "",
    f"- IronPKI / nginx = {ratio(iron_rate, ocsp[1][1]['rate'])} (target >= 0.7x: {verdict(nginx_ratio >= 0.7)})",
    f"- IronPKI / `openssl ocsp` = {ratio(iron_rate, ocsp[2][1]['rate'])}; "
    f"with `-multi 2` = {ratio(iron_rate, ocsp[3][1]['rate'])}",
    "- IronPKI's response carries its delegated responder certificate; openssl's carries the "
    "issuing CA certificate as signer (openssl ocsp signs every request; IronPKI and nginx "
    "send bytes signed ahead).",
    "- `openssl ocsp` speaks HTTP/1.0 and closes after each answer, so wrk reconnects for every "
    "request. It spins at 100 % CPU after a connection closed without a request, which wrk's "
    "connect check does: each run starts a fresh responder and wrk loads "
    "`peers/wrk-noprobe.lua`, which skips that check.",
    "",
    f"### B. Full CRL of {n:,} revoked entries (keyCompromise), `/usr/bin/time -f '%e %M'`",
    "",
    "| contender | entries | seconds | peak MiB | CRL bytes (DER) | contender s / IronPKI s | IronPKI peak / contender peak |",
    "|---|---:|---:|---:|---:|---:|---:|",
]
for label, r in crl:
    out.append(f"| {label} | {r['entries']:,} | {r['seconds']:.2f} | {r['peak_kib'] / 1024:,.0f} "
               f"| {r['bytes']:,} | {ratio(r['seconds'], iron_crl['seconds'])} "
               f"| {ratio(iron_crl['peak_kib'], r['peak_kib'])} |")
speed = ossl_crl["seconds"] / iron_crl["seconds"]
peak = iron_crl["peak_kib"] / ossl_crl["peak_kib"]
out += [
    "",
    f"- openssl ca -gencrl time / IronPKI time = {ratio(ossl_crl['seconds'], iron_crl['seconds'])} "
    f"(target >= 3x: {verdict(speed >= 3)})",
    f"- IronPKI peak / openssl peak = {ratio(iron_crl['peak_kib'], ossl_crl['peak_kib'])} "
    f"(target <= 0.25x: {verdict(peak <= 0.25)})",
    f"- IronPKI: `ironpki bench revoked` made the store (not timed, {setup['seconds']:.1f} s); the timed "
    "run is one `ironpki crl generate` process, CA key unlock (scrypt) included. openssl: "
    "`openssl ca -gencrl -crldays 7` over an index.txt of the same serials, self-signed P-256 CA, "
    "PEM output converted to DER for the size. Python: the whole script (start-up, reading the "
    "serials, building, signing, writing DER), same CA key. Every CRL's signature is verified and "
    "its entries counted with `openssl crl`.",
]
text = "\n".join(out) + "\n"
print(text, end="")
with open(os.path.join(args.work, "results.md"), "w") as f:
    f.write(text)
