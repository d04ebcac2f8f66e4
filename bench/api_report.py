#!/usr/bin/env python3
"""Print the REST issuance results (bench/api.sh) as markdown and write them to WORK/results.md."""
import argparse
import json
import os
import re
import statistics

from reportlib import errors, header, other, other_cores, postgres_version, ratio, run, verdict

p = argparse.ArgumentParser()
p.add_argument("--work", required=True)
p.add_argument("--command", required=True)
p.add_argument("--ironpki", required=True)
args = p.parse_args()

TARGETS = [
    ("cfssl-nostore", "cfssl `serve`"),
    ("cfssl-sqlite", "cfssl `serve` + certdb"),
    ("cfssl-sqlite-https", "cfssl `serve` + certdb, HTTPS"),
    ("ironpki-sqlite", "IronPKI `serve`"),
    ("ironpki-sqlite-normal", "IronPKI `serve`"),
    ("ironpki-postgres", "IronPKI `serve`"),
]


def load(path):
    m = json.load(open(path))
    if "skipped" in m:
        return m
    w = m["wrk"]
    m["rps"] = w["requests"] / w["duration_s"]
    m["certs"] = w["ok_2xx"] / w["duration_s"]
    m["errors"] = w["non_2xx"] + sum(w["socket_errors"].values())
    m["cores"] = m["server_cpu_s"] / w["duration_s"]
    # the PostgreSQL backends serving the benchmark's database count with the server
    m["pg_cores"] = m["postgres_cpu_s"] / m["machine_wall_s"] if m["store"] == "PostgreSQL" else None
    m["other"] = other_cores(m)
    return m


def rounds(name):
    """The target's runs, one a round; or its one "skipped" record."""
    d = os.path.join(args.work, name)
    runs = [load(os.path.join(d, r, "meta.json")) for r in sorted(os.listdir(d), key=lambda r: int(r[1:]))]
    skipped = [m for m in runs if "skipped" in m]
    return skipped[0] if skipped else runs


