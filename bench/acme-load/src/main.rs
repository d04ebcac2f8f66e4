//! Complete ACME issuances under load, for bench/acme.sh: CLIENTS accounts (created before
//! timing), each looping new order for one DNS name → http-01 (answered by a responder in
//! this process on RESPONDER) → finalize → download, for SECONDS after WARMUP. Prints one
//! JSON object: orders, errors, orders a second, and the latency of every ACME request.

use std::collections::HashMap;
use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use clap::Parser;
use http_body_util::Full;
use hyper::{Request, Response};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioIo};
use instant_acme::{Account, AuthorizationStatus, BodyWrapper, BytesResponse, ChallengeType, HttpClient, Identifier, NewAccount, NewOrder, OrderStatus, RetryPolicy};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::CertificateDer;

#[derive(Parser)]
struct Args {
    /// The ACME directory URL.
    #[arg(long)]
    directory: String,
    /// PEM roots the server's HTTPS certificate chains to.
    #[arg(long)]
    roots: PathBuf,
    #[arg(long, default_value_t = 4)]
    clients: usize,
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// Seconds of load before measuring.
    #[arg(long, default_value_t = 2)]
    warmup: u64,
    /// Where the http-01 responder listens (the server validates there).
    #[arg(long)]
    responder: SocketAddr,
    /// Each client orders `cN.DOMAIN`.
    #[arg(long, default_value = "svc.internal")]
    domain: String,
    /// The server's process: its CPU time over the measured window is reported.
    #[arg(long)]
    server_pid: Option<u32>,
    /// Clock ticks a second in /proc/PID/stat (`getconf CLK_TCK`).
    #[arg(long, default_value_t = 100)]
    clk_tck: u64,
}

/// User plus system CPU seconds of process `pid`, all its threads.
fn cpu_seconds(pid: u32, clk_tck: u64) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let fields: Vec<&str> = stat.rsplit_once(") ")?.1.split(' ').collect();
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    Some(ticks as f64 / clk_tck as f64)
}

/// Request latencies (microseconds) and failures, counted while `measuring`.
#[derive(Default)]
struct Stats {
    measuring: AtomicBool,
    latencies: Mutex<Vec<u32>>,
    failed_requests: AtomicU64,
}

type Inner = Client<hyper_rustls::HttpsConnector<HttpConnector>, BodyWrapper<Bytes>>;

/// instant-acme's HTTP client, timing each request to its response headers.
struct Timed {
    inner: Inner,
    stats: Arc<Stats>,
}

impl HttpClient for Timed {
    fn request(&self, req: Request<BodyWrapper<Bytes>>) -> Pin<Box<dyn Future<Output = Result<BytesResponse, instant_acme::Error>> + Send>> {
        let started = Instant::now();
        let fut = HttpClient::request(&self.inner, req);
        let stats = self.stats.clone();
        Box::pin(async move {
            let response = fut.await;
            if stats.measuring.load(Ordering::Relaxed) {
                let failed = response.as_ref().map_or(true, |r| r.parts.status.is_server_error());
                if failed {
                    stats.failed_requests.fetch_add(1, Ordering::Relaxed);
                }
                let micros = u32::try_from(started.elapsed().as_micros()).unwrap_or(u32::MAX);
                stats.latencies.lock().unwrap_or_else(|e| e.into_inner()).push(micros);
            }
            response
        })
    }
}

fn http_client(roots: &PathBuf, stats: Arc<Stats>) -> Result<Timed, String> {
    let mut store = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter(roots).map_err(|e| format!("{}: {e}", roots.display()))? {
        store.add(cert.map_err(|e| e.to_string())?).map_err(|e| e.to_string())?;
    }
    let tls = rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::aws_lc_rs::default_provider()))
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_root_certificates(store)
        .with_no_client_auth();
    let connector = hyper_rustls::HttpsConnectorBuilder::new().with_tls_config(tls).https_only().enable_http1().build();
    let mut builder = Client::builder(TokioExecutor::new());
    builder.pool_max_idle_per_host(4);
    Ok(Timed { inner: builder.build(connector), stats })
}

type Tokens = Arc<Mutex<HashMap<String, String>>>;

/// Answers `/.well-known/acme-challenge/TOKEN` with the key authorization.
async fn responder(addr: SocketAddr, tokens: Tokens) -> Result<(), String> {
    let listener = tokio::net::TcpListener::bind(addr).await.map_err(|e| format!("responder on {addr}: {e}"))?;
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let tokens = tokens.clone();
            tokio::spawn(async move {
                let service = hyper::service::service_fn(move |req: Request<hyper::body::Incoming>| {
                    let token = req.uri().path().rsplit('/').next().unwrap_or_default().to_string();
                    let answer = tokens.lock().unwrap_or_else(|e| e.into_inner()).get(&token).cloned();
                    async move {
                        Ok::<_, Infallible>(match answer {
                            Some(body) => Response::new(Full::new(Bytes::from(body))),
                            None => Response::builder().status(404).body(Full::new(Bytes::new())).unwrap_or_default(),
                        })
                    }
                });
                let _ = hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(stream), service).await;
            });
        }
    });
    Ok(())
}

