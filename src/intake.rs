//! Intake: turning a stored message into what Clerk understood of it, and the mail that causes.
//!
//! The work that reads untrusted bytes runs on a blocking thread under a time limit, so a hostile
//! or merely huge document cannot stall the daemon; a message that makes it panic or time out is
//! quarantined once, not retried in a loop. Everything a message leads to (its documents, the
//! receipt to its sender) is committed in one transaction together with the "processed" mark.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Result;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::clock::Clock;
use crate::config::{Config, IntakeConfig, MailboxConfig};
use crate::document::Limits;
use crate::outgoing::{self, TextMail};
use crate::receipt;
use crate::registry::{self, Registration};
use crate::store::{self, MessageOutcome, NewDocument, OutgoingMail, Store, StoredMessage};
use crate::understanding::{self, Reading};

/// Everything the intake of one mailbox needs.
#[derive(Debug, Clone)]
pub struct Intake {
    pub mailbox: MailboxConfig,
    pub settings: IntakeConfig,
    /// The whole configuration, for series and the directory.
    pub config: Arc<Config>,
    pub store: Store,
    pub clock: Clock,
    /// Wakes the outbox loop when mail was queued.
    pub outbox_wake: Arc<Notify>,
}

/// The few headers the store indexes a message by.
#[derive(Debug, Clone, Default)]
pub struct Headers {
    pub message_id: Option<String>,
    pub sender: Option<String>,
    pub subject: Option<String>,
}

/// Reads only the header block (bounded), for indexing before anything else is parsed.
pub fn peek_headers(raw: &[u8]) -> Headers {
    let end = find_header_end(raw).unwrap_or(raw.len().min(64 * 1024));
    let Some(message) = crate::document::parse_mail_headers(&raw[..end]) else {
        return Headers::default();
    };
    Headers {
        message_id: message.message_id().map(str::to_string),
        sender: message
            .from()
            .and_then(|f| f.first())
            .and_then(|a| a.address())
            .map(str::to_string),
        subject: message
            .subject()
            .map(|s| outgoing::clean_header_text(s, 300)),
    }
}

fn find_header_end(raw: &[u8]) -> Option<usize> {
    let limit = raw.len().min(256 * 1024);
    raw[..limit]
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|p| p + 4)
        .or_else(|| {
            raw[..limit]
                .windows(2)
                .position(|w| w == b"\n\n")
                .map(|p| p + 2)
        })
}

/// Processes every stored message of the mailbox that is not processed yet.
pub async fn process_pending(intake: &Intake) -> Result<usize> {
    process_pending_until(intake, &CancellationToken::new()).await
}

/// As [`process_pending`], stopping between messages once `cancel` fires: at shutdown the
/// current message's transaction finishes and the rest wait, stored, for the next start.
pub async fn process_pending_until(intake: &Intake, cancel: &CancellationToken) -> Result<usize> {
    let mut done = 0;
    loop {
        let batch = intake
            .store
            .messages_to_process(&intake.mailbox.name, 20)
            .await?;
        if batch.is_empty() {
            return Ok(done);
        }
        for message in batch {
            if cancel.is_cancelled() {
                intake.outbox_wake.notify_one();
                return Ok(done);
            }
            let started = std::time::Instant::now();
            process_one(intake, message).await?;
            crate::metrics::metrics().message_processed(started.elapsed());
            done += 1;
        }
        intake.outbox_wake.notify_one();
    }
}

