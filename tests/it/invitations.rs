//! Invitations end to end over the real mail stack: minutes that announce a meeting lead to a
//! request in each member's mailbox; an agenda for it to an update (SEQUENCE 1) with the agenda
//! and the document; the same agenda again to nothing; an attendee's REPLY is recorded (and a
//! spoofed one is not); a cancellation to METHOD:CANCEL. Every .ics received is read by
//! Python's icalendar and stored in Radicale.

use crate::calendar::{new_collection, python_reads, radicale_stores};
use crate::support::*;

const MINUTES: &str = "Protokoll Styrgruppen för e-tjänster\r\nDatum: 2030-01-08\r\n\
Tid: 13.00-15.00\r\nPlats: Rum Ängen\r\n\r\nNärvarande:\r\nAlice Andersson, Region Kronoberg\r\n\
Bob Berg, Växjö kommun\r\nCarl Okänd, Ljungby kommun\r\n\r\n1. Mötets öppnande\r\n\
Mötet öppnades.\r\n\r\n2. Nästa möte\r\nNästa möte är den 12 februari 2030 kl. 13.00-15.00.\r\n";

const AGENDA: &str = "Kallelse till Styrgruppen för e-tjänster\r\n\r\nDatum: 2030-02-12\r\n\
Tid: 13.30-15.30\r\nPlats: Rum Ängen\r\n\
Teams: https://teams.microsoft.com/l/meetup-join/abc123\r\n\r\nDagordning\r\n\
1. Mötets öppnande\r\n2. Budget 2030\r\n3. Övriga frågor\r\n";

fn document_mail(from: &str, to: &str, id: &str, body: &str, doc: Option<(&str, &str)>) -> Vec<u8> {
    let mut raw = format!(
        "From: Sara Sekreterare <{from}>\r\nTo: <{to}>\r\nSubject: Styrgruppen\r\n\
         Message-ID: <{id}>\r\nDate: Wed, 09 Jan 2030 09:00:00 +0100\r\nMIME-Version: 1.0\r\n\
         Content-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n\
         --b1\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n\
         {body}\r\n"
    );
    if let Some((name, text)) = doc {
        raw.push_str(&format!(
            "--b1\r\nContent-Type: text/plain; charset=utf-8; name=\"{name}\"\r\n\
             Content-Disposition: attachment; filename=\"{name}\"\r\n\
             Content-Transfer-Encoding: 8bit\r\n\r\n{text}\r\n"
        ));
    }
    raw.push_str("--b1--\r\n");
    raw.into_bytes()
}

/// An Outlook-style reply: METHOD:REPLY, no ORGANIZER, one ATTENDEE with its PARTSTAT.
fn reply_mail(from: &str, to: &str, uid: &str, attendee: &str, partstat: &str) -> Vec<u8> {
    let ics = format!(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Microsoft Corporation//Outlook 16.0//EN\r\n\
         METHOD:REPLY\r\nBEGIN:VEVENT\r\nUID:{uid}\r\nSEQUENCE:1\r\nDTSTAMP:20300110T100000Z\r\n\
         ATTENDEE;PARTSTAT={partstat};CN=Someone:mailto:{attendee}\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    );
    format!(
        "From: <{from}>\r\nTo: <{to}>\r\nSubject: Accepted: Styrgruppen\r\n\
         Message-ID: <reply-{}@example.org>\r\nMIME-Version: 1.0\r\n\
         Content-Type: multipart/alternative; boundary=\"a1\"\r\n\r\n\
         --a1\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nAccepted\r\n\
         --a1\r\nContent-Type: text/calendar; charset=utf-8; method=REPLY\r\n\r\n{ics}\r\n--a1--\r\n",
        rand::random::<u32>()
    )
    .into_bytes()
}

