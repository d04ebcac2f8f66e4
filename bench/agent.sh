#!/usr/bin/env bash
# The agent's footprint and renewal time, beside lego (Debian, Go) and certbot (PyPI) as
# peers doing the same renewals against the same CA:
#  - size: the stripped `ironpki-agent` (cargo --profile agent) beside the lego binary;
#  - memory: resident set of the idle agent daemon keeping 1 and 100 certificates;
#  - idle CPU: CPU seconds the idle daemon (100 certificates) uses over a minute;
#  - renewal time: from the decision to renew to the files swapped in, for 100
#    certificates marked by `ironpki cert renew-early` and renewed by one `--once` pass
#    (p50, p99, max, from the agent's log), and one renewal of one certificate as a whole
#    process run, for the agent, `lego renew` and `certbot renew` (median of 10 each).
# Usage: bench/agent.sh [--idle-seconds N]
# BENCH_NO_BUILD=1 uses target/release/ironpki and target/agent/ironpki-agent as they are.
set -euo pipefail

IDLE=60
while [[ $# -gt 0 ]]; do
  case "$1" in
    --idle-seconds) IDLE="$2"; shift 2 ;;
    -h|--help) sed -n 2,13p "$0"; exit 0 ;;
    *) echo "unknown argument: $1" >&2; exit 2 ;;
  esac
done
COMMAND="bench/agent.sh --idle-seconds $IDLE"

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
BENCH="$ROOT/bench"
WORK="$BENCH/work-agent"
SCRIPT=agent.sh
IRONPKI="$ROOT/target/release/ironpki"
AGENT="$ROOT/target/agent/ironpki-agent"
PASS_FILE="$WORK/passphrase"
# shellcheck source=bench/lib.sh
source "$BENCH/lib.sh"

command -v pebble-challtestsrv >/dev/null && command -v lego >/dev/null || {
  step "installing pebble and lego"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq pebble lego
}
CERTBOT="$ROOT/.tools/venv/bin/certbot"
[[ -x $CERTBOT ]] || "$ROOT/scripts/install-test-tools.sh"
if [[ ! -x $IRONPKI || ! -x $AGENT || ${BENCH_NO_BUILD:-0} != 1 ]]; then
  step "building ironpki (release) and ironpki-agent (profile agent)"
  (cd "$ROOT" && cargo build --release -p ironpki && cargo build --profile agent -p ironpki-agent)
fi

free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }
rm -rf "$WORK"
mkdir -p "$WORK"
(umask 077; echo bench-passphrase >"$PASS_FILE")
H="$WORK/home"
RESPONDER=$(free_port); DNS=$(free_port); DNS_API=$(free_port)

step "pebble-challtestsrv: every name is 127.0.0.1"
pebble-challtestsrv -dns01 "127.0.0.1:$DNS" -management "127.0.0.1:$DNS_API" -http01 "" -https01 "" \
  -tlsalpn01 "" -defaultIPv4 127.0.0.1 -defaultIPv6 "" >"$WORK/challtestsrv.log" 2>&1 &
RUNNING+=" $!"
wait_line "$WORK/challtestsrv.log" 'Starting management server' "$!"

step "a PKI whose ACME provisioner validates http-01 on port $RESPONDER"
ironpki --home "$H" init --name "Agent Bench" >"$WORK/init.log"
sed -i -e "s/http01_port: 80 /http01_port: $RESPONDER /" -e "s/dns_resolver: system /dns_resolver: 127.0.0.1:$DNS /" \
  -e "s/orders_per_hour: 300 /orders_per_hour: 0 /" "$H/ironpki.yaml"
