#!/bin/sh
# The agent's dns-01 hooks (`present` / `cleanup`): publishes or removes the TXT record
# $IRONPKI_DNS_RECORD (= $IRONPKI_DNS_VALUE) in the test DNS server whose management API
# is $CHALLTESTSRV.
set -eu
if [ "$1" = cleanup ]; then
  exec curl -sSf -X POST -d "{\"host\":\"$IRONPKI_DNS_RECORD\"}" "$CHALLTESTSRV/clear-txt"
fi
exec curl -sSf -X POST -d "{\"host\":\"$IRONPKI_DNS_RECORD\",\"value\":\"$IRONPKI_DNS_VALUE\"}" "$CHALLTESTSRV/set-txt"
