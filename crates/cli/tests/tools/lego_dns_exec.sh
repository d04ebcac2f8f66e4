#!/bin/sh
# lego's `--dns exec` program (EXEC_PATH): `present FQDN VALUE` publishes the TXT record in
# the test DNS server whose management API is $CHALLTESTSRV; `cleanup FQDN VALUE` removes it.
set -eu
case "$1" in
  present) exec curl -sSf -X POST -d "{\"host\":\"$2\",\"value\":\"$3\"}" "$CHALLTESTSRV/set-txt" ;;
  cleanup) exec curl -sSf -X POST -d "{\"host\":\"$2\"}" "$CHALLTESTSRV/clear-txt" ;;
  *) exit 0 ;;
esac
