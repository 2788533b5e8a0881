//! Only trusted senders act, through the real intake: a forged From is quarantined; with
//! `accept_from` set, documents from anyone else are quarantined unanswered, while the
//! accepted secretary's are read.

use clerk::intake;
use clerk::store::IncomingMessage;

use crate::people::{SENDER, Setup, fixture, mail, now, setup};

/// Stores and processes one mail; returns how many mails it queued.
async fn process(setup: &Setup, uid: u32, raw: &[u8]) -> usize {
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
            now(),
        )
        .await
        .unwrap();
    intake::process_pending(&setup.intake).await.unwrap();
    let queued = setup
        .store
        .due_outgoing("main", now() + chrono::Duration::days(1), 100)
        .await
        .unwrap();
    for m in &queued {
        setup.store.mark_sent(m.id, now()).await.unwrap();
    }
    queued.len()
}

async fn quarantine_reasons(setup: &Setup) -> Vec<String> {
    setup
        .store
        .recent_events(50)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.message)
        .filter(|m| m.contains("quarantined"))
        .collect()
}

#[tokio::test]
async fn forged_from_lines_are_quarantined_unanswered() {
    let (store, _dir) = crate::store::sqlite_store().await;
    let setup = setup(store, "");
    let minutes = fixture("sv-kommunalt-forum-2018-02-21.md");
    let good = mail("ok", SENDER, "", "Protokoll.", Some(("p.md", &minutes)));
    let text = String::from_utf8(good.clone()).unwrap();
    let two_froms = text.replacen("From: ", "From: Boss <boss@example.org>\r\nFrom: ", 1);
    let two_froms = two_froms.replace("Message-ID: <ok@", "Message-ID: <two@");
    assert_eq!(process(&setup, 1, two_froms.as_bytes()).await, 0);
    let look_alike = text
        .replacen("From: ", "Fr om: Boss <boss@example.org>\r\nFrom: ", 1)
        .replace("Message-ID: <ok@", "Message-ID: <alike@");
    assert_eq!(process(&setup, 2, look_alike.as_bytes()).await, 0);
    let reasons = quarantine_reasons(&setup).await;
    assert_eq!(reasons.len(), 2, "{reasons:?}");
    assert!(
        reasons.iter().any(|r| r.contains("2 From headers")),
        "{reasons:?}"
    );
    assert!(
        reasons.iter().any(|r| r.contains("only resembles From")),
        "{reasons:?}"
    );
    assert!(setup.store.series_listing().await.unwrap().is_empty());
    // The genuine mail is read and answered.
    assert!(process(&setup, 3, &good).await >= 1);
    assert_eq!(setup.store.series_listing().await.unwrap().len(), 1);
}

#[tokio::test]
async fn documents_only_from_accepted_senders() {
    let (store, _dir) = crate::store::sqlite_store().await;
    let mut setup = setup(store, "");
    setup.intake.mailbox.accept_from =
        vec!["sara.herrman@example.org".into(), "@kommun.example".into()];
    let minutes = fixture("sv-kommunalt-forum-2018-02-21.md");
    let stranger = mail(
        "x",
        "Eve <eve@example.org>",
        "",
        "Protokoll.",
        Some(("p.md", &minutes)),
    );
    assert_eq!(
        process(&setup, 1, &stranger).await,
        0,
        "no reply, no invitation"
    );
    let reasons = quarantine_reasons(&setup).await;
    assert!(
        reasons
            .iter()
            .any(|r| r.contains("eve@example.org is not among the senders")),
        "{reasons:?}"
    );
    assert!(setup.store.series_listing().await.unwrap().is_empty());
    let secretary = mail("y", SENDER, "", "Protokoll.", Some(("p.md", &minutes)));
    assert!(process(&setup, 2, &secretary).await >= 1);
    assert_eq!(setup.store.series_listing().await.unwrap().len(), 1);
}
