//! Approval of minutes (justering) by mail.
//!
//! Minutes that name approvers go to each of them with the document, a summary and the
//! deadline (the document's "justeringens tid", else `approval_days` after the meeting). An
//! approver answers by replying: "Justerat"/"Godkänt"/"Approved"/"OK" on the first line of the
//! new text approves; anything else is a request for changes, passed to the secretary; a reply
//! carrying corrected minutes becomes the next version, which goes to every approver again.
//!
//! A reply counts only when it answers one of Clerk's requests (its In-Reply-To or References
//! name the request's Message-ID) and comes from the address that request went to; anything
//! else changes nothing, is logged, and its sender is told. The scheduler nudges approvers
//! before the deadline and tells the secretary when it has passed. Every mail is keyed by
//! (meeting, version, approver, occasion), so nothing is sent twice.

use std::sync::LazyLock;

use anyhow::Result;
use chrono::{DateTime, Duration, NaiveDate, Utc};
use regex::Regex;
use sha2::{Digest, Sha256};

use crate::config::{Config, MailboxConfig, SeriesConfig};
use crate::corrections;
use crate::document::BODY;
use crate::extract::{Kind, Language};
use crate::names;
use crate::outgoing::{self, Attachment, TextMail};
use crate::receipt::{long_date_in, meeting_summary};
use crate::scheduler::{self, Done};
use crate::store::approvals::{self, Approver};
use crate::store::meetings::{self, MeetingRow};
use crate::store::series::{self as stored_series, SeriesRow};
use crate::store::{self, Tx};
use crate::understanding::Understood;

/// What became of minutes as far as approval goes, for the receipt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Note {
    /// Sent to `count` approvers for approval by `due`.
    Requested {
        version: u32,
        count: usize,
        due: NaiveDate,
    },
    /// The minutes say they are approved already.
    AlreadyApproved,
    /// This version was sent for approval before.
    Unchanged,
    /// The deadline has passed; nothing sent.
    TooLate { due: NaiveDate },
}

/// What became of an approver's reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReplyNote {
    Approved {
        all: bool,
    },
    ChangesRequested,
    CorrectedVersion,
    /// From another address than the request went to: not used.
    WrongSender {
        expected: String,
    },
    /// About a version that a newer one has replaced.
    Outdated,
}

static APPROVES: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)^\W*(justerat|justerad|justerar|godkänt|godkänd|godkänner|approved|approve|ok|okay|okej)\b")
        .expect("approval pattern")
});

/// Minutes that record their own approval ("Justerat 2024-09-20", "Approved by ...").
static ALREADY_APPROVED: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?im)^\W*(justerat|justerats|justeringen är gjord|approved by|approved on)\b")
        .expect("approved pattern")
});

/// Whether the new text of a reply approves.
pub fn approves(reply_text: &str) -> bool {
    corrections::new_text(reply_text)
        .lines()
        .find(|l| !l.trim().is_empty())
        .is_some_and(|first| APPROVES.is_match(first))
}

/// The words of approval mails.
struct Words {
    request_subject: &'static str,
    reminder_subject: &'static str,
    overdue_subject: &'static str,
    approved_subject: &'static str,
    changes_subject: &'static str,
    hello: &'static str,
    request: &'static str,
    corrected: &'static str,
    understood: &'static str,
    due: &'static str,
    how: &'static str,
    reminder: &'static str,
    overdue: &'static str,
    approved: &'static str,
    changes: &'static str,
    thanks_approved: &'static str,
    thanks_changes: &'static str,
    wrong_sender: &'static str,
    outdated: &'static str,
    distributed: &'static str,
    regards: &'static str,
}

