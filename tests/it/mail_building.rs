//! No header injection and no crash when building mail (issue 8, promise 8): property tests
//! with arbitrary Unicode (controls, CR, LF, NUL, bidi marks, astral planes) in every string a
//! document or an incoming mail can put into an outgoing one: display names, subjects, the
//! Message-ID answered, attachment names and types, and an invitation's summary, place,
//! description and attendees' names. Every built mail must render, parse back with mail-parser
//! with exactly the headers Clerk writes, each once, and carry the cleaned text unchanged; every
//! iCalendar object must keep one line per property. Case counts are kept modest (the suite's
//! time budget); `PROPTEST_CASES=10000 cargo test --test it mail_building` runs more.

use chrono::{NaiveDate, TimeZone, Utc};
use clerk::calendar::{self, Attendee, Event, Person, When};
use clerk::outgoing::{self, Attachment, InvitationMail, TextMail, clean_header_text};
use mail_parser::MimeHeaders;
use proptest::prelude::*;

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: std::env::var("PROPTEST_CASES")
            .ok()
            .and_then(|c| c.parse().ok())
            .unwrap_or(96),
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// Arbitrary text, weighted towards what breaks headers: CR, LF, other controls, quotes,
/// colons, encoded-word markers and non-ASCII.
fn hostile_text() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        any::<String>(),
        Just("\r\n".to_string()),
        Just("\n".to_string()),
        Just("\r".to_string()),
        Just("\r\nBcc: victim@example.net\r\n".to_string()),
        Just("\u{0}\u{7}\u{1b}\u{7f}\u{85}\u{2028}\u{2029}".to_string()),
        Just("=?utf-8?q?x?=".to_string()),
        Just("\"<>,;:\\@".to_string()),
        Just("Föredragningslista åäö ÅÄÖ €".to_string()),
        Just("\u{202e}\u{200b}\u{feff}".to_string()),
    ];
    proptest::collection::vec(piece, 0..6).prop_map(|v| v.concat())
}

/// The names of the header fields of a message's top-level header block, in order.
fn header_names(raw: &[u8]) -> Vec<String> {
    let end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a header block ending in an empty line");
    let block = std::str::from_utf8(&raw[..end]).expect("headers are ASCII or UTF-8");
    let mut names = Vec::new();
    for line in block.split("\r\n") {
        assert!(
            !line.contains('\r') && !line.contains('\n'),
            "a bare CR or LF in a header line: {line:?}"
        );
        if line.starts_with([' ', '\t']) {
            continue;
        }
        let (name, _) = line
            .split_once(':')
            .unwrap_or_else(|| panic!("a header line without a field name: {line:?}"));
        assert!(
            !name.is_empty() && name.bytes().all(|b| (33..=126).contains(&b) && b != b':'),
            "not a field name: {name:?}"
        );
        names.push(name.to_ascii_lowercase());
    }
    names
}

fn assert_headers_exactly(raw: &[u8], expected: &[&str]) {
    let mut names = header_names(raw);
    names.sort();
    let mut expected: Vec<String> = expected.iter().map(|s| s.to_string()).collect();
    expected.sort();
    assert_eq!(names, expected, "{}", String::from_utf8_lossy(raw));
}

fn first_name(list: Option<&mail_parser::Address<'_>>) -> Option<String> {
    list.and_then(|l| l.first())
        .and_then(|a| a.name())
        .map(str::to_string)
}

fn first_address(list: Option<&mail_parser::Address<'_>>) -> Option<String> {
    list.and_then(|l| l.first())
        .and_then(|a| a.address())
        .map(str::to_string)
}

/// Text holding what reads as an RFC 2047 encoded word ("=?utf-8?q?x?="): lettre writes it as
/// is, so a reader decodes it. That changes the text a reader shows, never the header lines,
/// so such cases only skip the round-trip comparison.
fn looks_encoded(text: &str) -> bool {
    text.contains("=?")
}

/// What a display name becomes: cleaned, or none at all when nothing is left.
fn expected_name(name: &str) -> Option<String> {
    Some(clean_header_text(name, 120)).filter(|n| !n.is_empty())
}

