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

/// RFC 7468 text: base64 in lines of 64 characters, LF line ends. Written straight into
/// one buffer of the final size; it runs for every certificate the server answers with.
pub fn encode(tag: &str, der: &[u8]) -> String {
    use base64::Engine;
    const LINE: usize = 64;
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let mut out = String::with_capacity(b64.len() + b64.len() / LINE + 2 * tag.len() + 34);
    out.push_str("-----BEGIN ");
    out.push_str(tag);
    out.push_str("-----\n");
    // base64 text is ASCII: every 64-byte slice is on a character boundary
    let mut rest = b64.as_str();
    while !rest.is_empty() {
        let (line, tail) = rest.split_at(rest.len().min(LINE));
        out.push_str(line);
        out.push('\n');
        rest = tail;
    }
    out.push_str("-----END ");
    out.push_str(tag);
    out.push_str("-----\n");
    out
}

pub fn cert(der: &[u8]) -> String {
    encode("CERTIFICATE", der)
}

#[cfg(test)]
mod tests {
    /// The same text as the `pem` crate's encoder, at every length around the line breaks.
    #[test]
    fn encode_matches_the_pem_crate() {
        for len in 0..200 {
            let der: Vec<u8> = (0..len).map(|i| (i * 7 + 3) as u8).collect();
            let theirs =
                ::pem::encode_config(&::pem::Pem::new("CERTIFICATE", der.clone()), ::pem::EncodeConfig::new().set_line_ending(::pem::LineEnding::LF));
            assert_eq!(super::encode("CERTIFICATE", &der), theirs, "length {len}");
            assert_eq!(::pem::parse(super::encode("X509 CRL", &der)).unwrap().contents(), &der[..], "length {len}");
        }
    }
}