const SV: Words = Words {
    request_subject: "Justering: protokoll {series} {date}",
    reminder_subject: "Påminnelse om justering: protokoll {series} {date}",
    overdue_subject: "Justeringen är försenad: protokoll {series} {date}",
    approved_subject: "Justerat: protokoll {series} {date}",
    changes_subject: "Ändringsönskemål: protokoll {series} {date}",
    hello: "Hej",
    request: "Du är justerare för protokollet från {series} {date}. Protokollet bifogas.",
    corrected: "Protokollet har rättats (version {version}); den nya versionen bifogas.",
    understood: "Så här uppfattade jag protokollet:",
    due: "Justera senast {due}.",
    how: "Svara på det här mejlet med ”Justerat” på första raden om du godkänner protokollet. Vill du ha ändringar, skriv dem i svaret, så skickar jag dem till sekreteraren. Du kan också svara med ett rättat protokoll bifogat.",
    reminder: "En påminnelse: protokollet från {series} {date} väntar på din justering, senast {due}.",
    overdue: "Justeringen av protokollet från {series} {date} skulle ha varit klar {due}. Ännu inte justerat av: {names}.",
    approved: "Protokollet från {series} {date} är justerat av {names}.",
    changes: "{name} vill ha ändringar i protokollet från {series} {date}:",
    thanks_approved: "Tack! Jag har noterat att du justerat protokollet från {series} {date}.",
    thanks_changes: "Tack! Jag har skickat dina synpunkter på protokollet från {series} {date} till sekreteraren.",
    wrong_sender: "Ditt svar om justering kunde inte användas: begäran gick till {expected}, och bara ett svar från den adressen räknas. Svara från {expected}, eller be sekreteraren rätta adressen.",
    outdated: "Ditt svar gällde en äldre version av protokollet från {series} {date}. Svara på begäran om den senaste versionen.",
    distributed: "Här är det justerade protokollet från {series} {date}.",
    regards: "Vänliga hälsningar\nClerk för {series}",
};

const EN: Words = Words {
    request_subject: "Approval: minutes {series} {date}",
    reminder_subject: "Reminder, approval: minutes {series} {date}",
    overdue_subject: "Approval overdue: minutes {series} {date}",
    approved_subject: "Approved: minutes {series} {date}",
    changes_subject: "Changes requested: minutes {series} {date}",
    hello: "Hello",
    request: "You are asked to approve the minutes of {series} {date}. The minutes are attached.",
    corrected: "The minutes have been corrected (version {version}); the new version is attached.",
    understood: "This is what I understood of the minutes:",
    due: "Please approve by {due}.",
    how: "Reply to this mail with \"Approved\" on the first line if you approve the minutes. If you want changes, write them in your reply and I will pass them to the secretary. You may also reply with corrected minutes attached.",
    reminder: "A reminder: the minutes of {series} {date} are waiting for your approval, due {due}.",
    overdue: "The minutes of {series} {date} should have been approved by {due}. Not yet approved by: {names}.",
    approved: "The minutes of {series} {date} are approved by {names}.",
    changes: "{name} asks for changes to the minutes of {series} {date}:",
    thanks_approved: "Thank you! I have noted that you approved the minutes of {series} {date}.",
    thanks_changes: "Thank you! I have passed your comments on the minutes of {series} {date} to the secretary.",
    wrong_sender: "Your approval reply could not be used: the request went to {expected}, and only a reply from that address counts. Please reply from {expected}, or ask the secretary to correct the address.",
    outdated: "Your reply was about an older version of the minutes of {series} {date}. Please answer the request for the latest version.",
    distributed: "Here are the approved minutes of {series} {date}.",
    regards: "Kind regards\nClerk for {series}",
};

fn words(series: &SeriesRow) -> (&'static Words, Language) {
    if series.language == "en" {
        (&EN, Language::En)
    } else {
        (&SV, Language::Sv)
    }
}

fn fill(template: &str, series: &SeriesRow, date: NaiveDate, language: Language) -> String {
    template
        .replace("{series}", &series.title)
        .replace("{date}", &long_date_in(language, date))
}

fn series_config<'a>(config: &'a Config, series: &SeriesRow) -> Option<&'a SeriesConfig> {
    config
        .series
        .iter()
        .find(|c| names::key(&c.name) == names::key(&series.title))
}

