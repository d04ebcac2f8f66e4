-- wrk opens and closes one connection per address before the run (wrk.resolve's connect
-- check). `openssl ocsp -port` spins at 100 % CPU after a connection closed without a
-- request (see shared/ANCHORS.md), so bench/revocation.sh loads this script for it: the
-- address is used as resolved, with no check. Nothing else changes: no request() or
-- response() function, so wrk still sends its prepared request on every connection.
function wrk.resolve(host, service)
  wrk.addrs = wrk.lookup(host, service)
end
