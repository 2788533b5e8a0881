//! The inbox loop: watches one mailbox folder and brings every new message into the store.
//!
//! Per connection: log in, select the folder, note its UIDVALIDITY, then repeat: fetch every UID
//! above the last stored one (`BODY.PEEK[]`, so nothing is flagged), store each message, process
//! what is stored, move what is processed, and wait with IDLE (or poll). Any error drops the
//! connection and reconnects with backoff; the catch-up fetch after each reconnect picks up
//! whatever arrived in between.
//!
//! **Invariant:** a message is committed to the store before it is flagged or moved on the
//! server, so a crash at any point loses nothing; the store's unique keys make re-fetching harmless.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use async_imap::extensions::idle::IdleResponse;
use async_imap::types::UnsolicitedResponse;
use futures::TryStreamExt;
use rand::Rng;
use tokio_util::sync::CancellationToken;

use crate::imap::{self, ImapSession};
use crate::intake::{self, Intake};
use crate::store::{IncomingMessage, Recorded};

/// How many messages are fetched per command, bounding memory during a backlog.
const FETCH_BATCH: usize = 20;
/// How long the server gets to answer DONE before the connection is given up.
const DONE_TIMEOUT: Duration = Duration::from_secs(15);

/// Watches the mailbox until cancelled, reconnecting with backoff after any failure.
pub async fn inbox_loop(
    intake: Intake,
    readiness: Arc<crate::service::Readiness>,
    cancel: CancellationToken,
) {
    let mailbox = intake.mailbox.name.clone();
    let folder = intake.mailbox.imap.folder.clone();
    let mut backoff = Duration::from_secs(1);
    loop {
        let started = std::time::Instant::now();
        let result = watch(&intake, &readiness, &cancel).await;
        let now = intake.clock.now();
        let _ = intake
            .store
            .set_connection_state(&mailbox, &folder, false, "disconnected", now)
            .await;
        match result {
            Ok(()) => return,
            Err(err) => {
                let message = format!("{err:#}");
                tracing::warn!(mailbox = %mailbox, error = %message, retry_in_secs = backoff.as_secs(), "IMAP connection lost");
                crate::metrics::metrics().imap_reconnect(&mailbox);
                let _ = intake
                    .store
                    .record_event("warn", Some(&mailbox), &format!("IMAP: {message}"), now)
                    .await;
            }
        }
        if started.elapsed() > Duration::from_secs(60) {
            backoff = Duration::from_secs(1);
        }
        // ±20 %, so that replicas cut off together do not all come back in the same second.
        let wait = backoff.mul_f64(rand::thread_rng().gen_range(0.8..=1.2));
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = tokio::time::sleep(wait) => {}
        }
        backoff = (backoff * 2).min(Duration::from_secs(300));
    }
}

/// One connection's life. Returns Ok only when cancelled.
async fn watch(
    intake: &Intake,
    readiness: &crate::service::Readiness,
    cancel: &CancellationToken,
) -> Result<()> {
    let config = &intake.mailbox.imap;
    let limit = config.command_timeout();
    let mut session = imap::connect(config).await?;
    let capabilities = timed(limit, "CAPABILITY", session.capabilities()).await?;
    let has_idle = capabilities.has_str("IDLE");
    let has_move = capabilities.has_str("MOVE");
    for folder in [&config.processed_folder, &config.quarantine_folder] {
        // Creating an existing folder fails; that is the normal case.
        let _ = timed(limit, "CREATE", session.create(folder)).await;
    }
    let selected = timed(limit, "SELECT", session.select(&config.folder)).await?;
    let uid_validity = selected
        .uid_validity
        .context("the server gave no UIDVALIDITY for the folder")?;
    let store = &intake.store;
    let name = &intake.mailbox.name;
    if let Some((known, _)) = store.mailbox_state(name, &config.folder).await?
        && known != uid_validity
    {
        tracing::warn!(mailbox = %name, old = known, new = uid_validity, "UIDVALIDITY changed; re-reading the folder, known messages are recognised by Message-ID");
        store
            .record_event(
                "warn",
                Some(name),
                &format!("UIDVALIDITY changed from {known} to {uid_validity}"),
                intake.clock.now(),
            )
            .await?;
    }
    store
        .set_uid_validity(name, &config.folder, uid_validity, intake.clock.now())
        .await?;
    store
        .set_connection_state(name, &config.folder, true, "connected", intake.clock.now())
        .await?;
    tracing::info!(mailbox = %name, folder = %config.folder, uid_validity, idle = has_idle, "watching");
    readiness.watching(name);

    loop {
        catch_up(intake, &mut session, uid_validity).await?;
        intake::process_pending_until(intake, cancel).await?;
        move_processed(intake, &mut session, uid_validity, has_move).await?;
        if cancel.is_cancelled() {
            let _ = timed(Duration::from_secs(5), "LOGOUT", session.logout()).await;
            return Ok(());
        }
        if has_idle {
            session = idle(intake, session, cancel).await?;
        } else {
            tokio::select! {
                _ = cancel.cancelled() => {}
                _ = tokio::time::sleep(Duration::from_secs(config.poll_secs)) => {}
            }
            timed(limit, "NOOP", session.noop()).await?;
            // Polling fetches anyway; the queue only needs emptying.
            reports_new_mail(&session.unsolicited_responses);
        }
    }
}

