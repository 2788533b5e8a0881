//! Telling the secretary when a mail could not be delivered.
//!
//! A mail the receiving server refuses for good (5xx), or one still failing after five days, is
//! given up. When the mail was sent on a secretary's behalf (an invitation, a request to approve
//! the minutes), its outbox row names whom to tell ([`crate::store::FailureContact`]), and
//! giving up queues a short notice to that person, in the mail's language, in the same
//! transaction that marks the row failed. A notice is never about a notice, and never goes to
//! the address that refused.

use anyhow::Result;
use chrono::{DateTime, Utc};

use crate::config::MailboxConfig;
use crate::outgoing::{self, TextMail};
use crate::store::{OutgoingMail, QueuedMail};

/// The notice about `failed`, if its row names someone to tell who is not among its recipients.
pub fn render(
    mailbox: &MailboxConfig,
    failed: &QueuedMail,
    error: &str,
    now: DateTime<Utc>,
) -> Result<Option<OutgoingMail>> {
    let Some(contact) = &failed.tell_on_failure else {
        return Ok(None);
    };
    if failed
        .recipients
        .iter()
        .any(|r| r.eq_ignore_ascii_case(&contact.address))
    {
        return Ok(None);
    }
    let parsed = crate::document::parse_mail(&failed.raw);
    let subject = parsed
        .as_ref()
        .and_then(|m| m.subject())
        .map(|s| outgoing::clean_header_text(s, 200))
        .unwrap_or_default();
    // The recipient's name as the failed mail addressed them, for the correction line.
    let name = parsed
        .as_ref()
        .and_then(|m| m.to())
        .and_then(|to| to.first())
        .and_then(|a| a.name())
        .map(|n| outgoing::clean_header_text(n, 120))
        .filter(|n| !n.is_empty());
    let recipients = failed.recipients.join(", ");
    let reason = outgoing::clean_header_text(error, 500);
    let (title, body) = if contact.english {
        (
            format!("Undeliverable: {subject}"),
            format!(
                "Hello,\n\nThe mail \"{subject}\" that Clerk sent on your behalf could not be \
                 delivered to {recipients}. The receiving server refused it:\n\n    {reason}\n\n\
                 Clerk will not try again. If the address is wrong, reply with a line such as\n\n    \
                 {} = {}\n\nwith the right address, and Clerk will use it from now on. Otherwise, please \
                 tell them another way.\n\nRegards,\n{}\n",
                name.as_deref().unwrap_or("First Last"),
                crate::corrections::EXAMPLE_ADDRESSES[1],
                mailbox.display_name
            ),
        )
    } else {
        (
            format!("Kunde inte levereras: {subject}"),
            format!(
                "Hej,\n\nUtskicket \"{subject}\" som Clerk skickade åt dig kunde inte levereras \
                 till {recipients}. Den mottagande servern avvisade det:\n\n    {reason}\n\n\
                 Clerk försöker inte igen. Är adressen fel, svara med en rad som\n\n    \
                 {} = {}\n\nmed den rätta adressen, så använder Clerk den framöver. Meddela annars \
                 personen på annat sätt.\n\nVänliga hälsningar\n{}\n",
                name.as_deref().unwrap_or("Förnamn Efternamn"),
                crate::corrections::EXAMPLE_ADDRESSES[0],
                mailbox.display_name
            ),
        )
    };
    let mail = TextMail {
        dedupe_key: format!("failure-notice:{}:{}", mailbox.name, failed.message_id),
        kind: "failure-notice",
        mailbox_name: &mailbox.name,
        from: outgoing::mailbox(Some(&mailbox.display_name), &mailbox.address)?,
        to: vec![outgoing::mailbox(None, &contact.address)?],
        subject: &title,
        body,
        in_reply_to: None,
        date: now,
        attachments: Vec::new(),
    }
    .render()?;
    Ok(Some(mail))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::FailureContact;

    fn mailbox() -> MailboxConfig {
        toml::from_str(
            r#"
name = "main"
address = "clerk@example.org"
display_name = "Kommunens mötessekreterare"
[imap]
host = "127.0.0.1"
port = 10143
username = "clerk@example.org"
[smtp]
host = "127.0.0.1"
port = 10025
"#,
        )
        .expect("mailbox parses")
    }

    fn failed(contact: Option<(&str, bool)>) -> QueuedMail {
        QueuedMail {
            id: 7,
            envelope_from: "clerk@example.org".into(),
            recipients: vec!["alice@example.org".into()],
            message_id: "<abc.clerk@example.org>".into(),
            raw: "From: Styrgruppen <clerk@example.org>\r\nTo: Alice Andersson <alice@example.org>\r\n\
                  Subject: =?utf-8?q?Inbjudan=3A_Styrgruppen_f=C3=B6r_e-tj=C3=A4nster?=\r\n\r\nHej\r\n"
                .as_bytes()
                .to_vec(),
            attempts: 0,
            created_at: chrono::Utc::now(),
            tell_on_failure: contact.map(|(address, english)| FailureContact {
                address: address.into(),
                english,
            }),
        }
    }

    fn body(mail: &OutgoingMail) -> String {
        let parsed = crate::document::parse_mail(&mail.raw).expect("notice parses");
        parsed.body_text(0).expect("a text body").into_owned()
    }

    #[test]
    fn the_secretary_is_told_in_swedish_with_the_reason_and_a_correction_line() {
        let mail = failed(Some(("sara@example.org", false)));
        let error = "permanent error (550): 5.1.1 <alice@example.org>: Recipient address rejected";
        let notice = render(&mailbox(), &mail, error, chrono::Utc::now())
            .unwrap()
            .expect("a notice");
        assert_eq!(notice.recipients, vec!["sara@example.org".to_string()]);
        assert_eq!(notice.kind, "failure-notice");
        assert_eq!(
            notice.tell_on_failure, None,
            "never a notice about a notice"
        );
        let parsed = crate::document::parse_mail(&notice.raw).unwrap();
        assert_eq!(
            parsed.subject(),
            Some("Kunde inte levereras: Inbjudan: Styrgruppen för e-tjänster")
        );
        let text = body(&notice);
        assert!(text.contains("alice@example.org"), "{text}");
        assert!(text.contains("5.1.1"), "{text}");
        assert!(
            text.contains("Alice Andersson = fornamn.efternamn@organisation.se"),
            "{text}"
        );
        assert!(text.contains("Vänliga hälsningar"), "{text}");
    }

    #[test]
    fn english_series_get_an_english_notice() {
        let mail = failed(Some(("sara@example.org", true)));
        let notice = render(&mailbox(), &mail, "550 no such user", chrono::Utc::now())
            .unwrap()
            .expect("a notice");
        let text = body(&notice);
        assert!(
            text.contains("could not be delivered to alice@example.org"),
            "{text}"
        );
        assert!(!text.contains("Hej"), "{text}");
    }

    #[test]
    fn no_notice_without_a_contact_or_to_the_address_that_failed() {
        let now = chrono::Utc::now();
        assert!(
            render(&mailbox(), &failed(None), "550", now)
                .unwrap()
                .is_none()
        );
        let to_self = failed(Some(("Alice@Example.org", false)));
        assert!(render(&mailbox(), &to_self, "550", now).unwrap().is_none());
    }

    #[test]
    fn the_notice_for_one_failed_mail_has_one_key() {
        let mail = failed(Some(("sara@example.org", false)));
        let a = render(&mailbox(), &mail, "550 a", chrono::Utc::now())
            .unwrap()
            .unwrap();
        let b = render(&mailbox(), &mail, "550 b", chrono::Utc::now())
            .unwrap()
            .unwrap();
        assert_eq!((a.dedupe_key, a.message_id), (b.dedupe_key, b.message_id));
    }
}
