//! OCSP (RFC 6960, RFC 5019): request parsing and response signing.
