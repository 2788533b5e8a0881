//! The iCalendar objects inside a received mail, wherever the sending client put them.
//!
//! Clients disagree: Google puts a `text/calendar; method=REPLY` part in a
//! multipart/alternative, Outlook sends the whole mail as `text/calendar`, others attach an
//! `invite.ics` as `application/ics` or `application/octet-stream`, with or without `method=`.
//! mail-parser calls a standalone `text/calendar` part an attachment (its issue #137), so every
//! part is looked at, attachment or not. Mails attached to the mail are not looked into: a
//! forwarded invitation is not an answer.

use mail_parser::{MimeHeaders, PartType};

use super::reply::MAX_REPLY_BYTES;

/// At most this many objects are taken from one mail.
pub const MAX_CALENDAR_PARTS: usize = 10;
/// Mails with more MIME parts than this are only read this far.
const MAX_PARTS_SCANNED: usize = 200;

fn is_calendar(ctype: &str, subtype: &str, name: Option<&str>) -> bool {
    let ctype = ctype.to_ascii_lowercase();
    let subtype = subtype.to_ascii_lowercase();
    let by_type = matches!(
        (ctype.as_str(), subtype.as_str()),
        ("text", "calendar") | ("application", "ics") | ("text", "x-vcalendar")
    );
    let by_name = name.is_some_and(|n| {
        let n = n.trim().to_ascii_lowercase();
        n.ends_with(".ics") || n.ends_with(".ical") || n.ends_with(".ifb")
    });
    by_type || by_name
}

