use thiserror::Error;

#[derive(Debug, Error)]
#[non_exhaustive]
pub enum Error {
    #[error("wrong passphrase, or the key file is damaged")]
    Decrypt,
    #[error("malformed private key: {0}")]
    MalformedKey(String),
    #[error("key generation failed for {0}")]
    KeyGen(String),
    #[error("encrypting the key failed: {0}")]
    Encrypt(String),
    #[error("{path}: {source}")]
    Io { path: String, source: std::io::Error },
    #[error("passphrase: {0}")]
    Passphrase(String),
}