/// Where approval mail comes from and what it may carry.
pub struct Context<'a> {
    pub config: &'a Config,
    pub mailbox: &'a MailboxConfig,
    pub now: DateTime<Utc>,
}

/// Minutes arrived for `meeting_id`: record an approval the document states, or send this
/// version to its approvers ((name, address) of each one resolved).
pub async fn on_minutes(
    tx: &mut Tx,
    ctx: &Context<'_>,
    meeting_id: i64,
    doc: &Understood,
    approvers: &[(String, String)],
    secretary_address: Option<&str>,
    attachment: Option<Attachment>,
) -> Result<Option<Note>> {
    let meeting = meetings::load(tx, meeting_id).await?;
    let series = stored_series::series_by_id(tx, meeting.series_id).await?;
    let state = approvals::minutes_state(tx, meeting_id).await?;
    let Some(date) = meeting.date else {
        return Ok(None);
    };
    if ALREADY_APPROVED.is_match(&doc.text) {
        if state.approval_state != "approved" {
            approvals::set_approval_state(tx, meeting_id, "approved").await?;
            approvals::event(
                tx,
                meeting_id,
                "recorded as approved: the minutes say they are",
                ctx.now,
            )
            .await?;
        }
        return Ok(Some(Note::AlreadyApproved));
    }
    let policy = series_config(ctx.config, &series).map_or("approvers", |c| c.approval.as_str());
    if policy == "none" || approvers.is_empty() || state.approval_state == "approved" {
        return Ok(None);
    }
    let hash = hex::encode(Sha256::digest(doc.text.as_bytes()));
    if state.hash.as_deref() == Some(hash.as_str()) {
        return Ok(Some(Note::Unchanged));
    }
    let days = series_config(ctx.config, &series).map_or(14, |c| c.approval_days);
    let due = doc
        .meeting
        .approval_due
        .unwrap_or(date + Duration::days(i64::from(days)));
    let tz: chrono_tz::Tz = series
        .time_zone
        .parse()
        .unwrap_or(chrono_tz::Europe::Stockholm);
    if due < ctx.now.with_timezone(&tz).date_naive() {
        return Ok(Some(Note::TooLate { due }));
    }
    let version = state.version + 1;
    let secretary = state
        .secretary_address
        .clone()
        .or(secretary_address.map(str::to_string));
    approvals::set_minutes(
        tx,
        meeting_id,
        version,
        &hash,
        secretary.as_deref(),
        "requested",
        Some(due),
    )
    .await?;
    approvals::event(
        tx,
        meeting_id,
        &format!(
            "version {version} sent for approval to {}, due {due}",
            approvers
                .iter()
                .map(|(n, _)| n.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ),
        ctx.now,
    )
    .await?;
    let (w, language) = words(&series);
    let summary = meeting_summary(language, &doc.name, &doc.meeting);
    for (name, address) in approvers {
        approvals::request(tx, meeting_id, address, name, version, ctx.now).await?;
        let mut body = format!("{} {},\n\n", w.hello, first_name(name));
        body.push_str(&fill(w.request, &series, date, language));
        if version > 1 {
            body.push(' ');
            body.push_str(&w.corrected.replace("{version}", &version.to_string()));
        }
        body.push_str(&format!(
            "\n\n{}\n\n{summary}\n{}\n\n{}\n\n{}\n",
            w.understood,
            w.due.replace("{due}", &long_date_in(language, due)),
            w.how,
            fill(w.regards, &series, date, language)
        ));
        let subject = fill(w.request_subject, &series, date, language);
        let mail = TextMail {
            dedupe_key: format!("approval:{}:{version}:{address}", meeting.uid),
            kind: "approval",
            mailbox_name: &ctx.mailbox.name,
            from: outgoing::mailbox(Some(&series.title), &ctx.mailbox.address)?,
            to: vec![outgoing::mailbox(Some(name), address)?],
            subject: &subject,
            body,
            in_reply_to: None,
            date: ctx.now,
            attachments: attachment.iter().cloned().collect(),
        }
        .render()?
        .telling_on_failure(secretary.as_deref(), series.language == "en");
        store::enqueue(tx, &mail, ctx.now).await?;
    }
    Ok(Some(Note::Requested {
        version,
        count: approvers.len(),
        due,
    }))
}

fn first_name(name: &str) -> &str {
    name.split_whitespace().next().unwrap_or(name)
}

/// The Message-IDs a mail answers (In-Reply-To and References).
pub fn answered_ids(raw: &[u8]) -> Vec<String> {
    static ID: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"<[^<>\s]+>").expect("id pattern"));
    let Some(message) = crate::document::parse_mail_headers(raw) else {
        return Vec::new();
    };
    let mut ids = Vec::new();
    for header in ["In-Reply-To", "References"] {
        if let Some(value) = message.header_raw(header) {
            for id in ID.find_iter(value).take(50) {
                if !ids.contains(&id.as_str().to_string()) {
                    ids.push(id.as_str().to_string());
                }
            }
        }
    }
    ids
}