/// The iTIP object of a received invitation (the inline part; the attachment is the same).
fn ics_of(raw: &[u8]) -> String {
    let parts = clerk::calendar::calendar_parts(raw);
    assert!(
        !parts.is_empty(),
        "no calendar part in:\n{}",
        String::from_utf8_lossy(raw)
    );
    assert!(
        parts.iter().all(|p| p == &parts[0]),
        "the inline and attached objects differ"
    );
    parts[0].clone()
}

fn unfolded(ics: &str) -> String {
    ics.replace("\r\n ", "")
}

fn prop<'a>(ics: &'a str, name: &str) -> Option<&'a str> {
    ics.lines()
        .find(|l| l.starts_with(&format!("{name}:")) || l.starts_with(&format!("{name};")))
        .and_then(|l| l.split_once(':').map(|(_, v)| v.trim_end()))
}

fn invitations(mails: &[Vec<u8>]) -> Vec<String> {
    mails
        .iter()
        .filter(|m| header(m, "Content-Type").is_some_and(|c| c.starts_with("multipart/mixed")))
        .filter(|m| !clerk::calendar::calendar_parts(m).is_empty())
        .map(|m| unfolded(&ics_of(m)))
        .collect()
}

/// The independent checks every received object passes.
fn check_independently(
    collection: &str,
    ics: &str,
    method: &str,
    sequence: u32,
    attendees: usize,
    organizer: &str,
) {
    let uid = prop(ics, "UID").unwrap().to_string();
    // The event's DTSTART (the VTIMEZONE has its own, without TZID).
    let start = ics
        .lines()
        .find_map(|l| l.strip_prefix("DTSTART;TZID=Europe/Stockholm:"))
        .unwrap();
    // 2030-02-12 is winter time: 13.xx in Stockholm is 12.xx UTC.
    let utc_start = format!("20300212T12{}00Z", &start[11..13].trim_end());
    python_reads(
        ics,
        &serde_json::json!({
            "method": method,
            "uid": uid,
            "summary": "Styrgruppen för e-tjänster",
            "description": null,
            "sequence": sequence,
            "status": if method == "CANCEL" { "CANCELLED" } else { "CONFIRMED" },
            "attendees": attendees,
            "organizer": organizer,
            "tzid": "Europe/Stockholm",
            "utc_start": utc_start,
            "date": null,
        }),
    );
    radicale_stores(collection, ics, &uid, method);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn minutes_invite_agenda_updates_replies_count_and_cancel_cancels() {
    let stack = mail_stack();
    let clerk = new_account("clerk", "example.test");
    let secretary = new_account("secretary", "example.org");
    let alice = new_account("alice", "example.org");
    let bob = new_account("bob", "example.org");
    let dir = tempfile::tempdir().unwrap();
    let directory = dir.path().join("people.csv");
    std::fs::write(
        &directory,
        format!(
            "name,email,organisation\nAlice Andersson,{},Region Kronoberg\nBob Berg,{},Växjö kommun\n",
            alice.address, bob.address
        ),
    )
    .unwrap();
    let mut daemon = Daemon::start_with(
        &stack,
        &clerk,
        &format!("[directory]\npath = \"{}\"\n", directory.display()),
        &[("CLERK_NOW", "2030-01-09T08:00:00Z")],
    );
    let collection = new_collection();

    // 1. Minutes that announce the next meeting: a request to each member with an address.
    let minutes_id = format!("minutes-{}@example.org", rand::random::<u32>());
    let minutes = document_mail(
        &secretary.address,
        &clerk.address,
        &minutes_id,
        "Protokollet bifogas.",
        Some(("protokoll.txt", MINUTES)),
    );
    smtp_send(&stack, &secretary.address, &[&clerk.address], &minutes).await;
    let mut first_uid = String::new();
    for member in [&alice, &bob] {
        let inbox = wait_for(
            &stack,
            member,
            "INBOX",
            60,
            &daemon,
            "the invitation",
            |m| invitations(m).len() == 1,
        )
        .await;
        let ics = &invitations(&inbox)[0];
        assert_eq!(prop(ics, "METHOD"), Some("REQUEST"));
        assert_eq!(prop(ics, "SEQUENCE"), Some("0"));
        assert!(
            ics.contains(&format!(
                "ORGANIZER;CN=Styrgruppen för e-tjänster:mailto:{}",
                clerk.address
            )),
            "{ics}"
        );
        assert!(
            ics.contains("DTSTART;TZID=Europe/Stockholm:20300212T130000"),
            "{ics}"
        );
        assert!(ics.contains("BEGIN:VTIMEZONE"), "{ics}");
        assert_eq!(
            ics.matches("ATTENDEE").count(),
            2,
            "Carl has no address: {ics}"
        );
        let mail = inbox
            .iter()
            .find(|m| !clerk::calendar::calendar_parts(m).is_empty())
            .unwrap();
        assert!(
            subject(mail)
                .starts_with("Inbjudan: Styrgruppen för e-tjänster tisdag 12 februari 2030"),
            "{}",
            subject(mail)
        );
        assert!(
            body_text(mail).contains("Mötet aviserades i protokollet från tisdag 8 januari 2030."),
            "{}",
            body_text(mail)
        );
        check_independently(&collection, ics, "REQUEST", 0, 2, &clerk.address);
        first_uid = prop(ics, "UID").unwrap().to_string();
    }
    let receipt = wait_for(
        &stack,
        &secretary,
        "INBOX",
        60,
        &daemon,
        "the receipt",
        |m| !m.is_empty(),
    )
    .await;
    let text = body_text(&receipt[0]);
    assert!(text.contains("inbjudan skickad till 2 personer"), "{text}");
    assert!(
        text.contains("Carl Okänd"),
        "the receipt names who cannot be reached:\n{text}"
    );

    // 2. The agenda for that meeting, with a new time and a Teams link: an update, SEQUENCE 1.
    let agenda_id = format!("agenda-{}@example.org", rand::random::<u32>());
    let agenda = document_mail(
        &secretary.address,
        &clerk.address,
        &agenda_id,
        "Här är kallelsen.",
        Some(("kallelse.txt", AGENDA)),
    );
    smtp_send(&stack, &secretary.address, &[&clerk.address], &agenda).await;
    for member in [&alice, &bob] {
        let inbox = wait_for(&stack, member, "INBOX", 60, &daemon, "the update", |m| {
            invitations(m).len() == 2
        })
        .await;
        let ics = invitations(&inbox)
            .into_iter()
            .find(|i| prop(i, "SEQUENCE") == Some("1"))
            .expect("SEQUENCE 1");
        assert_eq!(prop(&ics, "UID"), Some(first_uid.as_str()), "the same UID");
        assert!(
            ics.contains("DTSTART;TZID=Europe/Stockholm:20300212T133000"),
            "{ics}"
        );
        assert!(
            ics.contains("URL:https://teams.microsoft.com/l/meetup-join/abc123"),
            "{ics}"
        );
        assert!(
            ics.contains("Budget 2030"),
            "the agenda is in the DESCRIPTION: {ics}"
        );
        let mail = inbox
            .iter()
            .find(|m| subject(m).starts_with("Uppdaterad inbjudan"))
            .unwrap();
        let parsed = mail_parser::MessageParser::default()
            .parse(mail.as_slice())
            .unwrap();
        assert!(
            parsed
                .attachments()
                .any(|a| mail_parser::MimeHeaders::attachment_name(a) == Some("kallelse.txt")),
            "the agenda is attached"
        );
        check_independently(&collection, &ics, "REQUEST", 1, 2, &clerk.address);
    }

    // 3. The same agenda again (a new Message-ID): nothing new is sent; then Alice accepts, and
    //    Bob tries to answer for her.
    let again_id = format!("again-{}@example.org", rand::random::<u32>());
    let again = document_mail(
        &secretary.address,
        &clerk.address,
        &again_id,
        "Kallelsen igen.",
        Some(("kallelse.txt", AGENDA)),
    );
    smtp_send(&stack, &secretary.address, &[&clerk.address], &again).await;
    let accept = reply_mail(
        &alice.address,
        &clerk.address,
        &first_uid,
        &alice.address,
        "ACCEPTED",
    );
    smtp_send(&stack, &alice.address, &[&clerk.address], &accept).await;
    let spoof = reply_mail(
        &bob.address,
        &clerk.address,
        &first_uid,
        &alice.address,
        "DECLINED",
    );
    smtp_send(&stack, &bob.address, &[&clerk.address], &spoof).await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let meeting = loop {
        let meetings = daemon.json(&["meetings", "--json"]);
        let meeting = meetings
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["meeting"]["uid"] == first_uid.as_str())
            .cloned();
        let processed = daemon.status()["mailboxes"][0]["processed"]
            .as_i64()
            .unwrap_or(0);
        if processed >= 5 {
            break meeting.expect("the meeting is listed");
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the replies were not processed:\n{}",
            daemon.log()
        );
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    };
    let answer = |address: &str| {
        meeting["invitees"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i[1] == address)
            .map(|i| i[2].as_str().unwrap().to_string())
    };
    assert_eq!(
        answer(&alice.address).as_deref(),
        Some("ACCEPTED"),
        "{meeting}"
    );
    assert_eq!(
        answer(&bob.address).as_deref(),
        Some("NEEDS-ACTION"),
        "{meeting}"
    );
    assert!(
        daemon.log().contains("NotFromAttendee"),
        "the spoofed reply is logged"
    );
    let text = std::process::Command::new(env!("CARGO_BIN_EXE_clerk"))
        .arg("--config")
        .arg(&daemon.config_path)
        .arg("meetings")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(
        text.contains("answers: 1 accepted, 0 declined, 0 tentative, 1 not answered"),
        "{text}"
    );

    // 4. The meeting is called off: METHOD:CANCEL, same UID, SEQUENCE 2.
    let cancel_id = format!("cancel-{}@example.org", rand::random::<u32>());
    let cancel = document_mail(
        &secretary.address,
        &clerk.address,
        &cancel_id,
        "Hej,\r\n\r\nMötet den 12 februari 2030 ställs in.\r\n\r\nSara",
        None,
    );
    smtp_send(&stack, &secretary.address, &[&clerk.address], &cancel).await;
    for member in [&alice, &bob] {
        let inbox = wait_for(
            &stack,
            member,
            "INBOX",
            60,
            &daemon,
            "the cancellation",
            |m| invitations(m).len() == 3,
        )
        .await;
        let all = invitations(&inbox);
        assert_eq!(
            all.iter()
                .map(|i| (
                    prop(i, "METHOD").unwrap().to_string(),
                    prop(i, "SEQUENCE").unwrap().to_string()
                ))
                .collect::<Vec<_>>(),
            vec![
                ("REQUEST".into(), "0".into()),
                ("REQUEST".into(), "1".into()),
                ("CANCEL".into(), "2".into())
            ],
            "one request, one update (the repeated agenda sent nothing), one cancellation"
        );
        let ics = &all[2];
        assert_eq!(prop(ics, "UID"), Some(first_uid.as_str()));
        check_independently(&collection, ics, "CANCEL", 2, 2, &clerk.address);
    }
    // A restart sends nothing again.
    daemon.restart();
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    let status = daemon.status();
    assert_eq!(status["outbox"]["failed"], 0, "{status}");
    let inbox = fetch_all(&stack, &alice, "INBOX").await;
    assert_eq!(invitations(&inbox).len(), 3);
    daemon.stop();
}