async fn process_one(intake: &Intake, message: StoredMessage) -> Result<()> {
    let limit = Duration::from_secs(intake.settings.parse_timeout_secs);
    let max_bytes = intake.settings.max_message_bytes;
    let raw = message.raw.clone();
    let reading = tokio::task::spawn_blocking(move || understand(&raw, max_bytes));
    let now = intake.clock.now();
    let report = match tokio::time::timeout(limit, reading).await {
        Ok(Ok(report)) => report,
        Ok(Err(join_error)) => {
            return quarantine(
                intake,
                &message,
                &format!("reading it crashed: {join_error}"),
            )
            .await;
        }
        Err(_) => {
            return quarantine(
                intake,
                &message,
                &format!("reading it took longer than {} s", limit.as_secs()),
            )
            .await;
        }
    };
    if let Some(reason) = &report.refusal {
        return quarantine(intake, &message, reason).await;
    }
    // Documents count only from accepted senders; replies to Clerk's own mail are checked
    // against the person they answer for, so they go on without their documents.
    let documents_allowed = match &report.from {
        Some((_, sender)) => {
            crate::senders::may_send_documents(&intake.mailbox, sender, &message.raw)
        }
        None => Err("the message has no sender address".into()),
    };
    if let Err(reason) = &documents_allowed
        && report.replies.is_empty()
        && crate::approval::answered_ids(&message.raw).is_empty()
    {
        return quarantine(intake, &message, reason).await;
    }
    if let Some(path) = &intake.config.directory.path
        && let Err(e) = crate::people::sync_directory(&intake.store, path, now).await
    {
        // The addresses already known stay; the file is read again with the next mail.
        tracing::warn!(path = %path.display(), error = %format!("{e:#}"), "directory not read");
    }
    let documents: Vec<NewDocument> = report
        .reading
        .documents
        .iter()
        .map(|d| NewDocument {
            name: d.name.clone(),
            format: d.format.as_str().to_string(),
            kind: serde_json::to_value(d.meeting.kind)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default(),
            language: serde_json::to_value(d.meeting.language)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default(),
            text: d.text.clone(),
            understood_json: serde_json::to_string(&d.meeting).unwrap_or_default(),
        })
        .collect();
    let summary = format!(
        "{} document(s) read, {} refused",
        report.reading.documents.len(),
        report.reading.refused.len()
    );
    // Replicas processing mail of different mailboxes at once may both create the same person,
    // series or address: the later commit fails on a unique key. Nothing has left the
    // transaction, so it is simply done again, and then finds the other's rows.
    let mut attempt = 1;
    let (registration, receipts) = loop {
        match record(
            intake,
            &message,
            &report,
            &documents,
            &summary,
            documents_allowed.is_ok(),
            now,
        )
        .await
        {
            Ok(Some(done)) => break done,
            // Another worker finished it first; what it recorded stands.
            Ok(None) => return Ok(()),
            Err(err) if attempt < WRITE_ATTEMPTS && store::is_write_conflict(&err) => {
                tracing::info!(mailbox = %intake.mailbox.name, id = message.id, attempt, error = %format!("{err:#}"), "write conflict with another worker; recording the message again");
                attempt += 1;
                let pause = rand::random::<u64>() % 200;
                tokio::time::sleep(Duration::from_millis(50 + pause)).await;
            }
            Err(err) => return Err(err),
        }
    };
    crate::metrics::metrics().documents_parsed(report.reading.documents.len());
    tracing::info!(mailbox = %intake.mailbox.name, id = message.id, message_id = ?message.message_id, documents = report.reading.documents.len(), refused = report.reading.refused.len(), meetings = registration.meetings.len(), unresolved = registry::unresolved_count(&registration), receipts, "processed");
    Ok(())
}

/// How often a message's transaction is tried when it conflicts with another worker's.
const WRITE_ATTEMPTS: u32 = 5;

