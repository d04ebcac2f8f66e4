//! PEM and DER input: accept either, for certificates and CSRs; PEM output (RFC 7468).

use crate::Error;

/// Every block with `tag` in `input`; a DER blob (not starting with `-----`) counts as one.
/// Text between and after blocks, and blocks of other labels, are skipped; inside a block
/// any whitespace may separate the base64 (RFC 7468's lax reading). Every CSR the server
/// signs comes through here, so this scans the text once instead of through a general
/// PEM parser (which was 1.5 % of the server's CPU under load).
pub fn blocks(input: &[u8], tag: &str, what: &'static str) -> Result<Vec<Vec<u8>>, Error> {
    use base64::Engine;
    let text_start = input.iter().position(|b| !b.is_ascii_whitespace()).unwrap_or(0);
    if !input[text_start..].starts_with(b"-----") {
        if input.is_empty() {
            return Err(Error::malformed(what, "empty input"));
        }
        return Ok(vec![input.to_vec()]);
    }
    let text = std::str::from_utf8(input).map_err(|_| Error::malformed(what, "PEM text that is not UTF-8"))?;
    let mut found = Vec::new();
    let mut rest = text;
    while let Some(at) = rest.find("-----BEGIN ") {
        let after = &rest[at + "-----BEGIN ".len()..];
        let label = after.find("-----").map(|end| &after[..end]).filter(|l| !l.contains(['\n', '\r']));
        let Some(label) = label else {
            return Err(Error::malformed(what, "a PEM BEGIN line without its closing dashes"));
        };
        let body = &after[label.len() + "-----".len()..];
        let end_line = format!("-----END {label}-----");
        let Some(end) = body.find(&end_line) else {
            return Err(Error::malformed(what, format!("no END line for the {label} PEM block")));
        };
        if label == tag {
            let b64: Vec<u8> = body[..end].bytes().filter(|b| !b.is_ascii_whitespace()).collect();
            let der = base64::engine::general_purpose::STANDARD
                .decode(b64)
                .map_err(|e| Error::malformed(what, format!("the {label} PEM block is not base64: {e}")))?;
            found.push(der);
        }
        rest = &body[end + end_line.len()..];
    }
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
    use super::blocks;

    /// The same blocks as the `pem` crate's parser finds, through text between and after
    /// them, other labels and CRLF line ends; whitespace inside a block is skipped.
    #[test]
    fn blocks_match_the_pem_crate() {
        let a: Vec<u8> = (0..300).map(|i| (i * 11) as u8).collect();
        let b: Vec<u8> = (0..47).map(|i| (i * 5 + 1) as u8).collect();
        let text = format!(
            "\n{}junk\n{}\n{}trailing text",
            super::encode("CERTIFICATE", &a),
            super::encode("PRIVATE KEY", &b).replace('\n', "\r\n"),
            super::encode("CERTIFICATE", &b),
        );
        let ours = blocks(text.as_bytes(), "CERTIFICATE", "test").unwrap();
        let theirs: Vec<Vec<u8>> =
            ::pem::parse_many(&text).unwrap().into_iter().filter(|p| p.tag() == "CERTIFICATE").map(|p| p.into_contents()).collect();
        assert_eq!(ours, theirs);
        assert_eq!(ours, [a, b.clone()]);
        assert_eq!(blocks(text.as_bytes(), "PRIVATE KEY", "test").unwrap(), std::slice::from_ref(&b));
        let spaced = super::encode("CERTIFICATE", &b).replacen('\n', "\n\n  ", 2);
        assert_eq!(blocks(spaced.as_bytes(), "CERTIFICATE", "test").unwrap(), [b], "blank lines and indentation inside");
    }

    /// Broken PEM is refused with a message, never half read.
    #[test]
    fn broken_blocks_are_refused() {
        let good = super::encode("CERTIFICATE", b"abc");
        for (input, says) in [
            (good.replace("-----END CERTIFICATE-----", ""), "no END line"),
            (good.replacen("CERTIFICATE-----", "CERTIFICATE\n", 1), "closing dashes"),
            (good.replace("YWJj", "Y!Jj"), "not base64"),
            (good.replace("CERTIFICATE", "X509 CRL"), "no CERTIFICATE PEM block"),
            ("-----".to_string(), "no CERTIFICATE PEM block"),
        ] {
            let err = blocks(input.as_bytes(), "CERTIFICATE", "certificate").unwrap_err().to_string();
            assert!(err.contains(says), "{input:?}: {err}");
        }
        assert_eq!(blocks(b"\x30\x03\x02\x01\x05", "CERTIFICATE", "c").unwrap(), [vec![0x30, 3, 2, 1, 5]], "DER as it is");
    }
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
