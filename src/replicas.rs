//! Replicas: several `clerk run` processes on one PostgreSQL database share the work.
//!
//! - **Outgoing mail**: every replica drains every mailbox's outbox; each row is claimed (holder
//!   and claim end) in a short transaction before it is sent (`Store::claim_outgoing`), so no
//!   two replicas send one row, and a row whose sender died is sent by another after its claim.
//! - **Mailboxes**: each is watched by exactly one replica at a time, under a lease row
//!   (`mailbox_leases`: holder, lease end) that the [`mailbox_keeper`] renews every third of
//!   `daemon.mailbox_lease_secs` and takes over once it has run out. Mailboxes are spread
//!   evenly: a replica takes at most its share (mailboxes / live replicas, rounded up) and hands
//!   one back per round while it holds more, so a replica that joins gets work.
//! - **Scheduled work**: every replica ticks; each job keys its mail by the occasion, and the
//!   keys are unique in the store, so two replicas ticking at once queue it once.
//!
//! Why a lease row and not a PostgreSQL advisory lock: a session lock lives as long as one
//! database connection, so each replica would hold a dedicated connection per mailbox (or all
//! its locks on one) outside the pool, and when that connection breaks the lock is gone at the
//! server while the replica still watches, learning of it only when it next uses that
//! connection. A lease has a known end that the holder measures on its own monotonic clock: a
//! replica that cannot renew stops watching before its lease runs out at the database, and
//! only then may another take over. Leases also work the same on SQLite, and `clerk status`
//! can show who holds what. Their cost is a takeover delay of up to one lease after a crash.
//!
//! A SQLite file has exactly one replica, so a replica starting on SQLite ends every lease and
//! claim left by its predecessor instead of waiting for them to run out.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use crate::clock::Clock;
use crate::config::DaemonConfig;
use crate::inbox::inbox_loop;
use crate::intake::Intake;
use crate::service::Readiness;
use crate::store::{Backend, Store};

/// This replica's name: `daemon.replica_id`, or `hostname:pid`.
pub fn replica_id(config: &DaemonConfig) -> String {
    if let Some(id) = &config.replica_id {
        return id.trim().to_string();
    }
    let host = hostname::get()
        .ok()
        .and_then(|h| h.into_string().ok())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".into());
    format!("{host}:{}", std::process::id())
}

/// How many of `mailboxes` one of `live` replicas should watch.
pub fn fair_share(mailboxes: usize, live: usize) -> usize {
    mailboxes.div_ceil(live.max(1))
}

/// A mailbox this replica holds, and its watcher.
struct Held {
    cancel: CancellationToken,
    task: JoinHandle<()>,
    /// After this the lease may have run out at the database: stop watching.
    valid_until: Instant,
    /// Cancelled, finishing its current step; the lease is kept until it has ended, then given
    /// back.
    stopping: bool,
    /// Another replica holds the lease now: the watcher is stopping and nothing is renewed.
    lost: bool,
}