/// Waits in IDLE until the server reports something, the IDLE period ends, or shutdown.
async fn idle(
    intake: &Intake,
    session: ImapSession,
    cancel: &CancellationToken,
) -> Result<ImapSession> {
    let config = &intake.mailbox.imap;
    // Mail that arrived since the last SEARCH was announced (EXISTS) in the responses to our own
    // commands, which the crate queues aside; IDLE would not report it again. So look there
    // first, and once more after IDLE starts, before waiting.
    let unsolicited = session.unsolicited_responses.clone();
    if reports_new_mail(&unsolicited) {
        return Ok(session);
    }
    let mut handle = session.idle();
    timed(config.command_timeout(), "IDLE", handle.init()).await?;
    intake
        .store
        .record_idle_event(
            &intake.mailbox.name,
            &config.folder,
            "started",
            intake.clock.now(),
        )
        .await?;
    if reports_new_mail(&unsolicited) {
        let session = tokio::time::timeout(DONE_TIMEOUT, handle.done())
            .await
            .map_err(|_| anyhow::anyhow!("IMAP DONE timed out"))?
            .context("ending IDLE")?;
        return Ok(session);
    }
    let (wait, stop) = handle.wait_with_timeout(Duration::from_secs(config.idle_secs));
    // The crate's own timer resets on every server keepalive, so it may never fire; this one
    // bounds the whole wait.
    let deadline =
        tokio::time::sleep(Duration::from_secs(config.idle_secs) + Duration::from_secs(5));
    let outcome = tokio::select! {
        r = wait => Some(r),
        _ = cancel.cancelled() => None,
        _ = deadline => None,
    };
    drop(stop);
    let event = match outcome {
        Some(Ok(IdleResponse::NewData(_))) => {
            tracing::debug!(mailbox = %intake.mailbox.name, "IDLE: new data");
            "new data"
        }
        Some(Ok(IdleResponse::Timeout)) => "timed out; re-issued",
        Some(Ok(IdleResponse::ManualInterrupt)) | None => "ended",
        Some(Err(err)) => return Err(anyhow::Error::new(err).context("IDLE failed")),
    };
    let session = tokio::time::timeout(DONE_TIMEOUT, handle.done())
        .await
        .map_err(|_| anyhow::anyhow!("IMAP DONE timed out"))?
        .context("ending IDLE")?;
    intake
        .store
        .record_idle_event(
            &intake.mailbox.name,
            &config.folder,
            event,
            intake.clock.now(),
        )
        .await?;
    Ok(session)
}

/// Empties the queue of responses the server sent unasked (the crate's queue is bounded and
/// would stall the connection when full) and says whether any announced new mail.
fn reports_new_mail(unsolicited: &async_channel::Receiver<UnsolicitedResponse>) -> bool {
    let mut new_mail = false;
    while let Ok(response) = unsolicited.try_recv() {
        new_mail |= matches!(
            response,
            UnsolicitedResponse::Exists(_) | UnsolicitedResponse::Recent(_)
        );
    }
    new_mail
}

