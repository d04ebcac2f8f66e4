//! The resolver a provisioner validates through: the system's (resolv.conf and the hosts
//! file) or one named `ADDR:PORT`. Answers are never cached, so a record the client has
//! just published is seen at once.

use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};

use hickory_resolver::config::{NameServerConfig, ResolveHosts, ResolverConfig};
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use hickory_resolver::proto::rr::{RData, RecordType};
use hickory_resolver::TokioResolver;
use ironpki_authority::acme_order::ValidationFailure;

use super::STEP;

/// One resolver per setting, built once: building reads resolv.conf and opens sockets.
static BUILT: Mutex<Vec<(String, Arc<TokioResolver>)>> = Mutex::new(Vec::new());

#[derive(Clone)]
pub struct Resolver {
    inner: Arc<TokioResolver>,
}

impl Resolver {
    pub fn for_setting(setting: &str) -> Result<Resolver, ValidationFailure> {
        let mut built = BUILT.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((_, inner)) = built.iter().find(|(s, _)| s == setting) {
            return Ok(Resolver { inner: inner.clone() });
        }
        let inner = Arc::new(build(setting).map_err(|e| ValidationFailure::new("serverInternal", format!("the resolver {setting:?}: {e}")))?);
        built.push((setting.to_string(), inner.clone()));
        Ok(Resolver { inner })
    }

    /// The addresses to connect to for `host`: itself if it is an IP address, else its
    /// A and AAAA records.
    pub async fn addresses(&self, host: &str) -> Result<Vec<IpAddr>, ValidationFailure> {
        if let Ok(ip) = host.trim_start_matches('[').trim_end_matches(']').parse::<IpAddr>() {
            return Ok(vec![ip]);
        }
        let found = self.inner.lookup_ip(fqdn(host)).await.map_err(|e| ValidationFailure::new("dns", format!("looking up the addresses of {host}: {e}")))?;
        let addresses: Vec<IpAddr> = found.iter().collect();
        if addresses.is_empty() {
            return Err(ValidationFailure::new("dns", format!("{host} has no A or AAAA record")));
        }
        Ok(addresses)
    }

    /// The TXT records at `name`, after any CNAMEs, each one string.
    pub async fn txt(&self, name: &str) -> Result<Vec<String>, ValidationFailure> {
        let found = match self.inner.lookup(fqdn(name), RecordType::TXT).await {
            Ok(found) => found,
            Err(e) if e.is_no_records_found() || e.is_nx_domain() => return Ok(Vec::new()),
            Err(e) => return Err(ValidationFailure::new("dns", format!("looking up TXT {name}: {e}"))),
        };
        Ok(found
            .answers()
            .iter()
            .filter_map(|record| match &record.data {
                RData::TXT(txt) => Some(txt.txt_data.iter().map(|part| String::from_utf8_lossy(part)).collect::<String>()),
                _ => None,
            })
            .collect())
    }
}

/// A name with its root dot, so no search domain is tried.
fn fqdn(name: &str) -> String {
    if name.ends_with('.') {
        name.to_string()
    } else {
        format!("{name}.")
    }
}

fn build(setting: &str) -> Result<TokioResolver, String> {
    let mut builder = if setting == "system" {
        TokioResolver::builder_tokio().map_err(|e| e.to_string())?
    } else {
        let addr: SocketAddr = setting.parse().map_err(|_| "not `system` or ADDR:PORT".to_string())?;
        let mut server = NameServerConfig::udp_and_tcp(addr.ip());
        for connection in &mut server.connections {
            connection.port = addr.port();
        }
        let mut builder = TokioResolver::builder_with_config(ResolverConfig::from_name_servers(vec![server]), TokioRuntimeProvider::default());
        builder.options_mut().use_hosts_file = ResolveHosts::Never;
        builder
    };
    let options = builder.options_mut();
    options.cache_size = 0;
    options.timeout = STEP;
    options.attempts = 2;
    options.preserve_intermediates = true;
    builder.build().map_err(|e| e.to_string())
}
