use std::process::ExitCode;

use super::Ctx;
use crate::{output, Failure};

/// Opening the store applies pending migrations (serialized across processes by the
/// engine); this reports the version reached.
pub fn run(ctx: &Ctx) -> Result<ExitCode, Failure> {
    let authority = ctx.open()?;
    let version = authority.schema_version()?;
    let engine = if authority.config.store.postgres.is_some() { "postgres" } else { "sqlite" };
    if ctx.json {
        return output::json(&serde_json::json!({ "engine": engine, "schema_version": version })).map(|_| ExitCode::SUCCESS);
    }
    println!("{engine} store at schema version {version}");
    Ok(ExitCode::SUCCESS)
}
