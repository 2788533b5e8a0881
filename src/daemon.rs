//! The daemon: one outbox loop per mailbox, one inbox loop per mailbox this replica holds the
//! lease on (see [`crate::replicas`]), and the scheduler, stopped together. Every task logs
//! inside a `replica` span naming this replica.
//!
//! `run` takes the shutdown future, so `main` passes SIGTERM/SIGINT and tests pass whatever they
//! like. On shutdown every loop is cancelled, given `shutdown_grace_secs` to finish its current
//! step (a message's transaction, a send), then aborted.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Result;
use tokio::sync::Notify;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use crate::clock::Clock;
use crate::config::Config;
use crate::intake::Intake;
use crate::outbox::outbox_loop;
use crate::store::Store;

/// Runs until `shutdown` completes.
pub async fn run(config: Config, clock: Clock, shutdown: impl Future<Output = ()>) -> Result<()> {
    let store = Store::open(&config.store.url).await?;
    store.migrate().await?;
    if config.mailboxes.is_empty() {
        anyhow::bail!("no [[mailbox]] is configured: there is nothing to watch");
    }
    // Bound before anything starts, so a taken port fails the start.
    let http = match config.http.listen_addr()? {
        Some(addr) => Some(crate::http::bind(addr).await?),
        None => None,
    };
    let shared_config = Arc::new(config.clone());
    let replica = crate::replicas::replica_id(&config.daemon);
    let span = tracing::info_span!("replica", id = %replica);
    let claim = Duration::from_secs(config.daemon.outbox_claim_secs);
    let cancel = CancellationToken::new();
    let mut tasks = JoinSet::new();
    let mut outbox_wakes = Vec::new();
    let mut intakes = Vec::new();
    let readiness = crate::service::Readiness::new(config.mailboxes.len());
    for mailbox in &config.mailboxes {
        let wake = Arc::new(Notify::new());
        outbox_wakes.push(wake.clone());
        intakes.push(Intake {
            mailbox: mailbox.clone(),
            settings: config.intake.clone(),
            config: shared_config.clone(),
            store: store.clone(),
            clock,
            outbox_wake: wake.clone(),
        });
        tasks.spawn(
            outbox_loop(
                mailbox.clone(),
                store.clone(),
                clock,
                crate::outbox::Claim {
                    holder: replica.clone(),
                    lasts: claim,
                },
                wake,
                cancel.child_token(),
            )
            .instrument(span.clone()),
        );
    }
    tasks.spawn(
        crate::replicas::mailbox_keeper(
            replica.clone(),
            Duration::from_secs(config.daemon.mailbox_lease_secs),
            intakes,
            store.clone(),
            readiness.clone(),
            clock,
            cancel.child_token(),
        )
        .instrument(span.clone()),
    );
    tasks.spawn(
        crate::service::notifier(readiness, store.clone(), cancel.child_token())
            .instrument(span.clone()),
    );
    tasks.spawn(
        crate::scheduler::scheduler_loop(
            shared_config.clone(),
            store.clone(),
            clock,
            outbox_wakes,
            cancel.child_token(),
        )
        .instrument(span.clone()),
    );
    if let Some(listener) = http {
        tasks.spawn(
            crate::http::http_loop(
                listener,
                shared_config.clone(),
                store.clone(),
                cancel.child_token(),
            )
            .instrument(span.clone()),
        );
    }
    tracing::info!(
        replica = %replica,
        mailboxes = config.mailboxes.len(),
        fixed_clock = clock.is_fixed(),
        "clerk running"
    );
    shutdown.await;
    tracing::info!(replica = %replica, "shutting down");
    crate::service::stopping();
    cancel.cancel();
    let grace = Duration::from_secs(config.daemon.shutdown_grace_secs);
    let drained =
        tokio::time::timeout(grace, async { while tasks.join_next().await.is_some() {} }).await;
    if drained.is_err() {
        tracing::warn!("workers did not stop in time; aborting them");
        tasks.abort_all();
        while tasks.join_next().await.is_some() {}
    }
    store.close().await;
    tracing::info!(replica = %replica, "stopped");
    Ok(())
}
