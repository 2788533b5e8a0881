//! Series, members and addresses, through the real intake on both store backends: mails are
//! stored as the inbox stores them, processed by `intake::process_pending`, and the receipts
//! they queue are read back from the outbox. (The mail stack itself is exercised in e2e.rs.)

use std::sync::Arc;

use chrono::{DateTime, TimeZone, Utc};
use clerk::clock::Clock;
use clerk::config::Config;
use clerk::intake::{self, Intake};
use clerk::store::{IncomingMessage, Store};
use tokio::sync::Notify;

use crate::store::{postgres_store, sqlite_store};
use crate::support::body_text;

const SECRETARY: &str = "sara.herrman@example.org";

/// A directory as an organisation exports it: some of the forum's members, two Annas, and an
/// Åke who must not be confused with an Ake.
const DIRECTORY: &str = "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Anna Fransson\r\nN:Fransson;Anna;;;\r\n\
ORG:Region Kronoberg\r\nEMAIL;TYPE=INTERNET:anna.fransson@example.org\r\nEND:VCARD\r\n\
BEGIN:VCARD\r\nVERSION:4.0\r\nFN:Robert Olesen\r\nEMAIL:robert.olesen@example.org\r\nEND:VCARD\r\n\
BEGIN:VCARD\r\nVERSION:4.0\r\nFN:Johan Jarl\r\nEMAIL:johan.jarl@example.org\r\nEND:VCARD\r\n\
BEGIN:VCARD\r\nVERSION:4.0\r\nFN:Ake Carlsson\r\nEMAIL:ake.carlsson@example.org\r\nEND:VCARD\r\n";

pub struct Setup {
    pub store: Store,
    pub intake: Intake,
    _dir: tempfile::TempDir,
}

pub fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2018, 1, 10, 9, 0, 0).unwrap()
}

fn config_text(store_url: &str, directory: &std::path::Path, series: &str) -> String {
    format!(
        "[store]\nurl = \"{store_url}\"\n[directory]\npath = \"{}\"\n\
             [[mailbox]]\nname = \"main\"\naddress = \"clerk@example.test\"\n\
             [mailbox.imap]\nhost = \"127.0.0.1\"\nsecurity = \"plain\"\nusername = \"clerk\"\n\
             password_env = \"UNUSED\"\n[mailbox.smtp]\nhost = \"127.0.0.1\"\nsecurity = \"plain\"\n\
             {series}",
        directory.display()
    )
}

pub fn setup(store: Store, series: &str) -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let directory = dir.path().join("people.vcf");
    std::fs::write(&directory, DIRECTORY).unwrap();
    let config = Config::parse(
        &config_text("sqlite::memory:", &directory, series),
        "test.toml",
    )
    .unwrap();
    let intake = Intake {
        mailbox: config.mailboxes[0].clone(),
        settings: config.intake.clone(),
        config: Arc::new(config),
        store: store.clone(),
        clock: Clock::starting_at(now()),
        outbox_wake: Arc::new(Notify::new()),
    };
    Setup {
        store,
        intake,
        _dir: dir,
    }
}

pub fn fixture(name: &str) -> String {
    std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/formats")
            .join(name),
    )
    .unwrap()
}

/// A mail from `from` with `body` as its text and `attachment` (name, text) if any.
pub fn mail(
    id: &str,
    from: &str,
    cc: &str,
    body: &str,
    attachment: Option<(&str, &str)>,
) -> Vec<u8> {
    let mut raw = format!(
        "From: {from}\r\nTo: Clerk <clerk@example.test>\r\nCc: {cc}\r\nSubject: Protokoll\r\n\
         Message-ID: <{id}@example.org>\r\nDate: Wed, 10 Jan 2018 09:00:00 +0100\r\n\
         MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n\
         --b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n"
    );
    if let Some((name, text)) = attachment {
        raw.push_str(&format!(
            "--b\r\nContent-Type: text/plain; charset=utf-8; name={name}\r\n\
             Content-Disposition: attachment; filename={name}\r\n\r\n{text}\r\n"
        ));
    }
    raw.push_str("--b--\r\n");
    raw.into_bytes()
}

/// Stores one mail as the inbox does (at `at`) and processes it through the real intake.
pub async fn store_and_process(setup: &Setup, uid: u32, raw: &[u8], at: DateTime<Utc>) {
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
            at,
        )
        .await
        .unwrap();
    assert_eq!(intake::process_pending(&setup.intake).await.unwrap(), 1);
}

