//! Every invitation Clerk builds, checked by parsers that are not ours: Python's `icalendar`
//! (which also expands the generated VTIMEZONE to find the event's UTC start), a real CalDAV
//! server (Radicale, started by `scripts/caldav.sh up`) that must store and return it, and
//! mail-parser for the MIME layout of the mail that carries it.

use std::io::Write;
use std::process::{Command, Stdio};

use chrono::{NaiveDate, TimeZone, Utc};
use clerk::calendar::{self, Attendee, Event, Person, Role, When};
use clerk::outgoing::{Attachment, InvitationMail, mailbox};
use mail_parser::{MessageParser, MimeHeaders, PartType};

fn required_env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!(
            "{name} is not set: the calendar tests need the local CalDAV server and Python's \
             icalendar; run scripts/caldav.sh up and eval \"$(scripts/caldav.sh env)\" (or \
             scripts/test.sh)"
        )
    })
}

fn caldav_url() -> String {
    let url = required_env("CLERK_TEST_CALDAV_URL");
    if url.ends_with('/') {
        url
    } else {
        format!("{url}/")
    }
}

/// The Python that has Debian's python3-icalendar (`scripts/caldav.sh env` says which).
fn python() -> String {
    required_env("CLERK_TEST_PYTHON")
}

fn stockholm_meeting() -> Event {
    let day = NaiveDate::from_ymd_opt(2026, 6, 10).unwrap();
    Event {
        uid: format!(
            "styrelsemote-{}-{}@clerk.example.org",
            std::process::id(),
            rand::random::<u32>()
        ),
        sequence: 0,
        summary: "Styrelsemöte: årsredovisning och förslag till åtgärder".into(),
        description: Some(
            "Dagordning:\n1. Mötets öppnande\n2. Val av justerare\n3. Årsredovisningen för \
             räkenskapsåret, föredragande kassören Åsa Öberg; beslut om ansvarsfrihet\n4. Övriga \
             frågor"
                .into(),
        ),
        location: Some("Kårhuset, sammanträdesrum Ängen (plan 2)".into()),
        url: Some("https://example.org/moten/styrelse".into()),
        when: When::Timed {
            start: day.and_hms_opt(18, 0, 0).unwrap(),
            end: day.and_hms_opt(20, 30, 0).unwrap(),
        },
        tz: chrono_tz::Europe::Stockholm,
        organizer: Person::new("clerk@example.org", Some("Föreningens sekreterare")),
        attendees: vec![
            Attendee {
                role: Role::Chair,
                ..Attendee::new(Person::new("asa@example.org", Some("Åsa Öberg")))
            },
            Attendee::new(Person::new("bjorn@example.org", Some("Björn Ek, kassör"))),
            Attendee {
                role: Role::Optional,
                ..Attendee::new(Person::new("goran@example.org", Some("Göran Ström")))
            },
        ],
        dtstamp: Utc.with_ymd_and_hms(2026, 5, 1, 8, 0, 0).unwrap(),
    }
}

fn all_day_meeting() -> Event {
    Event {
        uid: format!("arsmote-{}@clerk.example.org", rand::random::<u32>()),
        summary: "Årsmöte (heldag)".into(),
        description: None,
        location: None,
        url: None,
        when: When::AllDay(NaiveDate::from_ymd_opt(2026, 12, 31).unwrap()),
        ..stockholm_meeting()
    }
}

fn tokyo_meeting() -> Event {
    let day = NaiveDate::from_ymd_opt(2026, 7, 1).unwrap();
    Event {
        uid: format!("tokyo-{}@clerk.example.org", rand::random::<u32>()),
        summary: "Avstämning med Tokyo".into(),
        when: When::Timed {
            start: day.and_hms_opt(9, 0, 0).unwrap(),
            end: day.and_hms_opt(10, 0, 0).unwrap(),
        },
        tz: chrono_tz::Asia::Tokyo,
        ..stockholm_meeting()
    }
}

/// Each event as REQUEST, and the Stockholm one also cancelled (one sequence higher).
fn objects() -> Vec<(Event, String, &'static str)> {
    let meeting = stockholm_meeting();
    let mut cancelled = meeting.clone();
    cancelled.sequence = 1;
    let (all_day, tokyo) = (all_day_meeting(), tokyo_meeting());
    vec![
        (meeting.clone(), calendar::request(&meeting), "REQUEST"),
        (cancelled.clone(), calendar::cancel(&cancelled), "CANCEL"),
        (all_day.clone(), calendar::request(&all_day), "REQUEST"),
        (tokyo.clone(), calendar::request(&tokyo), "REQUEST"),
    ]
}

