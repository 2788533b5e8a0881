//! The organizer's scheduling messages (RFC 5546): `REQUEST` invites or updates, `CANCEL` calls
//! the meeting off. Both are one `VCALENDAR` with one `VEVENT`, built with the icalendar crate,
//! which escapes text and folds lines at 75 octets on character boundaries.

use chrono::{Datelike, NaiveDate};
use icalendar::{Calendar, CalendarDateTime, Component, EventLike, EventStatus, Property};

use super::{Event, PartStat, Role, When, timezone};

/// `PRODID` of everything Clerk writes.
pub const PRODID: &str = "-//Clerk//Clerk meeting clerk//EN";

/// The iTIP method of an object: what the mail's `Content-Type` `method=` must repeat.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Request,
    Cancel,
}

impl Method {
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Request => "REQUEST",
            Method::Cancel => "CANCEL",
        }
    }
}

/// `METHOD:REQUEST`: the invitation, or an update of it (raise `sequence` for an update).
pub fn request(event: &Event) -> String {
    render(event, Method::Request)
}

/// `METHOD:CANCEL` with `STATUS:CANCELLED`: the same `UID`, and the caller's `sequence`, which
/// must be higher than that of the last request for clients to accept it.
pub fn cancel(event: &Event) -> String {
    render(event, Method::Cancel)
}

/// Text for a TEXT value: CR LF and lone CR become LF (which the crate escapes as `\n`), other
/// control characters except TAB are dropped.
fn text(value: &str) -> String {
    value
        .replace("\r\n", "\n")
        .replace('\r', "\n")
        .chars()
        .filter(|c| !c.is_control() || *c == '\n' || *c == '\t')
        .collect::<String>()
        .trim()
        .to_string()
}

