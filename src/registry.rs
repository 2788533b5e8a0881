//! What a processed mail teaches Clerk, recorded in the same transaction as the mail itself:
//! addresses from its headers, corrections by a secretary, and for each meeting document its
//! series, the meeting (and the meetings it announces), and the people in it, each mention
//! resolved to a person with an address or reported as a problem for the receipt.

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use sha2::{Digest, Sha256};

use anyhow::Result;

use crate::approval;
use crate::calendar::Reply;
use crate::config::{Config, MailboxConfig};
use crate::corrections::{self, Correction};
use crate::document::BODY;
use crate::extract::{Kind, Meeting};
use crate::invitations::{self, Note};
use crate::outgoing::Attachment;
use crate::people::{self, Problem, Scope};
use crate::series;
use crate::store::Tx;
use crate::store::meetings;
use crate::store::people::{self as stored_people, AddressChange, Known, Source};
use crate::store::series::{self as stored_series, MeetingFacts, NewSeries};
use crate::understanding::Reading;

/// What registering one mail did, for its receipt.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Registration {
    /// Per meeting document: its series' name and the meeting's date.
    pub meetings: Vec<(String, NaiveDate)>,
    /// Meetings announced for later (series name, date).
    pub announced: Vec<(String, NaiveDate)>,
    /// Names that could not be tied to an address, and guesses to confirm.
    pub problems: Vec<Problem>,
    /// Corrections taken, and corrections refused with why.
    pub corrections: Vec<(Correction, Result<(), Refusal>)>,
    /// What was sent about each announced meeting (series name, what was done).
    pub invitations: Vec<(String, Note)>,
    /// Calendar replies in the mail and what became of each.
    pub replies: Vec<ReplyOutcome>,
    /// Minutes and their approval: (series, meeting date, what was done).
    pub approvals: Vec<(String, NaiveDate, approval::Note)>,
    /// The mail answered an approval request (and was answered by the approval module).
    pub approval_reply: Option<approval::ReplyNote>,
    /// What an owner's answer to an action reminder did; it gets a confirmation, no receipt.
    pub action_reply: Option<crate::actions::ReplyOutcome>,
}

/// What became of an attendee's calendar reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReplyOutcome {
    /// The answer was recorded.
    Recorded {
        uid: String,
        attendee: String,
        partstat: String,
    },
    /// The reply is about a meeting Clerk did not invite to.
    UnknownMeeting { uid: String },
    /// The sender is not the attendee the reply speaks for.
    NotFromAttendee { attendee: String, sender: String },
    /// The attendee was not invited to that meeting.
    NotInvited { attendee: String },
}

/// Why a correction was not taken.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// The sender is not a secretary of this mailbox nor trusted by configuration.
    NotTrusted,
    /// A first name alone cannot be stored as a person.
    NeedFullName,
    /// The address is someone else's, by a source as strong.
    BelongsTo(String),
}

/// The mail being registered.
#[derive(Debug, Clone)]
pub struct Mail<'a> {
    pub mailbox: &'a MailboxConfig,
    /// The sender's display name and address.
    pub from: Option<(Option<String>, String)>,
    /// Every (display name, address) of From, To and Cc.
    pub correspondents: &'a [(String, String)],
    pub reading: &'a Reading,
    /// Ids of the stored documents, in the order of `reading.documents`.
    pub document_ids: &'a [i64],
    /// How this mail is named where facts learned from it are listed.
    pub label: String,
    /// The whole message, for attaching an agenda to its invitation.
    pub raw: &'a [u8],
    /// iCalendar replies found in the message.
    pub replies: &'a [Reply],
    /// The mail's own Message-ID, for answering it.
    pub message_id: Option<&'a str>,
    /// Whether the sender may send documents and corrections (see `senders`); replies to
    /// Clerk's own mail are handled either way.
    pub documents_allowed: bool,
}

