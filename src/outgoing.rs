//! Building outgoing mail: the exact bytes that go into the outbox.
//!
//! A mail is rendered once, when the state change that causes it is committed, and the same bytes
//! are sent on every retry. Its Message-ID is derived from what the mail is about (the outbox's
//! dedupe key), so even a mail rendered twice carries the same Message-ID and a duplicate would
//! be recognisable. lettre makes no Message-ID of its own and stamps Date when building, which is
//! why both are set here.
//!
//! **Invariant:** every string taken from a document or a header is passed through
//! [`clean_header_text`] before it reaches lettre (a CR or LF in a display name makes it panic).

use anyhow::{Context, Result};
use chrono::{DateTime, Utc};
use lettre::message::header::{self, ContentType, HeaderName, HeaderValue};
use lettre::message::{Mailbox, MultiPart, SinglePart};
use lettre::{Address, Message};
use sha2::{Digest, Sha256};

use crate::store::OutgoingMail;

/// `Auto-Submitted: auto-replied` (RFC 3834): tells other robots not to answer Clerk's replies.
#[derive(Debug, Clone)]
struct AutoSubmitted(&'static str);

impl header::Header for AutoSubmitted {
    fn name() -> HeaderName {
        HeaderName::new_from_ascii_str("Auto-Submitted")
    }
    fn parse(s: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        Ok(AutoSubmitted(if s.trim() == "auto-generated" {
            "auto-generated"
        } else {
            "auto-replied"
        }))
    }
    fn display(&self) -> HeaderValue {
        HeaderValue::new(Self::name(), self.0.to_string())
    }
}

/// Removes CR, LF and every other control character, and folds runs of white space, so the
/// text is safe in a header or display name. Keeps at most `max` characters.
pub fn clean_header_text(text: &str, max: usize) -> String {
    let mut out = String::with_capacity(text.len().min(max));
    let mut last_space = true;
    for ch in text.chars() {
        let ch = if ch.is_control() || ch.is_whitespace() {
            ' '
        } else {
            ch
        };
        if ch == ' ' {
            if last_space {
                continue;
            }
            last_space = true;
        } else {
            last_space = false;
        }
        if out.chars().count() >= max {
            break;
        }
        out.push(ch);
    }
    out.trim_end().to_string()
}

/// The stable Message-ID of the mail identified by `dedupe_key`, in the sender's domain.
pub fn message_id_for(dedupe_key: &str, from: &str) -> String {
    let domain = from
        .rsplit_once('@')
        .map(|(_, d)| d)
        .unwrap_or("clerk.invalid");
    let digest = hex::encode(Sha256::digest(dedupe_key.as_bytes()));
    format!("<{}.clerk@{}>", &digest[..32], domain)
}

/// A mailbox (display name and address) built safely from untrusted parts.
pub fn mailbox(name: Option<&str>, address: &str) -> Result<Mailbox> {
    let address: Address = address
        .trim()
        .parse()
        .with_context(|| format!("not a usable email address: {address:?}"))?;
    let name = name
        .map(|n| clean_header_text(n, 120))
        .filter(|n| !n.is_empty());
    Ok(Mailbox::new(name, address))
}

/// What a plain-text mail says and to whom.
#[derive(Debug, Clone)]
pub struct TextMail<'a> {
    pub dedupe_key: String,
    pub kind: &'a str,
    pub mailbox_name: &'a str,
    pub from: Mailbox,
    pub to: Vec<Mailbox>,
    pub subject: &'a str,
    pub body: String,
    /// The Message-ID being answered, if this is a reply.
    pub in_reply_to: Option<&'a str>,
    pub date: DateTime<Utc>,
    /// Documents sent along (the minutes to approve, say).
    pub attachments: Vec<Attachment>,
}

impl TextMail<'_> {
    /// Renders the final bytes: text/plain in UTF-8, with a stable Message-ID.
    pub fn render(&self) -> Result<OutgoingMail> {
        let message_id = message_id_for(&self.dedupe_key, self.from.email.as_ref());
        let mut builder = Message::builder()
            .from(self.from.clone())
            .subject(clean_header_text(self.subject, 200))
            .message_id(Some(message_id.clone()))
            .date(self.date.into())
            .header(AutoSubmitted(if self.in_reply_to.is_some() {
                "auto-replied"
            } else {
                "auto-generated"
            }));
        for to in &self.to {
            builder = builder.to(to.clone());
        }
        if let Some(parent) = self.in_reply_to {
            let parent = clean_header_text(parent, 500);
            let parent = if parent.starts_with('<') {
                parent
            } else {
                format!("<{parent}>")
            };
            builder = builder.in_reply_to(parent.clone()).references(parent);
        }
        let body = SinglePart::builder()
            .header(ContentType::TEXT_PLAIN)
            .body(self.body.clone());
        let mut mixed = MultiPart::mixed().singlepart(body);
        for attachment in &self.attachments {
            mixed = mixed.singlepart(attachment.part()?);
        }
        let message = builder
            .multipart(mixed)
            .context("building an outgoing mail")?;
        Ok(OutgoingMail {
            dedupe_key: self.dedupe_key.clone(),
            kind: self.kind.to_string(),
            mailbox: self.mailbox_name.to_string(),
            envelope_from: self.from.email.to_string(),
            recipients: self.to.iter().map(|m| m.email.to_string()).collect(),
            message_id,
            raw: message.formatted(),
            tell_on_failure: None,
        })
    }
}

