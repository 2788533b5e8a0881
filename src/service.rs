//! What systemd hears from Clerk (sd_notify, for `Type=notify`): READY=1 once the database is
//! migrated and every mailbox has logged in and selected its folder; STATUS= lines with what
//! the daemon is doing; WATCHDOG=1 at half the watchdog interval while the store answers; and
//! STOPPING=1 at shutdown. Without NOTIFY_SOCKET (not under systemd) every call is a no-op.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sd_notify::NotifyState;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::store::Store;

/// Counts the mailboxes that are being watched, to tell systemd when all of them are (all that
/// this replica holds a lease on, once the first lease round has said how many).
#[derive(Debug)]
pub struct Readiness {
    expected: std::sync::atomic::AtomicUsize,
    watching: Mutex<HashSet<String>>,
    all: Notify,
}

impl Readiness {
    pub fn new(expected: usize) -> Arc<Readiness> {
        Arc::new(Readiness {
            expected: expected.into(),
            watching: Mutex::new(HashSet::new()),
            all: Notify::new(),
        })
    }

    /// A mailbox has logged in and selected its folder.
    pub fn watching(&self, mailbox: &str) {
        let mut watching = self.watching.lock().unwrap_or_else(|e| e.into_inner());
        if watching.insert(mailbox.to_string()) && watching.len() == self.expected() {
            // notify_one stores a permit, so a waiter that comes later still wakes.
            self.all.notify_one();
        }
    }

    /// The mailboxes watched at some point in this process.
    fn names(&self) -> Vec<String> {
        let watching = self.watching.lock().unwrap_or_else(|e| e.into_inner());
        watching.iter().cloned().collect()
    }

    /// Sets how many mailboxes this replica watches (its leases), which may be fewer than all.
    pub fn expect(&self, mailboxes: usize) {
        let watching = self.watching.lock().unwrap_or_else(|e| e.into_inner());
        let before = self
            .expected
            .swap(mailboxes, std::sync::atomic::Ordering::SeqCst);
        if before != mailboxes && watching.len() >= mailboxes {
            self.all.notify_one();
        }
    }

    fn expected(&self) -> usize {
        self.expected.load(std::sync::atomic::Ordering::SeqCst)
    }

    async fn all_watching(&self) {
        self.all.notified().await;
    }
}

fn send(states: &[NotifyState<'_>]) {
    if let Err(e) = sd_notify::notify(states) {
        tracing::warn!(error = %e, "could not notify systemd");
    }
}

/// Tells systemd the daemon is ready once every mailbox is watched, then keeps the watchdog
/// fed and the status line current until cancelled.
pub async fn notifier(readiness: Arc<Readiness>, store: Store, cancel: CancellationToken) {
    tokio::select! {
        _ = cancel.cancelled() => return,
        _ = readiness.all_watching() => {}
    }
    let ready_status = format!("watching {} mailbox(es)", readiness.expected());
    send(&[NotifyState::Ready, NotifyState::Status(&ready_status)]);
    tracing::info!("ready");
    let watchdog = sd_notify::watchdog_enabled();
    let period = watchdog
        .map(|w| w / 2)
        .unwrap_or(Duration::from_secs(30))
        .clamp(Duration::from_millis(100), Duration::from_secs(30));
    loop {
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = tokio::time::sleep(period) => {}
        }
        // `clerk status`, run as another process, believes a connected row only while this
        // keeps vouching for it.
        if let Err(e) = store.heartbeat(&readiness.names()).await {
            tracing::warn!(error = %format!("{e:#}"), "could not record the heartbeat");
        }
        // Fed only while the store answers: a wedged database lets systemd restart the daemon.
        match crate::status::collect(&store).await {
            Ok(status) => {
                let connected = status.mailboxes.iter().filter(|m| m.connected).count();
                let processed: i64 = status.mailboxes.iter().map(|m| m.processed).sum();
                let line = format!(
                    "{connected}/{} mailbox(es) connected, {processed} message(s) processed, \
                     {} mail(s) waiting to be sent",
                    readiness.expected(),
                    status.outbox.pending
                );
                let mut states = vec![NotifyState::Status(&line)];
                if watchdog.is_some() {
                    states.push(NotifyState::Watchdog);
                }
                send(&states);
            }
            Err(e) => {
                tracing::warn!(error = %format!("{e:#}"), "store not answering; watchdog not fed")
            }
        }
    }
}

/// Tells systemd the daemon is stopping.
pub fn stopping() {
    send(&[NotifyState::Stopping, NotifyState::Status("stopping")]);
}