/// Records everything `mail` teaches, inside `tx`.
pub async fn register(
    tx: &mut Tx,
    config: &Config,
    mail: &Mail<'_>,
    now: DateTime<Utc>,
) -> Result<Registration> {
    let mut registration = Registration::default();
    let own = mail.mailbox.address.to_lowercase();
    let others: Vec<(String, String)> = mail
        .correspondents
        .iter()
        .filter(|(_, address)| address.to_lowercase() != own)
        .cloned()
        .collect();
    record_replies(tx, mail, &mut registration).await?;
    let approval_context = approval::Context {
        config,
        mailbox: mail.mailbox,
        now,
    };
    registration.approval_reply = approval::on_reply(tx, &approval_context, mail).await?;
    if !mail.documents_allowed {
        return Ok(registration);
    }
    people::learn_from_headers(tx, &others, &mail.label, now).await?;
    if let Some(outcome) = crate::actions::handle_reply(tx, mail, now).await? {
        registration.action_reply = Some(outcome);
        return Ok(registration);
    }
    apply_corrections(tx, config, mail, &mut registration, now).await?;
    // Meetings to invite to, in order: (meeting, series name, attachment, announced in).
    let mut to_invite: Vec<(i64, String, Option<Attachment>, Option<String>)> = Vec::new();
    // Documents that move a meeting: the old date is cancelled, the new one invited.
    let mut moves = Vec::new();
    for (index, doc) in mail.reading.documents.iter().enumerate() {
        if doc.meeting.kind == Kind::Minutes {
            continue;
        }
        let year = doc.meeting.date.map(|d| d.year());
        let Some(moved) = invitations::moved(&doc.text, year) else {
            continue;
        };
        moves.push(index);
        for old in meetings::invited_on(tx, &mail.mailbox.name, moved.from).await? {
            let series = stored_series::series_by_id(tx, old.series_id).await?;
            let domain = own.rsplit_once('@').map_or("clerk.invalid", |(_, d)| d);
            let learned_from = format!("moved from {} ({})", moved.from, mail.label);
            let new_id = stored_series::meeting(
                tx,
                series.id,
                &MeetingFacts {
                    date: moved.to,
                    start: moved.start.or(old.start),
                    end: if moved.start.is_some() {
                        moved.end
                    } else {
                        old.end
                    },
                    place: old.place.as_deref(),
                    title: old.title.as_deref(),
                    status: "planned",
                    learned_from: &learned_from,
                    uid: &meeting_uid(&series.key, moved.to, domain),
                },
                now,
            )
            .await?;
            meetings::set_agenda(tx, new_id, old.agenda.as_deref(), old.url.as_deref()).await?;
            meetings::set_status(tx, old.id, "cancelled").await?;
            to_invite.push((old.id, series.title.clone(), None, None));
            to_invite.push((new_id, series.title, None, None));
        }
    }
    for (index, doc) in mail.reading.documents.iter().enumerate() {
        // "Mötet den 29 augusti ställs in." in a mail or a document that is no meeting itself.
        let Some(date) = doc.meeting.date.filter(|_| !doc.meeting.date_from_mail) else {
            continue;
        };
        if moves.contains(&index) {
            continue;
        }
        if doc.describes_meeting() || !invitations::calls_off(&doc.text) {
            continue;
        }
        for meeting in meetings::invited_on(tx, &mail.mailbox.name, date).await? {
            meetings::set_status(tx, meeting.id, "cancelled").await?;
            let series = stored_series::series_by_id(tx, meeting.series_id).await?;
            to_invite.push((meeting.id, series.title, None, None));
        }
    }
    for (index, doc) in mail.reading.documents.iter().enumerate() {
        let meeting = &doc.meeting;
        if !doc.describes_meeting() || moves.contains(&index) {
            continue;
        }
        let Some(date) = meeting.date else { continue };
        let sender = mail.from.as_ref().map(|(_, a)| a.as_str());
        let Some(placement) =
            series::place(config, meeting.title.as_deref(), &mail.mailbox.name, sender)
        else {
            continue;
        };
        let language = placement
            .config
            .and_then(|c| c.language.clone())
            .unwrap_or_else(|| language_code(meeting).to_string());
        let time_zone = placement
            .config
            .and_then(|c| c.time_zone.clone())
            .unwrap_or_else(|| config.daemon.time_zone.clone());
        let row = stored_series::series(
            tx,
            &NewSeries {
                key: &placement.key,
                title: &placement.title,
                mailbox: &mail.mailbox.name,
                time_zone: &time_zone,
                language: &language,
                configured: placement.config.is_some(),
            },
            now,
        )
        .await?;
        if let Some(series_config) = placement.config {
            for member in &series_config.members {
                let Ok(member) = people::parse_member(member) else {
                    continue;
                };
                let id =
                    stored_people::person(tx, &member.name, None, "configuration", now).await?;
                if let Some(address) = &member.address {
                    stored_people::add_address(
                        tx,
                        id,
                        address,
                        Source::Config,
                        "configuration",
                        now,
                    )
                    .await?;
                }
                stored_series::add_member(tx, row.id, id, "config", "configuration", now).await?;
            }
        }
        let what = match meeting.kind {
            Kind::Minutes => "minutes",
            _ => "agenda",
        };
        let learned_from = format!("{what} of {date} ({})", mail.label);
        let domain = own.rsplit_once('@').map_or("clerk.invalid", |(_, d)| d);
        let meeting_id = stored_series::meeting(
            tx,
            row.id,
            &MeetingFacts {
                date,
                start: meeting.start,
                end: meeting.end,
                place: meeting.place.as_deref(),
                title: meeting.title.as_deref(),
                status: if meeting.kind == Kind::Minutes {
                    "held"
                } else {
                    "planned"
                },
                learned_from: &learned_from,
                uid: &meeting_uid(&row.key, date, domain),
            },
            now,
        )
        .await?;
        if let Some(id) = mail.document_ids.get(index) {
            stored_series::link_document(tx, *id, meeting_id).await?;
        }
        registration.meetings.push((row.title.clone(), date));
        if meeting.kind == Kind::Agenda {
            let agenda: Vec<String> = meeting
                .agenda_items
                .iter()
                .map(|item| match &item.number {
                    Some(n) => format!("{} {}", n.trim_end_matches('.'), item.title),
                    None => item.title.clone(),
                })
                .collect();
            meetings::set_agenda(
                tx,
                meeting_id,
                (!agenda.is_empty()).then(|| agenda.join("\n")).as_deref(),
                invitations::video_link(&doc.text).as_deref(),
            )
            .await?;
            if invitations::calls_off(&doc.text) {
                meetings::set_status(tx, meeting_id, "cancelled").await?;
            }
            let attachment = (doc.name != BODY)
                .then(|| attachment(mail.raw, &doc.name))
                .flatten();
            to_invite.push((meeting_id, row.title.clone(), attachment, None));
        }
        for next in &meeting.next_meetings {
            let Some(next_date) = next.date.filter(|d| *d != date) else {
                continue;
            };
            let announced_in = format!("announced in the {what} of {date} ({})", mail.label);
            let next_id = stored_series::meeting(
                tx,
                row.id,
                &MeetingFacts {
                    date: next_date,
                    start: next.start,
                    end: next.end,
                    place: next.place.as_deref(),
                    title: meeting.title.as_deref(),
                    status: "planned",
                    learned_from: &announced_in,
                    uid: &meeting_uid(&row.key, next_date, domain),
                },
                now,
            )
            .await?;
            registration.announced.push((row.title.clone(), next_date));
            if meeting.kind == Kind::Minutes {
                let language = if row.language == "en" {
                    crate::extract::Language::En
                } else {
                    crate::extract::Language::Sv
                };
                let announced = match language {
                    crate::extract::Language::En => "the minutes of",
                    crate::extract::Language::Sv => "protokollet från",
                };
                to_invite.push((
                    next_id,
                    row.title.clone(),
                    None,
                    Some(format!(
                        "{announced} {}",
                        crate::receipt::long_date_in(language, date)
                    )),
                ));
            }
        }

        // The people the document names in a role: recorded as attendance and membership.
        let roles = roles(meeting);
        let member_from = format!("{what} of {date}");
        let mut in_meeting = Vec::new();
        for (name, organization, role) in &roles {
            if names_one_person(name) {
                let id = stored_people::person(tx, name, *organization, &learned_from, now).await?;
                stored_series::attendance(tx, meeting_id, id, role).await?;
                stored_series::add_member(tx, row.id, id, "document", &member_from, now).await?;
                in_meeting.push(id);
            }
        }
        let everyone = stored_people::everyone(tx).await?;
        let scope = Scope {
            meeting: everyone
                .iter()
                .filter(|k| in_meeting.contains(&k.id))
                .cloned()
                .collect(),
            members: stored_people::members(tx, row.id).await?,
            groups: placement
                .config
                .map(|c| c.groups.clone())
                .unwrap_or_default(),
            secretary: secretary(meeting, mail, &everyone),
            everyone,
        };
        let mut resolutions = Vec::new();
        let mentions = roles
            .iter()
            .map(|(name, _, _)| name.to_string())
            .chain(meeting.actions.iter().filter_map(|a| a.owner.clone()));
        for mention in mentions {
            resolutions.extend(people::resolve(&mention, &scope));
        }
        for problem in people::problems(&resolutions) {
            if !registration.problems.contains(&problem) {
                registration.problems.push(problem);
            }
        }
        if meeting.kind == Kind::Minutes {
            let approvers: Vec<(String, String)> = meeting
                .approvers
                .iter()
                .flat_map(|name| people::resolve(name, &scope))
                .flat_map(|(_, resolution)| people::addresses(&resolution))
                .fold(Vec::new(), |mut all, (name, address)| {
                    if !all.iter().any(|(_, a): &(String, String)| *a == address) {
                        all.push((name, address));
                    }
                    all
                });
            let attachment = (doc.name != BODY)
                .then(|| attachment(mail.raw, &doc.name))
                .flatten();
            let sender = mail.from.as_ref().map(|(_, a)| a.to_lowercase());
            if let Some(note) = approval::on_minutes(
                tx,
                &approval_context,
                meeting_id,
                doc,
                &approvers,
                sender.as_deref(),
                attachment,
            )
            .await?
            {
                registration.approvals.push((row.title.clone(), date, note));
            }
            crate::actions::record(tx, &row, meeting_id, meeting, &doc.text, &scope, now).await?;
        }
    }
    let mut done = Vec::new();
    for (meeting_id, series, attachment, announced_in) in to_invite {
        if done.contains(&meeting_id) {
            continue;
        }
        done.push(meeting_id);
        let context = invitations::Context {
            mailbox: mail.mailbox,
            now,
            attachment,
            announced_in,
            secretary: mail.from.as_ref().map(|(_, address)| address.clone()),
        };
        let note = invitations::send_for_meeting(tx, &context, meeting_id).await?;
        registration.invitations.push((series, note));
    }
    Ok(registration)
}

