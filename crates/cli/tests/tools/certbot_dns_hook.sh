#!/bin/sh
# certbot --manual-auth-hook / --manual-cleanup-hook for dns-01: publishes (or, given
# `cleanup`, removes) the TXT record at _acme-challenge.$CERTBOT_DOMAIN in the test DNS
# server whose management API is $CHALLTESTSRV.
set -eu
host="_acme-challenge.${CERTBOT_DOMAIN}."
if [ "${1:-}" = cleanup ]; then
  exec curl -sSf -X POST -d "{\"host\":\"$host\"}" "$CHALLTESTSRV/clear-txt"
fi
exec curl -sSf -X POST -d "{\"host\":\"$host\",\"value\":\"$CERTBOT_VALIDATION\"}" "$CHALLTESTSRV/set-txt"