/// Takes, renews and hands back mailbox leases, watching exactly the mailboxes this replica
/// holds, until cancelled; then stops every watcher and gives its leases back.
pub async fn mailbox_keeper(
    replica: String,
    lease: Duration,
    intakes: Vec<Intake>,
    store: Store,
    readiness: Arc<Readiness>,
    clock: Clock,
    cancel: CancellationToken,
) {
    let lease_ms = lease.as_millis() as i64;
    let period = lease / 3;
    let exclusive = store.backend() == Backend::Sqlite;
    if exclusive && let Err(e) = store.reset_leases().await {
        tracing::warn!(error = %format!("{e:#}"), "cannot clear the leases of an earlier run");
    }
    let started = clock.now();
    if !exclusive {
        // Replicas started together see each other before they divide the mailboxes, rather
        // than the first taking all and handing them back one by one.
        if let Err(e) = store.replica_heartbeat(&replica, started).await {
            tracing::warn!(error = %format!("{e:#}"), "cannot record this replica's heartbeat");
        }
        tokio::select! {
            _ = cancel.cancelled() => {}
            _ = tokio::time::sleep(period) => {}
        }
    }
    let mut held: BTreeMap<String, Held> = BTreeMap::new();
    let mut ready_told = false;
    loop {
        let round = Instant::now();
        if let Err(e) = store.replica_heartbeat(&replica, started).await {
            tracing::warn!(error = %format!("{e:#}"), "cannot record this replica's heartbeat");
        }
        renew(
            &replica,
            lease_ms,
            round + lease * 2 / 3,
            &store,
            clock,
            &mut held,
        )
        .await;
        let live = if exclusive {
            1
        } else {
            store.live_replicas(lease_ms).await.unwrap_or(1)
        };
        let share = fair_share(intakes.len(), live);
        let active = held.values().filter(|h| !h.stopping).count();
        if active > share {
            if let Some((name, h)) = held.iter_mut().rev().find(|(_, h)| !h.stopping) {
                tracing::info!(mailbox = %name, live, share, "handing a mailbox over to another replica");
                h.cancel.cancel();
                h.stopping = true;
            }
        } else if active < share {
            let mut active = active;
            for intake in &intakes {
                if active >= share || cancel.is_cancelled() {
                    break;
                }
                let name = &intake.mailbox.name;
                if held.contains_key(name) {
                    continue;
                }
                match store
                    .take_mailbox_lease(name, &replica, lease_ms, clock.now())
                    .await
                {
                    Ok(true) => {
                        tracing::info!(mailbox = %name, live, share, "took the mailbox lease; watching it");
                        let token = cancel.child_token();
                        let task = tokio::spawn(
                            inbox_loop(intake.clone(), readiness.clone(), token.clone())
                                .instrument(tracing::Span::current()),
                        );
                        // Mail its last holder queued but did not send goes out from here too.
                        intake.outbox_wake.notify_one();
                        held.insert(
                            name.clone(),
                            Held {
                                cancel: token,
                                task,
                                valid_until: round + lease * 2 / 3,
                                stopping: false,
                                lost: false,
                            },
                        );
                        active += 1;
                    }
                    Ok(false) => {}
                    Err(e) => {
                        tracing::warn!(mailbox = %name, error = %format!("{e:#}"), "cannot take the mailbox lease")
                    }
                }
            }
        }
        if !ready_told {
            readiness.expect(held.len());
            ready_told = true;
        }
        tokio::select! {
            _ = cancel.cancelled() => break,
            _ = tokio::time::sleep(period) => {}
        }
    }
    for h in held.values() {
        h.cancel.cancel();
    }
    for (name, h) in held {
        let _ = h.task.await;
        if h.lost {
            continue;
        }
        if let Err(e) = store.release_mailbox_lease(&name, &replica).await {
            tracing::warn!(mailbox = %name, error = %format!("{e:#}"), "cannot give the mailbox lease back");
        }
    }
    if let Err(e) = store.replica_stopped(&replica).await {
        tracing::warn!(error = %format!("{e:#}"), "cannot record that this replica stopped");
    }
}

/// Renews every held lease; stops the watcher of a lease that was lost (another replica took
/// it, or it could not be renewed in time), and gives back the leases of watchers that ended.
async fn renew(
    replica: &str,
    lease_ms: i64,
    valid_until: Instant,
    store: &Store,
    clock: Clock,
    held: &mut BTreeMap<String, Held>,
) {
    let names: Vec<String> = held.keys().cloned().collect();
    for name in names {
        let Some(h) = held.get_mut(&name) else {
            continue;
        };
        if h.stopping && h.task.is_finished() {
            if !h.lost
                && let Err(e) = store.release_mailbox_lease(&name, replica).await
            {
                tracing::warn!(mailbox = %name, error = %format!("{e:#}"), "cannot give the mailbox lease back");
            }
            held.remove(&name);
            continue;
        }
        if h.lost {
            continue;
        }
        match store
            .take_mailbox_lease(&name, replica, lease_ms, clock.now())
            .await
        {
            Ok(true) => h.valid_until = valid_until,
            Ok(false) => {
                tracing::warn!(mailbox = %name, "another replica holds the mailbox now; no longer watching it");
                h.cancel.cancel();
                h.stopping = true;
                h.lost = true;
            }
            Err(e) => {
                tracing::warn!(mailbox = %name, error = %format!("{e:#}"), "cannot renew the mailbox lease");
                if Instant::now() >= h.valid_until {
                    tracing::warn!(mailbox = %name, "the mailbox lease may have run out; no longer watching it");
                    h.cancel.cancel();
                    h.stopping = true;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mailboxes_are_spread_over_live_replicas() {
        assert_eq!(fair_share(3, 3), 1);
        assert_eq!(fair_share(3, 2), 2);
        assert_eq!(fair_share(3, 1), 3);
        assert_eq!(fair_share(3, 0), 3);
        assert_eq!(fair_share(10, 3), 4);
        assert_eq!(fair_share(0, 3), 0);
    }

    #[test]
    fn a_configured_replica_id_wins_over_hostname_and_pid() {
        let config = DaemonConfig {
            replica_id: Some(" clerk-a ".into()),
            ..DaemonConfig::default()
        };
        assert_eq!(replica_id(&config), "clerk-a");
        let default = replica_id(&DaemonConfig::default());
        assert!(
            default.ends_with(&format!(":{}", std::process::id())),
            "{default}"
        );
    }
}
