//! `notify:`: where `serve` publishes every revocation as it happens: an MQTT broker and
//! webhooks. Each message carries the revocation's sequence number, so a subscriber that
//! missed some asks `GET /revocations?after=SEQ` for the range.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NotifyConfig {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mqtt: Option<MqttNotify>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub webhooks: Vec<Webhook>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MqttNotify {
    /// `mqtt://HOST:PORT` (MQTT over TLS is not offered yet: keep the broker on a
    /// trusted network, or bridge it).
    pub url: String,
    /// `{issuer}` is replaced by the CA's name.
    #[serde(default = "default_topic")]
    pub topic: String,
    /// 0 (at most once) or 1 (at least once: the next message waits for the broker's ack).
    #[serde(default = "default_qos")]
    pub qos: u8,
    /// The MQTT client id (default `ironpki-` and the host name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
}

fn default_topic() -> String {
    "ironpki/revocations/{issuer}".into()
}

fn default_qos() -> u8 {
    1
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Webhook {
    /// `https://…` (or `http://` on a trusted network): each revocation is POSTed as JSON,
    /// retried until a 2xx answer.
    pub url: String,
    /// A file with a shared secret: each request carries
    /// `X-IronPKI-Signature: sha256=HEX(HMAC-SHA256(secret, body))`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_file: Option<PathBuf>,
    /// The server's roots for `https://` (default: this PKI's roots).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_file: Option<PathBuf>,
}

/// The host and port of an `mqtt://` URL.
pub fn mqtt_endpoint(url: &str) -> Result<(String, u16), String> {
    if url.starts_with("mqtts://") {
        return Err(format!("{url:?}: MQTT over TLS is not supported yet; use mqtt:// on a trusted network"));
    }
    let rest = url.strip_prefix("mqtt://").ok_or_else(|| format!("{url:?} is not an mqtt:// URL"))?;
    let rest = rest.trim_end_matches('/');
    let (host, port) = match rest.rsplit_once(':') {
        Some((h, p)) if !h.ends_with(']') || h.starts_with('[') => {
            (h.trim_start_matches('[').trim_end_matches(']').to_string(), p.parse::<u16>().map_err(|_| format!("{url:?}: bad port {p:?}"))?)
        }
        _ => (rest.trim_start_matches('[').trim_end_matches(']').to_string(), 1883),
    };
    if host.is_empty() || host.contains('/') {
        return Err(format!("{url:?}: no host"));
    }
    Ok((host, port))
}

#[cfg(test)]
mod tests {
    use super::mqtt_endpoint;

    #[test]
    fn mqtt_urls() {
        assert_eq!(mqtt_endpoint("mqtt://127.0.0.1:1883").unwrap(), ("127.0.0.1".into(), 1883));
        assert_eq!(mqtt_endpoint("mqtt://broker.internal").unwrap(), ("broker.internal".into(), 1883));
        assert_eq!(mqtt_endpoint("mqtt://[::1]:1884").unwrap(), ("::1".into(), 1884));
        assert!(mqtt_endpoint("mqtts://broker.internal").unwrap_err().contains("not supported"));
        assert!(mqtt_endpoint("http://x:1").is_err());
        assert!(mqtt_endpoint("mqtt://:1883").is_err());
        assert!(mqtt_endpoint("mqtt://h:port").is_err());
    }
}
