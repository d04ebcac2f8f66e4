//! `--metrics-listen ADDR`: Prometheus text at `/metrics`, read from the certificates in
//! place and the agent's state when scraped (nothing is kept in memory for it).

use std::convert::Infallible;
use std::fmt::Write;
use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::Full;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use time::OffsetDateTime;
use tokio::net::TcpListener;

use crate::agent::Agent;
use crate::inspect::{self, OnDisk};
use crate::{log, state, Error};

pub async fn serve(agent: Arc<Agent>, addr: SocketAddr) -> Result<(), Error> {
    let listener = TcpListener::bind(addr).await.map_err(|e| Error::Runtime(format!("metrics listener on {addr}: {e}")))?;
    let local = listener.local_addr().map(|a| a.to_string()).unwrap_or_default();
    log::info("", "metrics.listening", &[("address", &local)]);
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let agent = agent.clone();
            tokio::spawn(async move {
                let service = hyper::service::service_fn(move |req: Request<hyper::body::Incoming>| {
                    let agent = agent.clone();
                    async move {
                        let mut response = if req.uri().path() == "/metrics" {
                            let mut r = Response::new(Full::new(Bytes::from(render(&agent))));
                            r.headers_mut().insert("content-type", hyper::header::HeaderValue::from_static("text/plain; version=0.0.4"));
                            r
                        } else {
                            Response::new(Full::new(Bytes::from_static(b"not found\n")))
                        };
                        if req.uri().path() != "/metrics" {
                            *response.status_mut() = StatusCode::NOT_FOUND;
                        }
                        Ok::<_, Infallible>(response)
                    }
                });
                let _ = hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(stream), service).await;
            });
        }
    });
    Ok(())
}

fn label(name: &str) -> String {
    name.replace('\\', "\\\\").replace('"', "\\\"")
}

/// The metrics text.
pub fn render(agent: &Agent) -> String {
    let now = OffsetDateTime::now_utc().unix_timestamp();
    let mut families: [(&str, &str, &str, String); 6] = [
        ("ironpki_agent_certificate_expiry_timestamp_seconds", "gauge", "notAfter of the certificate in place", String::new()),
        ("ironpki_agent_certificate_valid", "gauge", "1 when a matching, currently valid pair is in place", String::new()),
        ("ironpki_agent_last_renewal_timestamp_seconds", "gauge", "When the last renewal succeeded", String::new()),
        ("ironpki_agent_renewal_failures", "gauge", "Failed renewals in a row (0 after a success)", String::new()),
        ("ironpki_agent_ocsp_staple_age_seconds", "gauge", "Age of the OCSP answer in place (since its thisUpdate)", String::new()),
        ("ironpki_agent_next_action_timestamp_seconds", "gauge", "When the agent next looks at the certificate", String::new()),
    ];
    for cert in &agent.certs {
        let st = state::load(&agent.config.state_dir, cert.name());
        let l = label(cert.name());
        let leaf = match inspect::on_disk(cert) {
            OnDisk::Present(leaf) => Some(leaf),
            _ => None,
        };
        let valid = leaf.as_ref().is_some_and(|c| c.valid_at(OffsetDateTime::now_utc()));
        if let Some(leaf) = &leaf {
            let _ = writeln!(families[0].3, "{}{{name=\"{l}\"}} {}", families[0].0, leaf.not_after.unix_timestamp());
        }
        let _ = writeln!(families[1].3, "{}{{name=\"{l}\"}} {}", families[1].0, u8::from(valid));
        if let Some(t) = st.last_renewal {
            let _ = writeln!(families[2].3, "{}{{name=\"{l}\"}} {t}", families[2].0);
        }
        let _ = writeln!(families[3].3, "{}{{name=\"{l}\"}} {}", families[3].0, st.consecutive_failures);
        let staple_this_update = st.staple.as_ref().filter(|s| leaf.as_ref().is_some_and(|c| c.serial == s.serial)).and_then(|s| s.this_update);
        if let Some(t) = staple_this_update {
            let _ = writeln!(families[4].3, "{}{{name=\"{l}\"}} {}", families[4].0, (now - t).max(0));
        }
        if let Some(n) = &st.next {
            let _ = writeln!(families[5].3, "{}{{name=\"{l}\"}} {}", families[5].0, n.at);
        }
    }
    let mut out = String::new();
    for (name, kind, help, samples) in families.iter_mut() {
        let _ = write!(out, "# HELP {name} {help}\n# TYPE {name} {kind}\n{samples}");
    }
    out
}
