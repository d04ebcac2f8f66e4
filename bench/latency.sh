#!/usr/bin/env bash
# Revocation to OCSP "revoked": how long after a revocation through the REST API the OCSP
# responder of the same `ironpki serve` answers "revoked" (DESIGN target: under 1 s).
# Usage: bench/latency.sh [--count N]   (N certificates revoked one after another)
# BENCH_NO_BUILD=1 uses target/release/ironpki as it is (it is built only if missing).
set -euo pipefail

N=200
while [[ $# -gt 0 ]]; do
  case "$1" in
    --count) N="$2"; shift 2 ;;
    -h|--help) sed -n 2,5p "$0"; exit 0 ;;
    *) echo "unknown argument: $1" >&2; exit 2 ;;
  esac
done
COMMAND="bench/latency.sh --count $N"

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
BENCH="$ROOT/bench"
WORK="$BENCH/work-latency"
SCRIPT=latency.sh
IRONPKI="$ROOT/target/release/ironpki"
PASS_FILE="$WORK/passphrase"
# shellcheck source=bench/lib.sh
source "$BENCH/lib.sh"

for tool in openssl curl; do command -v $tool >/dev/null || fail "$tool not found"; done
[[ -x "$BENCH/.venv/bin/python" ]] || python3 -m venv "$BENCH/.venv"
PY="$BENCH/.venv/bin/python"
"$PY" -c 'import cryptography' 2>/dev/null || "$PY" -m pip install --quiet cryptography
if [[ ! -x $IRONPKI || ${BENCH_NO_BUILD:-0} != 1 ]]; then
  step "building IronPKI"
  (cd "$ROOT" && cargo build --release -p ironpki)
fi

rm -rf "$WORK"
mkdir -p "$WORK/certs"
(umask 077; echo bench-passphrase >"$PASS_FILE")
H="$WORK/home"
step "a PKI with $N device certificates"
ironpki --home "$H" init --name Latency >"$WORK/init.log"
for i in $(seq "$N"); do
  ironpki --home "$H" cert issue --profile device --cn "d$i" --san "dns:d$i.iot.internal" --out "$WORK/certs/d$i" >/dev/null
done
ironpki --home "$H" ca roots >"$WORK/roots.pem"
ironpki --home "$H" ca show issuing --pem >"$WORK/issuing.pem"

step "ironpki serve"
serve_https "$H" "$WORK"
HTTP=$(sed -n 's#^listening on http://##p' "$WORK/serve.out")
HTTPS=$(sed -n 's#^listening on https://##p' "$WORK/serve.out")
[[ -n $HTTP && -n $HTTPS ]] || fail "cannot read the addresses from $WORK/serve.out"

step "revoking $N certificates one after another, polling OCSP after each"
certs=()
for i in $(seq "$N"); do certs+=("$WORK/certs/d$i/cert.pem"); done
rows=$("$PY" "$BENCH/peers/revocation_latency.py" "$HTTPS" "$HTTP" "$WORK/roots.pem" \
  "$H/admin/fullchain.pem" "$H/admin/key.pem" "$WORK/issuing.pem" "${certs[@]}")

{
  echo "## Revocation to OCSP \"revoked\""
  echo
  echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC'); tree at $(git -C "$ROOT" rev-parse --short HEAD)"
  echo "- machine: $(nproc) cores (nproc), $(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -n1), $(free -g | awk '/^Mem:/ {print $2}') GiB"
  echo "- command: \`$COMMAND\`"
  echo
  echo "| measured from | certificates | p50 | p99 | max | mean |"
  echo "|---|---:|---:|---:|---:|---:|"
  echo "$rows"
  echo
  echo "Target: under 1 s (DESIGN.md)."
} | tee "$WORK/results.md"
