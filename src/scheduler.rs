//! The scheduler: work that is due at a time rather than on a mail (approval nudges and
//! deadline notices, action reminders and digests). The daemon runs every job each
//! `daemon.tick_secs`; `clerk tick` runs them once.
//!
//! A job decides from the store and the clock what is due now and queues its mail under a
//! dedupe key naming the occasion (e.g. `nudge:<meeting>:<approver>`), in the transaction that
//! records it. So a second run, a restart, or two replicas ticking at once never send a mail
//! twice, and a tick missed while the daemon was down is made up at the next one.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Result;
use chrono::{DateTime, Utc};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::clock::Clock;
use crate::config::Config;
use crate::store::Store;

/// What every job gets.
pub struct Context<'a> {
    pub config: &'a Config,
    pub store: &'a Store,
    pub now: DateTime<Utc>,
    /// Only report what would be sent; queue nothing.
    pub dry_run: bool,
}

/// One thing a job did or would do, for logs and `clerk tick --dry-run`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Done {
    pub job: &'static str,
    pub what: String,
}

/// Runs every job once.
pub async fn run_once(ctx: &Context<'_>) -> Result<Vec<Done>> {
    let mut done = Vec::new();
    // Each job is an `async fn run_due(&Context) -> Result<Vec<Done>>`.
    done.extend(crate::approval::run_due(ctx).await?);
    done.extend(crate::reminders::run_due(ctx).await?);
    Ok(done)
}

/// Runs the jobs every `daemon.tick_secs` until cancelled, waking the outbox loops when mail
/// was queued. A failing tick is logged and retried at the next.
pub async fn scheduler_loop(
    config: Arc<Config>,
    store: Store,
    clock: Clock,
    outbox_wakes: Vec<Arc<Notify>>,
    cancel: CancellationToken,
) {
    let period = Duration::from_secs(config.daemon.tick_secs);
    loop {
        let ctx = Context {
            config: &config,
            store: &store,
            now: clock.now(),
            dry_run: false,
        };
        match run_once(&ctx).await {
            Ok(done) if !done.is_empty() => {
                for d in &done {
                    tracing::info!(job = d.job, what = %d.what, "scheduled work done");
                }
                outbox_wakes.iter().for_each(|w| w.notify_one());
            }
            Ok(_) => {}
            Err(e) => {
                tracing::warn!(error = %format!("{e:#}"), "scheduled work failed; retrying at the next tick")
            }
        }
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = tokio::time::sleep(period) => {}
        }
    }
}
