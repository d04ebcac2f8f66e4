use std::process::ExitCode;

use ironpki_authority::{Caller, NewToken};
use ironpki_config::Role;

use super::{actor, duration, Ctx};
use crate::args::{TokenCommand, TokenCreateArgs};
use crate::{fail, output, Failure};

pub fn run(ctx: &Ctx, cmd: TokenCommand) -> Result<ExitCode, Failure> {
    match cmd {
        TokenCommand::Create(args) => create(ctx, args),
        TokenCommand::List => list(ctx),
        TokenCommand::Revoke { id } => {
            ctx.open()?.revoke_token(&Caller::local(&actor()), &id)?;
            if ctx.json {
                return output::json(&serde_json::json!({ "revoked": id })).map(|_| ExitCode::SUCCESS);
            }
            println!("revoked token {id}");
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn create(ctx: &Ctx, args: TokenCreateArgs) -> Result<ExitCode, Failure> {
    let role: Role = args.role.parse().map_err(fail)?;
    let lifetime = args.expires.as_deref().map(|v| duration("--expires", v)).transpose()?;
    let authority = ctx.open()?;
    let spec = NewToken { description: args.description, role, profiles: args.profiles, san_patterns: args.san_patterns, lifetime };
    let (secret, record) = authority.create_token(&Caller::local(&actor()), &spec)?;
    if ctx.json {
        let mut value = serde_json::to_value(&record).map_err(|e| fail(e.to_string()))?;
        value["token"] = serde_json::Value::String(secret.expose().to_string());
        return output::json(&value).map(|_| ExitCode::SUCCESS);
    }
    println!("{}", secret.expose());
    eprintln!("token {} ({}): shown once; send it as Authorization: Bearer <token>", record.id, record.role);
    Ok(ExitCode::SUCCESS)
}

fn list(ctx: &Ctx) -> Result<ExitCode, Failure> {
    let tokens = ctx.open()?.tokens(&Caller::local(&actor()))?;
    if ctx.json {
        return output::json(&tokens).map(|_| ExitCode::SUCCESS);
    }
    let rows: Vec<Vec<String>> = tokens
        .iter()
        .map(|t| {
            let state = match (t.revoked_at, t.expires_at) {
                (Some(at), _) => format!("revoked {}", output::time(at)),
                (None, Some(at)) => format!("expires {}", output::time(at)),
                (None, None) => "no expiry".into(),
            };
            vec![
                t.id.clone(),
                t.role.clone(),
                if t.profiles.is_empty() { "*".into() } else { t.profiles.join(",") },
                if t.san_patterns.is_empty() { "*".into() } else { t.san_patterns.join(",") },
                state,
                t.description.clone(),
            ]
        })
        .collect();
    output::table(&["ID", "ROLE", "PROFILES", "SAN PATTERNS", "STATE", "DESCRIPTION"], &rows);
    Ok(ExitCode::SUCCESS)
}
