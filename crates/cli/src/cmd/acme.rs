use std::process::ExitCode;

use super::{duration, Ctx};
use crate::args::{AcmeCommand, EabCommand};
use crate::{output, Failure};

pub fn run(ctx: &Ctx, cmd: AcmeCommand) -> Result<ExitCode, Failure> {
    let AcmeCommand::Eab(cmd) = cmd;
    let authority = ctx.open()?;
    match cmd {
        EabCommand::Create { provisioner, expires } => {
            let lifetime = expires.as_deref().map(|v| duration("--expires", v)).transpose()?;
            let made = authority.create_eab_key(&ctx.caller(), &provisioner, lifetime, &ctx.passphrase(false)?)?;
            if ctx.json {
                let mut value = serde_json::to_value(&made.key).map_err(|e| Failure(e.to_string(), 3))?;
                value["hmac_key"] = serde_json::Value::String(made.hmac_key.to_string());
                return output::json(&value).map(|_| ExitCode::SUCCESS);
            }
            println!("kid       {}", made.key.kid);
            println!("hmac_key  {}", made.hmac_key.as_str());
            eprintln!("shown once; give both to the ACME client (certbot --eab-kid/--eab-hmac-key, lego --kid/--hmac)");
        }
        EabCommand::List => {
            let keys = authority.eab_keys(&ctx.caller())?;
            if ctx.json {
                return output::json(&keys).map(|_| ExitCode::SUCCESS);
            }
            let rows: Vec<Vec<String>> = keys
                .iter()
                .map(|k| {
                    let state = match (&k.account_id, k.revoked_at, k.expires_at) {
                        (_, Some(at), _) => format!("revoked {}", output::time(at)),
                        (Some(account), None, _) => format!("bound to account {account}"),
                        (None, None, Some(at)) => format!("unused, expires {}", output::time(at)),
                        (None, None, None) => "unused".into(),
                    };
                    vec![k.kid.clone(), k.provisioner.clone(), output::time(k.created_at), state]
                })
                .collect();
            output::table(&["KID", "PROVISIONER", "CREATED", "STATE"], &rows);
        }
        EabCommand::Revoke { kid } => {
            authority.revoke_eab_key(&ctx.caller(), &kid)?;
            if ctx.json {
                return output::json(&serde_json::json!({ "revoked": kid })).map(|_| ExitCode::SUCCESS);
            }
            println!("revoked EAB key {kid}");
        }
    }
    Ok(ExitCode::SUCCESS)
}
