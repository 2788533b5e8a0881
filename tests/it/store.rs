//! The store's promises, checked on both backends: SQLite in a temporary file and a real
//! PostgreSQL server (a fresh database per test).

use chrono::{TimeZone, Utc};
use clerk::store::{
    IncomingMessage, MessageOutcome, NewDocument, OutgoingMail, Recorded, Store, message_key,
};

use crate::support::fresh_postgres_url;

pub async fn sqlite_store() -> (Store, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&format!("sqlite:{}", dir.path().join("t.db").display()))
        .await
        .unwrap();
    store.migrate().await.unwrap();
    (store, dir)
}

pub async fn postgres_store() -> Store {
    let store = Store::open(&fresh_postgres_url().await).await.unwrap();
    store.migrate().await.unwrap();
    // Migrating twice is a no-op.
    store.migrate().await.unwrap();
    store
}

pub fn now() -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 25, 9, 0, 0).unwrap()
}

fn incoming<'a>(uid: u32, message_id: &str, raw: &'a [u8]) -> IncomingMessage<'a> {
    IncomingMessage {
        mailbox: "main",
        uid_validity: 7,
        uid,
        message_id: Some(message_id.to_string()),
        sender: Some("anna@example.org".into()),
        subject: Some("Protokoll".into()),
        raw,
    }
}

pub fn mail(key: &str) -> OutgoingMail {
    OutgoingMail {
        dedupe_key: key.into(),
        kind: "receipt".into(),
        mailbox: "main".into(),
        envelope_from: "clerk@example.org".into(),
        recipients: vec!["anna@example.org".into(), "bo@example.org".into()],
        message_id: format!("<{key}@example.org>"),
        raw: b"Subject: x\r\n\r\nhej\r\n".to_vec(),
        tell_on_failure: None,
    }
}

/// A message is stored once, however often it is fetched; the last UID only moves forward.
async fn messages_are_stored_once(store: &Store) {
    store
        .set_uid_validity("main", "INBOX", 7, now())
        .await
        .unwrap();
    let raw = b"Message-ID: <a@x>\r\n\r\nbody".as_slice();
    let first = store
        .record_message("INBOX", &incoming(3, "a@x", raw), now())
        .await
        .unwrap();
    let id = match first {
        Recorded::New(id) => id,
        other => panic!("expected a new row, got {other:?}"),
    };
    let again = store
        .record_message("INBOX", &incoming(9, "a@x", raw), now())
        .await
        .unwrap();
    assert_eq!(again, Recorded::Duplicate(id));
    assert_eq!(store.count_messages_with_id("a@x").await.unwrap(), 1);
    assert_eq!(
        store.mailbox_state("main", "INBOX").await.unwrap(),
        Some((7, 9))
    );
    // An older UID does not move the mark back.
    store
        .record_message("INBOX", &incoming(5, "b@x", raw), now())
        .await
        .unwrap();
    assert_eq!(
        store.mailbox_state("main", "INBOX").await.unwrap(),
        Some((7, 9))
    );

    let pending = store.messages_to_process("main", 10).await.unwrap();
    assert_eq!(pending.len(), 2);
    assert_eq!(pending[0].raw, raw);
}

/// Completing a message writes its documents and mail together, exactly once.
async fn completing_is_atomic_and_once(store: &Store) {
    store
        .set_uid_validity("main", "INBOX", 7, now())
        .await
        .unwrap();
    let raw = b"Message-ID: <c@x>\r\n\r\nbody".as_slice();
    let Recorded::New(id) = store
        .record_message("INBOX", &incoming(1, "c@x", raw), now())
        .await
        .unwrap()
    else {
        panic!("new message expected")
    };
    let doc = NewDocument {
        name: "protokoll.txt".into(),
        format: "text".into(),
        kind: "minutes".into(),
        language: "sv".into(),
        text: "Protokoll".into(),
        understood_json: "{}".into(),
    };
    store
        .complete_message(
            id,
            MessageOutcome::Processed,
            "ok",
            std::slice::from_ref(&doc),
            &[mail("r1")],
            now(),
        )
        .await
        .unwrap();
    // A second worker completing the same message changes nothing.
    store
        .complete_message(
            id,
            MessageOutcome::Processed,
            "ok",
            &[doc],
            &[mail("r2")],
            now(),
        )
        .await
        .unwrap();
    assert!(
        store
            .messages_to_process("main", 10)
            .await
            .unwrap()
            .is_empty()
    );
    let rows = store.outbox_rows().await.unwrap();
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0].2, "<r1@example.org>");
    let moves = store.messages_to_move("main").await.unwrap();
    assert_eq!(moves.len(), 1);
    assert!(!moves[0].quarantined);
    store.mark_moved(&[moves[0].id]).await.unwrap();
    assert!(store.messages_to_move("main").await.unwrap().is_empty());
}