grep -q "http01_port: $RESPONDER " "$H/ironpki.yaml" || fail "could not set the provisioner's port"
ironpki --home "$H" ca roots >"$WORK/roots.pem"
serve_https "$H" "$WORK"
HTTPS_PORT=${SERVE_URL#https://127.0.0.1:}; HTTPS_PORT=${HTTPS_PORT%%/*}
DIR="https://localhost:$HTTPS_PORT/acme/acme/directory"

agent_config() {  # agent_config FILE STATE COUNT: COUNT certificates c0…, answering http-01 on $RESPONDER
  {
    echo "state_dir: $2"
    echo "roots: $WORK/roots.pem"
    echo "certificates:"
    for ((i = 0; i < $3; i++)); do
      cat <<EOF
  - name: c$i
    acme: { directory: "$DIR", challenge: http-01, http01_listen: "127.0.0.1:$RESPONDER" }
    common_name: c$i.agent.internal
    files: { key: $2/tls/c$i/key.pem, cert: $2/tls/c$i/cert.pem, fullchain: $2/tls/c$i/fullchain.pem }
EOF
    done
  } >"$1"
}

SIZE=$(stat -c %s "$AGENT")
LEGO_SIZE=$(stat -c %s "$(command -v lego)")

idle_rss() {  # idle_rss CONFIG LOG: start the daemon, wait until it has looked at every certificate, print "PID RSS_KB"
  local pid n marker="$WORK/started"
  touch "$marker"
  "$AGENT" --config "$1" 2>"$2" &
  pid=$!
  RUNNING+=" $pid"
  n=$(grep -c '^  - name:' "$1")
  for _ in $(seq 600); do
    [[ $(find "${1%.yaml}-state/certs" -name '*.json' -newer "$marker" | wc -l) -ge $n ]] && break
    sleep 0.1
  done
  echo "$pid $(rss_kb "$pid")"
}

step "1 certificate: obtain, then the idle daemon's memory"
agent_config "$WORK/one.yaml" "$WORK/one-state" 1
"$AGENT" --once --config "$WORK/one.yaml" 2>"$WORK/one-once.log" || fail "first issuance failed: $(tail -3 "$WORK/one-once.log")"
read -r ONE_PID ONE_RSS < <(idle_rss "$WORK/one.yaml" "$WORK/one.log")
stop "$ONE_PID"

step "100 certificates: obtain, then the idle daemon's memory and CPU over $IDLE s"
agent_config "$WORK/hundred.yaml" "$WORK/hundred-state" 100
"$AGENT" --once --config "$WORK/hundred.yaml" 2>"$WORK/hundred-once.log" || fail "issuance failed: $(grep -m3 failed "$WORK/hundred-once.log")"
read -r H_PID H_RSS < <(idle_rss "$WORK/hundred.yaml" "$WORK/hundred.log")
CPU0=$(cpu_seconds "$H_PID")
WAKE0=$(awk '/^voluntary_ctxt_switches/ { print $2 }' "/proc/$H_PID/status")
sleep "$IDLE"
CPU1=$(cpu_seconds "$H_PID")
WAKE1=$(awk '/^voluntary_ctxt_switches/ { print $2 }' "/proc/$H_PID/status")
H_RSS_END=$(rss_kb "$H_PID")
stop "$H_PID"

step "100 renewals asked by the CA (renew-early), one --once pass"
ironpki --home "$H" cert renew-early --issued-by issuing >/dev/null
"$AGENT" --once --config "$WORK/hundred.yaml" 2>"$WORK/renew.log" || fail "renewals failed: $(grep -m3 failed "$WORK/renew.log")"
RENEWALS=$(python3 - "$WORK/renew.log" <<'EOF'
import json, sys
from datetime import datetime
start, done = {}, []
for line in open(sys.argv[1]):
    e = json.loads(line)
    t = datetime.fromisoformat(e["time"].replace("Z", "+00:00").replace("+00:00", "")[:26]).timestamp()
    if e.get("action") == "renew.start":
        start[e["cert"]] = t
    elif e.get("action") == "swap.installed" and e["cert"] in start:
        done.append(t - start.pop(e["cert"]))
done.sort()
pick = lambda p: done[min(len(done) - 1, int(round(p * len(done) + 0.5)) - 1)]
print(len(done), f"{pick(0.5)*1000:.0f}", f"{pick(0.99)*1000:.0f}", f"{done[-1]*1000:.0f}")
EOF
)
read -r R_N R_P50 R_P99 R_MAX <<<"$RENEWALS"
[[ $R_N == 100 ]] || fail "expected 100 renewals, saw $R_N"

median_ms() { sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
now_ms() { date +%s%3N; }

step "one renewal as a process run: ironpki-agent, lego, certbot (10 each)"
agent_config "$WORK/solo.yaml" "$WORK/solo-state" 1
"$AGENT" --once --config "$WORK/solo.yaml" 2>/dev/null || fail "solo issuance failed"
SERIALS="$WORK/solo-serial"
for _ in $(seq 10); do
  openssl x509 -in "$WORK/solo-state/tls/c0/cert.pem" -noout -serial | sed 's/serial=//' >"$SERIALS"
  ironpki --home "$H" cert renew-early --serials-file "$SERIALS" >/dev/null
  t0=$(now_ms); "$AGENT" --once --config "$WORK/solo.yaml" 2>/dev/null || fail "agent renewal failed"; echo $(( $(now_ms) - t0 ))
done | median_ms >"$WORK/agent.ms"

LEGO_DIR="$WORK/lego"
export LEGO_CA_CERTIFICATES="$WORK/roots.pem"
lego --path "$LEGO_DIR" --server "$DIR" --email bench@example.org --accept-tos -d lego.agent.internal \
  --http --http.port "127.0.0.1:$RESPONDER" run >"$WORK/lego.log" 2>&1 || fail "lego run failed: $(tail -3 "$WORK/lego.log")"
for _ in $(seq 10); do
  t0=$(now_ms)
  lego --path "$LEGO_DIR" --server "$DIR" --email bench@example.org -d lego.agent.internal \
    --http --http.port "127.0.0.1:$RESPONDER" renew --days 10000 --no-random-sleep >>"$WORK/lego.log" 2>&1 || fail "lego renew failed"
  echo $(( $(now_ms) - t0 ))
done | median_ms >"$WORK/lego.ms"

CB="$WORK/certbot"
export REQUESTS_CA_BUNDLE="$WORK/roots.pem"
"$CERTBOT" certonly --config-dir "$CB/etc" --work-dir "$CB/work" --logs-dir "$CB/logs" --server "$DIR" \
  --standalone --http-01-port "$RESPONDER" --http-01-address 127.0.0.1 -d certbot.agent.internal \
  --agree-tos --register-unsafely-without-email --non-interactive >"$WORK/certbot.log" 2>&1 || fail "certbot failed: $(tail -3 "$WORK/certbot.log")"
for _ in $(seq 10); do
  t0=$(now_ms)
  "$CERTBOT" renew --config-dir "$CB/etc" --work-dir "$CB/work" --logs-dir "$CB/logs" --force-renewal \
    --no-random-sleep-on-renew --non-interactive >>"$WORK/certbot.log" 2>&1 || fail "certbot renew failed"
  echo $(( $(now_ms) - t0 ))
done | median_ms >"$WORK/certbot.ms"

AGENT_MS=$(cat "$WORK/agent.ms"); LEGO_MS=$(cat "$WORK/lego.ms"); CERTBOT_MS=$(cat "$WORK/certbot.ms")
python3 - "$COMMAND" "$SIZE" "$LEGO_SIZE" "$ONE_RSS" "$H_RSS" "$H_RSS_END" "$CPU0" "$CPU1" "$IDLE" \
  "$WAKE0" "$WAKE1" "$R_N" "$R_P50" "$R_P99" "$R_MAX" "$AGENT_MS" "$LEGO_MS" "$CERTBOT_MS" <<'EOF'
import sys
(cmd, size, lego_size, one_rss, h_rss, h_rss_end, cpu0, cpu1, idle, wake0, wake1,
 n, p50, p99, mx, agent_ms, lego_ms, certbot_ms) = sys.argv[1:]
mb = lambda b: int(b) / 1e6
print(f"\n## Agent ({cmd})\n")
print("| measure | ironpki-agent | peer | ratio | target |")
print("|---|---:|---:|---:|---|")
print(f"| binary, stripped (MB) | {mb(size):.1f} | lego {mb(lego_size):.1f} | {int(size)/int(lego_size):.2f} | ≤ 8 MB |")
print(f"| resident memory, idle, 1 certificate (MB) | {int(one_rss)/1024:.1f} | | | < 20 MB |")
print(f"| resident memory, idle, 100 certificates (MB) | {int(h_rss)/1024:.1f} (after {idle} s: {int(h_rss_end)/1024:.1f}) | | | < 40 MB |")
print(f"| CPU while idle over {idle} s, 100 certificates (s) | {float(cpu1)-float(cpu0):.2f} ({int(wake1)-int(wake0)} wake-ups) | | | |")
print(f"| renewal, decision to files swapped, {n} renewals (ms) | p50 {p50}, p99 {p99}, max {mx} | | | p99 < 1000 ms |")
print(f"| one renewal, whole process run, median of 10 (ms) | {agent_ms} | lego {lego_ms} | {int(agent_ms)/int(lego_ms):.2f} | |")
print(f"| | | certbot {certbot_ms} | {int(agent_ms)/int(certbot_ms):.2f} | |")
EOF
