#!/usr/bin/env python3
"""Print the scale results (bench/scale.sh) as markdown and write them to WORK/results.md."""
import argparse
import json
import os
import re

from reportlib import errors, header, other, other_cores, postgres_version, ratio, run, verdict

p = argparse.ArgumentParser()
p.add_argument("--work", required=True)
p.add_argument("--command", required=True)
p.add_argument("--ironpki", required=True)
p.add_argument("--engines", required=True)
args = p.parse_args()

LABELS = {"sqlite": "SQLite", "postgres": "PostgreSQL"}
FACTOR = 2.0


def load_phase(engine, phase):
    m = json.load(open(os.path.join(args.work, engine, phase, "meta.json")))
    w = m["wrk"]
    m["certs"] = w["ok_2xx"] / w["duration_s"]
    m["errors"] = w["non_2xx"] + sum(w["socket_errors"].values())
    m["other"] = other_cores(m)
    m["cores"] = m["server_cpu_s"] / m["machine_wall_s"]
    m["pg_cores"] = m["postgres_cpu_s"] / m["machine_wall_s"] if engine == "postgres" else None
    return m


def ms(v):
    return f"{v:.{3 if v < 1 else 2 if v < 100 else 0}f}"


pg = postgres_version()
seconds = re.search(r"--seconds (\S+)", args.command).group(1)
rows = int(re.search(r"--rows (\S+)", args.command).group(1))
count = int(re.search(r"--count (\S+)", args.command).group(1))
order = re.search(r"--expiry-order (\S+)", args.command).group(1)
layout = ("by a hash of the record's number, so the records expiring next lie anywhere in the table "
          "(`--expiry-order hash`: the page reads each from a different table page)" if order == "hash" else
          "rising with the record's number, so the records expiring next lie together in the table, as "
          "issuance over time with one lifetime leaves them (`--expiry-order id`)")

