//! The document reader against the hostile and mixed fixtures in tests/fixtures/hostile (made by
//! its make_fixtures.py): every refused input gives a clear reason, and good parts survive next
//! to bad ones.

use std::time::Duration;

use clerk::document::{BODY, Format, Limits, MailDocuments, TextDocument, read_file, read_mail};

fn fixture(name: &str) -> Vec<u8> {
    let path = format!(
        "{}/tests/fixtures/hostile/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn read(name: &str) -> Result<Vec<TextDocument>, String> {
    read_file(name, &fixture(name), &Limits::default()).map_err(|r| {
        assert_eq!(r.name, name);
        r.reason
    })
}

fn refused(name: &str) -> String {
    match read(name) {
        Ok(docs) => panic!("{name} was read: {docs:?}"),
        Err(reason) => reason,
    }
}

fn mail(name: &str) -> MailDocuments {
    read_mail(&fixture(name), &Limits::default())
}

fn doc<'a>(mail: &'a MailDocuments, name: &str) -> &'a TextDocument {
    mail.documents
        .iter()
        .find(|d| d.name == name)
        .unwrap_or_else(|| panic!("no document {name} in {mail:#?}"))
}

fn reason_for<'a>(mail: &'a MailDocuments, name: &str) -> &'a str {
    &mail
        .refused
        .iter()
        .find(|r| r.name == name)
        .unwrap_or_else(|| panic!("nothing refused as {name} in {mail:#?}"))
        .reason
}

#[test]
fn empty_garbage_and_disguised_files_are_refused_by_content() {
    assert_eq!(refused("empty.docx"), "empty file");
    assert_eq!(
        refused("garbage.pdf"),
        "binary data, not a PDF despite its .pdf name"
    );
    assert_eq!(refused("garbage.bin"), "binary data, not a document");
    assert_eq!(
        refused("png-named.docx"),
        "an image (PNG), not a Word document despite its .docx name"
    );
}

#[test]
fn a_text_named_pdf_is_read_as_text_and_says_so() {
    let docs = read("text-named.pdf").unwrap();
    assert_eq!(docs[0].format, Format::Text);
    assert!(docs[0].text.starts_with("Protokoll\nDatum: 2026-03-12\n"));
    assert_eq!(
        docs[0].note.as_deref(),
        Some("read as text file: the content is not a PDF despite its .pdf name")
    );
}

#[test]
fn broken_word_documents_are_refused() {
    let truncated = refused("truncated.docx");
    assert!(
        truncated.starts_with("damaged .docx: the ZIP inside is damaged or truncated"),
        "{truncated}"
    );
    let invalid = refused("invalid-xml.docx");
    assert!(
        invalid.starts_with("word/document.xml is not well-formed XML"),
        "{invalid}"
    );
}

#[test]
fn a_good_word_document_keeps_its_table_rows() {
    let docs = read("good.docx").unwrap();
    assert_eq!(docs[0].format, Format::Docx);
    assert_eq!(
        docs[0].text,
        "Protokoll styrelsemöte 2026-03-12\nAnna Berg\tordförande\nErik Ås\tsekreterare\n§ 1 Mötets öppnande\n"
    );
}

