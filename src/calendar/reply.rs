//! An attendee's answer (`METHOD:REPLY`, RFC 5546 §3.2.3) read back from untrusted text.
//!
//! The icalendar crate's parser does the reading; what is checked here is what iTIP says a reply
//! is: one `VEVENT` with a `UID` and exactly one `ATTENDEE` carrying a `PARTSTAT`. Clients differ:
//! Outlook sends no `ORGANIZER`, some forwarders drop `METHOD`, so both are optional. The input
//! is bounded in size and nesting before the parser (which recurses) sees it.

use icalendar::parser::{self, Component, Property};

use super::PartStat;

/// Replies larger than this are refused unread.
pub const MAX_REPLY_BYTES: usize = 1024 * 1024;
/// `BEGIN:` nesting deeper than this is refused (a reply needs three levels).
const MAX_DEPTH: usize = 8;

/// What an attendee answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub uid: String,
    pub sequence: Option<u32>,
    /// Lower-cased, without `mailto:`.
    pub attendee_email: String,
    pub partstat: PartStat,
    /// Lower-cased, without `mailto:`; Outlook leaves it out.
    pub organizer: Option<String>,
    /// Upper-cased; `None` when the object had no `METHOD`.
    pub method: Option<String>,
}

fn prop<'a>(props: &'a [Property<'a>], name: &str) -> Option<&'a Property<'a>> {
    props
        .iter()
        .find(|p| p.name.as_str().eq_ignore_ascii_case(name))
}

fn param<'a>(p: &'a Property<'a>, key: &str) -> Option<&'a str> {
    p.params
        .iter()
        .find(|x| x.key.as_str().eq_ignore_ascii_case(key))
        .and_then(|x| x.val.as_ref())
        .map(|v| v.as_str().trim_matches('"'))
}

/// `mailto:Anna@Example.org` -> `anna@example.org`.
fn address(value: &str) -> String {
    let value = value.trim();
    let value = match value.get(..7) {
        Some(scheme) if scheme.eq_ignore_ascii_case("mailto:") => &value[7..],
        _ => value,
    };
    value.trim().to_lowercase()
}

/// Refuses what would make the recursive parser slow or overflow its stack.
fn check_shape(text: &str) -> Result<(), String> {
    let mut depth = 0usize;
    for line in text.lines() {
        let line = line.trim_start();
        let starts = |tag: &str| {
            line.get(..tag.len())
                .is_some_and(|h| h.eq_ignore_ascii_case(tag))
        };
        if starts("BEGIN:") {
            depth += 1;
            if depth > MAX_DEPTH {
                return Err(format!(
                    "components are nested deeper than {MAX_DEPTH} levels"
                ));
            }
        } else if starts("END:") {
            depth = depth.saturating_sub(1);
        }
    }
    if depth != 0 {
        return Err("a component is not closed (BEGIN without END)".into());
    }
    Ok(())
}

fn shorten(message: &str) -> String {
    let one_line = message.split_whitespace().collect::<Vec<_>>().join(" ");
    match one_line.char_indices().nth(200) {
        Some((at, _)) => format!("{}...", &one_line[..at]),
        None => one_line,
    }
}

