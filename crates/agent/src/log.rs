//! One JSON line per action on stderr: `{"time":…,"level":…,"cert":…,"action":…,…}`.
//! Fields are chosen by the caller; no key, EAB secret or key authorization is ever one.

use std::io::Write;

use serde_json::{Map, Value};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

fn emit(level: &str, cert: &str, action: &str, fields: &[(&str, &str)]) {
    let mut line = Map::new();
    line.insert("time".into(), Value::from(OffsetDateTime::now_utc().format(&Rfc3339).unwrap_or_default()));
    line.insert("level".into(), Value::from(level));
    if !cert.is_empty() {
        line.insert("cert".into(), Value::from(cert));
    }
    line.insert("action".into(), Value::from(action));
    for (k, v) in fields {
        line.insert((*k).into(), Value::from(*v));
    }
    let mut text = Value::Object(line).to_string();
    text.push('\n');
    let _ = std::io::stderr().lock().write_all(text.as_bytes());
}

pub fn info(cert: &str, action: &str, fields: &[(&str, &str)]) {
    emit("info", cert, action, fields);
}

pub fn warn(cert: &str, action: &str, fields: &[(&str, &str)]) {
    emit("warn", cert, action, fields);
}
