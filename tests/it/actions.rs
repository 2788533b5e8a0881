//! Actions through the real intake on both store backends: minutes record their actions once,
//! the reminder job queues one reminder per owner and one digest per meeting at a fixed now
//! (and nothing on a second run), an owner's "Klart 2" closes item 2 only, and later minutes
//! close what they report done. The end-to-end test runs the daemon over the real mail stack.

use chrono::{DateTime, Utc};
use clerk::intake;
use clerk::scheduler::Context;
use clerk::store::actions::Filter;
use clerk::store::{IncomingMessage, Store};

use crate::people::{SENDER, Setup, mail, setup};
use crate::store::{postgres_store, sqlite_store};
use crate::support::*;

/// Minutes of Tuesday 9 January 2018; the next meeting is Friday 12 January at 13.00.
pub const MINUTES: &str = "Protokoll Kommunalt forum\nDatum: 2018-01-09\nTid: 09.00-11.00\n\n\
Närvarande:\nAnna Fransson, Region Kronoberg\nRobert Olesen\nSara Herrman\n\n\
1. Mötets öppnande\nMötet öppnades.\n\n\
2. Åtgärder\n- Anna Fransson skickar ut enkäten till kommunerna senast 2018-01-11.\n\
- Anna Fransson bokar lokal för workshopen.\n\
- Robert Olesen tar fram en budget för 2018.\n\n\
3. Nästa möte\nNästa möte är den 12 januari 2018 kl. 13.00-15.00.\n";

/// The minutes of that next meeting, reporting Robert's action done.
const LATER_MINUTES: &str = "Protokoll Kommunalt forum\nDatum: 2018-01-12\nTid: 13.00-15.00\n\n\
Närvarande:\nAnna Fransson, Region Kronoberg\nRobert Olesen\nSara Herrman\n\n\
1. Föregående protokoll\nBudget för 2018 är framtagen, klart.\n";

/// Wednesday 10 January 2018, 10.00 in Stockholm: the 08.00 firing is within three days of the
/// meeting.
pub fn tick_time() -> DateTime<Utc> {
    "2018-01-10T09:00:00Z".parse().unwrap()
}

/// Stores and processes one mail without expecting a receipt.
pub async fn process(setup: &Setup, uid: u32, raw: &[u8]) {
    let headers = intake::peek_headers(raw);
    setup
        .store
        .record_message(
            "INBOX",
            &IncomingMessage {
                mailbox: "main",
                uid_validity: 1,
                uid,
                message_id: headers.message_id.clone(),
                sender: headers.sender.clone(),
                subject: headers.subject.clone(),
                raw,
            },
            crate::people::now(),
        )
        .await
        .unwrap();
    assert_eq!(intake::process_pending(&setup.intake).await.unwrap(), 1);
}

async fn run_due(setup: &Setup, now: DateTime<Utc>, dry_run: bool) -> Vec<clerk::scheduler::Done> {
    clerk::reminders::run_due(&Context {
        config: &setup.intake.config,
        store: &setup.store,
        now,
        dry_run,
    })
    .await
    .unwrap()
}

/// Outbox rows of a kind: (recipients, message_id).
async fn outbox(store: &Store, kind: &str) -> Vec<(String, String)> {
    store
        .outbox_rows()
        .await
        .unwrap()
        .into_iter()
        .filter(|(k, _, _, _)| k == kind)
        .map(|(_, to, id, _)| (to, id))
        .collect()
}

/// The decoded text body, with plain line ends.
fn text_of(raw: &[u8]) -> String {
    body_text(raw).replace("\r\n", "\n")
}

fn reply(from: &str, id: &str, in_reply_to: &str, text: &str) -> Vec<u8> {
    format!(
        "From: {from}\r\nTo: Clerk <clerk@example.test>\r\nSubject: Re: =?utf-8?q?P=C3=A5minnelse?=\r\n\
         Message-ID: <{id}@example.org>\r\nIn-Reply-To: {in_reply_to}\r\nReferences: {in_reply_to}\r\n\
         Date: Wed, 10 Jan 2018 11:00:00 +0100\r\nMIME-Version: 1.0\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\r\n{text}\r\n"
    )
    .into_bytes()
}

