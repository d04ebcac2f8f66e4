#!/usr/bin/env bash
# Installs what the test suite needs and the machine lacks: openssl, curl, jq, nginx,
# promtool, lego, pebble, Mosquitto and its clients (Debian), pkilint, schemathesis,
# pyhanko-certvalidator, acme and certbot (PyPI, into .tools/venv), and starts PostgreSQL
# and Mosquitto.
# Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

PKILINT_VERSION=0.13.3
SCHEMATHESIS_VERSION=4.32.5
CERTVALIDATOR_VERSION=0.33.0
ACME_VERSION=5.9.0
CERTBOT_VERSION=5.8.0

missing=()
command -v openssl >/dev/null || missing+=(openssl)
command -v curl >/dev/null || missing+=(curl)
command -v jq >/dev/null || missing+=(jq)
command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || missing+=(nginx-light)
command -v promtool >/dev/null || missing+=(prometheus)
command -v lego >/dev/null || missing+=(lego)
command -v pebble-challtestsrv >/dev/null || missing+=(pebble)
command -v mosquitto >/dev/null || [ -x /usr/sbin/mosquitto ] || missing+=(mosquitto)
command -v mosquitto_sub >/dev/null || missing+=(mosquitto-clients)
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing ${missing[*]}" >&2
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

if ! .tools/venv/bin/python -c 'import pkilint' 2>/dev/null \
   || [ "$(.tools/venv/bin/python -c 'import importlib.metadata as m; print(m.version("pkilint"))')" != "$PKILINT_VERSION" ]; then
  echo "installing pkilint $PKILINT_VERSION into .tools/venv" >&2
  python3 -m venv .tools/venv
  .tools/venv/bin/pip install --quiet --disable-pip-version-check "pkilint==$PKILINT_VERSION"
fi
if [ "$(.tools/venv/bin/python -c 'import importlib.metadata as m; print(m.version("schemathesis"))' 2>/dev/null)" != "$SCHEMATHESIS_VERSION" ]; then
  echo "installing schemathesis $SCHEMATHESIS_VERSION into .tools/venv" >&2
  .tools/venv/bin/pip install --quiet --disable-pip-version-check "schemathesis==$SCHEMATHESIS_VERSION"
fi
if [ "$(.tools/venv/bin/python -c 'import importlib.metadata as m; print(m.version("pyhanko-certvalidator"))' 2>/dev/null)" != "$CERTVALIDATOR_VERSION" ]; then
  echo "installing pyhanko-certvalidator $CERTVALIDATOR_VERSION into .tools/venv" >&2
  .tools/venv/bin/pip install --quiet --disable-pip-version-check "pyhanko-certvalidator==$CERTVALIDATOR_VERSION"
fi
if [ "$(.tools/venv/bin/python -c 'import importlib.metadata as m; print(m.version("acme"))' 2>/dev/null)" != "$ACME_VERSION" ]; then
  echo "installing acme $ACME_VERSION (certbot's ACME library) into .tools/venv" >&2
  .tools/venv/bin/pip install --quiet --disable-pip-version-check "acme==$ACME_VERSION"
fi
if [ "$(.tools/venv/bin/python -c 'import importlib.metadata as m; print(m.version("certbot"))' 2>/dev/null)" != "$CERTBOT_VERSION" ]; then
  echo "installing certbot $CERTBOT_VERSION into .tools/venv" >&2
  .tools/venv/bin/pip install --quiet --disable-pip-version-check "certbot==$CERTBOT_VERSION" "acme==$ACME_VERSION"
fi

# PostgreSQL on 127.0.0.1:5432, user postgres with trust auth, database `test`: the
# store tests run against it (under CI=true an unreachable server fails them).
if ! command -v pg_ctlcluster >/dev/null; then
  echo "installing postgresql" >&2
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
fi
if ! pg_isready -q -h 127.0.0.1 -p 5432; then
  version="$(ls /etc/postgresql | sort -V | tail -1)"
  hba="/etc/postgresql/$version/main/pg_hba.conf"
  if [ -f "$hba" ] && ! grep -Eq '^host\s+all\s+all\s+127\.0\.0\.1/32\s+trust' "$hba"; then
    sed -i '1i host all all 127.0.0.1/32 trust' "$hba"
  fi
  echo "starting PostgreSQL $version" >&2
  pg_ctlcluster --skip-systemctl-redirect "$version" main start
  for _ in $(seq 1 50); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 0.2; done
fi
if ! psql -h 127.0.0.1 -U postgres -d test -c 'select 1' >/dev/null 2>&1; then
  su postgres -c "createdb -h 127.0.0.1 test" 2>/dev/null || createdb -h 127.0.0.1 -U postgres test
fi

# Mosquitto on 127.0.0.1:1883: revocation notices go through it (the agent tests).
if ! (exec 3<>/dev/tcp/127.0.0.1/1883) 2>/dev/null; then
  echo "starting Mosquitto" >&2
  conf=/etc/mosquitto/mosquitto.conf
  if [ -f "$conf" ]; then /usr/sbin/mosquitto -d -c "$conf"; else /usr/sbin/mosquitto -d -p 1883; fi
  for _ in $(seq 1 50); do (exec 3<>/dev/tcp/127.0.0.1/1883) 2>/dev/null && break; sleep 0.2; done
fi