/// An incoming mail that answers an approval request: record what it says. None when it
/// answers no approval request.
pub async fn on_reply(
    tx: &mut Tx,
    ctx: &Context<'_>,
    mail: &crate::registry::Mail<'_>,
) -> Result<Option<ReplyNote>> {
    let mut request = None;
    for id in answered_ids(mail.raw) {
        if let Some((key, kind)) = approvals::sent_mail(tx, &id).await?
            && kind == "approval"
        {
            request = Some(key);
            break;
        }
    }
    let Some(key) = request else {
        return Ok(None);
    };
    // "approval:<uid>:<version>:<address>" or "approval-nudge:<uid>:<version>:<address>"
    let mut parts = key.splitn(4, ':').skip(1);
    let (Some(uid), Some(version), Some(address)) = (parts.next(), parts.next(), parts.next())
    else {
        return Ok(None);
    };
    let version: u32 = version.parse().unwrap_or(0);
    let Some(meeting) = meetings::by_uid(tx, uid).await? else {
        return Ok(None);
    };
    let series = stored_series::series_by_id(tx, meeting.series_id).await?;
    let date = meeting.date.unwrap_or_default();
    let (w, language) = words(&series);
    let sender = mail
        .from
        .as_ref()
        .map(|(_, a)| a.to_lowercase())
        .unwrap_or_default();
    let approvers = approvals::approvers(tx, meeting.id).await?;
    let me = approvers.iter().find(|a| a.address == address).cloned();
    let note = if sender != address {
        approvals::event(
            tx,
            meeting.id,
            &format!("a reply from {sender} to the request sent to {address} was not used"),
            ctx.now,
        )
        .await?;
        tracing::warn!(%sender, expected = %address, "approval reply from another address; not used");
        ReplyNote::WrongSender {
            expected: address.to_string(),
        }
    } else if me.as_ref().is_none_or(|a| a.version != version) {
        ReplyNote::Outdated
    } else if mail
        .reading
        .documents
        .iter()
        .any(|d| d.name != BODY && d.meeting.kind == Kind::Minutes)
    {
        // The corrected minutes go through the usual path and become the next version.
        approvals::event(
            tx,
            meeting.id,
            &format!("corrected minutes received from {sender}"),
            ctx.now,
        )
        .await?;
        ReplyNote::CorrectedVersion
    } else {
        let body = mail
            .reading
            .documents
            .iter()
            .find(|d| d.name == BODY)
            .map(|d| d.text.as_str())
            .unwrap_or("");
        if approves(body) {
            approvals::answer(tx, meeting.id, address, "approved", ctx.now).await?;
            let name = me.as_ref().map_or(address, |a| a.name.as_str());
            approvals::event(tx, meeting.id, &format!("approved by {name}"), ctx.now).await?;
            let all = approvals::approvers(tx, meeting.id)
                .await?
                .iter()
                .all(|a| a.state == "approved");
            if all {
                completed(tx, ctx, &meeting, &series).await?;
            }
            ReplyNote::Approved { all }
        } else {
            approvals::answer(tx, meeting.id, address, "changes", ctx.now).await?;
            let name = me.as_ref().map_or(address, |a| a.name.as_str()).to_string();
            approvals::event(
                tx,
                meeting.id,
                &format!("changes requested by {name}"),
                ctx.now,
            )
            .await?;
            let state = approvals::minutes_state(tx, meeting.id).await?;
            if let Some(secretary) = state.secretary_address {
                let text = corrections::new_text(body);
                let mail_body = format!(
                    "{},\n\n{}\n\n{text}\n\n{}\n",
                    w.hello,
                    fill(w.changes, &series, date, language).replace("{name}", &name),
                    fill(w.regards, &series, date, language)
                );
                let subject = fill(w.changes_subject, &series, date, language);
                let forward = TextMail {
                    dedupe_key: format!("approval-changes:{}:{version}:{address}", meeting.uid),
                    kind: "approval-changes",
                    mailbox_name: &ctx.mailbox.name,
                    from: outgoing::mailbox(Some(&series.title), &ctx.mailbox.address)?,
                    to: vec![outgoing::mailbox(None, &secretary)?],
                    subject: &subject,
                    body: mail_body,
                    in_reply_to: None,
                    date: ctx.now,
                    attachments: Vec::new(),
                }
                .render()?;
                store::enqueue(tx, &forward, ctx.now).await?;
            }
            ReplyNote::ChangesRequested
        }
    };
    // Tell the sender what became of the reply.
    let answer = match &note {
        ReplyNote::Approved { .. } => fill(w.thanks_approved, &series, date, language),
        ReplyNote::ChangesRequested => fill(w.thanks_changes, &series, date, language),
        ReplyNote::WrongSender { expected } => w.wrong_sender.replace("{expected}", expected),
        ReplyNote::Outdated => fill(w.outdated, &series, date, language),
        ReplyNote::CorrectedVersion => return Ok(Some(note)),
    };
    if let Some((name, sender_address)) = &mail.from {
        let subject =
            crate::receipt::subject(Some(&fill(w.request_subject, &series, date, language)));
        let reply = TextMail {
            dedupe_key: format!("approval-answer:{}:{}", meeting.uid, mail.label),
            kind: "approval-answer",
            mailbox_name: &ctx.mailbox.name,
            from: outgoing::mailbox(Some(&series.title), &ctx.mailbox.address)?,
            to: vec![outgoing::mailbox(name.as_deref(), sender_address)?],
            subject: &subject,
            body: format!(
                "{},\n\n{answer}\n\n{}\n",
                w.hello,
                fill(w.regards, &series, date, language)
            ),
            in_reply_to: mail.message_id,
            date: ctx.now,
            attachments: Vec::new(),
        }
        .render()?;
        store::enqueue(tx, &reply, ctx.now).await?;
    }
    Ok(Some(note))
}

