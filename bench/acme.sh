#!/usr/bin/env bash
# Complete ACME issuances (new order for one DNS name -> http-01 validated against a
# responder on loopback -> finalize -> download) from bench/acme-load (instant-acme,
# compiled), clients with existing accounts: IronPKI on SQLite (every certificate persisted
# before it is returned) beside Pebble 2.4.0 (in memory, persists nothing) at 4 clients,
# then both at 64. Both resolve names through one pebble-challtestsrv.
# Usage: bench/acme.sh [--seconds N]
# BENCH_NO_BUILD=1 uses target/release/{ironpki,acme-load} as they are (built if missing).
set -euo pipefail

RUN=10
while [[ $# -gt 0 ]]; do
  case "$1" in
    --seconds) RUN="$2"; shift 2 ;;
    -h|--help) sed -n 2,8p "$0"; exit 0 ;;
    *) echo "unknown argument: $1" >&2; exit 2 ;;
  esac
done
COMMAND="bench/acme.sh --seconds $RUN"

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
BENCH="$ROOT/bench"
WORK="$BENCH/work-acme"
SCRIPT=acme.sh
IRONPKI="$ROOT/target/release/ironpki"
LOAD="$ROOT/target/release/acme-load"
PASS_FILE="$WORK/passphrase"
# shellcheck source=bench/lib.sh
source "$BENCH/lib.sh"

if ! command -v pebble >/dev/null || ! command -v pebble-challtestsrv >/dev/null; then
  step "installing pebble"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq pebble
fi
if [[ ! -x $IRONPKI || ! -x $LOAD || ${BENCH_NO_BUILD:-0} != 1 ]]; then
  step "building IronPKI and acme-load"
  (cd "$ROOT" && cargo build --release -p ironpki -p acme-load)
fi

free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
rm -rf "$WORK"
mkdir -p "$WORK"
(umask 077; echo bench-passphrase >"$PASS_FILE")
H="$WORK/home"
RESPONDER=$(free_port); DNS=$(free_port); DNS_API=$(free_port); PEBBLE=$(free_port); PEBBLE_API=$(free_port)

step "pebble-challtestsrv: every name is 127.0.0.1"
pebble-challtestsrv -dns01 "127.0.0.1:$DNS" -management "127.0.0.1:$DNS_API" -http01 "" -https01 "" \
  -tlsalpn01 "" -defaultIPv4 127.0.0.1 -defaultIPv6 "" >"$WORK/challtestsrv.log" 2>&1 &
RUNNING+=" $!"
wait_line "$WORK/challtestsrv.log" 'Starting management server' "$!"

step "a PKI whose ACME provisioner validates on port $RESPONDER through that DNS server"
ironpki --home "$H" init --name "ACME Bench" >"$WORK/init.log"
sed -i -e "s/http01_port: 80 /http01_port: $RESPONDER /" -e "s/dns_resolver: system /dns_resolver: 127.0.0.1:$DNS /" \
  -e "s/orders_per_hour: 300 /orders_per_hour: 0 /" -e "s/failed_validations_per_hour: 60 /failed_validations_per_hour: 0 /" \
  "$H/ironpki.yaml"
grep -q "http01_port: $RESPONDER " "$H/ironpki.yaml" || fail "could not set the provisioner's port in $H/ironpki.yaml"
ironpki --home "$H" ca roots >"$WORK/roots.pem"
ironpki --home "$H" cert issue --profile server --cn localhost --san dns:localhost --san ip:127.0.0.1 \
  --out "$WORK/pebble-tls" >/dev/null

step "Pebble on 127.0.0.1:$PEBBLE (its listener certificate from this PKI)"
cat >"$WORK/pebble.json" <<EOF
{ "pebble": { "listenAddress": "127.0.0.1:$PEBBLE", "managementListenAddress": "127.0.0.1:$PEBBLE_API",
  "certificate": "$WORK/pebble-tls/fullchain.pem", "privateKey": "$WORK/pebble-tls/key.pem",
  "httpPort": $RESPONDER, "tlsPort": $(free_port), "ocspResponderURL": "", "externalAccountBindingRequired": false } }