/// Stores and processes one mail; returns the receipt's text.
pub async fn deliver(setup: &Setup, uid: u32, raw: &[u8]) -> String {
    store_and_process(setup, uid, raw, now()).await;
    let queued = setup
        .store
        .due_outgoing("main", now() + chrono::Duration::days(1), 100)
        .await
        .unwrap();
    let receipt = queued
        .iter()
        .rfind(|m| {
            m.recipients
                .iter()
                .any(|r| r == SECRETARY || r.starts_with("bo."))
        })
        .expect("a receipt was queued");
    let text = body_text(&receipt.raw);
    for m in &queued {
        setup.store.mark_sent(m.id, now()).await.unwrap();
    }
    text
}

/// The names the receipt lists as having no known address.
fn no_address(receipt: &str) -> Vec<String> {
    receipt
        .lines()
        .find_map(|l| l.trim().strip_prefix("- ingen e-postadress känd för ("))
        .and_then(|rest| rest.split_once("): "))
        .map(|(_, names)| names.split(", ").map(str::to_string).collect())
        .unwrap_or_default()
}

pub const SENDER: &str = "Sara Herrman <sara.herrman@example.org>";

async fn two_forum_meetings_are_one_series(store: Store) {
    let setup = setup(store, "");
    let february = fixture("sv-kommunalt-forum-2018-02-21.md");
    let may = fixture("sv-kommunalt-forum-2018-05-02.txt");
    let receipt = deliver(
        &setup,
        1,
        &mail(
            "feb",
            SENDER,
            "Lena Carlborg <lena.carlborg@example.org>",
            "Hej, här är protokollet.",
            Some(("protokoll.md", &february)),
        ),
    )
    .await;
    assert!(receipt.contains("Mötesserie: Kommunalt forum"), "{receipt}");
    // Known from the directory, or from the Cc header: not reported.
    let unknown = no_address(&receipt);
    assert!(!unknown.contains(&"Anna Fransson".to_string()), "{receipt}");
    assert!(!unknown.contains(&"Lena Carlborg".to_string()), "{receipt}");
    // Named in the minutes, address unknown: reported, with how to fix it.
    assert!(unknown.contains(&"Suzanne Frank".to_string()), "{receipt}");
    assert!(
        receipt.contains("= fornamn.efternamn@organisation.se"),
        "{receipt}"
    );
    // "Kommunerna" has no members by organisation here: it goes to the secretary, and says so.
    assert!(
        receipt.contains(
            "Kommunerna: ingen i gruppen kunde hittas, så uppgiften går till Sara Herrman"
        ),
        "{receipt}"
    );
    // Åke is not Ake: the directory's Ake Carlsson is a flagged guess, not an address.
    assert!(
        receipt
            .contains("Åke Carlsson: jag tror att det är Ake Carlsson, men stavningen skiljer sig"),
        "{receipt}"
    );

    deliver(
        &setup,
        2,
        &mail(
            "may",
            SENDER,
            "",
            "Protokollet från maj.",
            Some(("protokoll.txt", &may)),
        ),
    )
    .await;
    let series = setup.store.series_listing().await.unwrap();
    assert_eq!(series.len(), 1, "{series:#?}");
    let forum = &series[0];
    assert_eq!(forum.series.title, "Kommunalt forum");
    let dates: Vec<(&str, &str)> = forum
        .meetings
        .iter()
        .map(|m| (m.date.as_str(), m.status.as_str()))
        .collect();
    assert_eq!(
        dates,
        vec![
            ("2018-02-21", "held"),
            ("2018-05-02", "held"),
            ("2018-08-29", "planned"),
            ("2018-10-24", "planned"),
        ]
    );
    // The May meeting was first learned as announced by the February minutes.
    let may_row = &forum.meetings[1];
    assert!(
        may_row
            .learned_from
            .as_deref()
            .unwrap_or("")
            .contains("announced in the minutes of 2018-02-21"),
        "{may_row:?}"
    );
    // Members: everyone present at either meeting, each once.
    let members: Vec<&str> = forum.members.iter().map(|m| m.name.as_str()).collect();
    assert!(members.contains(&"Suzanne Frank") && members.contains(&"Tomas Thornell"));
    assert_eq!(
        members.iter().filter(|m| **m == "Anna Fransson").count(),
        1,
        "{members:?}"
    );
    let anna = forum
        .members
        .iter()
        .find(|m| m.name == "Anna Fransson")
        .unwrap();
    assert_eq!(anna.address.as_deref(), Some("anna.fransson@example.org"));

    // The listing says where each address came from.
    let people = setup.store.people_listing().await.unwrap();
    let lena = people.iter().find(|p| p.name == "Lena Carlborg").unwrap();
    assert_eq!(lena.addresses[0].0, "lena.carlborg@example.org");
    assert_eq!(lena.addresses[0].1, "header");
    let listing = clerk::listing::people(&people);
    assert!(
        listing.contains("anna.fransson@example.org (directory: directory "),
        "{listing}"
    );
}

