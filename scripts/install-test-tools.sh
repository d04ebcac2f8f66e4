#!/usr/bin/env bash
# Installs what the test suite needs and the machine lacks: openssl, curl and nginx
# (Debian) and pkilint (PyPI, into .tools/venv). Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

PKILINT_VERSION=0.13.3

missing=()
command -v openssl >/dev/null || missing+=(openssl)
command -v curl >/dev/null || missing+=(curl)
command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || missing+=(nginx-light)
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