/// Records what was understood of `message` in one transaction: its state, documents, what the
/// registry learns, and the receipt. None when another worker had finished it first.
async fn record(
    intake: &Intake,
    message: &StoredMessage,
    report: &MessageReport,
    documents: &[NewDocument],
    summary: &str,
    documents_allowed: bool,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Option<(Registration, usize)>> {
    let mut tx = intake.store.begin_write().await?;
    if !store::claim_message(&mut tx, message.id, MessageOutcome::Processed, summary, now).await? {
        tx.rollback().await?;
        return Ok(None);
    }
    let document_ids = store::insert_documents(&mut tx, message.id, documents, now).await?;
    let mail = registry::Mail {
        mailbox: &intake.mailbox,
        from: report.from.clone(),
        correspondents: &report.correspondents,
        reading: &report.reading,
        document_ids: &document_ids,
        raw: &message.raw,
        replies: &report.replies,
        message_id: message.message_id.as_deref(),
        documents_allowed,
        label: format!(
            "mail {} from {}",
            message.message_id.as_deref().unwrap_or("(no Message-ID)"),
            report
                .from
                .as_ref()
                .map_or("(unknown sender)", |(_, a)| a.as_str())
        ),
    };
    let registration = registry::register(&mut tx, &intake.config, &mail, now).await?;
    let mut receipts = 0;
    // A reply to an approval request was answered by the approval module itself.
    let answered = registration
        .approval_reply
        .as_ref()
        .is_some_and(|r| *r != crate::approval::ReplyNote::CorrectedVersion);
    if intake.settings.send_receipts
        && !answered
        && documents_allowed
        && let Some(receipt) = receipt_mail(intake, message, report, &registration)?
    {
        store::enqueue(&mut tx, &receipt, now).await?;
        receipts += 1;
    }
    crate::faults::point("before-commit");
    tx.commit().await?;
    crate::faults::point("after-commit");
    Ok(Some((registration, receipts)))
}

async fn quarantine(intake: &Intake, message: &StoredMessage, reason: &str) -> Result<()> {
    tracing::warn!(mailbox = %intake.mailbox.name, id = message.id, message_id = ?message.message_id, %reason, "quarantined");
    let now = intake.clock.now();
    intake
        .store
        .record_event(
            "warn",
            Some(&intake.mailbox.name),
            &format!(
                "message {} quarantined: {reason}",
                message.message_id.as_deref().unwrap_or("(no Message-ID)")
            ),
            now,
        )
        .await?;
    intake
        .store
        .complete_message(
            message.id,
            MessageOutcome::Quarantined,
            reason,
            &[],
            &[],
            now,
        )
        .await
}

/// What was read from one message.
#[derive(Debug, Clone, Default)]
pub struct MessageReport {
    /// The sender: display name and address.
    pub from: Option<(Option<String>, String)>,
    pub subject: Option<String>,
    /// Sent by a robot (auto-reply, bounce, list): no receipt.
    pub auto_submitted: bool,
    /// Every (display name, address) in From, To and Cc, for learning addresses.
    pub correspondents: Vec<(String, String)>,
    /// Attendees' calendar replies (iMIP REPLY) in the message.
    pub replies: Vec<crate::calendar::Reply>,
    pub reading: Reading,
    /// Why the whole message was refused, if it was.
    pub refusal: Option<String>,
}

impl MessageReport {
    fn refused(reason: String) -> MessageReport {
        MessageReport {
            refusal: Some(reason),
            ..Default::default()
        }
    }
}

/// Reads a whole message: who sent it, and what each of its documents says. Runs on a
/// blocking thread.
pub fn understand(raw: &[u8], max_bytes: usize) -> MessageReport {
    crate::faults::panic_point("reading");
    if raw.len() > max_bytes {
        return MessageReport::refused(format!(
            "the message is {} bytes, above the limit of {max_bytes}",
            raw.len()
        ));
    }
    let Some(message) = crate::document::parse_mail(raw) else {
        return MessageReport::refused("the message could not be parsed as mail".into());
    };
    if let Some(reason) = crate::senders::forged_from(raw) {
        return MessageReport::refused(reason);
    }
    let from = message
        .from()
        .and_then(|f| f.first())
        .and_then(|a| Some((a.name().map(str::to_string), a.address()?.to_string())));
    let mut correspondents = Vec::new();
    for list in [message.from(), message.to(), message.cc()]
        .into_iter()
        .flatten()
    {
        for addr in list.iter().take(200) {
            if let (Some(name), Some(address)) = (addr.name(), addr.address()) {
                correspondents.push((name.to_string(), address.to_string()));
            }
        }
    }
    let replies = crate::calendar::calendar_parts(raw)
        .iter()
        .filter_map(|ics| match crate::calendar::parse_reply(ics) {
            Ok(reply) => Some(reply),
            Err(reason) => {
                tracing::info!(%reason, "calendar part is not a reply");
                None
            }
        })
        .collect();
    MessageReport {
        from,
        correspondents,
        replies,
        subject: message
            .subject()
            .map(|s| outgoing::clean_header_text(s, 200)),
        auto_submitted: is_automatic(&message),
        reading: understanding::read_mail(raw, &Limits::default()),
        refusal: None,
    }
}

/// Mail from robots (bounces, auto-replies, lists) gets no receipt: two robots must not talk.
fn is_automatic(message: &mail_parser::Message<'_>) -> bool {
    let header = |name: &str| {
        message
            .header_raw(name)
            .map(|v| v.trim().to_ascii_lowercase())
    };
    let auto = header("Auto-Submitted").is_some_and(|v| v != "no");
    let bulk = header("Precedence").is_some_and(|v| v == "bulk" || v == "list" || v == "junk");
    let list = header("List-Id").is_some();
    let daemon = message
        .from()
        .and_then(|f| f.first())
        .and_then(|a| a.address())
        .is_some_and(|a| {
            let local = a.split('@').next().unwrap_or("").to_ascii_lowercase();
            local == "mailer-daemon"
                || local == "postmaster"
                || local.starts_with("noreply")
                || local.starts_with("no-reply")
        });
    auto || bulk || list || daemon
}

fn receipt_mail(
    intake: &Intake,
    message: &StoredMessage,
    report: &MessageReport,
    registration: &Registration,
) -> Result<Option<OutgoingMail>> {
    let Some((name, address)) = &report.from else {
        return Ok(None);
    };
    // A calendar answer (someone clicked "Accept") is not a mail to answer.
    // An answer to an action reminder got its confirmation instead.
    if report.auto_submitted
        || !report.replies.is_empty()
        || registration.action_reply.is_some()
        || address.eq_ignore_ascii_case(&intake.mailbox.address)
    {
        return Ok(None);
    }
    let Ok(to) = outgoing::mailbox(name.as_deref(), address) else {
        tracing::warn!(mailbox = %intake.mailbox.name, id = message.id, "sender address unusable; no receipt");
        return Ok(None);
    };
    let key = store::message_key(message.message_id.as_deref(), &message.raw);
    let from = outgoing::mailbox(Some(&intake.mailbox.display_name), &intake.mailbox.address)?;
    let subject = receipt::subject(report.subject.as_deref());
    let mail = TextMail {
        dedupe_key: format!("receipt:{}:{key}", intake.mailbox.name),
        kind: "receipt",
        mailbox_name: &intake.mailbox.name,
        from,
        to: vec![to],
        subject: &subject,
        body: receipt::body(&report.reading, name.as_deref(), Some(registration)),
        in_reply_to: message.message_id.as_deref(),
        date: intake.clock.now(),
        attachments: Vec::new(),
    }
    .render()?;
    Ok(Some(mail))
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAIL: &[u8] = b"From: Anna Fransson <anna@example.org>\r\n\
To: clerk@example.org\r\n\
Subject: =?utf-8?q?Protokoll_fr=C3=A5n_m=C3=B6tet?=\r\n\
Message-ID: <m1@example.org>\r\n\
MIME-Version: 1.0\r\n\
Content-Type: multipart/mixed; boundary=b\r\n\
\r\n\
--b\r\n\
Content-Type: text/plain; charset=utf-8\r\n\
\r\n\
Hej, h\xc3\xa4r \xc3\xa4r protokollet.\r\n\
--b\r\n\
Content-Type: text/plain; name=protokoll.txt\r\n\
Content-Disposition: attachment; filename=protokoll.txt\r\n\
\r\n\
Kommunalt forum 2018-05-02\r\n\
--b--\r\n";

    #[test]
    fn headers_are_peeked_without_reading_the_body() {
        let headers = peek_headers(MAIL);
        assert_eq!(headers.message_id.as_deref(), Some("m1@example.org"));
        assert_eq!(headers.sender.as_deref(), Some("anna@example.org"));
        assert_eq!(headers.subject.as_deref(), Some("Protokoll från mötet"));
    }

    #[test]
    fn understand_reads_body_and_attachment() {
        let report = understand(MAIL, 1 << 20);
        assert!(report.refusal.is_none());
        let docs = &report.reading.documents;
        assert_eq!(docs.len(), 2, "{docs:?}");
        assert_eq!(docs[1].name, "protokoll.txt");
        assert_eq!(docs[1].meeting.title.as_deref(), Some("Kommunalt forum"));
        assert!(!report.auto_submitted);
        assert_eq!(
            report.from.as_ref().map(|f| f.1.as_str()),
            Some("anna@example.org")
        );
    }

    #[test]
    fn oversized_and_automatic_mail() {
        assert!(understand(MAIL, 10).refusal.is_some());
        let bounce = [b"Auto-Submitted: auto-replied\r\n".as_slice(), MAIL].concat();
        assert!(understand(&bounce, 1 << 20).auto_submitted);
    }
}