async fn actions_are_recorded_reminded_and_closed(store: Store) {
    let setup = setup(store, "");
    let minutes = |id: &str| {
        mail(
            id,
            SENDER,
            "",
            "Hej, här är protokollet.",
            Some(("protokoll.txt", MINUTES)),
        )
    };
    process(&setup, 1, &minutes("act-1")).await;
    // The same minutes again (a new mail): nothing new.
    process(&setup, 2, &minutes("act-2")).await;
    let all = setup
        .store
        .actions_listing(&Filter::default())
        .await
        .unwrap();
    let shape: Vec<(Option<String>, String, Option<String>)> = all
        .iter()
        .map(|l| {
            (
                l.action.owner_name.clone(),
                l.action.text.clone(),
                l.action.due.map(|d| d.to_string()),
            )
        })
        .collect();
    assert_eq!(
        shape,
        vec![
            (
                Some("Anna Fransson".into()),
                "skickar ut enkäten till kommunerna senast 2018-01-11".into(),
                Some("2018-01-11".into())
            ),
            (
                Some("Anna Fransson".into()),
                "bokar lokal för workshopen".into(),
                None
            ),
            (
                Some("Robert Olesen".into()),
                "tar fram en budget för 2018".into(),
                None
            ),
        ],
        "{all:#?}"
    );
    assert!(
        all.iter()
            .all(|l| l.action.state == "open" && l.events.len() == 1)
    );

    // Before the lead time (Monday 8 January): nothing.
    let early = "2018-01-08T09:00:00Z".parse().unwrap();
    assert!(run_due(&setup, early, false).await.is_empty());
    // A dry run reports and queues nothing.
    let dry = run_due(&setup, tick_time(), true).await;
    assert_eq!(dry.len(), 3, "{dry:?}");
    assert!(outbox(&setup.store, "reminder").await.is_empty());

    let done = run_due(&setup, tick_time(), false).await;
    assert_eq!(done.len(), 3, "two reminders and a digest: {done:?}");
    let reminders = outbox(&setup.store, "reminder").await;
    let mut to: Vec<&str> = reminders.iter().map(|(r, _)| r.as_str()).collect();
    to.sort();
    assert_eq!(
        to,
        vec!["anna.fransson@example.org", "robert.olesen@example.org"]
    );
    let digests = outbox(&setup.store, "digest").await;
    assert_eq!(digests.len(), 1);
    assert_eq!(digests[0].0, "sara.herrman@example.org");
    // A second tick, a dry run, and a later tick on the same firing: nothing more.
    assert!(run_due(&setup, tick_time(), false).await.is_empty());
    assert!(run_due(&setup, tick_time(), true).await.is_empty());
    let later = tick_time() + chrono::Duration::hours(5);
    assert!(run_due(&setup, later, false).await.is_empty());
    // One reminder per lead window, not one per firing: the next morning only Anna, whose
    // first reminder was about her due date (11 January), now hears about the meeting; the
    // morning after, in the same meeting window, no one.
    let next_morning = tick_time() + chrono::Duration::days(1);
    let again = run_due(&setup, next_morning, false).await;
    assert_eq!(again.len(), 1, "{again:?}");
    assert!(
        again[0].what.starts_with("reminder to Anna Fransson"),
        "{again:?}"
    );
    let after = run_due(&setup, next_morning + chrono::Duration::days(1), false).await;
    assert!(
        after.iter().all(|d| !d.what.starts_with("reminder")),
        "{after:?}"
    );
    assert_eq!(outbox(&setup.store, "reminder").await.len(), 3);
    assert_eq!(outbox(&setup.store, "digest").await.len(), 1);

    let anna_reminder = reminders
        .iter()
        .find(|(r, _)| r.starts_with("anna"))
        .unwrap()
        .1
        .clone();
    let queued = setup
        .store
        .due_outgoing("main", tick_time() + chrono::Duration::days(1), 100)
        .await
        .unwrap();
    let text = queued
        .iter()
        .find(|m| m.message_id == anna_reminder)
        .map(|m| text_of(&m.raw))
        .unwrap();
    assert!(text.starts_with("Hej Anna,"), "{text}");
    assert!(
        text.contains("Kommunalt forum, protokollet från tisdag 9 januari 2018\n\
             Nästa möte: fredag 12 januari 2018 kl. 13.00\n\
             \u{20}\u{20}1. Skickar ut enkäten till kommunerna senast 2018-01-11 (senast torsdag 11 januari 2018)\n\
             \u{20}\u{20}2. Bokar lokal för workshopen\n"),
        "{text}"
    );

    // Robert answering Anna's reminder is not taken: it is an ordinary mail.
    process(
        &setup,
        3,
        &reply(
            "Robert Olesen <robert.olesen@example.org>",
            "robert-reply",
            &anna_reminder,
            "Klart",
        ),
    )
    .await;
    let open = setup
        .store
        .actions_listing(&Filter {
            open_only: true,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(open.len(), 3);

    // Anna: "Klart 2" closes item 2 only, and she gets a confirmation, not a receipt.
    let receipts_before = outbox(&setup.store, "receipt").await.len();
    process(
        &setup,
        4,
        &reply(
            "Anna Fransson <anna.fransson@example.org>",
            "anna-reply",
            &anna_reminder,
            "Klart 2\r\n\r\nMvh Anna\r\n\r\n> 1. Skickar ut enk\u{e4}ten\r\n",
        ),
    )
    .await;
    let anna: Vec<(String, String)> = setup
        .store
        .actions_listing(&Filter {
            owner: Some("Anna".into()),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_iter()
        .map(|l| (l.action.text, l.action.state))
        .collect();
    assert_eq!(
        anna,
        vec![
            (
                "skickar ut enkäten till kommunerna senast 2018-01-11".into(),
                "open".into()
            ),
            ("bokar lokal för workshopen".into(), "done".into()),
        ]
    );
    assert_eq!(outbox(&setup.store, "receipt").await.len(), receipts_before);
    let confirmations = outbox(&setup.store, "confirmation").await;
    assert_eq!(confirmations.len(), 1);
    assert_eq!(confirmations[0].0, "anna.fransson@example.org");

    // A note from Anna is kept on her open action, and goes into the next digest.
    process(
        &setup,
        5,
        &reply(
            "Anna Fransson <anna.fransson@example.org>",
            "anna-note",
            &anna_reminder,
            "Enkäten går ut på fredag.",
        ),
    )
    .await;
    let listing = setup
        .store
        .actions_listing(&Filter {
            owner: Some("Anna".into()),
            open_only: true,
            series: Some("kommunalt".into()),
        })
        .await
        .unwrap();
    assert_eq!(listing.len(), 1);
    assert_eq!(
        listing[0].events.last().and_then(|e| e.note.as_deref()),
        Some("Enkäten går ut på fredag.")
    );

    // Later minutes that report Robert's budget done close it.
    process(
        &setup,
        6,
        &mail(
            "act-later",
            SENDER,
            "",
            "Protokollet från fredagen.",
            Some(("protokoll2.txt", LATER_MINUTES)),
        ),
    )
    .await;
    let robert = setup
        .store
        .actions_listing(&Filter {
            owner: Some("Robert".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(robert.len(), 1);
    assert_eq!(robert[0].action.state, "done");
    assert_eq!(
        robert[0].events.last().map(|e| e.source.as_str()),
        Some("minutes of 2018-01-12")
    );
}

#[tokio::test]
async fn actions_are_recorded_reminded_and_closed_sqlite() {
    let (store, _dir) = sqlite_store().await;
    actions_are_recorded_reminded_and_closed(store).await;
}

#[tokio::test]
async fn actions_are_recorded_reminded_and_closed_postgres() {
    actions_are_recorded_reminded_and_closed(postgres_store().await).await;
}

/// The digest says who owns what, what is done, the notes, and who answered the invitation.
#[tokio::test]
async fn the_digest_lists_actions_per_person() {
    let (store, _dir) = sqlite_store().await;
    let setup = setup(store, "");
    process(
        &setup,
        1,
        &mail(
            "digest-1",
            SENDER,
            "",
            "Protokollet.",
            Some(("protokoll.txt", MINUTES)),
        ),
    )
    .await;
    run_due(&setup, tick_time(), false).await;
    let queued = setup
        .store
        .due_outgoing("main", tick_time() + chrono::Duration::days(1), 100)
        .await
        .unwrap();
    let digest = queued
        .iter()
        .find(|m| {
            m.recipients == vec!["sara.herrman@example.org".to_string()]
                && text_of(&m.raw).contains("föregående protokoll")
        })
        .map(|m| text_of(&m.raw))
        .expect("a digest");
    assert!(
        digest.contains("\nAnna Fransson\n  [öppen] Skickar ut enkäten"),
        "{digest}"
    );
    assert!(
        digest.contains("\nRobert Olesen\n  [öppen] Tar fram en budget för 2018"),
        "{digest}"
    );
    assert!(digest.contains("Svar på kallelsen\n"), "{digest}");
    assert!(
        digest.contains("Har inte svarat: Anna Fransson"),
        "{digest}"
    );
}

/// What `clerk status` calls the next reminder is the one the job then sends: nothing is due on
/// Tuesday afternoon, the first is Wednesday's 08.00 firing, and once that is sent the next is
/// Anna's on Thursday (her due date's window is over, the meeting's is not).
#[tokio::test]
async fn the_next_reminder_is_the_one_the_job_sends() {
    let (store, _dir) = sqlite_store().await;
    let setup = setup(store, "");
    process(
        &setup,
        1,
        &mail(
            "next-1",
            SENDER,
            "",
            "Protokollet.",
            Some(("protokoll.txt", MINUTES)),
        ),
    )
    .await;
    let config = &setup.intake.config;
    let tuesday: DateTime<Utc> = "2018-01-09T13:00:00Z".parse().unwrap();
    let next = clerk::reminders::next_reminder(config, &setup.store, tuesday)
        .await
        .unwrap()
        .expect("a next reminder");
    let wednesday: DateTime<Utc> = "2018-01-10T07:00:00Z".parse().unwrap();
    assert_eq!(next.at, wednesday, "{next:?}");
    assert!(run_due(&setup, tuesday, true).await.is_empty());
    let sent = run_due(&setup, next.at, false).await;
    let address = next.address.clone().expect("an address");
    assert!(
        sent.iter().any(|d| d.what.contains(&address)),
        "{next:?} not in {sent:?}"
    );

    let after = clerk::reminders::next_reminder(config, &setup.store, next.at)
        .await
        .unwrap()
        .expect("another reminder");
    let thursday: DateTime<Utc> = "2018-01-11T07:00:00Z".parse().unwrap();
    assert_eq!(after.at, thursday, "{after:?}");
    assert_eq!(after.to, "Anna Fransson", "{after:?}");
    let sent = run_due(&setup, after.at, false).await;
    assert!(
        sent.iter()
            .any(|d| d.what.contains("reminder to Anna Fransson")),
        "{sent:?}"
    );
    // With reminders off there is none.
    let mut off = config.as_ref().clone();
    off.reminders.enabled = false;
    assert!(
        clerk::reminders::next_reminder(&off, &setup.store, tuesday)
            .await
            .unwrap()
            .is_none()
    );
}

/// The daemon over the real mail stack: minutes in, reminders out to each owner at a fixed
/// now, "Klart 2" by reply closes item 2 only, the digest reaches the secretary, and "Stryk 1"
/// drops an item.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reminders_reach_owners_and_a_reply_closes_one_item() {
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
    // Tuesday 8 January 2030, 09.00 in Stockholm; the next meeting is Thursday 10 January.
    let daemon = Daemon::start_with(
        &stack,
        &clerk,
        &format!(
            "[daemon]\ntick_secs = 1\n\n[directory]\npath = \"{}\"\n",
            directory.display()
        ),
        &[("CLERK_NOW", "2030-01-08T08:00:00Z")],
    );
    let minutes = "Protokoll Styrgruppen för e-tjänster\r\nDatum: 2030-01-07\r\n\
        Tid: 13.00-15.00\r\n\r\nNärvarande:\r\nAlice Andersson, Region Kronoberg\r\n\
        Bob Berg, Växjö kommun\r\n\r\n1. Åtgärder\r\n\
        - Alice Andersson skickar ut enkäten.\r\n- Alice Andersson bokar lokal.\r\n\
        - Bob Berg tar fram en budget.\r\n\r\n2. Nästa möte\r\n\
        Nästa möte är den 10 januari 2030 kl. 13.00-15.00.\r\n";
    let raw = format!(
        "From: Sara Sekreterare <{from}>\r\nTo: <{to}>\r\nSubject: Styrgruppen\r\n\
         Message-ID: <minutes-{n}@example.org>\r\nDate: Tue, 08 Jan 2030 09:00:00 +0100\r\n\
         MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n\
         --b1\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n\
         Protokollet bifogas.\r\n--b1\r\nContent-Type: text/plain; charset=utf-8; name=\"protokoll.txt\"\r\n\
         Content-Disposition: attachment; filename=\"protokoll.txt\"\r\n\
         Content-Transfer-Encoding: 8bit\r\n\r\n{minutes}\r\n--b1--\r\n",
        from = secretary.address,
        to = clerk.address,
        n = rand::random::<u32>()
    );
    smtp_send(
        &stack,
        &secretary.address,
        &[&clerk.address],
        raw.as_bytes(),
    )
    .await;

    let is_reminder = |m: &Vec<u8>| subject(m).starts_with("Påminnelse");
    let alice_inbox = wait_for(
        &stack,
        &alice,
        "INBOX",
        60,
        &daemon,
        "Alice's reminder",
        |m| m.iter().any(is_reminder),
    )
    .await;
    let reminder = alice_inbox.iter().find(|m| is_reminder(m)).unwrap();
    let text = text_of(reminder);
    assert!(
        text.contains("  1. Skickar ut enkäten\n  2. Bokar lokal\n"),
        "{text}"
    );
    assert!(!text.contains("budget"), "only Alice's own actions: {text}");
    let bob_inbox = wait_for(&stack, &bob, "INBOX", 60, &daemon, "Bob's reminder", |m| {
        m.iter().any(is_reminder)
    })
    .await;
    let bob_text = text_of(bob_inbox.iter().find(|m| is_reminder(m)).unwrap());
    assert!(bob_text.contains("  1. Tar fram en budget\n"), "{bob_text}");

    let reminder_id = header(reminder, "Message-ID").unwrap();
    let answer = format!(
        "From: Alice Andersson <{from}>\r\nTo: <{to}>\r\nSubject: Re: Påminnelse\r\n\
         Message-ID: <answer-{n}@example.org>\r\nIn-Reply-To: {reminder_id}\r\n\
         References: {reminder_id}\r\nMIME-Version: 1.0\r\n\
         Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n\
         Klart 2\r\n\r\n> Hej Alice,\r\n> 1. Skickar ut enkäten\r\n",
        from = alice.address,
        to = clerk.address,
        n = rand::random::<u32>()
    );
    smtp_send(&stack, &alice.address, &[&clerk.address], answer.as_bytes()).await;
    let alice_inbox = wait_for(
        &stack,
        &alice,
        "INBOX",
        60,
        &daemon,
        "the confirmation",
        |m| m.iter().any(|r| text_of(r).contains("Markerat som klart")),
    )
    .await;
    let confirmation = alice_inbox
        .iter()
        .find(|r| text_of(r).contains("Markerat som klart"))
        .unwrap();
    assert!(
        text_of(confirmation).contains("  2. bokar lokal"),
        "{}",
        text_of(confirmation)
    );
    let listed = std::process::Command::new(env!("CARGO_BIN_EXE_clerk"))
        .arg("--config")
        .arg(&daemon.config_path)
        .args(["actions", "--open"])
        .output()
        .unwrap();
    let listed = String::from_utf8_lossy(&listed.stdout);
    assert!(
        listed.contains("Styrgruppen för e-tjänster, minutes of 2030-01-07\n")
            && listed.contains("  [open] Alice Andersson: skickar ut enkäten\n")
            && !listed.contains("bokar lokal"),
        "{listed}"
    );
    // Everything due is sent: a dry run now has nothing to show.
    let dry = std::process::Command::new(env!("CARGO_BIN_EXE_clerk"))
        .arg("--config")
        .arg(&daemon.config_path)
        .args(["remind", "--dry-run"])
        .env("CLERK_NOW", "2030-01-08T08:00:00Z")
        .output()
        .unwrap();
    let dry = String::from_utf8_lossy(&dry.stdout);
    assert!(dry.starts_with("nothing is due at"), "{dry}");
    let actions = daemon.json(&["actions", "--json", "--owner", "Alice"]);
    let states: Vec<(String, String)> = actions
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["action"]["text"].as_str().unwrap().to_string(),
                a["action"]["state"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        states,
        vec![
            ("skickar ut enkäten".to_string(), "open".to_string()),
            ("bokar lokal".to_string(), "done".to_string()),
        ]
    );

    let secretary_inbox = wait_for(
        &stack,
        &secretary,
        "INBOX",
        60,
        &daemon,
        "the digest",
        |m| {
            m.iter()
                .any(|r| subject(r).starts_with("Inför Styrgruppen"))
        },
    )
    .await;
    let digest = secretary_inbox
        .iter()
        .find(|r| subject(r).starts_with("Inför Styrgruppen"))
        .unwrap();
    let digest_text = text_of(digest);
    assert!(digest_text.contains("\nAlice Andersson\n"), "{digest_text}");
    assert!(
        digest_text.contains("\nBob Berg\n  [öppen] Tar fram en budget"),
        "{digest_text}"
    );
    // Exactly one digest and one reminder each, though the daemon ticks every second.
    let digests = secretary_inbox
        .iter()
        .filter(|r| subject(r).starts_with("Inför"))
        .count();
    assert_eq!(digests, 1);
    let reminders = alice_inbox.iter().filter(|m| is_reminder(m)).count();
    assert_eq!(reminders, 1);

    // Bob: "Stryk 1" drops his item; it is no longer open, and he is told.
    let bob_reminder = bob_inbox.iter().find(|m| is_reminder(m)).unwrap();
    let bob_reminder_id = header(bob_reminder, "Message-ID").unwrap();
    assert!(
        text_of(bob_reminder).contains("\"Stryk 2\""),
        "the reminder says how to drop an item"
    );
    let answer = format!(
        "From: Bob Berg <{from}>\r\nTo: <{to}>\r\nSubject: Re: Påminnelse\r\n\
         Message-ID: <drop-{n}@example.org>\r\nIn-Reply-To: {bob_reminder_id}\r\n\
         References: {bob_reminder_id}\r\nMIME-Version: 1.0\r\n\
         Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n\
         Stryk 1\r\n\r\nStyrgruppen tar inte fram någon egen budget.\r\n",
        from = bob.address,
        to = clerk.address,
        n = rand::random::<u32>()
    );
    smtp_send(&stack, &bob.address, &[&clerk.address], answer.as_bytes()).await;
    let bob_inbox = wait_for(
        &stack,
        &bob,
        "INBOX",
        60,
        &daemon,
        "the drop confirmation",
        |m| m.iter().any(|r| text_of(r).contains("Struket")),
    )
    .await;
    let dropped = bob_inbox
        .iter()
        .find(|r| text_of(r).contains("Struket"))
        .unwrap();
    assert!(
        text_of(dropped).contains("  1. tar fram en budget"),
        "{}",
        text_of(dropped)
    );
    let bobs = daemon.json(&["actions", "--json", "--owner", "Bob"]);
    assert_eq!(bobs[0]["action"]["state"], "dropped", "{bobs}");
}