/// Fetches and stores every message above the last stored UID.
async fn catch_up(intake: &Intake, session: &mut ImapSession, uid_validity: u32) -> Result<()> {
    let config = &intake.mailbox.imap;
    let limit = config.command_timeout();
    let name = &intake.mailbox.name;
    let last = intake
        .store
        .mailbox_state(name, &config.folder)
        .await?
        .map(|(_, last)| last)
        .unwrap_or(0);
    let found = timed(
        limit,
        "UID SEARCH",
        session.uid_search(format!("UID {}:*", last.saturating_add(1))),
    )
    .await?;
    // "n:*" always includes the highest UID, even when it is below n.
    let uids: BTreeSet<u32> = found.into_iter().filter(|uid| *uid > last).collect();
    if uids.is_empty() {
        return Ok(());
    }
    tracing::info!(mailbox = %name, count = uids.len(), "fetching new mail");
    let uids: Vec<u32> = uids.into_iter().collect();
    for batch in uids.chunks(FETCH_BATCH) {
        let set = batch
            .iter()
            .map(u32::to_string)
            .collect::<Vec<_>>()
            .join(",");
        let fetched: Vec<_> = timed(limit, "UID FETCH", async {
            session
                .uid_fetch(&set, "(UID RFC822.SIZE BODY.PEEK[])")
                .await?
                .try_collect()
                .await
        })
        .await?;
        let mut fetched: Vec<_> = fetched
            .iter()
            .filter_map(|f| Some((f.uid?, f.body()?)))
            .collect();
        fetched.sort_by_key(|(uid, _)| *uid);
        for (uid, raw) in fetched {
            crate::faults::point("before-store");
            let headers = intake::peek_headers(raw);
            let message = IncomingMessage {
                mailbox: name,
                uid_validity,
                uid,
                message_id: headers.message_id,
                sender: headers.sender,
                subject: headers.subject,
                raw,
            };
            match intake
                .store
                .record_message(&config.folder, &message, intake.clock.now())
                .await?
            {
                Recorded::New(id) => {
                    crate::metrics::metrics().message_in(name);
                    tracing::info!(mailbox = %name, uid, id, message_id = ?message.message_id, "stored");
                    crate::faults::point("after-store");
                }
                Recorded::Duplicate(id) => {
                    tracing::info!(mailbox = %name, uid, id, message_id = ?message.message_id, "already stored; not processed again")
                }
            }
        }
    }
    Ok(())
}

/// Moves processed mail to the processed folder and refused mail to quarantine.
async fn move_processed(
    intake: &Intake,
    session: &mut ImapSession,
    uid_validity: u32,
    has_move: bool,
) -> Result<()> {
    let config = &intake.mailbox.imap;
    let limit = config.command_timeout();
    let pending = intake.store.messages_to_move(&intake.mailbox.name).await?;
    if pending.is_empty() {
        return Ok(());
    }
    for quarantined in [false, true] {
        let target = if quarantined {
            &config.quarantine_folder
        } else {
            &config.processed_folder
        };
        let group: Vec<_> = pending
            .iter()
            .filter(|p| p.quarantined == quarantined)
            .collect();
        if group.is_empty() {
            continue;
        }
        let mut uids = Vec::new();
        for item in &group {
            if item.uid_validity == uid_validity {
                uids.push(item.uid);
            } else if let Some(id) = &item.message_id {
                // Stored under an older UIDVALIDITY: find it again by its Message-ID.
                let query = format!("HEADER Message-ID \"{}\"", id.replace(['"', '\\'], ""));
                let found = timed(limit, "UID SEARCH", session.uid_search(query)).await?;
                uids.extend(found);
            }
        }
        if !uids.is_empty() {
            let set = uids
                .iter()
                .map(u32::to_string)
                .collect::<Vec<_>>()
                .join(",");
            if has_move {
                timed(limit, "UID MOVE", session.uid_mv(&set, target)).await?;
            } else {
                timed(limit, "UID COPY", session.uid_copy(&set, target)).await?;
                timed(limit, "UID STORE", async {
                    session
                        .uid_store(&set, "+FLAGS.SILENT (\\Deleted)")
                        .await?
                        .try_collect::<Vec<_>>()
                        .await
                })
                .await?;
                timed(limit, "EXPUNGE", async {
                    session.expunge().await?.try_collect::<Vec<_>>().await
                })
                .await?;
            }
        }
        let ids: Vec<i64> = group.iter().map(|p| p.id).collect();
        crate::faults::point("after-move");
        intake.store.mark_moved(&ids).await?;
        tracing::info!(mailbox = %intake.mailbox.name, count = ids.len(), folder = %target, "moved");
    }
    Ok(())
}

/// Runs one IMAP command under a timeout: a silent server must not hang the watcher.
async fn timed<T, F>(limit: Duration, what: &str, fut: F) -> Result<T>
where
    F: std::future::Future<Output = async_imap::error::Result<T>>,
{
    match tokio::time::timeout(limit, fut).await {
        Ok(result) => result.with_context(|| format!("IMAP {what} failed")),
        Err(_) => anyhow::bail!("IMAP {what} timed out after {limit:?}"),
    }
}
