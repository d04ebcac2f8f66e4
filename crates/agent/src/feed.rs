//! The revocation feed: notices from `ironpki serve` over MQTT (a persistent session, so
//! the broker keeps what arrives while the agent is away), with the range asked from the
//! server's `/revocations` after a reconnect or a gap in the sequence. A notice naming
//! a certificate in place wakes that certificate's loop, which replaces it at once (a
//! forged notice costs a renewal, nothing more) and asks OCSP for a fresh staple.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rumqttc::{AsyncClient, Event, MqttOptions, Packet, QoS};
use serde::Deserialize;

use crate::agent::Agent;
use crate::config::MqttFeed;
use crate::inspect::{self, OnDisk};
use crate::{fetch, log, state};

#[derive(Deserialize)]
struct Notice {
    seq: i64,
    serial: String,
}

#[derive(Deserialize)]
struct Range {
    revocations: Vec<Notice>,
    last_seq: i64,
}

/// Serials the feed named revoked.
#[derive(Default)]
pub struct Revoked(Mutex<HashSet<String>>);

impl Revoked {
    pub fn contains(&self, serial: &str) -> bool {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).contains(&normal(serial))
    }

    fn insert(&self, serial: &str) {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).insert(normal(serial));
    }
}

/// A hex serial without leading zeros, lower case: the server and the certificate's DER
/// may differ in both.
fn normal(serial: &str) -> String {
    serial.trim_start_matches('0').to_ascii_lowercase()
}

#[derive(serde::Serialize, Deserialize, Default)]
struct Cursor {
    last_seq: Option<i64>,
}

fn cursor_path(agent: &Agent) -> std::path::PathBuf {
    agent.config.state_dir.join("feed.json")
}

fn client_id(agent: &Agent, feed: &MqttFeed) -> String {
    feed.client_id.clone().unwrap_or_else(|| {
        let host = std::fs::read_to_string("/proc/sys/kernel/hostname").map(|h| h.trim().to_string()).unwrap_or_default();
        let dir = agent.config.state_dir.display().to_string();
        let tag = hex::encode(&aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, dir.as_bytes()).as_ref()[..4]);
        format!("ironpki-agent-{host}-{tag}")
    })
}

/// Follows the feed for as long as the agent runs.
pub async fn follow(agent: Arc<Agent>, feed: MqttFeed) {
    let (host, port) = match ironpki_config::mqtt_endpoint(&feed.url) {
        Ok(hp) => hp,
        Err(e) => {
            log::warn("", "feed.failed", &[("error", &e)]);
            return;
        }
    };
    let mut options = MqttOptions::new(client_id(&agent, &feed), host, port);
    options.set_keep_alive(Duration::from_secs(60)).set_clean_session(false);
    let (client, mut eventloop) = AsyncClient::new(options, 8);
    let mut cursor: Cursor = std::fs::read(cursor_path(&agent)).ok().and_then(|b| serde_json::from_slice(&b).ok()).unwrap_or_default();
    let mut connected = false;
    loop {
        match eventloop.poll().await {
            Ok(Event::Incoming(Packet::ConnAck(_))) => {
                connected = true;
                log::info("", "feed.connected", &[("broker", &feed.url)]);
                if let Err(e) = client.subscribe(feed.topic.clone(), QoS::AtLeastOnce).await {
                    log::warn("", "feed.failed", &[("error", &e.to_string())]);
                }
                catch_up(&agent, &feed, &mut cursor).await;
            }
            Ok(Event::Incoming(Packet::SubAck(_))) => log::info("", "feed.subscribed", &[("topic", &feed.topic)]),
            Ok(Event::Incoming(Packet::Publish(p))) => match serde_json::from_slice::<Notice>(&p.payload) {
                Ok(notice) => {
                    let gap = cursor.last_seq.is_some_and(|last| notice.seq > last + 1);
                    if gap {
                        catch_up(&agent, &feed, &mut cursor).await;
                    }
                    if cursor.last_seq.is_none_or(|last| notice.seq > last) {
                        seen(&agent, &notice);
                        advance(&agent, &mut cursor, notice.seq);
                    }
                }
                Err(e) => log::warn("", "feed.unreadable", &[("topic", &p.topic), ("error", &e.to_string())]),
            },
            Ok(_) => {}
            Err(e) => {
                if connected {
                    log::warn("", "feed.disconnected", &[("error", &e.to_string())]);
                }
                connected = false;
                tokio::time::sleep(Duration::from_secs(2)).await;
            }
        }
    }
}

/// Acts on a notice: a certificate in place with that serial is woken.
fn seen(agent: &Agent, notice: &Notice) {
    for (i, cert) in agent.certs.iter().enumerate() {
        if let OnDisk::Present(leaf) = inspect::on_disk(cert) {
            if normal(&leaf.serial) == normal(&notice.serial) {
                log::warn(cert.name(), "feed.revoked", &[("serial", &leaf.serial), ("seq", &notice.seq.to_string())]);
                agent.feed_revoked.insert(&leaf.serial);
                agent.wakers[i].notify_one();
            }
        }
    }
}

fn advance(agent: &Agent, cursor: &mut Cursor, seq: i64) {
    cursor.last_seq = Some(seq);
    if let Ok(text) = serde_json::to_vec(cursor) {
        if let Err(e) = state::write_private(&cursor_path(agent), &text) {
            log::warn("", "feed.cursor_unsaved", &[("error", &e.to_string())]);
        }
    }
}

/// Reads the revocations after the cursor from `range_url`, page by page. With no cursor
/// yet, starts from the server's newest: what came before, OCSP answers for.
async fn catch_up(agent: &Agent, feed: &MqttFeed, cursor: &mut Cursor) {
    let Some(url) = &feed.range_url else { return };
    let client = match fetch::http_client(&agent.config.roots) {
        Ok(c) => c,
        Err(e) => return log::warn("", "feed.range_failed", &[("error", &e.to_string())]),
    };
    loop {
        let after = cursor.last_seq.unwrap_or(i64::MAX / 2);
        let page = match fetch::get(&client, &format!("{url}?after={after}")).await.and_then(|b| serde_json::from_slice::<Range>(&b).map_err(|e| e.to_string())) {
            Ok(p) => p,
            Err(e) => return log::warn("", "feed.range_failed", &[("url", url), ("error", &e)]),
        };
        if cursor.last_seq.is_none() {
            advance(agent, cursor, page.last_seq);
            return;
        }
        let Some(last) = page.revocations.last().map(|n| n.seq) else { return };
        for notice in &page.revocations {
            seen(agent, notice);
        }
        advance(agent, cursor, last);
    }
}