EOF
PEBBLE_VA_NOSLEEP=1 PEBBLE_WFE_NONCEREJECT=0 PEBBLE_AUTHZREUSE=0 \
  pebble -config "$WORK/pebble.json" -dnsserver "127.0.0.1:$DNS" >"$WORK/pebble.log" 2>&1 &
PEBBLE_PID=$!; RUNNING+=" $PEBBLE_PID"
wait_line "$WORK/pebble.log" 'Listening on' "$PEBBLE_PID"

step "ironpki serve"
serve_https "$H" "$WORK"
IRONPKI_DIR="https://localhost:${SERVE_URL#https://127.0.0.1:}"
IRONPKI_DIR="${IRONPKI_DIR%%/api/*}/acme/acme/directory"

run_load() {  # run_load NAME DIRECTORY PID CLIENTS: one JSON line, or a line saying it hung
  local out="$WORK/$1-$4.json"
  step "$1, $4 clients, $RUN s"
  if timeout $((RUN + 60)) "$LOAD" --directory "$2" --roots "$WORK/roots.pem" --clients "$4" --seconds "$RUN" \
      --responder "127.0.0.1:$RESPONDER" --server-pid "$3" --clk-tck "$(getconf CLK_TCK)" >"$out" 2>"$WORK/$1-$4.err"; then
    cat "$out"
  else
    echo "{\"hung\": true, \"clients\": $4}"
  fi
}

I4=$(run_load ironpki "$IRONPKI_DIR" "$SERVE_PID" 4)
P4=$(run_load pebble "https://localhost:$PEBBLE/dir" "$PEBBLE_PID" 4)
I64=$(run_load ironpki "$IRONPKI_DIR" "$SERVE_PID" 64)
P64=$(run_load pebble "https://localhost:$PEBBLE/dir" "$PEBBLE_PID" 64)

python3 - "$COMMAND" "$(git -C "$ROOT" rev-parse --short HEAD)" "$I4" "$P4" "$I64" "$P64" <<'EOF' | tee "$WORK/results.md"
import json, os, subprocess, sys, time
command, tree, *runs = sys.argv[1:]
i4, p4, i64, p64 = (json.loads(r) for r in runs)
cpu = open("/proc/cpuinfo").read().split("model name")[1].split(":")[1].split("\n")[0].strip()
print("## ACME: complete issuances\n")
print(f"- date: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; tree at {tree}")
print(f"- machine: {os.cpu_count()} cores, {cpu}")
print(f"- command: `{command}`\n")
print("| server | clients | orders/s | request p50 | request p99 | errors | server CPU per order | acme-load CPU per order |")
print("|---|---:|---:|---:|---:|---:|---:|---:|")
def row(name, r):
    if r.get("hung") or r.get("orders") == 0:
        return f"| {name} | {r['clients']} | 0: requests hang (no order completed) | | | | | |"
    ms = lambda v: f"{v:.2f} ms" if v is not None else "n/a"
    per, own = ms(r.get("server_cpu_ms_per_order")), ms(r.get("client_cpu_ms_per_order"))
    return f"| {name} | {r['clients']} | {r['orders_per_s']:.1f} | {r['p50_ms']:.1f} ms | {r['p99_ms']:.1f} ms | {r['errors'] + r['failed_requests']} | {per} | {own} |"
for name, r in (("IronPKI (SQLite)", i4), ("Pebble 2.4.0", p4), ("IronPKI (SQLite)", i64), ("Pebble 2.4.0", p64)):
    print(row(name, r))
print()
if i4.get("server_cpu_ms_per_order") and p4.get("server_cpu_ms_per_order"):
    print(f"At 4 clients IronPKI completes {i4['orders_per_s'] / p4['orders_per_s']:.2f}x Pebble's orders a second "
          f"and spends {i4['server_cpu_ms_per_order'] / p4['server_cpu_ms_per_order']:.2f}x its CPU per order "
          "(target: at most 0.25x).")
if i64.get("orders"):
    print(f"At 64 clients IronPKI completes {i64['orders_per_s']:.0f} orders/s, request p99 {i64['p99_ms']:.1f} ms "
          "(targets: 800 orders/s, p99 under 50 ms, no errors).")
EOF
