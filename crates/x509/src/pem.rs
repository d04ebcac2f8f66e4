//! PEM and DER input: accept either, for certificates and CSRs.

use crate::Error;

/// Every block with `tag` in `input`; a DER blob (not starting with `-----`) counts as one.
pub fn blocks(input: &[u8], tag: &str, what: &'static str) -> Result<Vec<Vec<u8>>, Error> {
    let text_start = input.iter().position(|b| !b.is_ascii_whitespace()).unwrap_or(0);
    if !input[text_start..].starts_with(b"-----") {
        if input.is_empty() {
            return Err(Error::malformed(what, "empty input"));
        }
        return Ok(vec![input.to_vec()]);
    }
    let parsed = ::pem::parse_many(input).map_err(|e| Error::malformed(what, e))?;
    let found: Vec<Vec<u8>> =
        parsed.into_iter().filter(|p| p.tag() == tag).map(|p| p.into_contents()).collect();
    if found.is_empty() {
        return Err(Error::malformed(what, format!("no {tag} PEM block found")));
    }
    Ok(found)
}

pub fn one(input: &[u8], tag: &str, what: &'static str) -> Result<Vec<u8>, Error> {
    let mut all = blocks(input, tag, what)?;
    if all.len() != 1 {
        return Err(Error::malformed(what, format!("expected one {tag} block, found {}", all.len())));
    }
    Ok(all.remove(0))
}

pub fn encode(tag: &str, der: &[u8]) -> String {
    ::pem::encode_config(
        &::pem::Pem::new(tag, der.to_vec()),
        ::pem::EncodeConfig::new().set_line_ending(::pem::LineEnding::LF),
    )
}

pub fn cert(der: &[u8]) -> String {
    encode("CERTIFICATE", der)
}
