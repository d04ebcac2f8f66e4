#!/usr/bin/env bash
# Installs what the test suite needs and the machine lacks: openssl (Debian) and
# pkilint (PyPI, into .tools/venv). Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

PKILINT_VERSION=0.13.3

if ! command -v openssl >/dev/null; then
  echo "installing openssl" >&2
  apt-get update -qq && apt-get install -y -qq openssl >/dev/null
fi

if ! .tools/venv/bin/python -c 'import pkilint' 2>/dev/null \
   || [ "$(.tools/venv/bin/python -c 'import importlib.metadata as m; print(m.version("pkilint"))')" != "$PKILINT_VERSION" ]; then
  echo "installing pkilint $PKILINT_VERSION into .tools/venv" >&2
  python3 -m venv .tools/venv
  .tools/venv/bin/pip install --quiet --disable-pip-version-check "pkilint==$PKILINT_VERSION"
fi