const PYTHON_CHECK: &str = r#"
import json, sys
from datetime import date, datetime, timedelta, timezone
import icalendar

exp = json.loads(sys.argv[1])
cal = icalendar.Calendar.from_ical(sys.stdin.buffer.read())

def check(ok, what):
    if not ok:
        sys.exit("python icalendar: " + what)

check(str(cal.get("METHOD")) == exp["method"], "METHOD is %r" % cal.get("METHOD"))
check(str(cal.get("VERSION")) == "2.0", "VERSION")
events = cal.walk("VEVENT")
check(len(events) == 1, "%d VEVENTs" % len(events))
ev = events[0]
check(str(ev["UID"]) == exp["uid"], "UID %r" % ev.get("UID"))
check(str(ev["SUMMARY"]) == exp["summary"], "SUMMARY %r" % ev.get("SUMMARY"))
check(int(ev["SEQUENCE"]) == exp["sequence"], "SEQUENCE")
check(str(ev["STATUS"]) == exp["status"], "STATUS %r" % ev.get("STATUS"))
if exp["description"] is not None:
    check(str(ev["DESCRIPTION"]) == exp["description"], "DESCRIPTION %r" % ev.get("DESCRIPTION"))
att = ev.get("ATTENDEE")
atts = att if isinstance(att, list) else ([] if att is None else [att])
check(len(atts) == exp["attendees"], "%d ATTENDEEs" % len(atts))
for a in atts:
    check(str(a).startswith("mailto:"), "attendee %r" % a)
    check("CN" in a.params and "ROLE" in a.params, "attendee params %r" % dict(a.params))