/// A document sent along with an invitation (the agenda, say).
#[derive(Debug, Clone)]
pub struct Attachment {
    pub name: String,
    /// A MIME type such as `application/pdf`; anything unreadable is sent as
    /// `application/octet-stream`.
    pub content_type: String,
    pub bytes: Vec<u8>,
}

impl Attachment {
    /// The MIME part, with a safe file name and a content type that parses.
    fn part(&self) -> Result<SinglePart> {
        let name = clean_header_text(&self.name, 200).replace('"', "'");
        let name = if name.is_empty() {
            "document".to_string()
        } else {
            name
        };
        let content_type = ContentType::parse(&clean_header_text(&self.content_type, 100))
            .or_else(|_| ContentType::parse("application/octet-stream"))
            .context("the attachment's content type")?;
        Ok(lettre::message::Attachment::new(name).body(self.bytes.clone(), content_type))
    }
}

/// An invitation (or its update or cancellation) as the big clients expect it (RFC 6047):
///
/// ```text
/// multipart/mixed
///   multipart/alternative
///     text/plain
///     text/html
///     text/calendar; method=REQUEST; charset=utf-8   <- last, inline: what clients act on
///   application/ics  invite.ics (attachment)          <- the same object, for the others
///   [the attached document]
/// ```
///
/// The `method=` parameter is read from the object's own `METHOD`, so the two cannot disagree.
#[derive(Debug, Clone)]
pub struct InvitationMail<'a> {
    pub dedupe_key: String,
    pub kind: &'a str,
    pub mailbox_name: &'a str,
    /// The organizer, as in the object's `ORGANIZER`.
    pub from: Mailbox,
    pub to: Vec<Mailbox>,
    pub subject: &'a str,
    pub text: String,
    pub html: String,
    /// One iTIP object, from [`crate::calendar::request`] or [`crate::calendar::cancel`].
    pub ics: String,
    pub attachment: Option<Attachment>,
    pub date: DateTime<Utc>,
}

/// The `METHOD` of the single `VCALENDAR` in `ics`: `REQUEST` or `CANCEL`, or why not.
fn itip_method(ics: &str) -> Result<&'static str> {
    let unfolded = ics.replace("\r\n ", "").replace("\r\n\t", "");
    let lines = || unfolded.lines().map(str::trim_end);
    let calendars = lines()
        .filter(|l| l.eq_ignore_ascii_case("BEGIN:VCALENDAR"))
        .count();
    anyhow::ensure!(
        calendars == 1,
        "an invitation carries exactly one iCalendar object, not {calendars}"
    );
    let methods: Vec<&str> = lines().filter_map(|l| l.strip_prefix("METHOD:")).collect();
    match methods.as_slice() {
        [m] if m.eq_ignore_ascii_case("REQUEST") => Ok("REQUEST"),
        [m] if m.eq_ignore_ascii_case("CANCEL") => Ok("CANCEL"),
        other => anyhow::bail!("an invitation needs METHOD REQUEST or CANCEL, found {other:?}"),
    }
}

