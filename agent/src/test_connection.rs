//! `herald-agent test-connection`: every step from this desktop to the
//! server, each ok or its one-line reason, for the help desk.

use anyhow::Result;
use herald_core::connection_test::{self, Outcome, Report};
use herald_core::SyncError;
use herald_protocol::PushMode;

use crate::commands::{print_json, runtime, Context};

/// Runs the steps and prints them; fails (exit 1) if one failed.
pub fn run(ctx: &Context, json: bool) -> Result<()> {
    let rt = runtime()?;
    let report = rt.block_on(steps(ctx))?;
    if json {
        print_json(&report)?;
    } else {
        for line in report.lines() {
            println!("{line}");
        }
    }
    match report.failed() {
        Some(step) => anyhow::bail!("the connection test failed at {}", step.step),
        None => Ok(()),
    }
}

async fn steps(ctx: &Context) -> Result<Report> {
    let server = ctx.server.clone().ok_or(SyncError::NoServer)?;
    let mut report = connection_test::reach(&server, ctx.server_ca.as_ref()).await;
    if report.failed().is_some() {
        for step in ["token", "poll", "push"] {
            report.add(step, Outcome::Skipped(String::new()));
        }
        return Ok(report);
    }
    // The poll is a real one, stored as `sync` stores it: a poll whose
    // answer were dropped would tell the server the agent holds messages
    // it never kept.
    let store = ctx.store_handle()?;
    let sign_in = ctx.sign_in()?;
    let polled = async {
        let client = sign_in.client(&store).await?;
        let applied = sign_in.sync_renewing(&store, &client).await.0?;
        Ok::<_, SyncError>((client, applied))
    }
    .await;
    let client = match polled {
        Ok((client, applied)) => {
            report.add("token", Outcome::Ok("accepted".into()));
            report.add(
                "poll",
                Outcome::Ok(format!(
                    "{} received, {} stopped, {} receipts sent",
                    applied.received, applied.stopped, applied.receipts_sent
                )),
            );
            client
        }
        Err(
            e @ (SyncError::Unauthorized
            | SyncError::NoToken
            | SyncError::EnrollRefused(_)
            | SyncError::KerberosRefused(_)
            | SyncError::Kerberos(_)),
        ) => {
            report.add("token", Outcome::Failed(e.to_string()));
            report.add("poll", Outcome::Skipped(String::new()));
            report.add("push", Outcome::Skipped(String::new()));
            return Ok(report);
        }
        Err(e) => {
            report.add(
                "token",
                Outcome::Skipped("not known: the poll failed first".into()),
            );
            report.add("poll", Outcome::Failed(e.to_string()));
            report.add("push", Outcome::Skipped(String::new()));
            return Ok(report);
        }
    };
    let state = store.read(|s| s.sync_state()).await?;
    let push = match state.push_mode {
        PushMode::Stream => connection_test::stream(client.endpoint()).await,
        PushMode::Inbound => connection_test::listener(ctx.push_listen.as_deref()).await,
        PushMode::Off => Outcome::Ok(format!(
            "off: the server asks for a poll every {} s",
            state.poll_interval_secs.unwrap_or_default()
        )),
    };
    report.add("push", push);
    if let Some(w) = state.version_warning {
        eprintln!("herald-agent: warning: {w}");
    }
    Ok(report)
}