/// Every approver approved: the minutes are approved, the secretary is told, and the series may
/// have them sent to all members.
async fn completed(
    tx: &mut Tx,
    ctx: &Context<'_>,
    meeting: &MeetingRow,
    series: &SeriesRow,
) -> Result<()> {
    approvals::set_approval_state(tx, meeting.id, "approved").await?;
    approvals::event(tx, meeting.id, "approved by every approver", ctx.now).await?;
    let state = approvals::minutes_state(tx, meeting.id).await?;
    let date = meeting.date.unwrap_or_default();
    let (w, language) = words(series);
    let names: Vec<String> = approvals::approvers(tx, meeting.id)
        .await?
        .into_iter()
        .map(|a| a.name)
        .collect();
    let from = outgoing::mailbox(Some(&series.title), &ctx.mailbox.address)?;
    if let Some(secretary) = &state.secretary_address {
        let subject = fill(w.approved_subject, series, date, language);
        let mail = TextMail {
            dedupe_key: format!("approval-done:{}:{}", meeting.uid, state.version),
            kind: "approval-done",
            mailbox_name: &ctx.mailbox.name,
            from: from.clone(),
            to: vec![outgoing::mailbox(None, secretary)?],
            subject: &subject,
            body: format!(
                "{},\n\n{}\n\n{}\n",
                w.hello,
                fill(w.approved, series, date, language).replace("{names}", &names.join(", ")),
                fill(w.regards, series, date, language)
            ),
            in_reply_to: None,
            date: ctx.now,
            attachments: Vec::new(),
        }
        .render()?;
        store::enqueue(tx, &mail, ctx.now).await?;
    }
    let distribution =
        series_config(ctx.config, series).map_or("none", |c| c.distribution.as_str());
    if distribution == "none" {
        return Ok(());
    }
    let attachment = stored_series::latest_minutes(tx, meeting.id)
        .await?
        .and_then(|(raw, name)| crate::registry::attachment(&raw, &name));
    let recipients: Vec<(String, String)> = if distribution == "attendees" {
        stored_series::attendees_with_addresses(tx, meeting.id).await?
    } else {
        crate::store::people::members(tx, series.id)
            .await?
            .into_iter()
            .filter_map(|k| k.address.map(|a| (k.name, a)))
            .collect()
    };
    let subject = fill(w.approved_subject, series, date, language);
    for (name, address) in recipients {
        let mail = TextMail {
            dedupe_key: format!("minutes:{}:{}:{address}", meeting.uid, state.version),
            kind: "minutes",
            mailbox_name: &ctx.mailbox.name,
            from: from.clone(),
            to: vec![outgoing::mailbox(Some(&name), &address)?],
            subject: &subject,
            body: format!(
                "{} {},\n\n{}\n\n{}\n",
                w.hello,
                first_name(&name),
                fill(w.distributed, series, date, language),
                fill(w.regards, series, date, language)
            ),
            in_reply_to: None,
            date: ctx.now,
            attachments: attachment.iter().cloned().collect(),
        }
        .render()?
        .telling_on_failure(state.secretary_address.as_deref(), series.language == "en");
        store::enqueue(tx, &mail, ctx.now).await?;
    }
    Ok(())
}