#[tokio::test]
async fn two_forum_meetings_are_one_series_sqlite() {
    let (store, _dir) = sqlite_store().await;
    two_forum_meetings_are_one_series(store).await;
}

#[tokio::test]
async fn two_forum_meetings_are_one_series_postgres() {
    two_forum_meetings_are_one_series(postgres_store().await).await;
}

/// Minutes where two Annas are present and one Lars: "Anna" is ambiguous, "Lars" is not.
const AMBIGUOUS: &str = "Protokoll Styrgruppen\nDatum: 2018-03-05\n\nNärvarande:\n\
Anna Fransson, Region Kronoberg\nAnna Ek, Växjö kommun\nLars Altgård, Lessebo kommun\n\n\
Åtgärder:\nAnna skickar ut underlaget till den 12 mars.\nLars återkommer med förslag till den 20 mars.\n";

async fn first_names_resolve_within_the_meeting(store: Store) {
    let setup = setup(store, "");
    let receipt = deliver(
        &setup,
        1,
        &mail(
            "amb",
            SENDER,
            "",
            "Protokoll bifogat.",
            Some(("styrgrupp.txt", AMBIGUOUS)),
        ),
    )
    .await;
    assert!(
        receipt.contains("Anna: kan vara Anna Fransson, Anna Ek; skriv hela namnet"),
        "{receipt}"
    );
    // Lars is the one Lars present; his only problem is the missing address.
    assert_eq!(no_address(&receipt), vec!["Anna Ek", "Lars Altgård"]);
    assert!(!receipt.contains("Lars: "), "{receipt}");
}

#[tokio::test]
async fn first_names_resolve_within_the_meeting_sqlite() {
    let (store, _dir) = sqlite_store().await;
    first_names_resolve_within_the_meeting(store).await;
}

async fn a_secretary_corrects_an_address_by_reply(store: Store) {
    let setup = setup(store, "");
    let receipt = deliver(
        &setup,
        1,
        &mail(
            "amb",
            SENDER,
            "",
            "Protokoll bifogat.",
            Some(("styrgrupp.txt", AMBIGUOUS)),
        ),
    )
    .await;
    assert!(
        no_address(&receipt).contains(&"Anna Ek".to_string()),
        "{receipt}"
    );

    // Someone who never sent minutes here may not change addresses.
    let stranger = deliver(
        &setup,
        2,
        &mail(
            "bad",
            "Bo Ek <bo.ek@example.net>",
            "",
            "Anna Ek = anna.ek@evil.example\n",
            None,
        ),
    )
    .await;
    assert!(
        stranger.contains("Det här kunde jag inte notera:"),
        "{stranger}"
    );
    assert!(stranger.contains("bara en sekreterare"), "{stranger}");

    // The secretary's reply, top-posted above the quoted receipt (whose example line and
    // quoted text must not be taken).
    let reply = format!(
        "Anna Ek = anna.ek@vaxjo.example\nLars Altgård = lars.altgard@lessebo.example\n\n\
         Den 10 jan 2018 kl. 09:00 skrev Clerk <clerk@example.test>:\n\
         > Anna Ek = anna.ek@wrong.example\n{}",
        receipt
            .lines()
            .map(|l| format!("> {l}\n"))
            .collect::<String>()
    );
    let answer = deliver(&setup, 3, &mail("fix", SENDER, "", &reply, None)).await;
    assert!(answer.contains("Jag har noterat:"), "{answer}");
    assert!(
        answer.contains("Anna Ek = anna.ek@vaxjo.example"),
        "{answer}"
    );
    assert!(!answer.contains("wrong.example"), "{answer}");

    let people = setup.store.people_listing().await.unwrap();
    let anna = people.iter().find(|p| p.name == "Anna Ek").unwrap();
    assert_eq!(
        anna.addresses
            .iter()
            .map(|a| (a.0.as_str(), a.1.as_str()))
            .collect::<Vec<_>>(),
        vec![("anna.ek@vaxjo.example", "correction")]
    );
    assert!(
        anna.addresses[0]
            .2
            .as_deref()
            .unwrap()
            .contains("correction by sara.herrman@example.org")
    );
    // Nothing was learned from the stranger.
    assert!(
        !people
            .iter()
            .any(|p| p.addresses.iter().any(|a| a.0.contains("evil")))
    );
}