/// The bytes of an attached document, found by its file name.
pub fn attachment(raw: &[u8], name: &str) -> Option<Attachment> {
    use mail_parser::MimeHeaders;
    let message = crate::document::parse_mail(raw)?;
    let part = message
        .attachments()
        .find(|p| p.attachment_name() == Some(name))?;
    let content_type = part
        .content_type()
        .map(|ct| match ct.subtype() {
            Some(sub) => format!("{}/{sub}", ct.ctype()),
            None => ct.ctype().to_string(),
        })
        .unwrap_or_else(|| "application/octet-stream".into());
    Some(Attachment {
        name: name.to_string(),
        content_type,
        bytes: part.contents().to_vec(),
    })
}

/// Records each attendee's answer, only when the reply comes from that attendee.
async fn record_replies(
    tx: &mut Tx,
    mail: &Mail<'_>,
    registration: &mut Registration,
) -> Result<()> {
    let sender = mail
        .from
        .as_ref()
        .map(|(_, a)| a.to_lowercase())
        .unwrap_or_default();
    for reply in mail.replies {
        let outcome = match meetings::by_uid(tx, &reply.uid).await? {
            None => ReplyOutcome::UnknownMeeting {
                uid: reply.uid.clone(),
            },
            Some(_) if reply.attendee_email != sender => ReplyOutcome::NotFromAttendee {
                attendee: reply.attendee_email.clone(),
                sender: sender.clone(),
            },
            Some(meeting) => {
                let person = meetings::person_with_address(tx, &reply.attendee_email).await?;
                let recorded = match person {
                    Some(person) => {
                        meetings::set_partstat(tx, meeting.id, person, reply.partstat.as_str())
                            .await?
                    }
                    None => false,
                };
                if recorded {
                    ReplyOutcome::Recorded {
                        uid: reply.uid.clone(),
                        attendee: reply.attendee_email.clone(),
                        partstat: reply.partstat.as_str().to_string(),
                    }
                } else {
                    ReplyOutcome::NotInvited {
                        attendee: reply.attendee_email.clone(),
                    }
                }
            }
        };
        match &outcome {
            ReplyOutcome::Recorded { .. } => tracing::info!(?outcome, "calendar reply recorded"),
            _ => tracing::warn!(?outcome, "calendar reply not recorded"),
        }
        registration.replies.push(outcome);
    }
    Ok(())
}

