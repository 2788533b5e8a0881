//! The daemon: one inbox loop and one outbox loop per mailbox, and the scheduler, stopped
//! together.
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

use crate::clock::Clock;
use crate::config::Config;
use crate::inbox::inbox_loop;
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
    let cancel = CancellationToken::new();
    let mut tasks = JoinSet::new();
    let mut outbox_wakes = Vec::new();
    let readiness = crate::service::Readiness::new(config.mailboxes.len());
    for mailbox in &config.mailboxes {
        let wake = Arc::new(Notify::new());
        outbox_wakes.push(wake.clone());
        let intake = Intake {
            mailbox: mailbox.clone(),
            settings: config.intake.clone(),
            config: shared_config.clone(),
            store: store.clone(),
            clock,
            outbox_wake: wake.clone(),
        };
        tasks.spawn(inbox_loop(intake, readiness.clone(), cancel.child_token()));
        tasks.spawn(outbox_loop(
            mailbox.clone(),
            store.clone(),
            clock,
            wake,
            cancel.child_token(),
        ));
    }
    tasks.spawn(crate::service::notifier(
        readiness,
        store.clone(),
        cancel.child_token(),
    ));
    tasks.spawn(crate::scheduler::scheduler_loop(
        shared_config.clone(),
        store.clone(),
        clock,
        outbox_wakes,
        cancel.child_token(),
    ));
    if let Some(listener) = http {
        tasks.spawn(crate::http::http_loop(
            listener,
            shared_config.clone(),
            store.clone(),
            cancel.child_token(),
        ));
    }
    tracing::info!(
        mailboxes = config.mailboxes.len(),
        fixed_clock = clock.is_fixed(),
        "clerk running"
    );
    shutdown.await;
    tracing::info!("shutting down");
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
    tracing::info!("stopped");
    Ok(())
}
