//! `clerk status`: what the daemon is doing, read from the store (works while it runs).

use std::fmt::Write as _;

use anyhow::Result;
use chrono::{DateTime, Duration, Utc};
use serde::Serialize;

use crate::config::Config;
use crate::reminders::NextReminder;
use crate::store::replicas::{LeaseRow, ReplicaRow};
use crate::store::{EventRow, MailboxStatus, OutboxStatus, Store};

/// How long a connected mailbox row stays believed without the daemon vouching for it again.
/// The daemon does so at least every 30 s (`service::notifier`) and at every IDLE event.
const SEEN_WITHIN: Duration = Duration::seconds(120);

#[derive(Debug, Serialize)]
pub struct Status {
    pub mailboxes: Vec<MailboxStatus>,
    pub outbox: OutboxStatus,
    pub recent_problems: Vec<EventRow>,
    /// The next reminder the schedule will send (`None` when none is due within the lookahead,
    /// reminders are off, or only the store's figures were asked for).
    pub next_reminder: Option<NextReminder>,
    /// Replicas seen in the last day, and which of them watches which mailbox.
    pub replicas: Vec<ReplicaRow>,
    pub mailbox_leases: Vec<LeaseRow>,
}

/// The store's figures. A mailbox counts as connected only while the daemon keeps vouching for
/// it, so a daemon that died without saying so shows as not connected.
pub async fn collect(store: &Store) -> Result<Status> {
    let mut mailboxes = store.mailbox_statuses().await?;
    let now = Utc::now();
    for m in &mut mailboxes {
        m.connected &= m
            .seen_at
            .as_deref()
            .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
            .is_some_and(|seen| now - seen.with_timezone(&Utc) <= SEEN_WITHIN);
    }
    Ok(Status {
        mailboxes,
        outbox: store.outbox_status().await?,
        recent_problems: store.recent_events(10).await?,
        next_reminder: None,
        replicas: store.replicas().await?,
        mailbox_leases: store.mailbox_leases().await?,
    })
}

/// Everything `clerk status` shows, the next reminder included (decided at `now`).
pub async fn collect_with_schedule(
    store: &Store,
    config: &Config,
    now: DateTime<Utc>,
) -> Result<Status> {
    let mut status = collect(store).await?;
    status.next_reminder = crate::reminders::next_reminder(config, store, now).await?;
    Ok(status)
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
            "mailbox {} ({}): {}, UIDVALIDITY {}, last UID {}, {} processed, {} quarantined, {} waiting; last event: {} at {}; last IDLE event: {}; daemon last seen: {}",
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
            match (&m.last_idle_event, &m.last_idle_at) {
                (Some(e), Some(at)) => format!("{e} at {at}"),
                _ => "none".into(),
            },
            m.seen_at.as_deref().unwrap_or("never"),
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
    match &status.next_reminder {
        Some(r) => {
            let _ = writeln!(
                out,
                "next reminder: {} to {}{}, {} open action(s), about {}",
                r.at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                r.to,
                r.address
                    .as_deref()
                    .map(|a| format!(" <{a}>"))
                    .unwrap_or_default(),
                r.open_actions,
                r.about,
            );
        }
        None => out.push_str("next reminder: none scheduled\n"),
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
