#!/usr/bin/env bash
# The main job until `ironpki serve` exists: build, initialise a development PKI if
# there is none, and issue a first server certificate for localhost, checked by openssl.
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

[ -f "$IRONPKI_HOME/ironpki.yaml" ] || ironpki init --name "IronPKI Development"

out="tls/localhost-$(date +%Y%m%d-%H%M%S)"
ironpki cert issue --profile server --cn localhost --san ip:127.0.0.1 --san ip:::1 --lifetime 24h --out "$out"
ironpki ca roots > tls/roots.pem
SSL_CERT_FILE=/dev/null openssl verify -CAfile tls/roots.pem -untrusted "$out/chain.pem" "$out/cert.pem"
echo "certificate, key and chain in $out; trust bundle in tls/roots.pem"
