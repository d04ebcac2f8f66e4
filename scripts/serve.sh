#!/usr/bin/env bash
# The main job: build, create a development PKI if there is none, and run the online CA
# (`ironpki serve`: the REST API on https://127.0.0.1:8443; CRLs, CA certificates and OCSP
# on http://127.0.0.1:8080) on the embedded SQLite store.
#   IRONPKI_HOME        the PKI (default ~/.ironpki)
#   IRONPKI_PASSPHRASE  CA key passphrase; if unset, a random one is kept in
#                       $IRONPKI_HOME.passphrase (0600) — for development only.
set -euo pipefail
cd "$(dirname "$0")/.."

cargo build --release --locked -q
ironpki() { target/release/ironpki "$@"; }
export IRONPKI_HOME="${IRONPKI_HOME:-$HOME/.ironpki}"

if [ -z "${IRONPKI_PASSPHRASE:-}" ]; then
  pass_file="$IRONPKI_HOME.passphrase"
  if [ ! -f "$pass_file" ]; then
    (umask 077; head -c 24 /dev/urandom | base64 > "$pass_file")
    echo "development passphrase written to $pass_file" >&2
  fi
  IRONPKI_PASSPHRASE="$(cat "$pass_file")"
  export IRONPKI_PASSPHRASE
fi

if [ ! -f "$IRONPKI_HOME/ironpki.yaml" ]; then
  ironpki init --name "IronPKI Development"
  echo "issue a first certificate with: IRONPKI_HOME=$IRONPKI_HOME target/release/ironpki cert issue --profile server --cn localhost --san ip:127.0.0.1 --out ./tls" >&2
fi
exec target/release/ironpki serve