#[tokio::test]
async fn a_secretary_corrects_an_address_by_reply_sqlite() {
    let (store, _dir) = sqlite_store().await;
    a_secretary_corrects_an_address_by_reply(store).await;
}

#[tokio::test]
async fn a_secretary_corrects_an_address_by_reply_postgres() {
    a_secretary_corrects_an_address_by_reply(postgres_store().await).await;
}

/// A configured series: its members and groups resolve a group mention to addresses.
async fn configured_groups_and_members(store: Store) {
    let setup = setup(
        store,
        "[[series]]\nname = \"Kommunalt forum\"\n\
         members = [\"Carina Bengtsson <carina.bengtsson@ljungby.example>\"]\n\
         [series.groups]\nkommunerna = [\"Carina Bengtsson\", \"Thomas Haraldsson\"]\n",
    );
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
        !receipt.contains("Kommunerna: ingen i gruppen"),
        "{receipt}"
    );
    let unknown = no_address(&receipt);
    assert!(
        !unknown.contains(&"Carina Bengtsson".to_string()),
        "{receipt}"
    );
    assert!(
        unknown.contains(&"Thomas Haraldsson".to_string()),
        "{receipt}"
    );
    let series = setup.store.series_listing().await.unwrap();
    assert!(series[0].series.configured);
    let carina = series[0]
        .members
        .iter()
        .find(|m| m.name == "Carina Bengtsson")
        .unwrap();
    assert_eq!(
        carina.address.as_deref(),
        Some("carina.bengtsson@ljungby.example")
    );
    assert!(carina.how.starts_with("config"), "{carina:?}");
}

#[tokio::test]
async fn configured_groups_and_members_sqlite() {
    let (store, _dir) = sqlite_store().await;
    configured_groups_and_members(store).await;
}

/// `clerk people`, `clerk people set` and `clerk series` on the store the intake filled.
#[tokio::test]
async fn the_command_line_lists_people_and_series() {
    let (store, db_dir) = sqlite_store().await;
    let setup = setup(store, "");
    let february = fixture("sv-kommunalt-forum-2018-02-21.md");
    deliver(
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
    let directory = db_dir.path().join("people.vcf");
    std::fs::write(&directory, DIRECTORY).unwrap();
    let config = db_dir.path().join("clerk.toml");
    let url = format!("sqlite:{}", db_dir.path().join("t.db").display());
    std::fs::write(&config, config_text(&url, &directory, "")).unwrap();
    let clerk = |args: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_clerk"))
            .arg("--config")
            .arg(&config)
            .args(args)
            .env("UNUSED", "x")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    let series = clerk(&["series"]);
    assert!(
        series.contains("Kommunalt forum (learned from document titles; mailbox main)"),
        "{series}"
    );
    assert!(
        series.contains("2018-02-21, 09:00, Oden, Sigfridsområdet, Växjö, held"),
        "{series}"
    );
    assert!(
        series.contains("2018-05-02, planned — announced in the minutes of 2018-02-21"),
        "{series}"
    );
    assert!(series.contains("usual time: 09:00"), "{series}");
    assert!(
        series.contains(
            "Anna Fransson <anna.fransson@example.org> (document: minutes of 2018-02-21)"
        ),
        "{series}"
    );

    let set = clerk(&[
        "people",
        "set",
        "Suzanne Frank",
        "suzanne.frank@example.org",
    ]);
    assert_eq!(
        set.trim(),
        "Suzanne Frank = suzanne.frank@example.org: added"
    );
    let people: serde_json::Value = serde_json::from_str(&clerk(&["people", "--json"])).unwrap();
    let suzanne = people
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "Suzanne Frank")
        .unwrap();
    assert_eq!(suzanne["addresses"][0][0], "suzanne.frank@example.org");
    assert_eq!(suzanne["addresses"][0][1], "correction");
    assert_eq!(suzanne["series"][0], "Kommunalt forum");
    let text = clerk(&["people"]);
    assert!(text.contains("Suzanne Frank, Region Kronoberg\n"), "{text}");
    assert!(text.contains("  address: none known\n"), "{text}");
}