/// The scheduled part: a nudge to each approver who has not answered, from `approval_nudge_days`
/// before the deadline; a notice to the secretary once it has passed.
pub async fn run_due(ctx: &scheduler::Context<'_>) -> Result<Vec<Done>> {
    let mut done = Vec::new();
    let mut tx = ctx.store.begin_write().await?;
    for (meeting_id, due) in approvals::awaiting(&mut tx).await? {
        let meeting = meetings::load(&mut tx, meeting_id).await?;
        let series = stored_series::series_by_id(&mut tx, meeting.series_id).await?;
        let Some(mailbox) = ctx
            .config
            .mailboxes
            .iter()
            .find(|m| m.name == series.mailbox)
        else {
            continue;
        };
        let tz: chrono_tz::Tz = series
            .time_zone
            .parse()
            .unwrap_or(chrono_tz::Europe::Stockholm);
        let today = ctx.now.with_timezone(&tz).date_naive();
        let nudge_days = series_config(ctx.config, &series).map_or(2, |c| c.approval_nudge_days);
        let state = approvals::minutes_state(&mut tx, meeting_id).await?;
        let waiting: Vec<Approver> = approvals::approvers(&mut tx, meeting_id)
            .await?
            .into_iter()
            .filter(|a| a.state != "approved")
            .collect();
        let date = meeting.date.unwrap_or_default();
        let (w, language) = words(&series);
        let from = outgoing::mailbox(Some(&series.title), &mailbox.address)?;
        let mut mails = Vec::new();
        if today > due {
            if let Some(secretary) = &state.secretary_address {
                let names: Vec<&str> = waiting.iter().map(|a| a.name.as_str()).collect();
                let subject = fill(w.overdue_subject, &series, date, language);
                mails.push(
                    TextMail {
                        dedupe_key: format!("approval-overdue:{}:{}", meeting.uid, state.version),
                        kind: "approval-overdue",
                        mailbox_name: &mailbox.name,
                        from: from.clone(),
                        to: vec![outgoing::mailbox(None, secretary)?],
                        subject: &subject,
                        body: format!(
                            "{},\n\n{}\n\n{}\n",
                            w.hello,
                            fill(w.overdue, &series, date, language)
                                .replace("{due}", &long_date_in(language, due))
                                .replace("{names}", &names.join(", ")),
                            fill(w.regards, &series, date, language)
                        ),
                        in_reply_to: None,
                        date: ctx.now,
                        attachments: Vec::new(),
                    }
                    .render()?,
                );
            }
        } else if today + Duration::days(i64::from(nudge_days)) >= due {
            for approver in waiting.iter().filter(|a| a.state == "pending") {
                let subject = fill(w.reminder_subject, &series, date, language);
                mails.push(
                    TextMail {
                        // Kind "approval": a reply to the nudge counts as a reply to the request.
                        dedupe_key: format!(
                            "approval-nudge:{}:{}:{}",
                            meeting.uid, approver.version, approver.address
                        ),
                        kind: "approval",
                        mailbox_name: &mailbox.name,
                        from: from.clone(),
                        to: vec![outgoing::mailbox(Some(&approver.name), &approver.address)?],
                        subject: &subject,
                        body: format!(
                            "{} {},\n\n{}\n\n{}\n\n{}\n",
                            w.hello,
                            first_name(&approver.name),
                            fill(w.reminder, &series, date, language)
                                .replace("{due}", &long_date_in(language, due)),
                            w.how,
                            fill(w.regards, &series, date, language)
                        ),
                        in_reply_to: None,
                        date: ctx.now,
                        attachments: Vec::new(),
                    }
                    .render()?
                    .telling_on_failure(
                        state.secretary_address.as_deref(),
                        series.language == "en",
                    ),
                );
            }
        }
        for mail in mails {
            let what = format!("{} to {}", mail.kind, mail.recipients.join(", "));
            if ctx.dry_run || store::enqueue(&mut tx, &mail, ctx.now).await? {
                if !ctx.dry_run {
                    approvals::event(&mut tx, meeting_id, &what, ctx.now).await?;
                }
                done.push(Done {
                    job: "approval",
                    what,
                });
            }
        }
    }
    if ctx.dry_run {
        tx.rollback().await?;
    } else {
        tx.commit().await?;
    }
    Ok(done)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_line_of_the_new_text_decides() {
        assert!(approves("Justerat!\n\nMvh Anna"));
        assert!(approves("  ok\n"));
        assert!(approves("Approved, thanks"));
        assert!(approves("\n\nGodkänt.\n> Protokoll ..."));
        assert!(!approves("Kan vi ändra §3? Annars justerat."));
        assert!(!approves("Oklart vad som gäller i §2"));
        assert!(!approves("> Justerat\n"), "quoted text does not count");
        assert!(!approves(""));
    }

    #[test]
    fn minutes_that_say_they_are_approved() {
        assert!(ALREADY_APPROVED.is_match("Protokoll\n...\nJusterat 2024-09-20\nAnna Ek"));
        assert!(!ALREADY_APPROVED.is_match("Justeras av: Anna Ek\nJusteringens tid: 2024-09-20"));
    }

    #[test]
    fn replies_name_what_they_answer() {
        let raw = b"From: a@example.org\r\nIn-Reply-To: <x1@example.org>\r\n\
References: <x0@example.org> <x1@example.org>\r\n\r\nJusterat\r\n";
        assert_eq!(
            answered_ids(raw),
            vec!["<x1@example.org>", "<x0@example.org>"]
        );
    }
}