#[test]
fn zip_bombs_and_entry_floods_are_refused() {
    assert_eq!(
        refused("zip-flood.docx"),
        "ZIP has 2101 entries (limit 2000): not a normal document"
    );
    // The bomb inflates to 120 MB; a smaller limit finds it quickly in a debug build.
    let limits = Limits {
        max_zip_expanded_bytes: 4 * 1024 * 1024,
        ..Limits::default()
    };
    let bomb = read_file("zip-bomb.docx", &fixture("zip-bomb.docx"), &limits).unwrap_err();
    assert_eq!(bomb.reason, "ZIP expands to more than 4 MB (a ZIP bomb?)");
    // Whatever comes first, the expansion limit or the deadline, it is refused in time.
    let limits = Limits {
        time_per_document: Duration::from_millis(300),
        ..Limits::default()
    };
    let started = std::time::Instant::now();
    let bomb = read_file("zip-bomb.docx", &fixture("zip-bomb.docx"), &limits).unwrap_err();
    assert!(
        bomb.reason.contains("ZIP bomb") || bomb.reason.contains("took longer than"),
        "{}",
        bomb.reason
    );
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[test]
fn pdfs_text_layers_passwords_and_scans() {
    let docs = read("text.pdf").unwrap();
    assert_eq!(docs[0].format, Format::Pdf);
    assert!(
        docs[0].text.contains("Protokoll fort vid styrelsemote"),
        "{:?}",
        docs[0].text
    );
    // A PDF protected only against editing opens without a password.
    let docs = read("owner-protected.pdf").unwrap();
    assert!(docs[0].text.contains("Paragraf 1 Oppnande"));
    assert!(refused("encrypted.pdf").starts_with("encrypted PDF"));
    assert!(refused("scanned.pdf").starts_with("PDF has no text layer (scanned?)"));
}

#[test]
fn deeply_nested_html_is_refused_before_parsing() {
    let started = std::time::Instant::now();
    assert!(refused("deep-nesting.html").contains("nests its elements too deeply"));
    assert!(started.elapsed() < Duration::from_secs(2));
}

#[test]
fn good_attachments_survive_next_to_broken_ones() {
    let mail = mail("mail-broken-and-good.eml");
    assert_eq!(mail.subject.as_deref(), Some("Protokoll"));
    assert_eq!(mail.from.as_deref(), Some("anna@example.org"));
    assert_eq!(
        mail.date.map(|d| d.to_rfc3339()).as_deref(),
        Some("2026-03-12T10:00:00+01:00")
    );
    assert_eq!(doc(&mail, BODY).text, "Hej, här är protokollet.");
    assert_eq!(
        doc(&mail, "dagordning.txt").text,
        "Dagordning\n1. Mötets öppnande\n2. Budget\n"
    );
    assert!(
        doc(&mail, "protokoll.docx")
            .text
            .contains("Anna Berg\tordförande\n")
    );
    assert_eq!(
        reason_for(&mail, "trasig.pdf"),
        "binary data, not a PDF despite its .pdf name"
    );
    assert_eq!(reason_for(&mail, "tom.docx"), "empty file");
    assert_eq!((mail.documents.len(), mail.refused.len()), (3, 2));
}

#[test]
fn charsets_of_bodies_and_attachments() {
    let qp = mail("mail-cp1252-qp.eml");
    assert_eq!(qp.subject.as_deref(), Some("Möte"));
    assert_eq!(
        doc(&qp, BODY).text,
        "Närvarande: Åsa Öberg och Erik Ström.\nBudget: 100 €."
    );
    let latin1 = mail("mail-latin1-attachment.eml");
    assert_eq!(
        doc(&latin1, "protokoll.txt").text,
        "Protokoll fört vid möte\nJustering: Åsa Öberg\n"
    );
    // No charset declared: not UTF-8, so windows-1252.
    assert_eq!(doc(&latin1, "bilaga.txt").text, "Bilaga: kostnad 5 €\n");
    // An unknown charset, and UTF-8 declared for windows-1252 bytes: read as windows-1252.
    let unknown = mail("mail-unknown-charset.eml");
    assert_eq!(doc(&unknown, BODY).text, "Protokoll från mötet.");
    let mislabelled = mail("mail-mislabelled-utf8.eml");
    assert_eq!(doc(&mislabelled, BODY).text, "Närvarande: Åsa.");
    assert_eq!(doc(&mislabelled, "p.txt").text, "Mötet avslutades.");
}

#[test]
fn attached_mails_are_read_to_the_depth_limit() {
    let nested = mail("mail-nested.eml");
    assert_eq!(doc(&nested, BODY).text, "Vidarebefordrar kallelsen.");
    assert_eq!(
        doc(&nested, "kallelse.eml: mail body").text,
        "Kallelse till möte 2026-04-01."
    );
    let agenda = doc(&nested, "kallelse.eml: agenda.md");
    assert_eq!(agenda.format, Format::Markdown);
    assert_eq!(agenda.text, "# Agenda\n\n1. Val av justerare");

    let deep = mail("mail-deep-nesting.eml");
    assert_eq!(
        doc(&deep, "level1.eml: level2.eml: level3.eml: mail body").text,
        "Level 3 text."
    );
    assert_eq!(deep.documents.len(), 4);
    assert_eq!(
        reason_for(&deep, "level1.eml: level2.eml: level3.eml: level4.eml"),
        "attached mails nest deeper than 3 levels; not read"
    );
}

#[test]
fn an_eml_file_gives_the_documents_of_its_mail() {
    let docs = read("mail-nested.eml").unwrap();
    let names: Vec<&str> = docs.iter().map(|d| d.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "mail-nested.eml: mail body",
            "mail-nested.eml: kallelse.eml: mail body",
            "mail-nested.eml: kallelse.eml: agenda.md"
        ]
    );
}

#[test]
fn signatures_logos_and_cards_are_skipped_and_winmail_is_explained() {
    let mail = mail("mail-signature-and-extras.eml");
    let names: Vec<&str> = mail.documents.iter().map(|d| d.name.as_str()).collect();
    // The body is only a signature: no body document. The logo, card and S/MIME signature are
    // skipped without a word.
    assert_eq!(names, ["protokoll.docx"]);
    assert_eq!(mail.refused.len(), 1, "{:?}", mail.refused);
    assert!(reason_for(&mail, "winmail.dat").contains("Outlook"));
}

#[test]
fn an_html_body_keeps_its_table_and_a_hostile_html_attachment_is_refused() {
    let mail = mail("mail-html-table.eml");
    let body = doc(&mail, BODY);
    assert_eq!(body.format, Format::Html);
    assert_eq!(
        body.text,
        "Närvarande:\nAnna Berg\tordförande\nErik Ås\tsekreterare"
    );
    assert!(reason_for(&mail, "nested.html").contains("too deeply"));
}

#[test]
fn serialises_formats_in_lowercase() {
    let docs = read("good.docx").unwrap();
    let json = serde_json::to_value(&docs[0]).unwrap();
    assert_eq!(json["format"], "docx");
    assert!(json.get("note").is_none());
}

#[test]
fn ingest_piped_into_a_reader_that_stops_ends_quietly() {
    // `clerk ingest --json FILE | head -1`: the reader is gone before Clerk writes.
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/formats/sv-kommunalt-forum-2018-05-02.odt"
    );
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_clerk"))
        .args(["ingest", "--json", path])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
}