def median_run(runs):
    """The run of median certs/s (the lower of the two middle ones for an even count), with the
    median p99 of all rounds and the certs/s and p99 of each round beside it."""
    m = dict(sorted(runs, key=lambda r: r["certs"])[(len(runs) - 1) // 2])
    m["p99"] = statistics.median(r["wrk"]["p99_ms"] for r in runs)
    m["by_round"] = ", ".join(f"{r['certs']:,.0f} ({r['wrk']['p99_ms']:.1f})" for r in runs)
    m["runs"] = runs
    return m


def stored(m):
    """Certificates answered 2xx that are in the store, looked up by serial after each run."""
    checks = [r.get("stored_check") for r in m["runs"]]
    if any(c is None for c in checks):
        return "n/a (stores nothing)" if m["store"] == "none" else "?"
    answered, kept = sum(c["answered"] for c in checks), sum(c["stored"] for c in checks)
    added = sum(r["rows_after"] - r["rows_before"] for r in m["runs"])
    text = f"{kept:,} of {answered:,}"
    if kept < answered:
        text = f"**{text} ({answered - kept:,} lost)**"
    return f"{text}; {added:,} rows added"


results = {}
for name, label in TARGETS:
    runs = rounds(name)
    results[name] = (label, runs if isinstance(runs, dict) else median_run(runs))
nrounds = next((len(m["runs"]) for _, m in results.values() if "runs" in m), 1)
pg = postgres_version()
seconds = re.search(r"--seconds (\S+)", args.command).group(1)
count = re.search(r"--count (\S+)", args.command).group(1)
tokens = int(re.search(r"--tokens (\S+)", args.command).group(1))
auth = ("one bearer token" if tokens == 1 else
        f"{tokens} bearer tokens taken in turn, one per client (the API limits each identity "
        "to `serve.rate_limit` requests a second, 2000 by default)")

out = [
    "## REST issuance from CSRs, 64 concurrent clients (ECDSA P-256)",
    "",
    *header(args.ironpki),
    f"- peers: cfssl {run('dpkg-query', '-W', '-f', '${Version}', 'golang-cfssl')} (Debian golang-cfssl); "
    f"wrk {run('wrk', '--version').split()[1]}; SQLite {run('sqlite3', '--version').split()[0]}; "
    f"PostgreSQL {pg}",
    f"- command: `{args.command}`",
    "",
    f"`wrk -t2 -c64 -d{seconds}s --timeout 10s` after a 2 s warm-up, rotating through the same "
    f"{int(count):,} CSRs (CN = SAN dNSName `dev-<i>.bench.internal`) for every target: cfssl by plain "
    "HTTP at `POST /api/v1/cfssl/sign` (and, in the row marked HTTPS, by HTTPS with its `-tls-cert`), IronPKI by HTTPS at `POST /api/v1/certificates` with "
    f"{auth}, "
    "both on this machine over loopback (wrk takes CPU from the server). certs/s "
    "counts 2xx answers only; every other status is an error. Stored: how many of the "
    "certificates answered 2xx in the measured run are in the store, each looked up by its "
    "serial after the run; rows added counts every row written meanwhile, requests still in "
    "flight when wrk stopped included. CPU columns are in cores over the measured run: the "
    "server's (with the PostgreSQL backends serving its database when that is the store), wrk's, and everything else's "
    "on the machine (in bold above 0.2: the figures of that row are skewed by other work).",
    "",
    f"{nrounds} round{'s' if nrounds > 1 else ''}: every target ran once a round, on a fresh store, in "
    "the order of the table. Each row is the target's run of median certs/s, except p99: the "
    "median of its rounds' p99. The last column gives every round's certs/s (p99 ms). Stored "
    "and errors count every round; the ratios below divide median certs/s.",
    "",
    "| target | store | requests/s | certs/s | p50 ms | p99 ms | errors | stored | server CPU (cores) | wrk CPU | other CPU | certs/s (p99 ms) by round |",
    "|---|---|---:|---:|---:|---:|---|---|---:|---:|---:|---|",
]
for name, (label, m) in results.items():
    if "skipped" in m:
        out.append(f"| {label} | {m['store']} | – | – | – | – | not run: {m['skipped']} | – | – | – | – | – |")
        continue
    w = m["wrk"]
    server = f"{m['cores']:.2f}" + ("" if m["pg_cores"] is None else f" + {m['pg_cores']:.2f} PostgreSQL")
    failed = "; ".join(errors(r) for r in m["runs"] if r["errors"])
    out.append(f"| {label} | {m['store']} | {m['rps']:,.0f} | {m['certs']:,.0f} | {w['p50_ms']:.1f} "
               f"| {m['p99']:.1f} | {failed or 0} | {stored(m)} | {server} "
               f"| {m['wrk_cpu_s'] / m['machine_wall_s']:.2f} | {other(m)} | {m['by_round']} |")

iron, wal, none = (results[n][1] for n in ("ironpki-sqlite", "cfssl-sqlite", "cfssl-nostore"))
out.append("")
if "skipped" in iron:
    out.append(f"- IronPKI / cfssl ratios and the p99 target: n/a, IronPKI not run ({iron['skipped']})")
else:
    out.append(f"- IronPKI (SQLite) / cfssl (SQLite WAL), certs/s = {ratio(iron['certs'] / wal['certs'])}")
    https = results["cfssl-sqlite-https"][1]
    out.append(f"- Over the same transport, both HTTPS: IronPKI (SQLite) / cfssl (SQLite WAL, HTTPS), "
               f"certs/s = {ratio(iron['certs'] / https['certs'])}")
    out.append(f"- IronPKI (SQLite) / cfssl (no store), certs/s = {ratio(iron['certs'] / none['certs'])}")
    normal = results["ironpki-sqlite-normal"][1]
    if "skipped" not in normal:
        out.append(f"- Like for like, neither fsyncing each commit: IronPKI (SQLite, durability normal) / "
                   f"cfssl (SQLite WAL, synchronous=NORMAL), certs/s = {ratio(normal['certs'] / wal['certs'])}")
    for name in ("ironpki-sqlite", "ironpki-sqlite-normal", "ironpki-postgres"):
        m = results[name][1]
        if "skipped" not in m:
            out.append(f"- IronPKI ({m['store']}) p99 = {m['p99']:.1f} ms "
                       f"(target < 20 ms: {verdict(m['p99'] < 20)})")
    pgm = results["ironpki-postgres"][1]
    if "skipped" in pgm:
        out.append(f"- IronPKI (PostgreSQL): not run ({pgm['skipped']})")
out += [
    "- cfssl: the Debian 2016 snapshot, signing with an openssl-made P-256 intermediate under a "
    "P-256 root, default profile `expiry: 2160h` (90 days), usages digital signature, server auth, "
    "client auth; default log level (4 lines per request, to a file). Without `-db-config` it "
    "stores nothing. With it: cfssl's own `certdb/sqlite/migrations` tables, `journal_mode=WAL` "
    "set beforehand, the driver's defaults otherwise: mattn/go-sqlite3 sets `synchronous=NORMAL`, "
    "so cfssl's commits are not fsynced (a commit survives cfssl's crash, not a power loss). The "
    "HTTPS row is the same with cfssl's own TLS listener (`-tls-cert`, `-tls-key`: a P-256 "
    "certificate for 127.0.0.1), so that wrk's TLS work and the server's are on both sides.",
    "- IronPKI: a fresh `ironpki init` (default configuration, `store.durability: full`: the WAL "
    "synced before every answer, one fdatasync for the commits made meanwhile), profile `server` (90 days), its HTTPS listener with a server "
    "certificate from its own CA. The `durability normal` row is the same with "
    "`store.durability: normal` (SQLite `synchronous=NORMAL`, as cfssl's driver).",
    "- Before each run one request is checked by hand: the certificate names the CSR's SAN, lasts "
    "90 days and chains to the root (`openssl verify -x509_strict`).",
]
text = "\n".join(out) + "\n"
print(text, end="")
with open(os.path.join(args.work, "results.md"), "w") as f:
    f.write(text)
