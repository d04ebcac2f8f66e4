#!/usr/bin/env python3
"""Print the issuance results as a markdown table and write them to WORK/results.md."""
import argparse
import datetime
import json
import os
import subprocess

import cryptography

p = argparse.ArgumentParser()
p.add_argument("--work", required=True)
p.add_argument("--command", required=True)
args = p.parse_args()


def load(name):
    path = os.path.join(args.work, name)
    if not os.path.exists(path):
        return None
    with open(path) as f:
        return json.load(f)


iron = load("ironpki.json")
bare = iron["bare_crypto_per_sec"] if iron else None
iron_rate = iron["issued_per_sec"] if iron else None
rows = []  # (contender, certificates, seconds, rate)
if iron:
    rows.append(("bare crypto, 1 core: 1/(1/sign + 1/verify)", None, None, bare))
    for v in iron["variants"]:
        sync = "fsync each commit" if v["fsync_per_commit"] else "SQLite WAL synchronous=NORMAL"
        label = (f"IronPKI, {v['name']} ({v['per_commit']} per commit, {v['threads']} thread"
                 f"{'s' if v['threads'] > 1 else ''}, {sync})")
        rows.append((label, v["issued"], v["seconds"], v["per_sec"]))
else:
    rows.append(("IronPKI `bench issuance` (skipped)", None, None, None))
peers = [
    ("py_store.json", "Python cryptography + SQLite WAL, commit per cert"),
    ("py_nostore.json", "Python cryptography, no store"),
    ("openssl_ca.json", "`openssl ca -batch`, one process per cert"),
]
for file, label in peers:
    r = load(file)
    rows.append((label, r["issued"], r["seconds"], r["per_sec"]))

na = "n/a"
fmt = lambda v, spec: na if v is None else format(v, spec)


def ratio(a, b):
    if a is None or b is None:
        return na
    r = a / b
    return f"{r:.{3 if r < 0.1 else 2 if r < 10 else 1}f}x"



cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
ossl = subprocess.run(["openssl", "version"], capture_output=True, text=True).stdout.strip()
out = [
    "## Issuance from CSRs (ECDSA P-256 leaves, ECDSA P-256 issuing CA)",
    "",
    f"- date: {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M UTC}",
    f"- machine: {len(os.sched_getaffinity(0))} cores (nproc), {cpu}",
    f"- peers: {ossl}; Python cryptography {cryptography.__version__}",
    f"- command: `{args.command}`",
]
if iron:
    out.append(f"- IronPKI crypto alone: sign {iron['sign_per_sec']:.0f}/s, verify {iron['verify_per_sec']:.0f}/s")
out += [
    "",
    "| contender | certificates | seconds | certs/s | / bare crypto | IronPKI / contender |",
    "|---|---:|---:|---:|---:|---:|",
]
for label, n, secs, rate in rows:
    out.append(f"| {label} | {fmt(n, 'd')} | {fmt(secs, '.2f')} | {fmt(rate, ',.0f')} "
               f"| {ratio(rate, bare)} | {ratio(iron_rate, rate)} |")
if iron:
    out.append("")
    out.append(f"IronPKI's headline rate (last column) is one thread, group commit of 64, fsync per commit ({iron_rate:,.0f}/s).")
    for label, _, _, rate in rows[1 + len(iron["variants"]):]:
        out.append(f"- IronPKI / {label} = {ratio(iron_rate, rate)}")
text = "\n".join(out) + "\n"
print(text, end="")
with open(os.path.join(args.work, "results.md"), "w") as f:
    f.write(text)