/// Reads a reply. `METHOD:REPLY` is accepted, and an object without `METHOD` when exactly one
/// attendee in it has a `PARTSTAT`; any other method, or anything malformed, is an error saying
/// why.
pub fn parse_reply(ics: &str) -> Result<Reply, String> {
    if ics.len() > MAX_REPLY_BYTES {
        return Err(format!(
            "the calendar object is {} bytes, more than the {MAX_REPLY_BYTES} read",
            ics.len()
        ));
    }
    let text = parser::unfold(ics.trim_start_matches('\u{feff}').trim());
    if text.is_empty() {
        return Err("the calendar object is empty".into());
    }
    check_shape(&text)?;
    let calendar = parser::read_calendar(&text)
        .map_err(|e| format!("not a readable iCalendar object: {}", shorten(&e)))?;
    if calendar.properties.is_empty()
        && !calendar
            .components
            .iter()
            .any(|c| c.name.as_str().eq_ignore_ascii_case("VEVENT"))
    {
        return Err("no VCALENDAR or VEVENT in it".into());
    }

    let method = prop(&calendar.properties, "METHOD").map(|p| p.val.as_str().trim().to_uppercase());
    if let Some(m) = method.as_deref().filter(|m| *m != "REPLY") {
        return Err(format!("METHOD:{m} is not a reply"));
    }

    let events: Vec<&Component> = calendar
        .components
        .iter()
        .filter(|c| c.name.as_str().eq_ignore_ascii_case("VEVENT"))
        .collect();
    // A reply to one occurrence of a series has a RECURRENCE-ID; prefer the master.
    let event = events
        .iter()
        .find(|e| prop(&e.properties, "RECURRENCE-ID").is_none())
        .or(events.first())
        .ok_or("no VEVENT in the calendar object")?;

    let uid = prop(&event.properties, "UID")
        .map(|p| p.val.as_str().trim().to_string())
        .filter(|u| !u.is_empty())
        .ok_or("the VEVENT has no UID")?;
    let sequence =
        match prop(&event.properties, "SEQUENCE") {
            Some(p) => {
                Some(p.val.as_str().trim().parse::<u32>().map_err(|_| {
                    format!("SEQUENCE {:?} is not a number", shorten(p.val.as_str()))
                })?)
            }
            None => None,
        };

    let answering: Vec<&Property> = event
        .properties
        .iter()
        .filter(|p| p.name.as_str().eq_ignore_ascii_case("ATTENDEE"))
        .filter(|p| param(p, "PARTSTAT").is_some())
        .collect();
    let attendee = match answering.as_slice() {
        [one] => *one,
        [] => return Err("no ATTENDEE with a PARTSTAT: nobody answered".into()),
        many => {
            return Err(format!(
                "{} attendees with a PARTSTAT: a reply answers for exactly one",
                many.len()
            ));
        }
    };
    let attendee_email = address(attendee.val.as_str());
    if attendee_email.is_empty() {
        return Err("the ATTENDEE has no address".into());
    }
    let partstat = PartStat::parse(param(attendee, "PARTSTAT").unwrap_or_default());
    let organizer = prop(&event.properties, "ORGANIZER")
        .map(|p| address(p.val.as_str()))
        .filter(|o| !o.is_empty());

    Ok(Reply {
        uid,
        sequence,
        attendee_email,
        partstat,
        organizer,
        method,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Outlook: no ORGANIZER, CRLF, an X-property and a folded ATTENDEE line.
    const OUTLOOK: &str = "BEGIN:VCALENDAR\r\n\
        METHOD:REPLY\r\n\
        PRODID:Microsoft Exchange Server 2010\r\n\
        VERSION:2.0\r\n\
        BEGIN:VTIMEZONE\r\n\
        TZID:W. Europe Standard Time\r\n\
        BEGIN:STANDARD\r\n\
        DTSTART:16010101T030000\r\n\
        TZOFFSETFROM:+0200\r\n\
        TZOFFSETTO:+0100\r\n\
        RRULE:FREQ=YEARLY;INTERVAL=1;BYDAY=-1SU;BYMONTH=10\r\n\
        END:STANDARD\r\n\
        BEGIN:DAYLIGHT\r\n\
        DTSTART:16010101T020000\r\n\
        TZOFFSETFROM:+0100\r\n\
        TZOFFSETTO:+0200\r\n\
        RRULE:FREQ=YEARLY;INTERVAL=1;BYDAY=-1SU;BYMONTH=3\r\n\
        END:DAYLIGHT\r\n\
        END:VTIMEZONE\r\n\
        BEGIN:VEVENT\r\n\
        ATTENDEE;PARTSTAT=ACCEPTED;CN=\"Öberg, Åsa\":MAILTO:Asa.Oberg@Example.\r\n \
        org\r\n\
        COMMENT;LANGUAGE=sv-SE:Jag kommer.\r\n\
        SUMMARY;LANGUAGE=sv-SE:Accepterat: Styrelsemöte\r\n\
        DTSTART;TZID=W. Europe Standard Time:20260310T180000\r\n\
        DTEND;TZID=W. Europe Standard Time:20260310T200000\r\n\
        UID:styrelsemote-2026-03-10@clerk.example.org\r\n\
        CLASS:PUBLIC\r\n\
        PRIORITY:5\r\n\
        DTSTAMP:20260202T081500Z\r\n\
        TRANSP:OPAQUE\r\n\
        SEQUENCE:2\r\n\
        X-MICROSOFT-CDO-APPT-SEQUENCE:2\r\n\
        X-MICROSOFT-CDO-OWNERAPPTID:-1234567890\r\n\
        END:VEVENT\r\n\
        END:VCALENDAR\r\n";

    /// Google Calendar: ORGANIZER present, only the replier listed, CN folded mid-address.
    const GOOGLE: &str = "BEGIN:VCALENDAR\r\n\
        PRODID:-//Google Inc//Google Calendar 70.9054//EN\r\n\
        VERSION:2.0\r\n\
        CALSCALE:GREGORIAN\r\n\
        METHOD:REPLY\r\n\
        BEGIN:VEVENT\r\n\
        DTSTART:20260310T170000Z\r\n\
        DTEND:20260310T190000Z\r\n\
        DTSTAMP:20260202T090000Z\r\n\
        ORGANIZER;CN=Föreningens sekreterare:mailto:clerk@example.org\r\n\
        UID:styrelsemote-2026-03-10@clerk.example.org\r\n\
        ATTENDEE;CUTYPE=INDIVIDUAL;ROLE=REQ-PARTICIPANT;PARTSTAT=DECLINED;CN=bjorn@g\r\n \
        mail.com;X-NUM-GUESTS=0:mailto:bjorn@gmail.com\r\n\
        CREATED:20260201T120000Z\r\n\
        LAST-MODIFIED:20260202T090000Z\r\n\
        LOCATION:Kårhuset\\, rum 3\r\n\
        SEQUENCE:0\r\n\
        STATUS:CONFIRMED\r\n\
        SUMMARY:Styrelsemöte\r\n\
        TRANSP:OPAQUE\r\n\
        END:VEVENT\r\n\
        END:VCALENDAR\r\n";

    #[test]
    fn outlook_reply_without_organizer() {
        let reply = parse_reply(OUTLOOK).expect("reads");
        assert_eq!(
            reply,
            Reply {
                uid: "styrelsemote-2026-03-10@clerk.example.org".into(),
                sequence: Some(2),
                attendee_email: "asa.oberg@example.org".into(),
                partstat: PartStat::Accepted,
                organizer: None,
                method: Some("REPLY".into()),
            }
        );
    }

    #[test]
    fn google_reply() {
        let reply = parse_reply(GOOGLE).expect("reads");
        assert_eq!(reply.attendee_email, "bjorn@gmail.com");
        assert_eq!(reply.partstat, PartStat::Declined);
        assert_eq!(reply.organizer.as_deref(), Some("clerk@example.org"));
        assert_eq!(reply.sequence, Some(0));
        assert_eq!(reply.method.as_deref(), Some("REPLY"));
    }

    #[test]
    fn without_method_one_answering_attendee_is_enough() {
        let text = GOOGLE.replace("METHOD:REPLY\r\n", "").replace("\r\n", "\n");
        let reply = parse_reply(&text).expect("reads LF-only text without METHOD");
        assert_eq!(reply.method, None);
        assert_eq!(reply.partstat, PartStat::Declined);

        let tentative = text.replace("PARTSTAT=DECLINED", "partstat=tentative");
        assert_eq!(
            parse_reply(&tentative).unwrap().partstat,
            PartStat::Tentative
        );
        let other = text.replace("PARTSTAT=DECLINED", "PARTSTAT=X-MAYBE");
        assert_eq!(
            parse_reply(&other).unwrap().partstat,
            PartStat::Other("X-MAYBE".into())
        );
    }

    #[test]
    fn requests_and_ambiguous_objects_are_not_replies() {
        let request = GOOGLE.replace("METHOD:REPLY", "METHOD:REQUEST");
        assert_eq!(
            parse_reply(&request).unwrap_err(),
            "METHOD:REQUEST is not a reply"
        );
        let two = GOOGLE.replace(
            "CREATED:",
            "ATTENDEE;PARTSTAT=ACCEPTED:mailto:asa@example.org\r\nCREATED:",
        );
        let err = parse_reply(&two.replace("METHOD:REPLY\r\n", "")).unwrap_err();
        assert!(err.contains("2 attendees"), "{err}");
        let none = GOOGLE.replace("PARTSTAT=DECLINED;", "");
        assert!(parse_reply(&none).unwrap_err().contains("nobody answered"));
        let no_uid = GOOGLE.replace("UID:styrelsemote-2026-03-10@clerk.example.org\r\n", "");
        assert_eq!(parse_reply(&no_uid).unwrap_err(), "the VEVENT has no UID");
        let bad_seq = GOOGLE.replace("SEQUENCE:0", "SEQUENCE:-1");
        assert!(parse_reply(&bad_seq).unwrap_err().contains("SEQUENCE"));
    }

    #[test]
    fn malformed_input_is_an_error_not_a_panic() {
        let unclosed = GOOGLE.replace("END:VEVENT\r\n", "");
        assert!(parse_reply(&unclosed).unwrap_err().contains("not closed"));
        let mismatched = GOOGLE.replace("END:VEVENT", "END:VTODO");
        assert!(
            parse_reply(&mismatched)
                .unwrap_err()
                .contains("not a readable")
        );
        assert!(parse_reply("").is_err());
        assert!(parse_reply("hello, this is not a calendar").is_err());
        assert!(parse_reply("BEGIN:").is_err());
        assert!(parse_reply("\u{0}\u{1}\u{fffd}BEGIN:VCALENDAR\r\n\u{7f}").is_err());

        let deep = "BEGIN:X\r\n".repeat(50_000) + &"END:X\r\n".repeat(50_000);
        assert!(parse_reply(&deep).unwrap_err().contains("nested"));

        let huge = format!("{}{}", GOOGLE, "X".repeat(MAX_REPLY_BYTES));
        assert!(parse_reply(&huge).unwrap_err().contains("bytes"));

        // Just under the cap, junk and unclosed: refused quickly.
        let started = std::time::Instant::now();
        let junk = format!(
            "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\n{}",
            "X-JUNK;A=B:ååå\r\n".repeat(MAX_REPLY_BYTES / 20)
        );
        assert!(parse_reply(&junk).is_err());
        let junk_closed = format!("{junk}END:VEVENT\r\nEND:VCALENDAR\r\n");
        assert!(parse_reply(&junk_closed).is_err());
        let long_line = format!(
            "BEGIN:VCALENDAR\r\n{}\r\nEND:VCALENDAR",
            ";".repeat(900_000)
        );
        assert!(parse_reply(&long_line).unwrap_err().len() < 300);
        assert!(started.elapsed() < std::time::Duration::from_secs(10));
    }

    #[test]
    fn fuzzed_bytes_never_panic() {
        // Cheap deterministic fuzzing: cut and splice the real replies at every position.
        for source in [OUTLOOK, GOOGLE] {
            let bytes = source.as_bytes();
            for cut in (0..bytes.len()).step_by(7) {
                let text = String::from_utf8_lossy(&bytes[..cut]);
                let _ = parse_reply(&text);
                let spliced = format!(
                    "{}\r\n{}",
                    &text,
                    String::from_utf8_lossy(&bytes[cut / 2..])
                );
                let _ = parse_reply(&spliced);
            }
        }
    }
}