out = [
    f"## Scale: issuance and queries at an empty store and at {rows:,} certificate records",
    "",
    *header(args.ironpki),
    f"- wrk {run('wrk', '--version').split()[1]}; SQLite {run('sqlite3', '--version').split()[0]} (the bulk "
    f"load's; IronPKI bundles its own); PostgreSQL {pg}",
    f"- command: `{args.command}`",
    "",
    "Per engine: a fresh `ironpki init` (default configuration, `store.durability: full`; for "
    "PostgreSQL its `store:` swapped for a fresh database), 64 operator tokens. The **empty** store: "
    f"`ironpki serve`, then `wrk -t2 -c64 -d{seconds}s --timeout 10s` after a 2 s warm-up posting "
    f"`{{\"profile\": \"server\", \"csr\": PEM, \"lifetime\": \"24h\"}}` to `POST /api/v1/certificates` "
    f"over HTTPS, rotating through {count:,} ECDSA P-256 CSRs and the 64 tokens (as bench/api.sh); "
    "then, serve stopped, `ironpki bench query --repeat 20` (medians; the count: of 5 runs). So the "
    "empty store holds what the warm-up and the run issued, all expiring within a day. Then the "
    f"harness's bulk generator (`peers/scale_fill.py`) adds {rows:,} synthetic records by SQL "
    "(profile `server`, `d<i>.scale.internal`, notAfter spread over 400 days: about 7.5 % within 30 "
    f"days; spread {layout}), and the **full** store gets the same wrk run and the same queries. certs/s counts 2xx "
    "answers; every other status is an error. Queries: a page of 1000 certificates expiring within "
    "30 days (`cert list --expiring-within 30d`), their count per profile, a lookup by serial, "
    "and a name search (limit 100) for a name held once and for `internal` (held by every record).",
    "",
    f"Target: each full-store figure within a factor of {FACTOR:g} of the empty store's "
    f"(certs/s at least 1/{FACTOR:g} of it, times at most {FACTOR:g}x). The requirement names the "
    "issuance rate and the expiring-within-30-days query; the other rows are held to the same "
    "factor for information. Other CPU: cores used during the measured wrk run by everything but the "
    "server, its PostgreSQL backends and wrk (in bold above 0.2: that run is skewed by other work).",
]
summary = []
for engine in args.engines.split(","):
    label = LABELS[engine]
    out += ["", f"### {label}", ""]
    meta = json.load(open(os.path.join(args.work, engine, "meta.json")))
    if "skipped" in meta:
        out.append(f"Not run: {meta['skipped']}")
        summary.append(f"- {label}: not run ({meta['skipped']})")
        continue
    e, f = load_phase(engine, "empty"), load_phase(engine, "full")
    fill = meta["fill"]
    phases = ", ".join(f"{k[:-2].replace('_', ' ')} {v:.0f} s" for k, v in fill.items() if k.endswith("_s"))
    out.append(f"Bulk load: {fill['added']:,} records in {fill['seconds']:.0f} s ({phases}), "
               f"{fill['added'] / fill['seconds']:,.0f} records/s; the store then took "
               f"{meta['store_bytes'] / 2**30:.2f} GiB on disk.")
    out += ["", f"| figure | empty store | {rows:,} records | full / empty | within {FACTOR:g}x |",
            "|---|---:|---:|---:|---|"]
    eq, fq = e["query"], f["query"]
    out.append(f"| records in the store (at the queries) | {eq['rows']:,} | {fq['rows']:,} | | |")
    r = f["certs"] / e["certs"]
    ok_rate = r >= 1 / FACTOR
    out.append(f"| **issuance, certs/s** | {e['certs']:,.0f} | {f['certs']:,.0f} | {ratio(r)} | {verdict(ok_rate)} |")
    for key, name in (("p50_ms", "issuance p50, ms"), ("p99_ms", "issuance p99, ms")):
        r = f["wrk"][key] / e["wrk"][key]
        out.append(f"| {name} | {ms(e['wrk'][key])} | {ms(f['wrk'][key])} | {ratio(r)} | {verdict(r <= FACTOR)} |")
    verdicts = {}
    for key, name, extra in (
        ("expiring_page_ms", "**expiring within 30 days: a page, ms**", "expiring_page_rows"),
        ("expiring_count_ms", "**expiring within 30 days: count per profile, ms**", "expiring_count"),
        ("lookup_by_serial_ms", "lookup by serial, ms", None),
        ("name_rare_ms", "name search, a name held once, ms", None),
        ("name_common_ms", "name search, `internal` (limit 100), ms", None),
    ):
        r = fq[key] / eq[key] if eq[key] > 0 else float("inf")
        verdicts[key] = r <= FACTOR
        note = f" ({eq[extra]:,} → {fq[extra]:,} rows)" if extra else ""
        small = " (both < 1 ms)" if eq[key] < 1 and fq[key] < 1 else ""
        out.append(f"| {name}{note} | {ms(eq[key])} | {ms(fq[key])} | {ratio(r)} | {verdict(verdicts[key])}{small} |")
    out.append(f"| errors during the wrk run | {errors(e)} | {errors(f)} | | |")
    srv = lambda m: f"{m['cores']:.2f}" + ("" if m["pg_cores"] is None else f" + {m['pg_cores']:.2f} PostgreSQL")
    out.append(f"| server CPU (cores) | {srv(e)} | {srv(f)} | | |")
    out.append(f"| other CPU (cores) | {other(e)} | {other(f)} | | |")
    rate_r = f["certs"] / e["certs"]
    page_r = fq["expiring_page_ms"] / eq["expiring_page_ms"]
    count_r = fq["expiring_count_ms"] / eq["expiring_count_ms"]
    summary.append(
        f"- {label}: issuance rate {ratio(rate_r)} of the empty store's ({verdict(ok_rate)}); "
        f"expiring within 30 days: the page {ratio(page_r)} of its time ({verdict(verdicts['expiring_page_ms'])}), "
        f"the count {ratio(count_r)} ({verdict(verdicts['expiring_count_ms'])})")

out += ["", f"Requirement (issuance rate and the expiring-within-30-days query, {rows:,} records beside an "
        f"empty store, within a factor of {FACTOR:g}):", ""] + summary
out += [
    "",
    "- The synthetic records are rows only (a 1-byte DER): issuance and the queries read the "
    "indexes and columns, never the DER of a listed record. SQLite: the FTS5 name index (in "
    "`ironpki.db-names`) is filled for them after the insert, as IronPKI's indexer fills it every "
    "1,024 certificates, and merged into one "
    "segment (`optimize`: left as the batches made it, FTS5 merges its segments during the next "
    "tens of thousands of inserts, each 4x slower meanwhile); no ANALYZE (IronPKI runs none). "
    "PostgreSQL: the trigram name index dropped for the load and built again from its definition; "
    "`VACUUM ANALYZE certificates` after the load and before each phase's queries, the state "
    "autovacuum keeps a table in (index-only scans cover only pages the visibility map marks "
    "all-visible). The load adds its records to the hourly expiry counts as the store's own "
    "inserts do (SQLite: one upsert per batch and hour, from the fill; PostgreSQL: the statement "
    "triggers).",
    "- The expiring count sums the hourly counts of the whole hours in the window and counts the "
    "rows of its two partial hours: its cost follows the rows expiring within an hour of either "
    "end, not the rows in the window.",
]
text = "\n".join(out) + "\n"
print(text, end="")
with open(os.path.join(args.work, "results.md"), "w") as fh:
    fh.write(text)
