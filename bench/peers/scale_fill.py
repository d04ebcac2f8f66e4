#!/usr/bin/env python3
"""The bulk generator of bench/scale.sh: add ROWS synthetic certificate records straight to an
IronPKI store with SQL, as fast as the engine takes them (not through IronPKI).

  scale_fill.py --rows N --sqlite PATH/ironpki.db
  scale_fill.py --rows N --postgres DBNAME [--psql-args "-h 127.0.0.1 -p 5432 -U postgres"]

Record i (1..N): serial 'ff' + i as 14 hex digits (16 hex digits in all; IronPKI's own serials
are 16 octets whose first is 0x40-0x7f, so none can collide), issuer 'issuing', CN and the one
SAN dNSName d<i>.scale.internal, ecdsa-p256, profile server, notBefore a day ago, notAfter
between 1 hour and 400 days from now (about 7.5 % within 30 days), valid, requester bench-fill,
issued now, a 1-byte DER. --expiry-order hash (the default) spreads notAfter by a
multiplicative hash of i, so that the records expiring next lie anywhere in the table; id makes
it rise with i, as in a store filled by issuance over time with one lifetime, where they lie
together.

SQLite: batches of --batch rows (1,000,000) per transaction from a recursive CTE, each adding
its rows to the hourly expiry counts (as the store's own insert does), with
`synchronous=OFF` and a large page cache on this connection only. The FTS5 index of names
(which IronPKI's indexer fills in its own file, `ironpki.db-names`, every 1,024 rows) is then
filled for the new ids in batches and merged into one segment (FTS5 'optimize'); then a
checkpoint and an fsync of both files, so that the load's writes are not left to the kernel
during the measured run.
PostgreSQL: `INSERT ... SELECT FROM generate_series` in batches (ids from the identity
column), with the trigram name index dropped meanwhile and then built again from the very
definition the schema held (one build is faster than 10M inserts into a GIN index), then
VACUUM ANALYZE (as autovacuum would, in time).

Prints progress to stderr and one JSON object to stdout: rows, seconds, and the phases."""
import argparse
import json
import os
import shlex
import subprocess
import sys
import time

p = argparse.ArgumentParser()
p.add_argument("--rows", type=int, required=True)
p.add_argument("--batch", type=int, default=1_000_000)
p.add_argument("--expiry-order", choices=["hash", "id"], default="hash",
               help="hash: notAfter unrelated to id order (default); id: notAfter rising with id")
g = p.add_mutually_exclusive_group(required=True)
g.add_argument("--sqlite", help="path of the store's SQLite database")
g.add_argument("--postgres", help="name of the store's PostgreSQL database")
p.add_argument("--psql-args", default="-h 127.0.0.1 -p 5432 -U postgres")
args = p.parse_args()

NOW = int(time.time())
SPREAD = 400 * 86400           # not_after within 400 days ...
MARGIN = 3600                  # ... but at least an hour away
HASH = 2654435761              # odd, prime to SPREAD: i -> i * HASH % SPREAD is a permutation


# SQL for record i's not_after, the same in both engines (integer arithmetic)
if args.expiry_order == "hash":
    NOT_AFTER = f"{NOW + MARGIN} + (i * {HASH}) % {SPREAD - MARGIN}"
else:
    NOT_AFTER = f"{NOW + MARGIN} + (i - 1) * {SPREAD - MARGIN} / {max(args.rows, 1)}"


def log(msg):
    print(f"   fill: {msg}", file=sys.stderr, flush=True)


def batches():
    lo = 1
    while lo <= args.rows:
        hi = min(lo + args.batch - 1, args.rows)
        yield lo, hi
        lo = hi + 1


phases = {}
start = time.monotonic()