async fn one_order(account: &Account, name: &str, tokens: &Tokens) -> Result<(), String> {
    let identifiers = [Identifier::Dns(name.to_string())];
    let mut order = account.new_order(&NewOrder::new(&identifiers)).await.map_err(|e| format!("newOrder: {e}"))?;
    let mut placed = Vec::new();
    let mut authorizations = order.authorizations();
    while let Some(authz) = authorizations.next().await {
        let mut authz = authz.map_err(|e| format!("authorization: {e}"))?;
        if authz.status == AuthorizationStatus::Valid {
            continue;
        }
        let mut challenge = authz.challenge(ChallengeType::Http01).ok_or("no http-01 challenge")?;
        tokens.lock().unwrap_or_else(|e| e.into_inner()).insert(challenge.token.clone(), challenge.key_authorization().as_str().to_string());
        placed.push(challenge.token.clone());
        challenge.set_ready().await.map_err(|e| format!("challenge: {e}"))?;
    }
    let retries = RetryPolicy::new().initial_delay(Duration::from_millis(5)).backoff(1.5).timeout(Duration::from_secs(30));
    let status = order.poll_ready(&retries).await.map_err(|e| format!("polling the order: {e}"))?;
    tokens.lock().unwrap_or_else(|e| e.into_inner()).retain(|t, _| !placed.contains(t));
    if status != OrderStatus::Ready {
        return Err(format!("order {status:?}"));
    }
    order.finalize().await.map_err(|e| format!("finalize: {e}"))?;
    order.poll_certificate(&retries).await.map_err(|e| format!("certificate: {e}"))?;
    Ok(())
}

fn percentile(sorted: &[u32], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1;
    f64::from(sorted[i]) / 1000.0
}

#[tokio::main]
async fn main() -> Result<(), String> {
    let args = Args::parse();
    let stats = Arc::new(Stats::default());
    let tokens: Tokens = Arc::default();
    responder(args.responder, tokens.clone()).await?;
    let mut accounts = Vec::new();
    for _ in 0..args.clients {
        let http = http_client(&args.roots, stats.clone())?;
        let new = NewAccount { contact: &[], terms_of_service_agreed: true, only_return_existing: false };
        let (account, _) = Account::builder_with_http(Box::new(http)).create(&new, args.directory.clone(), None).await.map_err(|e| format!("newAccount: {e}"))?;
        accounts.push(account);
    }
    let done = Arc::new(AtomicU64::new(0));
    let errors = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let mut tasks = Vec::new();
    for (i, account) in accounts.into_iter().enumerate() {
        let (done, errors, stop, stats, tokens) = (done.clone(), errors.clone(), stop.clone(), stats.clone(), tokens.clone());
        let name = format!("c{i}.{}", args.domain);
        tasks.push(tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                let outcome = one_order(&account, &name, &tokens).await;
                if stats.measuring.load(Ordering::Relaxed) {
                    match outcome {
                        Ok(()) => done.fetch_add(1, Ordering::Relaxed),
                        Err(e) => {
                            if errors.fetch_add(1, Ordering::Relaxed) < 3 {
                                eprintln!("acme-load: {e}");
                            }
                            0
                        }
                    };
                }
            }
        }));
    }
    tokio::time::sleep(Duration::from_secs(args.warmup)).await;
    stats.measuring.store(true, Ordering::Relaxed);
    let cpu_before = args.server_pid.and_then(|pid| cpu_seconds(pid, args.clk_tck));
    let own_before = cpu_seconds(std::process::id(), args.clk_tck);
    let started = Instant::now();
    tokio::time::sleep(Duration::from_secs(args.seconds)).await;
    stats.measuring.store(false, Ordering::Relaxed);
    let elapsed = started.elapsed().as_secs_f64();
    let orders = done.load(Ordering::Relaxed);
    let cpu_after = args.server_pid.and_then(|pid| cpu_seconds(pid, args.clk_tck));
    let server_cpu = cpu_before.zip(cpu_after).map(|(b, a)| a - b);
    let own_cpu = own_before.zip(cpu_seconds(std::process::id(), args.clk_tck)).map(|(b, a)| a - b);
    stop.store(true, Ordering::Relaxed);
    let finishing = async {
        for task in tasks {
            let _ = task.await;
        }
    };
    let _ = tokio::time::timeout(Duration::from_secs(35), finishing).await;
    let mut latencies = std::mem::take(&mut *stats.latencies.lock().unwrap_or_else(|e| e.into_inner()));
    latencies.sort_unstable();
    let report = serde_json::json!({
        "clients": args.clients,
        "seconds": elapsed,
        "orders": orders,
        "errors": errors.load(Ordering::Relaxed),
        "failed_requests": stats.failed_requests.load(Ordering::Relaxed),
        "orders_per_s": orders as f64 / elapsed,
        "requests": latencies.len(),
        "p50_ms": percentile(&latencies, 0.50),
        "p99_ms": percentile(&latencies, 0.99),
        "max_ms": percentile(&latencies, 1.0),
        "server_cpu_s": server_cpu,
        "server_cpu_ms_per_order": server_cpu.filter(|_| orders > 0).map(|c| c * 1000.0 / orders as f64),
        "client_cpu_ms_per_order": own_cpu.filter(|_| orders > 0).map(|c| c * 1000.0 / orders as f64),
    });
    println!("{report}");
    Ok(())
}
