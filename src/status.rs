//! `clerk status`: what the daemon is doing, read from the store (works while it runs).

use std::fmt::Write as _;

use anyhow::Result;
use serde::Serialize;

use crate::store::{EventRow, MailboxStatus, OutboxStatus, Store};

#[derive(Debug, Serialize)]
pub struct Status {
    pub mailboxes: Vec<MailboxStatus>,
    pub outbox: OutboxStatus,
    pub recent_problems: Vec<EventRow>,
}

pub async fn collect(store: &Store) -> Result<Status> {
    Ok(Status {
        mailboxes: store.mailbox_statuses().await?,
        outbox: store.outbox_status().await?,
        recent_problems: store.recent_events(10).await?,
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