impl InvitationMail<'_> {
    /// Renders the final bytes, with a stable Message-ID.
    pub fn render(&self) -> Result<OutgoingMail> {
        let method = itip_method(&self.ics)?;
        let message_id = message_id_for(&self.dedupe_key, self.from.email.as_ref());
        let mut builder = Message::builder()
            .from(self.from.clone())
            .subject(clean_header_text(self.subject, 200))
            .message_id(Some(message_id.clone()))
            .date(self.date.into())
            .header(AutoSubmitted("auto-generated"));
        for to in &self.to {
            builder = builder.to(to.clone());
        }
        let calendar_type =
            ContentType::parse(&format!("text/calendar; method={method}; charset=UTF-8"))
                .context("the calendar content type")?;
        let alternative = MultiPart::alternative()
            .singlepart(
                SinglePart::builder()
                    .header(ContentType::TEXT_PLAIN)
                    .body(self.text.clone()),
            )
            .singlepart(
                SinglePart::builder()
                    .header(ContentType::TEXT_HTML)
                    .body(self.html.clone()),
            )
            .singlepart(
                SinglePart::builder()
                    .header(calendar_type)
                    .body(self.ics.clone()),
            );
        let ics_type = ContentType::parse("application/ics; name=\"invite.ics\"")
            .context("the ics content type")?;
        let mut mixed = MultiPart::mixed().multipart(alternative).singlepart(
            lettre::message::Attachment::new("invite.ics".to_string())
                .body(self.ics.clone().into_bytes(), ics_type),
        );
        if let Some(doc) = &self.attachment {
            mixed = mixed.singlepart(doc.part()?);
        }
        let message = builder
            .multipart(mixed)
            .context("building an invitation mail")?;
        Ok(OutgoingMail {
            dedupe_key: self.dedupe_key.clone(),
            kind: self.kind.to_string(),
            mailbox: self.mailbox_name.to_string(),
            envelope_from: self.from.email.to_string(),
            recipients: self.to.iter().map(|m| m.email.to_string()).collect(),
            message_id,
            raw: message.formatted(),
            tell_on_failure: None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_text_loses_controls() {
        assert_eq!(clean_header_text("Anna\r\nBcc: x@y", 100), "Anna Bcc: x@y");
        assert_eq!(clean_header_text("  a\t\tb\u{7} ", 100), "a b");
        assert_eq!(clean_header_text("åäö", 2), "åä");
    }

    #[test]
    fn message_id_is_stable_and_in_the_senders_domain() {
        let a = message_id_for("receipt:1", "clerk@example.org");
        assert_eq!(a, message_id_for("receipt:1", "clerk@example.org"));
        assert_ne!(a, message_id_for("receipt:2", "clerk@example.org"));
        assert!(a.ends_with("@example.org>"), "{a}");
    }

    #[test]
    fn display_name_with_newlines_renders_without_panic_or_injection() {
        let from = mailbox(Some("Clerk"), "clerk@example.org").expect("from");
        let to = mailbox(Some("Evil\r\nBcc: victim@example.com"), "anna@example.org").expect("to");
        let mail = TextMail {
            dedupe_key: "k".into(),
            kind: "receipt",
            mailbox_name: "main",
            from,
            to: vec![to],
            subject: "Re: protokoll\r\nBcc: x@y",
            body: "Hej".into(),
            in_reply_to: Some("<abc@example.org>"),
            date: Utc::now(),
            attachments: Vec::new(),
        }
        .render()
        .expect("renders");
        let text = String::from_utf8_lossy(&mail.raw);
        assert!(!text.lines().any(|l| l.starts_with("Bcc:")), "{text}");
        assert!(text.contains("In-Reply-To: <abc@example.org>"), "{text}");
        assert!(text.contains("Auto-Submitted: auto-replied"), "{text}");
        assert_eq!(mail.recipients, vec!["anna@example.org".to_string()]);
    }

    fn invitation(ics: String) -> InvitationMail<'static> {
        InvitationMail {
            dedupe_key: "invite:m-1:1".into(),
            kind: "invitation",
            mailbox_name: "main",
            from: mailbox(Some("Sekreteraren"), "clerk@example.org").expect("from"),
            to: vec![mailbox(Some("Åsa Öberg"), "asa@example.org").expect("to")],
            subject: "Inbjudan: Styrelsemöte",
            text: "Välkommen!".into(),
            html: "<p>Välkommen!</p>".into(),
            ics,
            attachment: Some(Attachment {
                name: "Dagordning\r\nBcc: x@y.pdf".into(),
                content_type: "application/pdf".into(),
                bytes: b"%PDF-1.4".to_vec(),
            }),
            date: Utc::now(),
        }
    }

    const ICS: &str = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//EN\r\nMETHOD:CANCEL\r\n\
        BEGIN:VEVENT\r\nUID:m-1\r\nDTSTAMP:20260101T000000Z\r\nSTATUS:CANCELLED\r\n\
        END:VEVENT\r\nEND:VCALENDAR\r\n";

    #[test]
    fn invitation_method_param_follows_the_object() {
        let mail = invitation(ICS.into()).render().expect("renders");
        let text = String::from_utf8_lossy(&mail.raw);
        // lettre writes the charset in lower case; charset names are case-insensitive.
        assert!(
            text.contains("Content-Type: text/calendar; method=CANCEL; charset=utf-8"),
            "{text}"
        );
        assert!(text.contains("Auto-Submitted: auto-generated"), "{text}");
        assert!(!text.lines().any(|l| l.starts_with("Bcc:")), "{text}");
        assert_eq!(
            mail.message_id,
            message_id_for("invite:m-1:1", "clerk@example.org")
        );
    }

    #[test]
    fn invitation_refuses_anything_but_one_request_or_cancel() {
        let reply = ICS.replace("METHOD:CANCEL", "METHOD:REPLY");
        let two = format!("{ICS}{ICS}");
        let none = ICS.replace("METHOD:CANCEL\r\n", "");
        for ics in [reply, two, none] {
            assert!(invitation(ics.clone()).render().is_err(), "{ics}");
        }
    }
}
