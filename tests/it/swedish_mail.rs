//! Swedish mail as it really is (issue 8, promise 9): UTF-8, ISO-8859-1 and windows-1252 bodies,
//! RFC 2047 subjects (B and Q, one split over two encoded words) and attachment names in RFC
//! 2231 form (whole, and in continuations) or as an RFC 2047 word, as Outlook writes them. Each
//! fixture (tests/fixtures/hostile/mail-*-name.eml, mail-latin1-rfc2231-continued.eml) goes
//! through the real intake, and the receipt must name `Föredragningslista.docx` as sent, both
//! when it was read and when it was refused.

use crate::people::{Setup, now, setup, store_and_process};
use crate::store::sqlite_store;
use crate::support::{body_text, subject};
use clerk::document::{BODY, Limits, read_mail};

const NAME: &str = "Föredragningslista.docx";

fn fixture(name: &str) -> Vec<u8> {
    let path = format!(
        "{}/tests/fixtures/hostile/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// Stores and processes one mail; returns the receipt (raw) sent to anna@example.org.
async fn receipt_for(setup: &Setup, uid: u32, raw: &[u8]) -> Vec<u8> {
    store_and_process(setup, uid, raw, now()).await;
    let queued = setup
        .store
        .due_outgoing("main", now() + chrono::Duration::days(1), 100)
        .await
        .unwrap();
    let receipt = queued
        .iter()
        .rfind(|m| m.recipients == vec!["anna@example.org".to_string()])
        .expect("a receipt to the sender")
        .raw
        .clone();
    for m in &queued {
        setup.store.mark_sent(m.id, now()).await.unwrap();
    }
    receipt
}

#[test]
fn each_charset_subject_and_file_name_form_is_decoded() {
    let cases = [
        (
            "mail-utf8-rfc2231-name.eml",
            "Föredragningslista inför årsmötet",
            "Hej! Här är föredragningslistan. Närvarande: Åsa Öberg.",
        ),
        (
            "mail-latin1-rfc2231-continued.eml",
            "Kallelse till årsmöte",
            "Välkomna till årsmötet. Justerare: Åsa Öberg.",
        ),
        (
            "mail-cp1252-rfc2047-name.eml",
            "Protokoll från styrelsemöte – mars",
            "Kostnad 100 €, “förslag” godkänt.",
        ),
    ];
    for (file, subject, body) in cases {
        let mail = read_mail(&fixture(file), &Limits::default());
        assert_eq!(mail.subject.as_deref(), Some(subject), "{file}");
        let names: Vec<&str> = mail.documents.iter().map(|d| d.name.as_str()).collect();
        assert_eq!(names, vec![BODY, NAME], "{file}: {mail:#?}");
        assert_eq!(mail.documents[0].text.trim_end(), body, "{file}");
        assert!(
            mail.documents[1].text.contains("Anna Berg\tordförande"),
            "{file}: {:?}",
            mail.documents[1].text
        );
    }
}

#[tokio::test]
async fn the_receipt_names_the_file_as_sent_read_or_refused() {
    let (store, _dir) = sqlite_store().await;
    let setup = setup(store, "");
    for (uid, file, subject_sent) in [
        (
            1,
            "mail-utf8-rfc2231-name.eml",
            "Föredragningslista inför årsmötet",
        ),
        (
            2,
            "mail-latin1-rfc2231-continued.eml",
            "Kallelse till årsmöte",
        ),
        (
            3,
            "mail-cp1252-rfc2047-name.eml",
            "Protokoll från styrelsemöte – mars",
        ),
    ] {
        let receipt = receipt_for(&setup, uid, &fixture(file)).await;
        assert_eq!(subject(&receipt), format!("Re: {subject_sent}"), "{file}");
        let text = body_text(&receipt);
        assert!(text.contains(NAME), "{file}: {text}");
        assert!(!text.contains("F%C3%B6") && !text.contains("=?"), "{text}");
    }
    // The same name when the document inside cannot be read: the refusal names it too.
    let broken = String::from_utf8(fixture("mail-utf8-rfc2231-name.eml"))
        .unwrap()
        .replace("<utf8@example.org>", "<utf8-broken@example.org>");
    let start = broken.rfind("base64\r\n\r\n").unwrap() + "base64\r\n\r\n".len();
    let end = broken.rfind("\r\n--s1--").unwrap();
    let broken = format!("{}AAECAwQF{}", &broken[..start], &broken[end..]);
    let receipt = receipt_for(&setup, 4, broken.as_bytes()).await;
    let text = body_text(&receipt);
    assert!(
        text.lines()
            .any(|l| l.contains(NAME) && l.contains("binary data")),
        "{text}"
    );
}