/// The stable calendar UID of a series' meeting on a date.
pub fn meeting_uid(series_key: &str, date: NaiveDate, domain: &str) -> String {
    let digest = hex::encode(Sha256::digest(format!("{series_key}|{date}").as_bytes()));
    format!("{}@{domain}", &digest[..32])
}

fn language_code(meeting: &Meeting) -> &'static str {
    match meeting.language {
        crate::extract::Language::En => "en",
        crate::extract::Language::Sv => "sv",
    }
}

/// Everyone a document names in a role: (name, organisation, role).
fn roles(meeting: &Meeting) -> Vec<(&str, Option<&str>, &'static str)> {
    let mut out = Vec::new();
    for p in &meeting.attendees {
        out.push((p.name.as_str(), p.organization.as_deref(), "attendee"));
    }
    for p in &meeting.absent {
        out.push((p.name.as_str(), p.organization.as_deref(), "absent"));
    }
    if let Some(s) = &meeting.secretary {
        out.push((s.as_str(), None, "secretary"));
    }
    if let Some(c) = &meeting.chair {
        out.push((c.as_str(), None, "chair"));
    }
    for a in &meeting.approvers {
        out.push((a.as_str(), None, "approver"));
    }
    out
}

/// Whether a mention is one person's full name (so a person may be created for it): two to
/// five words of letters, not a list ("Håkan och Lena") nor a first name alone.
fn names_one_person(name: &str) -> bool {
    crate::names::split_mention(name).len() == 1 && people::is_personal_name(name)
}

