use std::path::PathBuf;

use clap::{ArgGroup, Args, Parser, Subcommand, ValueEnum};

#[derive(Parser)]
#[command(name = "ironpki", version, about = "A private PKI for mutual TLS")]
pub struct Cli {
    /// The PKI's home directory (default ~/.ironpki).
    #[arg(long, global = true, env = "IRONPKI_HOME")]
    pub home: Option<PathBuf>,
    /// Read the CA key passphrase from this file (else IRONPKI_PASSPHRASE, else a prompt).
    #[arg(long, global = true)]
    pub passphrase_file: Option<PathBuf>,
    /// How to print records.
    #[arg(long, global = true, value_enum, default_value_t = Output::Table)]
    pub output: Output,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Output {
    Table,
    Json,
}

#[derive(Subcommand)]
pub enum Command {
    /// Create a PKI: the home, the root CA, the intermediates and the store.
    Init(InitArgs),
    /// Run the online CA: the REST API over HTTPS; CRLs, CA certificates and OCSP over HTTP.
    Serve(ServeArgs),
    /// Certificate authorities.
    #[command(subcommand)]
    Ca(CaCommand),
    /// Certificates.
    #[command(subcommand)]
    Cert(CertCommand),
    /// Certificate revocation lists.
    #[command(subcommand)]
    Crl(CrlCommand),
    /// OCSP client.
    #[command(subcommand)]
    Ocsp(OcspCommand),
    /// The audit log.
    #[command(subcommand)]
    Audit(AuditCommand),
    /// API tokens for the REST API.
    #[command(subcommand)]
    Token(TokenCommand),
    /// ACME: External Account Binding keys.
    #[command(subcommand)]
    Acme(AcmeCommand),
    /// The agent: keeps this host's certificates renewed (ACME with ARI), swaps them
    /// without downtime and rolls back a swap that breaks the service.
    Agent(ironpki_agent::AgentArgs),
    /// Apply pending store migrations and print the schema version.
    Migrate,
    /// Measurements for the benchmark harness (bench/run.sh).
    #[command(subcommand, hide = true)]
    Bench(BenchCommand),
}

#[derive(Args)]
pub struct ServeArgs {
    /// Plain-HTTP listener (default: serve.http_listen in ironpki.yaml, 127.0.0.1:8080).
    /// Port 0 picks a free port; the address is printed on the first line.
    #[arg(long)]
    pub http_listen: Option<String>,
    /// HTTPS listener for the REST API (default: serve.https_listen, 127.0.0.1:8443).
    /// Port 0 picks a free port; the address is printed on the second line.
    #[arg(long)]
    pub https_listen: Option<String>,
}

#[derive(Subcommand)]
pub enum TokenCommand {
    /// Create a token; its secret is printed once.
    Create(TokenCreateArgs),
    /// List tokens (without secrets).
    List,
    /// Revoke a token by its id.
    Revoke {
        /// The token's id (as listed).
        id: String,
    },
}

#[derive(Subcommand)]
pub enum AcmeCommand {
    /// External Account Binding keys for provisioners with `eab: true`.
    #[command(subcommand)]
    Eab(EabCommand),
}

#[derive(Subcommand)]
pub enum EabCommand {
    /// Make a key; its key id and MAC key are printed once.
    Create {
        /// The provisioner whose newAccount accepts it.
        #[arg(long)]
        provisioner: String,
        /// How long it may wait for its account (default 30d).
        #[arg(long)]
        expires: Option<String>,
    },
    /// List keys (without their MAC keys) and the accounts they bound.
    List,
    /// Revoke a key: it binds no account from now on.
    Revoke {
        kid: String,
    },
}

#[derive(Args)]
pub struct TokenCreateArgs {
    /// admin, operator or auditor.
    #[arg(long)]
    pub role: String,
    /// Profiles the token may issue from (comma-separated; default: all its role allows).
    #[arg(long, value_delimiter = ',')]
    pub profiles: Vec<String>,
    /// Patterns every requested name must match, e.g. '*.iot.example.com' (repeatable).
    #[arg(long = "san-pattern")]
    pub san_patterns: Vec<String>,
    /// Lifetime, e.g. 90d (default: no expiry).
    #[arg(long)]
    pub expires: Option<String>,
    /// A note on what the token is for.
    #[arg(long, default_value = "")]
    pub description: String,
}

#[derive(Args)]
pub struct InitArgs {
    /// Organisation name, used in CA subjects.
    #[arg(long)]
    pub name: Option<String>,
    /// Use this configuration file (ironpki.yaml schema or the `pki:` shape) as it is.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Write the root key only to this directory (encrypted); the online CA never needs it.
    #[arg(long)]
    pub root_offline: Option<PathBuf>,
}

#[derive(Subcommand)]
pub enum CaCommand {
    /// List the CAs.
    List,
    /// Show one CA.
    Show {
        name: String,
        /// Print the certificate as PEM.
        #[arg(long)]
        pem: bool,
    },
    /// Print the trust bundle: every active root, PEM.
    Roots,
    /// Key ceremony of an offline CA: with its key directory mounted, sign its next CRL
    /// and a delegated OCSP responder certificate valid as long, for `serve` to publish.
    SignCrl {
        /// The offline CA (the root).
        #[arg(long)]
        ca: String,
        /// Where the CA's key is mounted (the `--root-offline` directory of init).
        #[arg(long)]
        key_dir: PathBuf,
        /// How long the CRL and the responder certificate are valid (default
        /// `revocation.root_crl_validity`, 180d).
        #[arg(long)]
        next_update: Option<String>,
    },
    /// Revoke an intermediate: it stops issuing at once, and its root's CRL and OCSP
    /// answers list it.
    Revoke {
        name: String,
        /// RFC 5280 reason: cACompromise, keyCompromise, superseded, cessationOfOperation,
        /// affiliationChanged, privilegeWithdrawn, unspecified.
        #[arg(long)]
        reason: String,
        /// When the key is known or suspected to have been compromised (RFC 3339).
        #[arg(long)]
        invalidity_date: Option<String>,
    },
}

#[derive(Subcommand)]
pub enum CertCommand {
    /// Generate a key locally and issue a certificate for it.
    Issue(IssueArgs),
    /// Issue a certificate from a PKCS#10 CSR.
    Sign(SignArgs),
    /// List certificates.
    List(ListArgs),
    /// Show one certificate.
    Show {
        serial: String,
        /// The issuing CA, when several CAs used the serial.
        #[arg(long)]
        ca: Option<String>,
        #[arg(long)]
        pem: bool,
    },
    /// Revoke a certificate, or many at once.
    Revoke(RevokeArgs),
    /// Ask the clients of valid certificates to renew early: ACME renewal information
    /// (RFC 9773) answers them a window ending --by (or now).
    RenewEarly(RenewEarlyArgs),
    /// Verify a certificate by RFC 5280 (or --profile webpki): the path to a trusted root,
    /// every certificate's validity and profile, key usage and name; the reason names the rule.
    Verify(VerifyArgs),
}

#[derive(Args)]
#[command(group = ArgGroup::new("selection").multiple(true))]
pub struct RevokeArgs {
    /// The serial to revoke (or use --serials-file, or --all with --issued-by/--profile).
    #[arg(required_unless_present_any = ["serials_file", "all"], conflicts_with_all = ["serials_file", "all"])]
    pub serial: Option<String>,
    /// RFC 5280 reason: unspecified, keyCompromise, cACompromise, affiliationChanged,
    /// superseded, cessationOfOperation, certificateHold, privilegeWithdrawn, aACompromise.
    #[arg(long)]
    pub reason: String,
    /// The issuing CA, when several CAs used the serial (and for --serials-file).
    #[arg(long)]
    pub ca: Option<String>,
    /// When the key is known or suspected to have been compromised (RFC 3339).
    #[arg(long)]
    pub invalidity_date: Option<String>,
    /// Revoke the serials listed in this file, one per line.
    #[arg(long, conflicts_with = "all")]
    pub serials_file: Option<PathBuf>,
    /// Revoke every valid certificate selected by --issued-by and/or --profile.
    #[arg(long, requires = "selection")]
    pub all: bool,
    #[arg(long, group = "selection")]
    pub issued_by: Option<String>,
    #[arg(long, group = "selection")]
    pub profile: Option<String>,
}

#[derive(Args)]
#[command(group = ArgGroup::new("which").required(true).multiple(false))]
pub struct RenewEarlyArgs {
    /// The serials to renew early, one per line.
    #[arg(long, group = "which")]
    pub serials_file: Option<PathBuf>,
    /// Every valid certificate of this profile.
    #[arg(long, group = "which")]
    pub profile: Option<String>,
    /// Every valid certificate this CA issued (to roll a fleet off an intermediate).
    #[arg(long, group = "which")]
    pub issued_by: Option<String>,
    /// The deadline: an RFC 3339 time or a duration from now (7d); default now.
    #[arg(long)]
    pub by: Option<String>,
}

#[derive(Args)]
pub struct IssueArgs {
    #[arg(long)]
    pub profile: Option<String>,
    #[arg(long)]
    pub cn: String,
    /// dns:NAME, ip:ADDR, uri:URI or email:ADDR; repeatable.
    #[arg(long = "san")]
    pub sans: Vec<String>,
    #[arg(long, default_value = "ecdsa-p256")]
    pub key_type: String,
    /// Lifetime such as 24h or 90d (default: the profile's).
    #[arg(long)]
    pub lifetime: Option<String>,
    /// Directory for key.pem, cert.pem, chain.pem (intermediates) and fullchain.pem
    /// (certificate then intermediates).
    #[arg(long)]
    pub out: PathBuf,
}

#[derive(Args)]
pub struct SignArgs {
    #[arg(long)]
    pub csr: PathBuf,
    #[arg(long)]
    pub profile: Option<String>,
    #[arg(long)]
    pub lifetime: Option<String>,
    /// Write the certificate here (PEM) instead of standard output.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Also write the chain (intermediates, PEM) here.
    #[arg(long)]
    pub chain_out: Option<PathBuf>,
    /// Also write the certificate followed by the intermediates (PEM) here.
    #[arg(long)]
    pub fullchain_out: Option<PathBuf>,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum StatusArg {
    Valid,
    Revoked,
    Expired,
}

#[derive(Args)]
pub struct ListArgs {
    #[arg(long, value_enum)]
    pub status: Option<StatusArg>,
    /// Valid certificates that expire within this duration (e.g. 30d).
    #[arg(long)]
    pub expiring_within: Option<String>,
    #[arg(long)]
    pub profile: Option<String>,
    #[arg(long)]
    pub ca: Option<String>,
    #[arg(long)]
    pub limit: Option<u32>,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PurposeArg {
    Server,
    Client,
}

/// Which rules `cert verify` applies.
#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum VerifyProfileArg {
    /// RFC 5280 path validation and certificate profile, and sound practice on keys.
    Rfc5280,
    /// rustls-webpki's rules alone: what a rustls peer accepts.
    Webpki,
}

#[derive(Args)]
pub struct VerifyArgs {
    /// The certificate (PEM or DER); further PEM certificates in it count as intermediates.
    pub cert: PathBuf,
    /// Intermediates (PEM).
    #[arg(long)]
    pub chain: Option<PathBuf>,
    /// Trust anchors (PEM) instead of the home's trust bundle.
    #[arg(long)]
    pub roots: Option<PathBuf>,
    /// DNS name or IP address the certificate must be valid for.
    #[arg(long)]
    pub name: Option<String>,
    /// Verify as of this time (RFC 3339, e.g. 2030-01-01T00:00:00Z).
    #[arg(long)]
    pub at: Option<String>,
    #[arg(long, value_enum)]
    pub purpose: Option<PurposeArg>,
    /// Also check revocation: this PKI's store for its own certificates, otherwise the
    /// OCSP responder or CRL named in the certificate.
    #[arg(long)]
    pub check_revocation: bool,
    /// The rules to check: rfc5280 (RFC 5280 and sound practice) or webpki (rustls-webpki's alone).
    #[arg(long, value_enum, default_value = "rfc5280")]
    pub profile: VerifyProfileArg,
}

#[derive(Subcommand)]
pub enum CrlCommand {
    /// Sign and publish the next CRL of a CA and write it to a file.
    Generate {
        /// The CA (default: the only intermediate).
        #[arg(long)]
        ca: Option<String>,
        /// A delta CRL: the revocations since the newest full CRL.
        #[arg(long)]
        delta: bool,
        #[arg(long)]
        out: PathBuf,
        /// Write PEM instead of DER.
        #[arg(long)]
        pem: bool,
    },
    /// Print a CRL file (DER or PEM).
    Show { file: PathBuf },
}

#[derive(Subcommand)]
pub enum OcspCommand {
    /// Ask an OCSP responder about a certificate; exit 0 only when it is good.
    Check {
        /// The certificate (PEM or DER); a second certificate in the file is taken as its issuer.
        cert: PathBuf,
        /// The issuing CA's certificate (default: from CERT, or this PKI's CAs).
        #[arg(long)]
        issuer: Option<PathBuf>,
        /// The responder (default: the OCSP URL in the certificate).
        #[arg(long)]
        url: Option<String>,
    },
}

#[derive(Subcommand)]
pub enum AuditCommand {
    /// Recompute the hash chain; names the first entry that does not match.
    Verify,
    /// Print the log.
    Export {
        #[arg(long, value_enum, default_value_t = AuditFormat::Jsonl)]
        format: AuditFormat,
        /// Only entries after this sequence number.
        #[arg(long, default_value_t = 0)]
        since: u64,
    },
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum AuditFormat {
    Jsonl,
}

#[derive(Subcommand)]
pub enum BenchCommand {
    /// Issuance from CSRs persisted to SQLite, beside the bare crypto it needs.
    Issuance {
        /// Concatenated PEM CSRs.
        #[arg(long)]
        csrs: PathBuf,
        /// Work directory (a fresh PKI is created in it).
        #[arg(long)]
        work: PathBuf,
        /// Certificates per commit in the batched run.
        #[arg(long, default_value_t = 64)]
        batch: usize,
    },
    /// Times the store queries that must stay fast as it grows: a page of the
    /// certificates expiring within WINDOW, their count per profile, and a lookup by
    /// serial (the PKI in --home, its configured store).
    Query {
        #[arg(long, default_value = "30d")]
        window: String,
        /// Times each query is run; the median is reported.
        #[arg(long, default_value_t = 20)]
        repeat: usize,
    },
    /// Create a PKI in WORK/home whose issuing CA has COUNT revoked certificates, for
    /// timing `crl generate`; writes their serials to WORK/serials.txt.
    Revoked {
        #[arg(long)]
        count: usize,
        #[arg(long)]
        work: PathBuf,
    },
}
