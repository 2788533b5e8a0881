//! `clerk status`: what the daemon is doing, read from the store (works while it runs).

use std::fmt::Write as _;

use anyhow::Result;
use serde::Serialize;

use crate::store::replicas::{LeaseRow, ReplicaRow};
use crate::store::{EventRow, MailboxStatus, OutboxStatus, Store};

#[derive(Debug, Serialize)]
pub struct Status {
    pub mailboxes: Vec<MailboxStatus>,
    pub outbox: OutboxStatus,
    pub recent_problems: Vec<EventRow>,
    /// Replicas seen in the last day, and which of them watches which mailbox.
    pub replicas: Vec<ReplicaRow>,
    pub mailbox_leases: Vec<LeaseRow>,
}

pub async fn collect(store: &Store) -> Result<Status> {
    Ok(Status {
        mailboxes: store.mailbox_statuses().await?,
        outbox: store.outbox_status().await?,
        recent_problems: store.recent_events(10).await?,
        replicas: store.replicas().await?,
        mailbox_leases: store.mailbox_leases().await?,
    })
}

/// The human form.
pub fn render(status: &Status) -> String {
    let mut out = String::new();
    if status.mailboxes.is_empty() {
        out.push_str("No mailbox has been watched yet.\n");
    }
    for m in &status.mailboxes {
        let _ = writeln!(
            out,
            "mailbox {} ({}): {}, UIDVALIDITY {}, last UID {}, {} processed, {} quarantined, {} waiting; last event: {} at {}",
            m.mailbox,
            m.folder,
            if m.connected {
                "connected"
            } else {
                "not connected"
            },
            m.uid_validity,
            m.last_uid,
            m.processed,
            m.quarantined,
            m.waiting,
            m.last_event.as_deref().unwrap_or("none"),
            m.updated_at,
        );
    }
    for r in &status.replicas {
        let held: Vec<&str> = status
            .mailbox_leases
            .iter()
            .filter(|l| l.holder == r.replica_id && l.expires_in_ms > 0)
            .map(|l| l.mailbox.as_str())
            .collect();
        let _ = writeln!(
            out,
            "replica {}: started {}, seen {:.1} s ago, watching {}",
            r.replica_id,
            r.started_at,
            r.seen_ms_ago.max(0) as f64 / 1000.0,
            if held.is_empty() {
                "no mailbox".to_string()
            } else {
                held.join(", ")
            }
        );
    }
    let o = &status.outbox;
    let _ = writeln!(
        out,
        "outbox: {} pending, {} sent, {} failed",
        o.pending, o.sent, o.failed
    );
    for failure in &o.failures {
        let _ = writeln!(out, "  {failure}");
    }
    if !status.recent_problems.is_empty() {
        out.push_str("recent problems:\n");
        for e in &status.recent_problems {
            let _ = writeln!(
                out,
                "  {} {} {}{}",
                e.at,
                e.level,
                e.mailbox
                    .as_deref()
                    .map(|m| format!("[{m}] "))
                    .unwrap_or_default(),
                e.message
            );
        }
    }
    out
}