/// The outbox keeps one row per dedupe key and walks pending -> retry -> sent.
async fn outbox_dedupes_and_retries(store: &Store) {
    assert!(store.enqueue_outgoing(&mail("k1"), now()).await.unwrap());
    assert!(
        !store.enqueue_outgoing(&mail("k1"), now()).await.unwrap(),
        "same key, no new row"
    );
    let due = store.due_outgoing("main", now(), 10).await.unwrap();
    assert_eq!(due.len(), 1);
    assert_eq!(
        due[0].recipients,
        vec!["anna@example.org", "bo@example.org"]
    );
    let later = now() + chrono::Duration::minutes(5);
    store
        .mark_retry(due[0].id, later, "451 try again")
        .await
        .unwrap();
    assert!(
        store
            .due_outgoing("main", now(), 10)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        store.next_outgoing_due("main").await.unwrap(),
        Some(later.timestamp())
    );
    let due = store.due_outgoing("main", later, 10).await.unwrap();
    assert_eq!(due[0].attempts, 1);
    store.mark_sent(due[0].id, later).await.unwrap();
    let status = store.outbox_status().await.unwrap();
    assert_eq!((status.pending, status.sent, status.failed), (0, 1, 0));

    // Given up: the row fails and the notice to the one it names is queued with it, once.
    let told = mail("k2").telling_on_failure(Some("sara@example.org"), true);
    store.enqueue_outgoing(&told, now()).await.unwrap();
    let due = store.due_outgoing("main", now(), 10).await.unwrap();
    assert_eq!(
        due[0].tell_on_failure,
        Some(clerk::store::FailureContact {
            address: "sara@example.org".into(),
            english: true
        })
    );
    let mut notice = mail("notice:k2");
    notice.recipients = vec!["sara@example.org".into()];
    for _ in 0..2 {
        store
            .mark_failed(due[0].id, "550 no such user", Some(&notice), now())
            .await
            .unwrap();
    }
    let status = store.outbox_status().await.unwrap();
    assert_eq!((status.failed, status.pending), (1, 1));
    let due = store.due_outgoing("main", now(), 10).await.unwrap();
    assert_eq!(due.len(), 1);
    assert_eq!(due[0].recipients, vec!["sara@example.org".to_string()]);
    assert_eq!(due[0].tell_on_failure, None);
    assert!(
        status
            .failures
            .iter()
            .any(|f| f.error.contains("550") && f.state == "failed"),
        "{:?}",
        status.failures
    );
}

#[test]
fn message_key_prefers_the_message_id() {
    assert_eq!(
        message_key(Some("a@x"), b"one"),
        message_key(Some("a@x"), b"two")
    );
    assert_ne!(message_key(None, b"one"), message_key(None, b"two"));
}

macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(#[tokio::test]
            async fn $name() {
                let (store, _dir) = super::sqlite_store().await;
                super::$name(&store).await;
            })*
        }
        mod postgres {
            $(#[tokio::test]
            async fn $name() {
                let store = super::postgres_store().await;
                super::$name(&store).await;
            })*
        }
    };
}

on_both_backends!(
    messages_are_stored_once,
    completing_is_atomic_and_once,
    outbox_dedupes_and_retries
);

/// Two replicas learning the same new person at once on PostgreSQL: the later insert fails on
/// the unique name once the first commits, and that error is a write conflict (intake then
/// records the message again, and finds the person). A plain mistake is not one.
#[tokio::test]
async fn a_unique_race_on_postgres_is_a_write_conflict() {
    let store = postgres_store().await;
    let now = now();
    let mut first = store.begin_write().await.unwrap();
    let mut second = store.begin_write().await.unwrap();
    let id = clerk::store::people::person(&mut first, "Nya Nilsson", None, "test", now)
        .await
        .unwrap();
    let racing = tokio::spawn(async move {
        let result =
            clerk::store::people::person(&mut second, "Nya Nilsson", None, "test", now).await;
        let _ = second.rollback().await;
        result
    });
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    first.commit().await.unwrap();
    let err = racing
        .await
        .unwrap()
        .expect_err("the second insert loses the race");
    assert!(clerk::store::is_write_conflict(&err), "{err:#}");
    let mut again = store.begin_write().await.unwrap();
    let found = clerk::store::people::person(&mut again, "Nya Nilsson", None, "test", now)
        .await
        .unwrap();
    again.commit().await.unwrap();
    assert_eq!(found, id, "tried again, it finds the first one's row");

    let mut tx = store.begin_write().await.unwrap();
    let err = sqlx::query("SELECT * FROM no_such_table")
        .execute(&mut *tx)
        .await
        .map_err(anyhow::Error::from)
        .unwrap_err();
    assert!(!clerk::store::is_write_conflict(&err), "{err:#}");
}
