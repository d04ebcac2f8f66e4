//! `agent status`: each certificate's files, expiry, failures and next action, from the
//! files themselves and the state the running agent records.

use serde::Serialize;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use crate::config::Loaded;
use crate::inspect::{self, OnDisk};
use crate::{state, Error};

#[derive(Serialize)]
struct Row {
    name: String,
    /// `ok`, `missing`, `broken`, `expired` or `failing`.
    state: &'static str,
    serial: Option<String>,
    not_after: Option<String>,
    detail: Option<String>,
    consecutive_failures: u32,
    last_error: Option<String>,
    last_renewal: Option<String>,
    renewal_window: Option<(String, String)>,
    next_action: Option<String>,
    next_action_at: Option<String>,
}

fn rfc3339(t: i64) -> String {
    OffsetDateTime::from_unix_timestamp(t).ok().and_then(|t| t.format(&Rfc3339).ok()).unwrap_or_else(|| t.to_string())
}

pub fn print(loaded: &Loaded, json: bool) -> Result<(), Error> {
    let now = OffsetDateTime::now_utc();
    let rows: Vec<Row> = loaded
        .certs
        .iter()
        .map(|cert| {
            let st = state::load(&loaded.agent.state_dir, cert.name());
            let (mut state, serial, not_after, detail) = match inspect::on_disk(cert) {
                OnDisk::Present(l) if !l.valid_at(now) => ("expired", Some(l.serial.clone()), Some(l.not_after.unix_timestamp()), None),
                OnDisk::Present(l) => ("ok", Some(l.serial.clone()), Some(l.not_after.unix_timestamp()), None),
                OnDisk::Missing(m) => ("missing", None, None, Some(m)),
                OnDisk::Broken(m) => ("broken", None, None, Some(m)),
            };
            if state == "ok" && st.consecutive_failures > 0 {
                state = "failing";
            }
            let window = st.ari.as_ref().filter(|a| Some(&a.serial) == serial.as_ref()).and_then(|a| a.window).map(|(s, e)| (rfc3339(s), rfc3339(e)));
            Row {
                name: cert.name().to_string(),
                state,
                serial,
                not_after: not_after.map(rfc3339),
                detail,
                consecutive_failures: st.consecutive_failures,
                last_error: st.last_error.clone(),
                last_renewal: st.last_renewal.map(rfc3339),
                renewal_window: window,
                next_action: st.next.as_ref().map(|n| n.action.clone()),
                next_action_at: st.next.as_ref().map(|n| rfc3339(n.at)),
            }
        })
        .collect();
    if json {
        let text = serde_json::to_string_pretty(&rows).map_err(|e| Error::Runtime(e.to_string()))?;
        println!("{text}");
        return Ok(());
    }
    println!("{:<20} {:<8} {:<26} {:<21} {:<8} NEXT", "NAME", "STATE", "SERIAL", "NOT AFTER", "FAILURES");
    for r in &rows {
        let serial: String = r.serial.clone().unwrap_or_else(|| "-".into()).chars().take(24).collect();
        let next = match (&r.next_action, &r.next_action_at) {
            (Some(a), Some(t)) => format!("{a} at {t}"),
            _ => "-".into(),
        };
        println!("{:<20} {:<8} {:<26} {:<21} {:<8} {next}", r.name, r.state, serial, r.not_after.clone().unwrap_or_else(|| "-".into()), r.consecutive_failures);
        for extra in [&r.detail, &r.last_error].into_iter().flatten() {
            println!("{:<20} {extra}", "");
        }
    }
    Ok(())
}