check(str(ev["ORGANIZER"]) == "mailto:" + exp["organizer"], "ORGANIZER")
start = ev.decoded("DTSTART")
zones = cal.walk("VTIMEZONE")
if exp["tzid"]:
    check(isinstance(start, datetime) and start.tzinfo is not None, "DTSTART %r has no zone" % start)
    check(ev["DTSTART"].params.get("TZID") == exp["tzid"], "DTSTART TZID")
    check(len(zones) == 1 and str(zones[0]["TZID"]) == exp["tzid"], "VTIMEZONE missing or wrong")
    utc = start.astimezone(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    check(utc == exp["utc_start"], "DTSTART is %s in UTC, expected %s" % (utc, exp["utc_start"]))
    # The VTIMEZONE itself, expanded by icalendar (RRULEs and all), must agree.
    tz = zones[0].to_tz()
    local = tz.localize(start.replace(tzinfo=None))
    utc = local.astimezone(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    check(utc == exp["utc_start"], "by the VTIMEZONE, DTSTART is %s in UTC, expected %s" % (utc, exp["utc_start"]))
else:
    end = ev.decoded("DTEND")
    check(type(start) is date and start.strftime("%Y%m%d") == exp["date"], "all-day DTSTART %r" % start)
    check(type(end) is date and end == start + timedelta(days=1), "all-day DTEND %r" % end)
    check(not zones, "an all-day event needs no VTIMEZONE")
print("ok")
"#;

fn expectations(event: &Event, method: &str) -> serde_json::Value {
    let (tzid, utc_start, date) = match event.when {
        When::Timed { start, .. } => {
            let utc = event
                .tz
                .from_local_datetime(&start)
                .single()
                .unwrap()
                .with_timezone(&Utc);
            (
                Some(event.tz.name().to_string()),
                Some(utc.format("%Y%m%dT%H%M%SZ").to_string()),
                None,
            )
        }
        When::AllDay(day) => (None, None, Some(day.format("%Y%m%d").to_string())),
    };
    serde_json::json!({
        "method": method,
        "uid": event.uid,
        "summary": event.summary,
        "description": event.description,
        "sequence": event.sequence,
        "status": if method == "CANCEL" { "CANCELLED" } else { "CONFIRMED" },
        "attendees": event.attendees.len(),
        "organizer": event.organizer.email,
        "tzid": tzid,
        "utc_start": utc_start,
        "date": date,
    })
}

/// Python's icalendar reads `ics` and finds what `expected` says (see PYTHON_CHECK).
pub fn python_reads(ics: &str, expected: &serde_json::Value) {
    let mut child = Command::new(python())
        .args(["-c", PYTHON_CHECK, &expected.to_string()])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {} ({e}): run scripts/caldav.sh up", python()));
    child
        .stdin
        .take()
        .unwrap()
        .write_all(ics.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "Python's icalendar refused the object ({expected}):\n{}{}\n--- the object ---\n{ics}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
}

#[test]
fn python_icalendar_reads_every_object() {
    for (event, ics, method) in objects() {
        python_reads(&ics, &expectations(&event, method));
    }
}

/// One HTTP exchange through curl: the status and the body.
fn http(method: &str, url: &str, body: Option<&str>) -> (u16, String) {
    let mut cmd = Command::new("curl");
    cmd.args([
        "-sS",
        "--max-time",
        "20",
        "-X",
        method,
        "-w",
        "\n%{http_code}",
    ]);
    if body.is_some() {
        cmd.args([
            "-H",
            "Content-Type: text/calendar; charset=utf-8",
            "--data-binary",
            "@-",
        ]);
    }
    cmd.arg(url)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("run curl");
    let mut stdin = child.stdin.take().unwrap();
    if let Some(body) = body {
        stdin.write_all(body.as_bytes()).unwrap();
    }
    drop(stdin);
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "curl {method} {url} failed: {} (is the CalDAV server up? scripts/caldav.sh up)",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let (body, code) = text.rsplit_once('\n').unwrap_or(("", &text));
    (code.trim().parse().unwrap_or(0), body.to_string())
}

/// The object as a CalDAV store keeps it: a calendar object resource has no METHOD (RFC 4791
/// §4.1).
fn without_method(ics: &str) -> String {
    ics.split_inclusive("\r\n")
        .filter(|line| !line.starts_with("METHOD:"))
        .collect()
}

/// A new, empty calendar collection in Radicale; its URL.
pub fn new_collection() -> String {
    let base = caldav_url();
    let home = format!("{base}clerk-tests/");
    let (status, body) = http("MKCOL", &home, None);
    assert!(
        [201, 405].contains(&status),
        "MKCOL {home}: {status}\n{body}"
    );
    let collection = format!(
        "{home}calendar-{}-{}/",
        std::process::id(),
        rand::random::<u32>()
    );
    let (status, body) = http("MKCALENDAR", &collection, None);
    assert_eq!(status, 201, "MKCALENDAR {collection}\n{body}");
    collection
}

/// Radicale stores the iTIP object's event under its UID and gives it back.
pub fn radicale_stores(collection: &str, ics: &str, uid: &str, method: &str) {
    let object = without_method(ics);
    assert!(!object.contains("METHOD:"));
    let href = format!("{collection}{}.ics", uid.replace('@', "-at-"));
    let (status, body) = http("PUT", &href, Some(&object));
    // A cancellation replaces the stored request (same UID, same resource); Radicale
    // answers 201 to both, other servers 204 to the replacement.
    assert!(
        [201, 204].contains(&status),
        "PUT {method} {href}: {status}\n{body}\n--- the object ---\n{object}"
    );
    let (status, stored) = http("GET", &href, None);
    assert_eq!(status, 200, "GET {href}\n{stored}");
    let stored = stored.replace("\r\n ", "").replace("\n ", "");
    assert!(
        stored.contains(&format!("UID:{uid}")),
        "GET {href} has another UID:\n{stored}"
    );
    if method == "CANCEL" {
        assert!(stored.contains("STATUS:CANCELLED"), "{stored}");
    }
}

#[test]
fn radicale_stores_and_returns_every_object() {
    let collection = new_collection();
    for (event, ics, method) in objects() {
        radicale_stores(&collection, &ics, &event.uid, method);
    }
}

fn invitation_mail(ics: String) -> Vec<u8> {
    let organizer = mailbox(Some("Föreningens sekreterare"), "clerk@example.org").unwrap();
    InvitationMail {
        dedupe_key: "invitation:styrelsemote:0".into(),
        kind: "invitation",
        mailbox_name: "main",
        from: organizer,
        to: vec![
            mailbox(Some("Åsa Öberg"), "asa@example.org").unwrap(),
            mailbox(Some("Björn Ek"), "bjorn@example.org").unwrap(),
        ],
        subject: "Inbjudan: Styrelsemöte",
        text: "Välkommen till styrelsemötet.".into(),
        html: "<p>Välkommen till styrelsemötet.</p>".into(),
        ics,
        attachment: Some(Attachment {
            name: "Dagordning styrelsemöte.pdf".into(),
            content_type: "application/pdf".into(),
            bytes: b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n".to_vec(),
        }),
        date: Utc.with_ymd_and_hms(2026, 5, 1, 8, 0, 0).unwrap(),
    }
    .render()
    .expect("renders")
    .raw
}

fn content_type(part: &mail_parser::MessagePart<'_>) -> String {
    part.content_type()
        .map(|ct| format!("{}/{}", ct.ctype(), ct.subtype().unwrap_or("")).to_ascii_lowercase())
        .unwrap_or_default()
}

fn children<'a>(
    message: &'a mail_parser::Message<'a>,
    part: &mail_parser::MessagePart<'_>,
) -> Vec<&'a mail_parser::MessagePart<'a>> {
    match &part.body {
        PartType::Multipart(ids) => ids.iter().map(|id| &message.parts[*id as usize]).collect(),
        _ => Vec::new(),
    }
}

fn method_in(ics: &str) -> Option<&str> {
    ics.lines()
        .find_map(|l| l.trim_end().strip_prefix("METHOD:"))
}

#[test]
fn invitation_mail_has_the_layout_clients_act_on() {
    let meeting = stockholm_meeting();
    let mut cancelled = meeting.clone();
    cancelled.sequence = 1;
    for (ics, method) in [
        (calendar::request(&meeting), "REQUEST"),
        (calendar::cancel(&cancelled), "CANCEL"),
    ] {
        let raw = invitation_mail(ics.clone());
        let text = String::from_utf8_lossy(&raw);
        let message = MessageParser::default().parse(&raw).expect("parses");

        let from = message.from().and_then(|f| f.first()).unwrap();
        assert_eq!(from.address(), Some("clerk@example.org"));
        assert_eq!(
            message.header_raw("Auto-Submitted").map(str::trim),
            Some("auto-generated")
        );
        assert_eq!(
            text.matches("\r\nFrom:").count() + text.starts_with("From:") as usize,
            1
        );
        assert_eq!(
            message.message_id(),
            Some(
                clerk::outgoing::message_id_for("invitation:styrelsemote:0", "clerk@example.org")
                    .trim_matches(['<', '>'])
            )
        );

        let root = &message.parts[0];
        assert_eq!(content_type(root), "multipart/mixed", "{text}");
        let top = children(&message, root);
        assert_eq!(
            top.len(),
            3,
            "alternative, invite.ics, the document:\n{text}"
        );

        let alternative = top[0];
        assert_eq!(content_type(alternative), "multipart/alternative");
        let alt = children(&message, alternative);
        let types: Vec<String> = alt.iter().map(|p| content_type(p)).collect();
        assert_eq!(
            types,
            ["text/plain", "text/html", "text/calendar"],
            "calendar last in the alternative"
        );
        let inline = alt[2];
        let param = inline
            .content_type()
            .and_then(|ct| ct.attribute("method"))
            .expect("a method= parameter");
        let inline_text = inline.text_contents().expect("calendar text");
        assert_eq!(param, method);
        assert_eq!(
            method_in(inline_text),
            Some(method),
            "method= equals METHOD"
        );
        assert_eq!(
            inline
                .content_type()
                .and_then(|ct| ct.attribute("charset"))
                .map(str::to_ascii_uppercase)
                .as_deref(),
            Some("UTF-8")
        );
        assert!(
            inline
                .content_disposition()
                .is_none_or(|cd| !cd.ctype().eq_ignore_ascii_case("attachment")),
            "the calendar in the alternative is inline"
        );
        assert_eq!(inline_text.replace("\r\n", "\n"), ics.replace("\r\n", "\n"));

        let attached = top[1];
        assert_eq!(content_type(attached), "application/ics");
        assert_eq!(attached.attachment_name(), Some("invite.ics"));
        assert_eq!(
            attached
                .content_disposition()
                .map(|cd| cd.ctype().to_ascii_lowercase()),
            Some("attachment".into())
        );
        assert_eq!(
            String::from_utf8_lossy(attached.contents()).replace("\r\n", "\n"),
            ics.replace("\r\n", "\n"),
            "the attachment is the same object"
        );

        let document = top[2];
        assert_eq!(content_type(document), "application/pdf");
        assert_eq!(
            document.attachment_name(),
            Some("Dagordning styrelsemöte.pdf")
        );
        assert_eq!(document.contents(), b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n");

        // Exactly one iTIP object: every calendar part is the same single VCALENDAR.
        let found = calendar::calendar_parts(&raw);
        assert_eq!(found.len(), 2, "inline and attached");
        let mut distinct: Vec<String> = found.iter().map(|c| c.replace("\r\n", "\n")).collect();
        distinct.dedup();
        assert_eq!(distinct.len(), 1, "one object");
        assert_eq!(distinct[0].matches("BEGIN:VCALENDAR").count(), 1);
        assert_eq!(distinct[0].matches("BEGIN:VEVENT").count(), 1);
    }
}