/// Who takes what no one else can: the secretary named in the document, else the sender.
fn secretary(meeting: &Meeting, mail: &Mail<'_>, everyone: &[Known]) -> Option<Known> {
    if let Some(name) = &meeting.secretary {
        let key = crate::names::key(name);
        if let Some(k) = everyone.iter().find(|k| crate::names::key(&k.name) == key) {
            return Some(k.clone());
        }
    }
    let (name, address) = mail.from.as_ref()?;
    let address = address.to_lowercase();
    everyone
        .iter()
        .find(|k| k.address.as_deref() == Some(address.as_str()))
        .cloned()
        .or_else(|| {
            Some(Known {
                id: -1,
                name: name.clone().unwrap_or_else(|| address.clone()),
                organization: None,
                address: Some(address),
                address_source: Some(Source::Header),
                learned_from: None,
                address_learned_from: None,
            })
        })
}

/// Applies "Name = address" lines of the mail's own text when its sender may correct.
async fn apply_corrections(
    tx: &mut Tx,
    config: &Config,
    mail: &Mail<'_>,
    registration: &mut Registration,
    now: DateTime<Utc>,
) -> Result<()> {
    let Some(body) = mail.reading.documents.iter().find(|d| d.name == BODY) else {
        return Ok(());
    };
    let found = corrections::parse(&body.text);
    if found.is_empty() {
        return Ok(());
    }
    let sender = mail
        .from
        .as_ref()
        .map(|(_, a)| a.to_lowercase())
        .unwrap_or_default();
    let trusted = mail
        .mailbox
        .trusted_senders
        .iter()
        .chain(config.series.iter().flat_map(|s| &s.senders))
        .any(|t| t.eq_ignore_ascii_case(&sender))
        || stored_series::is_secretary(tx, &mail.mailbox.name, &sender).await?;
    let learned_from = format!("correction by {sender} ({})", mail.label);
    for correction in found {
        let outcome = if !trusted {
            Err(Refusal::NotTrusted)
        } else if !people::is_personal_name(&correction.name) {
            Err(Refusal::NeedFullName)
        } else {
            let id = stored_people::person(tx, &correction.name, None, &learned_from, now).await?;
            match stored_people::add_address(
                tx,
                id,
                &correction.address,
                Source::Correction,
                &learned_from,
                now,
            )
            .await?
            {
                AddressChange::Refused { owner } => Err(Refusal::BelongsTo(owner)),
                _ => Ok(()),
            }
        };
        if let Err(reason) = &outcome {
            tracing::warn!(%sender, name = %correction.name, ?reason, "correction not taken");
        }
        registration.corrections.push((correction, outcome));
    }
    Ok(())
}

/// Whether any resolution of a meeting's names went wrong (for logs).
pub fn unresolved_count(registration: &Registration) -> usize {
    registration
        .problems
        .iter()
        .filter(|p| !matches!(p, Problem::GroupToSecretary { .. }))
        .count()
}