/// Through the intake (no mail stack): a next meeting announced without a time takes the
/// series' usual time, and the mail says so; a meeting moved to another date is cancelled at
/// the old date and invited at the new one.
#[tokio::test]
async fn usual_time_and_a_moved_meeting() {
    use crate::people::{SENDER, deliver, fixture, mail, setup};
    let (store, _dir) = crate::store::sqlite_store().await;
    let setup = setup(store, "");
    let february = fixture("sv-kommunalt-forum-2018-02-21.md");
    let receipt = deliver(
        &setup,
        1,
        &mail(
            "feb",
            SENDER,
            "",
            "Protokoll.",
            Some(("protokoll.md", &february)),
        ),
    )
    .await;
    assert!(
        receipt.contains("Kommunalt forum onsdag 2 maj 2018: inbjudan skickad till 3 personer; tiden angavs inte, så jag använde seriens vanliga tid 09.00–11.55"),
        "{receipt}"
    );
    let sent = |kind: &str| {
        let store = setup.store.clone();
        let kind = kind.to_string();
        async move {
            store
                .outbox_rows()
                .await
                .unwrap()
                .into_iter()
                .filter(|row| row.0 == kind)
                .count()
        }
    };
    assert_eq!(
        sent("invitation").await,
        3,
        "Anna, Robert and Johan have addresses"
    );
    let first = setup.store.meetings_listing().await.unwrap();
    let may = first
        .iter()
        .find(|m| m.meeting.date.map(|d| d.to_string()) == Some("2018-05-02".into()))
        .unwrap();
    assert_eq!(may.invitees.len(), 3);

    deliver(
        &setup,
        2,
        &mail(
            "move",
            SENDER,
            "",
            "Hej,\r\n\r\nKommunalt forum den 2 maj 2018 flyttas till den 16 maj 2018 kl. 13.00-15.00.\r\n",
            None,
        ),
    )
    .await;
    assert_eq!(sent("cancellation").await, 3);
    assert_eq!(sent("invitation").await, 6);
    let meetings = setup.store.meetings_listing().await.unwrap();
    let by_date = |date: &str| {
        meetings
            .iter()
            .find(|m| m.meeting.date.map(|d| d.to_string()).as_deref() == Some(date))
            .unwrap()
            .meeting
            .clone()
    };
    let old = by_date("2018-05-02");
    let new = by_date("2018-05-16");
    assert_eq!(
        (old.status.as_str(), old.sequence, old.cancel_sent),
        ("cancelled", 1, true)
    );
    assert_eq!(new.status, "planned");
    assert_eq!(
        new.start.map(|t| t.to_string()).as_deref(),
        Some("13:00:00")
    );
    assert_ne!(old.uid, new.uid);
    assert_eq!(new.sequence, 0);
}