/// Text that must stay on one line (summary, location, UID): white space runs become one space.
fn one_line(value: &str) -> String {
    value
        .split(|c: char| c.is_whitespace() || c.is_control())
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// A parameter value (a `CN`): one line and no `"`, which no parameter value may contain.
fn param(value: &str) -> String {
    one_line(&value.replace('"', "'"))
}

/// A URI value (a `mailto:` or `URL`): no white space or control characters at all.
fn uri(value: &str) -> String {
    value
        .chars()
        .filter(|c| !c.is_whitespace() && !c.is_control())
        .collect()
}

fn mailto(email: &str) -> String {
    format!("mailto:{}", uri(email))
}

fn address_property(key: &str, email: &str, name: Option<&str>) -> Property {
    let mut property = Property::new(key, mailto(email));
    if let Some(name) = name.map(param).filter(|n| !n.is_empty()) {
        property.add_parameter("CN", &name);
    }
    property.done()
}

fn ics_partstat(partstat: &PartStat) -> icalendar::PartStat {
    match partstat {
        PartStat::Accepted => icalendar::PartStat::Accepted,
        PartStat::Declined => icalendar::PartStat::Declined,
        PartStat::Tentative => icalendar::PartStat::Tentative,
        PartStat::Delegated => icalendar::PartStat::Delegated,
        PartStat::NeedsAction | PartStat::Other(_) => icalendar::PartStat::NeedsAction,
    }
}

fn ics_role(role: Role) -> icalendar::Role {
    match role {
        Role::Required => icalendar::Role::ReqParticipant,
        Role::Chair => icalendar::Role::Chair,
        Role::Optional => icalendar::Role::OptParticipant,
    }
}

fn render(event: &Event, method: Method) -> String {
    let mut vevent = icalendar::Event::new();
    vevent
        .uid(&one_line(&event.uid))
        .sequence(event.sequence)
        .timestamp(event.dtstamp)
        .summary(&one_line(&event.summary))
        .status(match method {
            Method::Request => EventStatus::Confirmed,
            Method::Cancel => EventStatus::Cancelled,
        });
    match event.when {
        When::Timed { start, end } => {
            let tzid = event.tz.name().to_string();
            vevent
                .starts(CalendarDateTime::WithTimezone {
                    date_time: start,
                    tzid: tzid.clone(),
                })
                .ends(CalendarDateTime::WithTimezone {
                    date_time: end,
                    tzid,
                });
        }
        When::AllDay(date) => {
            // The crate's `all_day` writes DTEND = DTSTART, an event of no length.
            let next = date.succ_opt().unwrap_or(NaiveDate::MAX);
            vevent.starts(date).ends(next);
        }
    }
    if let Some(description) = event.description.as_deref().map(text) {
        vevent.description(&description);
    }
    if let Some(location) = event.location.as_deref().map(one_line) {
        vevent.location(&location);
    }
    if let Some(url) = event.url.as_deref().map(uri).filter(|u| !u.is_empty()) {
        vevent.url(&url);
    }
    vevent.append_property(address_property(
        "ORGANIZER",
        &event.organizer.email,
        event.organizer.name.as_deref(),
    ));
    let mut seen = Vec::new();
    for attendee in &event.attendees {
        let key = uri(&attendee.person.email).to_lowercase();
        if seen.contains(&key) {
            continue;
        }
        seen.push(key);
        let mut typed =
            icalendar::Attendee::new(mailto(&attendee.person.email)).role(ics_role(attendee.role));
        if let Some(name) = attendee.person.name.as_deref().map(param)
            && !name.is_empty()
        {
            typed = typed.cn(name);
        }
        if method == Method::Request {
            typed = typed.partstat(ics_partstat(&attendee.partstat));
            if attendee.partstat == PartStat::NeedsAction {
                typed = typed.rsvp(true);
            }
        }
        vevent.attendee(typed);
    }

    let mut calendar = Calendar::empty();
    calendar
        .append_property(Property::new("VERSION", "2.0"))
        .append_property(Property::new("PRODID", PRODID))
        .append_property(Property::new("CALSCALE", "GREGORIAN"))
        .append_property(Property::new("METHOD", method.as_str()))
        .push(vevent.done());
    let text = calendar.to_string();

    match event.when {
        When::Timed { start, .. } => {
            // Text values have their line breaks escaped, so this line can only be the component.
            let zone = timezone::vtimezone(event.tz, start.year());
            match text.find("BEGIN:VEVENT\r\n") {
                Some(at) => format!("{}{zone}{}", &text[..at], &text[at..]),
                None => text,
            }
        }
        When::AllDay(_) => text,
    }
}

#[cfg(test)]
mod tests {
    use chrono::{NaiveDate, TimeZone, Utc};

    use super::*;
    use crate::calendar::{Attendee, Person};

    fn stockholm_event() -> Event {
        let day = NaiveDate::from_ymd_opt(2026, 3, 10).unwrap();
        Event {
            uid: "styrelsemote-2026-03-10@clerk.example.org".into(),
            sequence: 0,
            summary: "Styrelsemöte i föreningen".into(),
            description: Some("Dagordning:\r\n1. Öppnande\n2. Val av justerare".into()),
            location: Some("Kårhuset, rum 3".into()),
            url: Some("https://example.org/möte".into()),
            when: When::Timed {
                start: day.and_hms_opt(18, 0, 0).unwrap(),
                end: day.and_hms_opt(20, 0, 0).unwrap(),
            },
            tz: chrono_tz::Europe::Stockholm,
            organizer: Person::new("clerk@example.org", Some("Föreningens sekreterare")),
            attendees: vec![
                Attendee {
                    role: Role::Chair,
                    ..Attendee::new(Person::new("asa@example.org", Some("Åsa Öberg")))
                },
                Attendee::new(Person::new("Bjorn@Example.org", Some("Björn \"Nalle\" Ek"))),
                Attendee::new(Person::new("bjorn@example.org", None)),
            ],
            dtstamp: Utc.with_ymd_and_hms(2026, 2, 1, 12, 0, 0).unwrap(),
        }
    }

    fn unfold(text: &str) -> String {
        text.replace("\r\n ", "")
    }

    #[test]
    fn request_has_the_itip_properties() {
        let text = request(&stockholm_event());
        let flat = unfold(&text);
        for line in [
            "BEGIN:VCALENDAR",
            "VERSION:2.0",
            "METHOD:REQUEST",
            "BEGIN:VTIMEZONE",
            "TZID:Europe/Stockholm",
            "UID:styrelsemote-2026-03-10@clerk.example.org",
            "SEQUENCE:0",
            "DTSTAMP:20260201T120000Z",
            "DTSTART;TZID=Europe/Stockholm:20260310T180000",
            "DTEND;TZID=Europe/Stockholm:20260310T200000",
            "STATUS:CONFIRMED",
            "SUMMARY:Styrelsemöte i föreningen",
            "LOCATION:Kårhuset\\, rum 3",
            "DESCRIPTION:Dagordning:\\n1. Öppnande\\n2. Val av justerare",
            "ORGANIZER;CN=Föreningens sekreterare:mailto:clerk@example.org",
            "ATTENDEE;CN=Åsa Öberg;PARTSTAT=NEEDS-ACTION;ROLE=CHAIR;RSVP=TRUE:mailto:asa@example.org",
            "ATTENDEE;CN=Björn 'Nalle' Ek;PARTSTAT=NEEDS-ACTION;ROLE=REQ-PARTICIPANT;RSVP=TRUE:mailto:Bjorn@Example.org",
        ] {
            assert!(
                flat.lines().any(|l| l == line),
                "missing {line:?} in\n{flat}"
            );
        }
        // The same address twice is one attendee.
        assert_eq!(flat.matches("ATTENDEE").count(), 2, "{flat}");
        assert_eq!(flat.matches("BEGIN:VEVENT").count(), 1);
        // The zone is defined before it is used.
        assert!(flat.find("BEGIN:VTIMEZONE") < flat.find("BEGIN:VEVENT"));
        // Nothing but the event has a stamp or a UID (the crate adds both to generic components).
        assert_eq!(flat.matches("\r\nDTSTAMP").count(), 1, "{flat}");
        assert_eq!(flat.matches("\r\nUID").count(), 1, "{flat}");
        // Same event, same bytes.
        assert_eq!(text, request(&stockholm_event()));
    }

    #[test]
    fn cancel_keeps_uid_and_takes_the_callers_sequence() {
        let mut event = stockholm_event();
        event.sequence = 3;
        let flat = unfold(&cancel(&event));
        for line in [
            "METHOD:CANCEL",
            "STATUS:CANCELLED",
            "SEQUENCE:3",
            "UID:styrelsemote-2026-03-10@clerk.example.org",
            "ATTENDEE;CN=Åsa Öberg;ROLE=CHAIR:mailto:asa@example.org",
        ] {
            assert!(
                flat.lines().any(|l| l == line),
                "missing {line:?} in\n{flat}"
            );
        }
        assert!(!flat.contains("RSVP"), "{flat}");
        assert!(flat.contains("BEGIN:VTIMEZONE"), "{flat}");
    }

    #[test]
    fn all_day_event_ends_the_next_day_without_a_zone() {
        let mut event = stockholm_event();
        event.when = When::AllDay(NaiveDate::from_ymd_opt(2026, 12, 31).unwrap());
        let flat = unfold(&request(&event));
        assert!(
            flat.contains("\r\nDTSTART;VALUE=DATE:20261231\r\n"),
            "{flat}"
        );
        assert!(flat.contains("\r\nDTEND;VALUE=DATE:20270101\r\n"), "{flat}");
        assert!(!flat.contains("VTIMEZONE"), "{flat}");
    }

    #[test]
    fn document_text_cannot_add_lines_or_properties() {
        let mut event = stockholm_event();
        event.summary = "Möte\r\nATTENDEE:mailto:evil@example.com".into();
        event.location = Some("Rum\n1".into());
        event.organizer.name = Some("Sekr\r\n\"etare\";X=1".into());
        event.attendees[0].person.email = "asa@example.org\r\nX-EVIL:1".into();
        event.url = Some("https://example.org/\r\nX-EVIL:2".into());
        let text = request(&event);
        assert!(!text.contains("\r\nX-EVIL"), "{text}");
        assert!(
            !unfold(&text).contains("\r\nATTENDEE:mailto:evil"),
            "{text}"
        );
        assert!(unfold(&text).contains("SUMMARY:Möte ATTENDEE:mailto:evil@example.com\r\n"));
        assert!(unfold(&text).contains("ORGANIZER;CN=\"Sekr 'etare';X=1\":mailto:"));
        for line in text.split("\r\n") {
            assert!(!line.contains('\r') && !line.contains('\n'), "{line:?}");
        }
    }

    #[test]
    fn long_swedish_lines_fold_at_75_octets_on_character_boundaries() {
        // Every alignment of a two-byte letter against the fold point.
        for pad in 0..4 {
            let mut event = stockholm_event();
            let description = format!(
                "{}{}",
                "x".repeat(pad),
                "Årsmöte: påminnelse om ändrad lokal, tänk på att ta med förslag till ".repeat(6)
            );
            event.description = Some(description.clone());
            event.summary = "ä".repeat(100);
            let text = request(&event);
            assert!(text.ends_with("END:VCALENDAR\r\n"));
            let body = text.strip_suffix('\n').unwrap();
            for line in body.as_bytes().split(|b| *b == b'\n') {
                let line = line.strip_suffix(b"\r").expect("CRLF line ends only");
                assert!(line.len() <= 75, "{} octets: {:?}", line.len(), line);
                std::str::from_utf8(line).expect("each physical line is whole UTF-8");
            }
            let flat = unfold(&text);
            let expected = description.trim().replace(',', "\\,");
            assert!(
                flat.contains(&format!("\r\nDESCRIPTION:{expected}\r\n")),
                "{flat}"
            );
            assert!(flat.contains(&format!("\r\nSUMMARY:{}\r\n", "ä".repeat(100))));
        }
    }
}