proptest! {
    #![proptest_config(config())]

    /// Receipts, reminders, approval mail: TextMail with hostile names, subject, answered
    /// Message-ID and attachment.
    #[test]
    fn a_text_mail_with_hostile_strings_keeps_its_headers(
        from_name in hostile_text(),
        to_name in hostile_text(),
        subject in hostile_text(),
        parent in hostile_text(),
        attachment_name in hostile_text(),
        content_type in hostile_text(),
        body in hostile_text(),
    ) {
        let mail = TextMail {
            dedupe_key: format!("receipt:{subject}"),
            kind: "receipt",
            mailbox_name: "main",
            from: outgoing::mailbox(Some(&from_name), "clerk@example.org").unwrap(),
            to: vec![outgoing::mailbox(Some(&to_name), "anna@example.org").unwrap()],
            subject: &subject,
            body: body.clone(),
            in_reply_to: Some(&parent),
            date: Utc.with_ymd_and_hms(2026, 3, 12, 9, 0, 0).unwrap(),
            attachments: vec![Attachment {
                name: attachment_name.clone(),
                content_type,
                bytes: b"x".to_vec(),
            }],
        }
        .render()
        .expect("renders");
        assert_headers_exactly(
            &mail.raw,
            &[
                "from", "to", "subject", "message-id", "date", "auto-submitted",
                "in-reply-to", "references", "mime-version", "content-type",
            ],
        );
        let parsed = mail_parser::MessageParser::default()
            .parse(&mail.raw)
            .expect("parses back");
        if !looks_encoded(&from_name) && !looks_encoded(&to_name) {
            prop_assert_eq!(first_name(parsed.from()), expected_name(&from_name));
            prop_assert_eq!(first_name(parsed.to()), expected_name(&to_name));
        }
        prop_assert_eq!(first_address(parsed.from()), Some("clerk@example.org".to_string()));
        prop_assert_eq!(first_address(parsed.to()), Some("anna@example.org".to_string()));
        prop_assert!(parsed.bcc().is_none() && parsed.cc().is_none());
        let cleaned_subject = clean_header_text(&subject, 200);
        if !looks_encoded(&cleaned_subject) {
            prop_assert_eq!(parsed.subject().unwrap_or(""), cleaned_subject.as_str());
        }
        prop_assert_eq!(parsed.attachment_count(), 1);
        let name = parsed.attachment(0).and_then(|a| a.attachment_name()).unwrap_or("");
        prop_assert!(!name.chars().any(char::is_control), "{:?}", name);
        prop_assert!(!name.is_empty());
    }

    /// Invitations: the iCalendar object and the mail around it, with hostile text from the
    /// document in every field.
    #[test]
    fn an_invitation_with_hostile_strings_keeps_one_line_per_property(
        summary in hostile_text(),
        description in hostile_text(),
        location in hostile_text(),
        organizer_name in hostile_text(),
        names in proptest::collection::vec(hostile_text(), 1..4),
        subject in hostile_text(),
    ) {
        let day = NaiveDate::from_ymd_opt(2026, 10, 25).unwrap();
        let attendees: Vec<Attendee> = names
            .iter()
            .enumerate()
            .map(|(i, n)| Attendee::new(Person::new(format!("m{i}@example.org"), Some(n))))
            .collect();
        let event = Event {
            uid: "prop@clerk.example.org".into(),
            sequence: 1,
            summary: summary.clone(),
            description: Some(description),
            location: Some(location),
            url: None,
            when: When::Timed {
                start: day.and_hms_opt(2, 30, 0).unwrap(),
                end: day.and_hms_opt(4, 0, 0).unwrap(),
            },
            tz: chrono_tz::Europe::Stockholm,
            organizer: Person::new("clerk@example.org", Some(&organizer_name)),
            attendees,
            dtstamp: Utc.with_ymd_and_hms(2026, 10, 1, 9, 0, 0).unwrap(),
        };
        for ics in [calendar::request(&event), calendar::cancel(&event)] {
            let unfolded = ics.replace("\r\n ", "").replace("\r\n\t", "");
            prop_assert!(unfolded.ends_with("\r\n"));
            let lines: Vec<&str> = unfolded.trim_end_matches("\r\n").split("\r\n").collect();
            for line in &lines {
                prop_assert!(!line.chars().any(|c| c.is_control() && c != '\t'), "{:?}", line);
                let name_end = line.find([':', ';']).unwrap_or(0);
                prop_assert!(
                    name_end > 0 && line[..name_end].bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'-'),
                    "not a property line: {:?}", line
                );
            }
            let count = |prefix: &str| lines.iter().filter(|l| l.starts_with(prefix)).count();
            prop_assert_eq!(count("BEGIN:VEVENT"), 1);
            prop_assert_eq!(count("ATTENDEE"), names.len());
            prop_assert_eq!(count("ORGANIZER"), 1);
            prop_assert_eq!(count("SUMMARY"), 1);
            prop_assert!(count("LOCATION") <= 1 && count("DESCRIPTION") <= 1);
            prop_assert_eq!(count("METHOD"), 1);
            let unfolded_text = icalendar::parser::unfold(&ics);
            let calendar = icalendar::parser::read_calendar(&unfolded_text);
            prop_assert!(calendar.is_ok(), "the object parses back: {:?}", calendar.err());
        }
        let to: Vec<_> = names
            .iter()
            .enumerate()
            .map(|(i, n)| outgoing::mailbox(Some(n), &format!("m{i}@example.org")).unwrap())
            .collect();
        let mail = InvitationMail {
            dedupe_key: "invitation:prop".into(),
            kind: "invitation",
            mailbox_name: "main",
            from: outgoing::mailbox(Some(&organizer_name), "clerk@example.org").unwrap(),
            to,
            subject: &subject,
            text: summary.clone(),
            html: summary,
            ics: calendar::request(&event),
            attachment: None,
            date: Utc.with_ymd_and_hms(2026, 10, 1, 9, 0, 0).unwrap(),
        }
        .render()
        .expect("renders");
        assert_headers_exactly(
            &mail.raw,
            &["from", "to", "subject", "message-id", "date", "auto-submitted", "mime-version", "content-type"],
        );
        let parsed = mail_parser::MessageParser::default().parse(&mail.raw).expect("parses back");
        prop_assert_eq!(parsed.to().map(|t| t.iter().count()), Some(names.len()));
        let cleaned_subject = clean_header_text(&subject, 200);
        if !looks_encoded(&cleaned_subject) {
            prop_assert_eq!(parsed.subject().unwrap_or(""), cleaned_subject.as_str());
        }
    }

    /// A receipt answers what an incoming mail says of itself: its subject, sender name and
    /// Message-ID (RFC 2047-encoded, so anything at all) and its attachment's RFC 2231 name.
    #[test]
    fn a_receipt_to_a_hostile_mail_keeps_its_headers(
        subject in hostile_text(),
        sender_name in hostile_text(),
        file_name in hostile_text(),
        id in "[!-~]{1,40}",
    ) {
        let percent: String = file_name
            .bytes()
            .map(|b| format!("%{b:02X}"))
            .collect();
        let raw = format!(
            "From: {} <anna@example.org>\r\nTo: clerk@example.org\r\nSubject: {}\r\n\
             Message-ID: <{id}>\r\nMIME-Version: 1.0\r\n\
             Content-Type: multipart/mixed; boundary=b\r\n\r\n\
             --b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nHej.\r\n\
             --b\r\nContent-Type: text/plain; charset=utf-8\r\n\
             Content-Disposition: attachment; filename*=utf-8''{percent}\r\n\r\nDagordning\r\n--b--\r\n",
            encoded_words(&sender_name),
            encoded_words(&subject),
        );
        let report = clerk::intake::understand(raw.as_bytes(), 1 << 20);
        let (name, address) = report.from.clone().expect("a sender");
        let parent = format!("<{id}>");
        let mail = TextMail {
            dedupe_key: format!("receipt:main:{id}"),
            kind: "receipt",
            mailbox_name: "main",
            from: outgoing::mailbox(Some("Clerk"), "clerk@example.org").unwrap(),
            to: vec![outgoing::mailbox(name.as_deref(), &address).unwrap()],
            subject: &clerk::receipt::subject(report.subject.as_deref()),
            body: clerk::receipt::body(&report.reading, name.as_deref(), None),
            in_reply_to: Some(&parent),
            date: Utc.with_ymd_and_hms(2026, 3, 12, 9, 0, 0).unwrap(),
            attachments: Vec::new(),
        }
        .render()
        .expect("renders");
        assert_headers_exactly(
            &mail.raw,
            &[
                "from", "to", "subject", "message-id", "date", "auto-submitted",
                "in-reply-to", "references", "mime-version", "content-type",
            ],
        );
        let parsed = mail_parser::MessageParser::default().parse(&mail.raw).expect("parses back");
        prop_assert_eq!(first_address(parsed.to()), Some("anna@example.org".to_string()));
        prop_assert!(parsed.bcc().is_none() && parsed.cc().is_none());
        let text = parsed.body_text(0).unwrap_or_default();
        prop_assert!(!text.chars().any(|c| c.is_control() && c != '\n' && c != '\r' && c != '\t'), "{:?}", text);
    }
}

/// RFC 2047 encoded words for arbitrary text: Q encoding with every byte as `=XX`, in words
/// of whole characters.
fn encoded_words(text: &str) -> String {
    let mut words = Vec::new();
    let mut word = String::new();
    for ch in text.chars() {
        if word.len() > 45 {
            words.push(format!("=?utf-8?Q?{word}?="));
            word.clear();
        }
        let mut buf = [0u8; 4];
        for b in ch.encode_utf8(&mut buf).bytes() {
            word.push_str(&format!("={b:02X}"));
        }
    }
    if !word.is_empty() {
        words.push(format!("=?utf-8?Q?{word}?="));
    }
    words.join("\r\n ")
}