/// A series that never states a time: the announced meeting becomes an all-day event, and the
/// receipt says so.
#[tokio::test]
async fn no_time_anywhere_makes_an_all_day_event() {
    use crate::people::{SENDER, deliver, mail, setup};
    let (store, _dir) = crate::store::sqlite_store().await;
    let setup = setup(store, "");
    let minutes = "Minnesanteckningar Nätverket för kultur\r\nDatum: 2018-01-09\r\n\r\n\
                   Närvarande:\r\nAnna Fransson\r\nJohan Jarl\r\n\r\n1. Nästa möte\r\n\
                   Nästa möte är den 14 februari 2018.\r\n";
    let receipt = deliver(
        &setup,
        1,
        &mail("n", SENDER, "", "Anteckningar.", Some(("a.txt", minutes))),
    )
    .await;
    assert!(
        receipt.contains("onsdag 14 februari 2018: inbjudan skickad till 2 personer; ingen tid angavs, så mötet ligger som heldag i kalendern"),
        "{receipt}"
    );
    let meetings = setup.store.meetings_listing().await.unwrap();
    let next = meetings
        .iter()
        .find(|m| m.meeting.date.map(|d| d.to_string()).as_deref() == Some("2018-02-14"))
        .unwrap();
    assert!(next.meeting.invited_fingerprint.is_some() && next.meeting.start.is_none());
    assert_eq!(next.invitees.len(), 2);
}
