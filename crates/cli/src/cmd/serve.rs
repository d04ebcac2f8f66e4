use std::io::{IsTerminal, Write};
use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;

use super::Ctx;
use crate::args::ServeArgs;
use crate::{fail, Failure};

/// Threads for signing and store calls. Signing is CPU-bound: more threads than a few per
/// core only add context switches; PostgreSQL round trips want some to wait on.
const BLOCKING_THREADS: usize = 8;

pub fn run(ctx: &Ctx, args: ServeArgs) -> Result<ExitCode, Failure> {
    init_logging();
    let authority = ctx.open_as(&format!("serve:{}", ironpki_server::replica_id()))?;
    let listen = args.http_listen.unwrap_or_else(|| authority.config.serve.http_listen.clone());
    let addr: SocketAddr = listen.parse().map_err(|_| fail(format!("--http-listen {listen:?} is not an address such as 127.0.0.1:8080")))?;
    let tls_listen = args.https_listen.unwrap_or_else(|| authority.config.serve.https_listen.clone());
    let tls_addr: SocketAddr =
        tls_listen.parse().map_err(|_| fail(format!("--https-listen {tls_listen:?} is not an address such as 127.0.0.1:8443")))?;
    let passphrase = ctx.passphrase(false)?;
    for ca in authority.public_cas()? {
        if ca.key_offline {
            let responder = authority.load_ceremony_responder(&ca.name, &passphrase)?;
            tracing::info!(ca = ca.name, ceremony_ocsp_responder = responder, "key offline: its CRLs come from key ceremonies (`ca sign-crl`)");
            continue;
        }
        if ca.status != "active" {
            tracing::warn!(ca = ca.name, status = ca.status, "CA not active: it signs nothing here");
            continue;
        }
        authority.unlock(&ca.name, &passphrase)?;
    }
    if authority.config.acme.provisioners.iter().any(|p| p.eab) {
        authority.unlock_acme_eab(&passphrase)?;
    }
    drop(passphrase);
    let authority = Arc::new(authority);
    // The store is dropped here, after the runtime: a PostgreSQL client must not be
    // dropped on an async thread.
    let store_owner = authority.clone();

    let runtime = tokio::runtime::Builder::new_multi_thread().max_blocking_threads(BLOCKING_THREADS).enable_all().build().map_err(|e| Failure(e.to_string(), 3))?;
    let served = runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(addr).await.map_err(|e| fail(format!("cannot listen on {addr}: {e}")))?;
        let tls_listener =
            tokio::net::TcpListener::bind(tls_addr).await.map_err(|e| fail(format!("cannot listen on {tls_addr}: {e}")))?;
        let bound = listener.local_addr().map_err(|e| Failure(e.to_string(), 3))?;
        let tls_bound = tls_listener.local_addr().map_err(|e| Failure(e.to_string(), 3))?;
        tracing::info!(http = %bound, https = %tls_bound, "serving the API over HTTPS; CRLs, CA certificates and OCSP over HTTP");
        let ready = async move {
            println!("listening on http://{bound}");
            println!("listening on https://{tls_bound}");
            std::io::stdout().flush().ok();
        };
        ironpki_server::serve(authority, listener, Some(tls_listener), ready, shutdown_signal())
            .await
            .map_err(|e| Failure(e.to_string(), 3))
    });
    drop(runtime);
    drop(store_owner);
    served?;
    Ok(ExitCode::SUCCESS)
}

async fn shutdown_signal() {
    let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
        Ok(s) => s,
        Err(_) => return std::future::pending().await,
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {},
        _ = term.recv() => {},
    }
    tracing::info!("shutting down");
}

/// Logs to stderr: human-readable on a terminal, JSON lines otherwise (crate::logging).
/// `RUST_LOG` filters. A JSON line names its innermost span (the request and its id).
fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info,postgres=warn,tokio_postgres=warn".into());
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    if std::io::stderr().is_terminal() {
        builder.init();
    } else {
        builder.fmt_fields(tracing_subscriber::fmt::format::JsonFields::new()).event_format(crate::logging::JsonLines).init();
    }
}
