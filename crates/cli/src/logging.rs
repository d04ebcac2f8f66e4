//! The server's JSON log lines, one object a line:
//! `{"timestamp":…,"level":…,"fields":{"message":…,…},"target":…,"span":{…,"name":…}}`,
//! the shape of tracing-subscriber's JSON format, written straight into the line. That
//! format builds a map of each event's fields and parses the innermost span's fields back
//! from JSON text at every event; the request log line made it about a tenth of the
//! async threads' work under load.

use std::fmt::{self, Write};

use tracing::field::{Field, Visit};
use tracing::{Event, Subscriber};
use tracing_log::NormalizeEvent;
use tracing_subscriber::fmt::format::{JsonFields, Writer};
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormattedFields};
use tracing_subscriber::registry::LookupSpan;

/// Formats events as JSON lines; spans' fields must be recorded as JSON ([`JsonFields`]).
pub struct JsonLines;

impl<S> FormatEvent<S, JsonFields> for JsonLines
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn format_event(&self, ctx: &FmtContext<'_, S, JsonFields>, mut w: Writer<'_>, event: &Event<'_>) -> fmt::Result {
        let normalized = event.normalized_metadata();
        let meta = normalized.as_ref().unwrap_or_else(|| event.metadata());
        w.write_str("{\"timestamp\":\"")?;
        timestamp(&mut w, time::OffsetDateTime::now_utc())?;
        write!(w, "\",\"level\":\"{}\",\"fields\":{{", meta.level())?;
        let mut fields = Fields { w: &mut w, first: true, result: Ok(()) };
        event.record(&mut fields);
        fields.result?;
        w.write_str("},\"target\":")?;
        string(&mut w, meta.target())?;
        if let Some(span) = ctx.lookup_current() {
            w.write_str(",\"span\":{")?;
            let extensions = span.extensions();
            // JsonFields records a span's fields as one JSON object: its members go in as they are
            let recorded = extensions.get::<FormattedFields<JsonFields>>().map(|f| f.fields.as_str()).unwrap_or("");
            let members = recorded.trim().trim_start_matches('{').trim_end_matches('}');
            if !members.is_empty() {
                w.write_str(members)?;
                w.write_char(',')?;
            }
            w.write_str("\"name\":")?;
            string(&mut w, span.name())?;
            w.write_char('}')?;
        }
        w.write_str("}\n")
    }
}

/// RFC 3339 in UTC with microseconds, as `2026-12-05T23:48:57.097555Z`.
fn timestamp(w: &mut impl Write, t: time::OffsetDateTime) -> fmt::Result {
    write!(
        w,
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:06}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        t.microsecond()
    )
}

/// A JSON string: quoted, with `"`, `\` and control characters escaped.
fn string(w: &mut impl Write, s: &str) -> fmt::Result {
    w.write_char('"')?;
    Escaped(w).write_str(s)?;
    w.write_char('"')
}

/// Escapes what is written through it for the inside of a JSON string.
struct Escaped<'a, W: Write>(&'a mut W);

impl<W: Write> Write for Escaped<'_, W> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let mut plain = 0;
        for (i, b) in s.bytes().enumerate() {
            let escape = match b {
                b'"' => "\\\"",
                b'\\' => "\\\\",
                b'\n' => "\\n",
                b'\r' => "\\r",
                b'\t' => "\\t",
                0..=0x1f => "",
                _ => continue,
            };
            self.0.write_str(&s[plain..i])?;
            if escape.is_empty() {
                write!(self.0, "\\u{b:04x}")?;
            } else {
                self.0.write_str(escape)?;
            }
            plain = i + 1;
        }
        self.0.write_str(&s[plain..])
    }
}

/// Writes an event's fields as the members of a JSON object.
struct Fields<'a, W: Write> {
    w: &'a mut W,
    first: bool,
    result: fmt::Result,
}

impl<W: Write> Fields<'_, W> {
    fn member(&mut self, field: &Field, value: impl FnOnce(&mut W) -> fmt::Result) {
        if self.result.is_err() {
            return;
        }
        let sep = if std::mem::take(&mut self.first) { "" } else { "," };
        self.result = self.w.write_str(sep).and_then(|()| string(self.w, field.name())).and_then(|()| self.w.write_char(':')).and_then(|()| value(self.w));
    }
}

impl<W: Write> Visit for Fields<'_, W> {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.member(field, |w| string(w, value));
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.member(field, |w| write!(w, "{value}"));
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.member(field, |w| write!(w, "{value}"));
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.member(field, |w| write!(w, "{value}"));
    }
    fn record_f64(&mut self, field: &Field, value: f64) {
        // JSON has no NaN or infinity
        self.member(field, |w| if value.is_finite() { write!(w, "{value}") } else { w.write_str("null") });
    }
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.member(field, |w| {
            w.write_char('"')?;
            write!(Escaped(w), "{value:?}")?;
            w.write_char('"')
        });
    }
}

#[cfg(test)]
mod tests {
    use std::io;
    use std::sync::{Arc, Mutex};

    use super::*;

    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl io::Write for Captured {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    /// Every line parses as JSON and carries the event's fields, its target and the
    /// innermost span's fields and name; strings are escaped, a non-finite float is null.
    #[test]
    fn lines_are_json_with_the_span() {
        let out = Captured::default();
        let sink = out.clone();
        let subscriber = tracing_subscriber::fmt()
            .fmt_fields(JsonFields::new())
            .event_format(JsonLines)
            .with_writer(move || sink.clone())
            .finish();
        tracing::subscriber::with_default(subscriber, || {
            let span = tracing::info_span!("request", request_id = %"1f-2");
            span.in_scope(|| {
                tracing::info!(method = %"POST", path = "/a \"b\"\n\u{1}", status = 201u64, delta = -3i64, ok = true, ms = 1.5, "request");
            });
            tracing::warn!(ratio = f64::NAN, "outside {}", "any span");
        });
        let text = String::from_utf8(out.0.lock().unwrap().clone()).unwrap();
        let lines: Vec<serde_json::Value> = text.lines().map(|l| serde_json::from_str(l).expect(l)).collect();
        assert_eq!(lines.len(), 2, "{text}");
        let first = &lines[0];
        assert_eq!(first["level"], "INFO");
        assert_eq!(first["target"], module_path!());
        assert_eq!(
            first["fields"],
            serde_json::json!({"message": "request", "method": "POST", "path": "/a \"b\"\n\u{1}", "status": 201, "delta": -3, "ok": true, "ms": 1.5})
        );
        assert_eq!(first["span"], serde_json::json!({"request_id": "1f-2", "name": "request"}));
        let stamp = first["timestamp"].as_str().unwrap();
        assert!(time::OffsetDateTime::parse(stamp, &time::format_description::well_known::Rfc3339).is_ok(), "{stamp}");
        assert_eq!(lines[1]["fields"], serde_json::json!({"message": "outside any span", "ratio": null}));
        assert_eq!(lines[1]["level"], "WARN");
        assert!(lines[1].get("span").is_none());
    }
}
