//! Hostile mail structure, whole (issue 8, promise 7): a 1,000-level nested multipart, RFC 2231
//! parameters in thousands of continuations, ZIPs whose entries overlap, binary garbage as a
//! whole message and a message over the size limit each get a clear outcome through the same
//! entry points intake uses, without a panic or a hang. Fixtures in tests/fixtures/hostile.

use std::time::{Duration, Instant};

use clerk::document::{Limits, read_file, read_mail};
use clerk::intake::understand;

fn fixture(name: &str) -> Vec<u8> {
    let path = format!(
        "{}/tests/fixtures/hostile/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// What intake's reading does with the whole message (25 MB limit, as configured by default),
/// on a thread of its own so that a hang fails the test instead of stalling it.
fn understood(name: &str) -> clerk::intake::MessageReport {
    let raw = fixture(name);
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(understand(&raw, 25 * 1024 * 1024));
    });
    rx.recv_timeout(Duration::from_secs(60))
        .unwrap_or_else(|e| panic!("{name}: no outcome within a minute ({e})"))
}

#[test]
fn a_thousand_nested_multiparts_are_read_to_the_part_limit() {
    let report = understood("mail-multipart-1000.eml");
    assert_eq!(report.refusal, None);
    let reading = &report.reading;
    assert!(
        reading.refused.iter().any(|r| r.name == "message"
            && r.reason == "the mail has 1002 parts (limit 500); only the first were read"),
        "{:?}",
        reading.refused
    );
    assert_eq!(
        report.from.as_ref().map(|f| f.1.as_str()),
        Some("anna@example.org")
    );
}

#[test]
fn thousands_of_rfc2231_continuations_give_one_bounded_name() {
    let started = Instant::now();
    let mail = read_mail(&fixture("mail-rfc2231-flood.eml"), &Limits::default());
    assert!(started.elapsed() < Duration::from_secs(20), "no hang");
    let names: Vec<&str> = mail.documents.iter().map(|d| d.name.as_str()).collect();
    assert!(names.contains(&clerk::document::BODY), "{names:?}");
    let attachment = mail
        .documents
        .iter()
        .find(|d| d.name != clerk::document::BODY)
        .unwrap_or_else(|| panic!("the attachment: {mail:#?}"));
    assert!(
        attachment.text.contains("Mötets öppnande"),
        "{attachment:?}"
    );
    assert!(
        attachment.name.chars().count() <= 255,
        "{}",
        attachment.name.len()
    );
    assert!(understood("mail-rfc2231-flood.eml").refusal.is_none());
}

#[test]
fn overlapping_zip_entries_are_refused_by_what_they_expand_to() {
    let refusal = |name: &str| {
        read_file(name, &fixture(name), &Limits::default())
            .map(|docs| panic!("{name} was read: {} documents", docs.len()))
            .unwrap_err()
            .reason
    };
    // Each entry truly declares 60 MB; numbering.xml and document.xml are both read, and
    // together they pass the 100 MiB budget of one document.
    let docx = refusal("zip-overlap.docx");
    assert!(
        docx == "ZIP expands to more than 100 MB (a ZIP bomb?)"
            || docx.contains("took longer than"),
        "{docx}"
    );
    // An .odt is read from styles.xml (for its list styles) and content.xml, both pointing at
    // the same 63 MB: together they pass the budget too.
    let odt = refusal("zip-overlap.odt");
    assert!(
        odt == "ZIP expands to more than 100 MB (a ZIP bomb?)" || odt.contains("took longer than"),
        "{odt}"
    );
}

#[test]
fn binary_garbage_as_a_whole_message_is_refused_for_want_of_a_sender() {
    let report = understood("garbage.bin");
    // Random bytes parse as a header block of nonsense: no sender, nothing to read.
    assert!(report.from.is_none(), "{:?}", report.from);
    assert!(report.reading.documents.iter().all(|d| d.text.len() < 5000));
    let mail = read_mail(&fixture("garbage.bin"), &Limits::default());
    assert!(mail.from.is_none());
}

#[test]
fn a_message_over_the_size_limit_is_refused_before_it_is_parsed() {
    let raw = fixture("mail-multipart-1000.eml");
    let report = understand(&raw, 64 * 1024);
    assert_eq!(
        report.refusal.as_deref(),
        Some(
            format!(
                "the message is {} bytes, above the limit of {}",
                raw.len(),
                64 * 1024
            )
            .as_str()
        )
    );
    assert!(report.reading.documents.is_empty());
}

/// A message that makes reading panic (stood in for by the `reading` panic point) is
/// quarantined once: the daemon lives on, the mail is moved to the quarantine folder with the
/// reason recorded, and after a restart it is not read again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_that_makes_reading_panic_is_quarantined_once() {
    use crate::e2e::{agenda_mail, is_reply_to};
    use crate::support::*;
    let stack = mail_stack();
    let clerk = new_account("clerk", "example.test");
    let secretary = new_account("secretary", "example.org");
    let mut daemon = Daemon::start_with(&stack, &clerk, "", &[("CLERK_PANIC_AT", "reading")]);
    let id = format!("panic-{}@example.org", rand::random::<u32>());
    let mail = agenda_mail(&secretary.address, &clerk.address, &id);
    smtp_send(&stack, &secretary.address, &[&clerk.address], &mail).await;
    wait_for(
        &stack,
        &clerk,
        "Clerk/Quarantine",
        60,
        &daemon,
        "the quarantined mail",
        |m| m.len() == 1,
    )
    .await;
    assert!(
        !daemon.exited_within(Duration::from_millis(200)),
        "the daemon lives on\n{}",
        daemon.log()
    );
    daemon.restart();
    // A second mail after the restart is read (and panics) too, so once it is quarantined the
    // first has had every chance to be read again.
    let second = format!("panic-second-{}@example.org", rand::random::<u32>());
    let mail = agenda_mail(&secretary.address, &clerk.address, &second);
    smtp_send(&stack, &secretary.address, &[&clerk.address], &mail).await;
    wait_for(
        &stack,
        &clerk,
        "Clerk/Quarantine",
        60,
        &daemon,
        "both quarantined",
        |m| m.len() == 2,
    )
    .await;
    let status = daemon.status();
    assert_eq!(status["mailboxes"][0]["quarantined"], 2, "{status}");
    assert_eq!(status["mailboxes"][0]["processed"], 0, "{status}");
    let log = daemon.log();
    assert_eq!(
        log.matches("reading it crashed").count(),
        2,
        "each read once:\n{log}"
    );
    let inbox = fetch_all(&stack, &secretary, "INBOX").await;
    assert!(
        !inbox
            .iter()
            .any(|r| is_reply_to(r, &id) || is_reply_to(r, &second)),
        "no reply to a quarantined mail"
    );
    daemon.stop();
}