/// The text of every calendar part in `raw_mail`, in the mail's order, at most
/// [`MAX_CALENDAR_PARTS`]; parts larger than [`MAX_REPLY_BYTES`] are left out.
pub fn calendar_parts(raw_mail: &[u8]) -> Vec<String> {
    let Some(message) = crate::document::parse_mail(raw_mail) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for part in message.parts.iter().take(MAX_PARTS_SCANNED) {
        if matches!(part.body, PartType::Multipart(_) | PartType::Message(_)) {
            continue;
        }
        let (ctype, subtype) = part
            .content_type()
            .map(|ct| (ct.ctype(), ct.subtype().unwrap_or("")))
            .unwrap_or(("text", "plain"));
        if !is_calendar(ctype, subtype, part.attachment_name()) {
            continue;
        }
        let bytes = part.contents();
        if bytes.is_empty() || bytes.len() > MAX_REPLY_BYTES {
            continue;
        }
        let text = match &part.body {
            PartType::Text(text) => text.to_string(),
            _ => String::from_utf8_lossy(bytes).into_owned(),
        };
        out.push(text);
        if out.len() >= MAX_CALENDAR_PARTS {
            break;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::calendar::{PartStat, parse_reply};

    const REPLY: &str = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Test//EN\r\nMETHOD:REPLY\r\n\
        BEGIN:VEVENT\r\nUID:m-1@clerk.example.org\r\nDTSTAMP:20260202T090000Z\r\nSEQUENCE:1\r\n\
        ATTENDEE;PARTSTAT=ACCEPTED;CN=Åsa:mailto:asa@example.org\r\nEND:VEVENT\r\n\
        END:VCALENDAR\r\n";

    fn assert_one_accepted(parts: &[String]) {
        assert_eq!(parts.len(), 1, "{parts:?}");
        let reply = parse_reply(&parts[0]).expect("the part is the reply");
        assert_eq!(reply.uid, "m-1@clerk.example.org");
        assert_eq!(reply.partstat, PartStat::Accepted);
    }

    #[test]
    fn reply_in_a_multipart_alternative() {
        let mail = format!(
            "From: asa@example.org\r\nTo: clerk@example.org\r\nSubject: Accepterat: Möte\r\n\
             MIME-Version: 1.0\r\nContent-Type: multipart/alternative; boundary=\"b1\"\r\n\r\n\
             --b1\r\nContent-Type: text/plain; charset=UTF-8\r\n\r\nÅsa har tackat ja.\r\n\
             --b1\r\nContent-Type: text/html; charset=UTF-8\r\n\r\n<p>Åsa har tackat ja.</p>\r\n\
             --b1\r\nContent-Type: text/calendar; charset=UTF-8; method=REPLY\r\n\
             Content-Transfer-Encoding: 8bit\r\n\r\n{REPLY}\r\n--b1--\r\n"
        );
        assert_one_accepted(&calendar_parts(mail.as_bytes()));
    }

    #[test]
    fn reply_as_a_base64_attachment_without_method() {
        let encoded = base64(REPLY.as_bytes());
        let mail = format!(
            "From: asa@example.org\r\nSubject: Svar\r\nMIME-Version: 1.0\r\n\
             Content-Type: multipart/mixed; boundary=\"b2\"\r\n\r\n\
             --b2\r\nContent-Type: text/plain\r\n\r\nSe bilaga.\r\n\
             --b2\r\nContent-Type: text/calendar; charset=utf-8\r\n\
             Content-Disposition: attachment; filename=\"reply.ics\"\r\n\
             Content-Transfer-Encoding: base64\r\n\r\n{encoded}\r\n--b2--\r\n"
        );
        assert_one_accepted(&calendar_parts(mail.as_bytes()));
    }

    #[test]
    fn reply_as_application_ics_or_by_file_name() {
        for header in [
            "Content-Type: application/ics; name=\"invite.ics\"",
            "Content-Type: application/octet-stream\r\n\
             Content-Disposition: attachment; filename=\"SVAR.ICS\"",
        ] {
            let mail = format!(
                "From: asa@example.org\r\nSubject: Svar\r\nMIME-Version: 1.0\r\n\
                 Content-Type: multipart/mixed; boundary=\"b3\"\r\n\r\n\
                 --b3\r\nContent-Type: text/plain\r\n\r\nHej\r\n\
                 --b3\r\n{header}\r\n\r\n{REPLY}\r\n--b3--\r\n"
            );
            assert_one_accepted(&calendar_parts(mail.as_bytes()));
        }
    }

    #[test]
    fn a_whole_mail_of_text_calendar() {
        let mail = format!(
            "From: asa@example.org\r\nSubject: Accepted\r\nMIME-Version: 1.0\r\n\
             Content-Type: text/calendar; method=REPLY; charset=utf-8\r\n\r\n{REPLY}"
        );
        assert_one_accepted(&calendar_parts(mail.as_bytes()));
    }

    #[test]
    fn no_calendar_and_too_many() {
        let plain = "From: a@example.org\r\nSubject: x\r\n\r\nHej\r\n";
        assert!(calendar_parts(plain.as_bytes()).is_empty());
        assert!(calendar_parts(b"").is_empty());
        assert!(calendar_parts(&[0xff, 0x00, 0x13]).is_empty());

        let mut mail = String::from(
            "From: a@example.org\r\nMIME-Version: 1.0\r\n\
             Content-Type: multipart/mixed; boundary=\"b4\"\r\n\r\n",
        );
        for _ in 0..30 {
            mail.push_str(&format!(
                "--b4\r\nContent-Type: text/calendar\r\n\r\n{REPLY}\r\n"
            ));
        }
        mail.push_str("--b4--\r\n");
        assert_eq!(calendar_parts(mail.as_bytes()).len(), MAX_CALENDAR_PARTS);
    }

    fn base64(bytes: &[u8]) -> String {
        const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        let mut out = String::new();
        for chunk in bytes.chunks(3) {
            let b = [
                chunk[0],
                *chunk.get(1).unwrap_or(&0),
                *chunk.get(2).unwrap_or(&0),
            ];
            let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
            for i in 0..4 {
                if i <= chunk.len() {
                    out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
                } else {
                    out.push('=');
                }
            }
        }
        out.as_bytes()
            .chunks(76)
            .map(|l| String::from_utf8_lossy(l).into_owned())
            .collect::<Vec<_>>()
            .join("\r\n")
    }
}