def sqlite_fill(path):
    import sqlite3
    con = sqlite3.connect(path, isolation_level=None)
    con.execute("PRAGMA synchronous=OFF")          # this connection only
    con.execute("PRAGMA cache_size=-2000000")      # 2 GB of page cache: the indexes stay in memory
    con.execute("PRAGMA temp_store=MEMORY")
    con.execute("PRAGMA busy_timeout=10000")
    if con.execute("PRAGMA user_version").fetchone()[0] < 10:
        sys.exit("scale_fill: " + path + " is older than schema v10 (expiry counts kept by the store's insert)")
    names = path + "-names"
    if not os.path.exists(names):
        sys.exit("scale_fill: no " + names + " (the store creates it when it opens)")
    con.execute("ATTACH DATABASE ? AS names", (names,))
    con.execute("PRAGMA names.synchronous=OFF")
    t = time.monotonic()
    for lo, hi in batches():
        con.execute("BEGIN")
        con.execute(f"""
            WITH RECURSIVE s(i) AS (SELECT ? UNION ALL SELECT i + 1 FROM s WHERE i < ?)
            INSERT INTO certificates (serial, issuer, subject, common_name, sans, key_type, profile,
                                      not_before, not_after, status, requester, issued_at, der)
            SELECT printf('ff%014x', i), 'issuing', 'CN=d' || i || '.scale.internal, O=Bench',
                   'd' || i || '.scale.internal', '["dns:d' || i || '.scale.internal"]',
                   'ecdsa-p256', 'server', {NOW - 86400}, {NOT_AFTER},
                   'valid', 'bench-fill', {NOW}, x'00'
            FROM s""", (lo, hi))
        # the store adds its inserts to the hourly expiry counts itself: so does this insert
        con.execute(f"""
            WITH RECURSIVE s(i) AS (SELECT ? UNION ALL SELECT i + 1 FROM s WHERE i < ?)
            INSERT INTO expiry_counts (profile, expiry_hour, count)
            SELECT 'server', ({NOT_AFTER}) / 3600, COUNT(*) FROM s WHERE true GROUP BY 2
            ON CONFLICT (profile, expiry_hour) DO UPDATE SET count = count + excluded.count""", (lo, hi))
        con.execute("COMMIT")
        log(f"{hi:,} rows inserted ({time.monotonic() - t:.0f} s)")
    phases["insert_s"] = time.monotonic() - t
    t = time.monotonic()
    last = con.execute("SELECT max(id) FROM certificates").fetchone()[0]
    # from the end of the names index: rows the store had not indexed yet are taken too
    lo = con.execute("SELECT indexed_through FROM names.names_index").fetchone()[0] + 1
    while lo <= last:
        hi = lo + args.batch - 1
        con.execute("BEGIN")
        con.execute("""INSERT INTO names.certificate_names (rowid, names)
                       SELECT id, sans FROM main.certificates WHERE id BETWEEN ? AND ?""", (lo, hi))
        con.execute("UPDATE names.names_index SET indexed_through = ?", (min(hi, last),))
        con.execute("COMMIT")
        log(f"names indexed up to id {min(hi, last):,} ({time.monotonic() - t:.0f} s)")
        lo = hi + 1
    phases["names_index_s"] = time.monotonic() - t
    # Filled in batches, the index is left with segments that FTS5's automerge then merges
    # during the next tens of thousands of inserts (each measured 4x slower meanwhile): a debt
    # of the bulk load, not of the store's size. Merged into one segment beforehand, new rows
    # pay the merges of their own small segments, as in an index grown row by row between its
    # rare large merges.
    t = time.monotonic()
    con.execute("INSERT INTO names.certificate_names (certificate_names) VALUES ('optimize')")
    phases["names_optimize_s"] = time.monotonic() - t
    t = time.monotonic()
    con.execute("PRAGMA main.wal_checkpoint(TRUNCATE)")
    con.execute("PRAGMA names.wal_checkpoint(TRUNCATE)")
    phases["checkpoint_s"] = time.monotonic() - t
    rows = con.execute("SELECT count(*) FROM certificates").fetchone()[0]
    con.close()
    # synchronous=OFF left the load's GBs to the kernel's write-back: flushed here, so that
    # they are not written during the measured run (PostgreSQL's fill ends with a CHECKPOINT).
    t = time.monotonic()
    for f in (path, names):
        fd = os.open(f, os.O_RDONLY)
        os.fsync(fd)
        os.close(fd)
    phases["fsync_s"] = time.monotonic() - t
    return rows


def psql(sql):
    cmd = ["psql", *shlex.split(args.psql_args), "-d", args.postgres, "-X", "-q", "-tA",
           "-v", "ON_ERROR_STOP=1", "-c", sql]
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"scale_fill: psql failed: {r.stderr.strip()}")
    return r.stdout.strip()


def postgres_fill():
    names_index = psql("SELECT pg_get_indexdef('certificates_names'::regclass)")
    psql("DROP INDEX certificates_names")
    t = time.monotonic()
    for lo, hi in batches():
        psql(f"""
            INSERT INTO certificates (serial, issuer, subject, common_name, sans, key_type, profile,
                                      not_before, not_after, status, requester, issued_at, der)
            SELECT 'ff' || lpad(to_hex(i), 14, '0'), 'issuing', 'CN=d' || i || '.scale.internal, O=Bench',
                   'd' || i || '.scale.internal', '["dns:d' || i || '.scale.internal"]',
                   'ecdsa-p256', 'server', {NOW - 86400}, {NOT_AFTER},
                   'valid', 'bench-fill', {NOW}, '\\x00'::bytea
            FROM generate_series({lo}::bigint, {hi}::bigint) AS i""")
        log(f"{hi:,} rows inserted ({time.monotonic() - t:.0f} s)")
    phases["insert_s"] = time.monotonic() - t
    t = time.monotonic()
    psql(f"SET maintenance_work_mem = '1GB'; {names_index}")
    phases["names_index_s"] = time.monotonic() - t
    # What autovacuum would do to an insert-only table this size (and would otherwise start on
    # during the next measured run): the visibility map, that lets the expiring count be an
    # index-only scan, the GIN pending list of the name index, and the planner's statistics.
    t = time.monotonic()
    psql("VACUUM ANALYZE certificates")
    phases["vacuum_analyze_s"] = time.monotonic() - t
    # The load left GBs of dirty pages for PostgreSQL's next checkpoint to write; as SQLite's
    # checkpoint above, that debt of the load is paid here, not during the measured run.
    t = time.monotonic()
    psql("CHECKPOINT")
    phases["checkpoint_s"] = time.monotonic() - t
    return int(psql("SELECT count(*) FROM certificates"))


rows = sqlite_fill(args.sqlite) if args.sqlite else postgres_fill()
seconds = time.monotonic() - start
log(f"{args.rows:,} rows added in {seconds:.0f} s; the store holds {rows:,}")
json.dump({"engine": "sqlite" if args.sqlite else "postgres", "added": args.rows, "rows": rows,
           "expiry_order": args.expiry_order,
           "seconds": seconds, **phases}, sys.stdout)
print()
