//! The configuration `init` writes: our defaults, with comments.

use crate::schema::Config;

/// The default configuration for an organisation: [`template`] parsed. Fails when
/// `org` does not fit into a subject (more than 50 characters, control characters).
pub fn defaults(org: &str) -> Result<Config, crate::Error> {
    crate::parse(std::path::Path::new("<built-in template>"), template(org).as_bytes())
}

/// The commented `ironpki.yaml` that `init` writes.
pub fn template(org: &str) -> String {
    let org: String = org.chars().filter(|c| !c.is_control()).collect();
    let org = org.replace('\\', "\\\\").replace('"', "\\\"");
    format!(
        r#"# IronPKI configuration. Durations: 90d, 24h, 30m. Key types: ecdsa-p256, ecdsa-p384,
# ed25519, rsa-2048, rsa-3072, rsa-4096 (CAs: not rsa-2048).

store:
  sqlite: ironpki.db        # relative to this directory
  durability: full          # full: every commit on disk before it is answered; normal: survives a crash of ironpki only

# Base of the CRL, OCSP and CA-certificate URLs stamped into certificates.
base_url: http://127.0.0.1:8080
# notBefore is set this far back, for relying parties whose clocks run behind.
backdate: 5m

root_ca:
  name: root
  subject: {{ organization: "{org}", common_name: "{org} Root CA" }}
  key_type: ecdsa-p384
  validity_years: 10
  # path: ca/root           # where its certificate and encrypted key live

intermediates:
  - name: issuing
    subject: {{ organization: "{org}", common_name: "{org} Issuing CA" }}
    key_type: ecdsa-p256
    validity_years: 5
    path_len: 0
    # name_constraints: {{ permitted_dns: [example.internal], permitted_ip: ["10.0.0.0/8"] }}
    # crl_url: http://127.0.0.1:8080/crl/issuing.crl       (default: base_url/crl/NAME.crl)
    # delta_crl_url: http://127.0.0.1:8080/crl/issuing-delta.crl (default: base_url/crl/NAME-delta.crl)
    # ocsp_url: http://127.0.0.1:8080/ocsp                 (default: base_url/ocsp)
    # ca_issuers_url: http://127.0.0.1:8080/ca/issuing.crt (default: base_url/ca/NAME.crt)

# Profiles. SAN rules: dns "name" exact, "*.name" one label below, ".name" any depth,
# "*" anything; ip CIDR ranges; uri globs ("spiffe://example.org/*"); email domains.
# key_encipherment is granted to RSA keys only; ECDSA and Ed25519 keys get digital_signature.
profiles:
  server:
    issuer: issuing
    validity: {{ default: 90d, max: 397d }}
    key_usage: [digital_signature, key_encipherment]
    extended_key_usage: [server_auth]
    key_types: [ecdsa-p256, ecdsa-p384, ed25519, rsa-2048, rsa-3072, rsa-4096]
    min_rsa_bits: 2048
    cn_in_san: true
    subject: {{ organization: "{org}" }}
    san:
      dns: [localhost, .internal]
      ip: [127.0.0.0/8, "::1/128", 10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16]
  client:
    issuer: issuing
    validity: {{ default: 30d, max: 397d }}
    key_usage: [digital_signature, key_encipherment]
    extended_key_usage: [client_auth]
    key_types: [ecdsa-p256, ecdsa-p384, ed25519, rsa-2048, rsa-3072, rsa-4096]
    min_rsa_bits: 2048
    cn_in_san: false
    subject: {{ organization: "{org}" }}
    san:
      dns: [.internal]
      uri: ["spiffe://ironpki.internal/*"]
      email: [.internal]
  device:
    issuer: issuing
    validity: {{ default: 365d, max: 825d }}
    key_usage: [digital_signature, key_encipherment]
    extended_key_usage: [client_auth]
    key_types: [ecdsa-p256, ecdsa-p384, ed25519, rsa-2048, rsa-3072, rsa-4096]
    min_rsa_bits: 2048
    cn_in_san: false
    subject: {{ organization: "{org}" }}
    san:
      dns: [.iot.internal]
      uri: ["spiffe://ironpki.internal/device/*"]

  admin:                    # API client certificates with the admin role (serve.client_roles)
    issuer: issuing
    validity: {{ default: 365d, max: 397d }}
    key_usage: [digital_signature]
    extended_key_usage: [client_auth]
    key_types: [ecdsa-p256, ecdsa-p384, ed25519]
    cn_in_san: false
    subject: {{ organization: "{org}" }}

# default_profile: server   # used when a command names no --profile

revocation:
  crl: true
  crl_validity: 7d          # nextUpdate - thisUpdate
  crl_regenerate: 24h       # a fresh CRL at least this often (less than crl_validity)
  delta_crl: true           # delta CRLs, named in issued certificates (Freshest CRL)
  delta_crl_validity: 1h    # a delta CRL's nextUpdate - thisUpdate; a new one at half
  root_crl_validity: 180d   # the root's CRL (full only; an offline root signs it at a ceremony)
  ocsp: true
  ocsp_validity: 4h         # OCSP responses: nextUpdate - thisUpdate; re-signed at half
  ocsp_responder_validity: 7d   # delegated responder certificates, renewed at two thirds

automation:
  auto_renewal: true
  renew_at_fraction: 0.6666666666666666   # or renew_before: 30d
  # key_rotation: 365d

mtls:                       # the HTTPS listener of `serve`
  min_tls_version: "1.2"
  client_auth_required: false   # true: connections without a client certificate are refused (tokens alone are not enough)

serve:
  http_listen: 127.0.0.1:8080   # CRLs, CA certificates, OCSP (plain HTTP, as relying parties expect)
  https_listen: 127.0.0.1:8443  # the REST API (and the same public documents)
  # tls_names: [localhost, 127.0.0.1, "::1"]   # default: these and the host name
  client_roles:                 # client certificates: issuing profile -> API role
    admin: {{ role: admin }}
  rate_limit: 2000              # requests per second per identity
  max_body: 65536               # bytes

acme:
  provisioners:
    - name: acme                # directory: https://HOST:8443/acme/acme/directory
      profile: server           # every certificate is issued under this profile's policy
      challenges: [http-01, dns-01, tls-alpn-01]
      eab: false                # true: newAccount needs an External Account Binding
      # lifetime: 90d           # default: the profile's; at most its maximum
      http01_port: 80           # the port http-01 validation connects to
      tls_alpn01_port: 443      # the port tls-alpn-01 validation connects to
      dns_resolver: system      # or ADDR:PORT: the resolver every validation lookup uses
      orders_per_hour: 300      # per account (0: no limit); beyond it, rateLimited
      failed_validations_per_hour: 60   # per account (0: no limit)

# Every revocation, within a second, to devices and systems (see README, "Revocation push").
# notify:
#   mqtt: {{ url: "mqtt://127.0.0.1:1883", topic: "ironpki/revocations/{{issuer}}", qos: 1 }}
#   webhooks:
#     - url: https://hooks.internal/ironpki       # each revocation POSTed as JSON, retried until 2xx
#       secret_file: /etc/ironpki/webhook.secret  # X-IronPKI-Signature: sha256=HMAC of the body
"#
    )
}
