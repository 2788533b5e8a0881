//! Understanding a whole mail or file: every readable part turned into text ([`document`]), and
//! each text into a meeting ([`extract`]). Pure and synchronous; intake runs it on a blocking
//! thread under a time limit, and `clerk ingest` runs it offline.

use serde::Serialize;

use crate::document::{self, Format, Limits, Refused};
use crate::extract::{self, Context, Kind, Meeting};

/// One readable part and what it says.
#[derive(Debug, Clone, Serialize)]
pub struct Understood {
    pub name: String,
    pub format: Format,
    /// Said about the reading, e.g. that content beat the file's extension.
    pub note: Option<String>,
    #[serde(skip)]
    pub text: String,
    pub meeting: Meeting,
}

impl Understood {
    /// Whether the document says anything about a meeting beyond a title: people, agenda,
    /// actions, next meetings, a place, a time, or a date of its own.
    pub fn has_meeting_content(&self) -> bool {
        let m = &self.meeting;
        !m.attendees.is_empty()
            || !m.agenda_items.is_empty()
            || !m.actions.is_empty()
            || !m.next_meetings.is_empty()
            || m.place.is_some()
            || m.start.is_some()
            || (m.date.is_some() && !m.date_from_mail)
    }

    /// Whether this is minutes or a notice of a meeting, rather than a mail that only mentions
    /// one ("Hej, här är protokollet.").
    pub fn describes_meeting(&self) -> bool {
        self.meeting.kind != Kind::Other && self.has_meeting_content()
    }
}

/// Everything read from one mail or file.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Reading {
    /// The mail's Date header, when the input was a mail.
    pub mail_date: Option<chrono::DateTime<chrono::FixedOffset>>,
    pub subject: Option<String>,
    pub from: Option<String>,
    pub documents: Vec<Understood>,
    pub refused: Vec<Refused>,
}

impl Reading {
    /// The document that best describes a meeting: minutes or agenda before anything else, then
    /// the one with most content. A mail body that only says "here are the minutes" loses to
    /// the attached minutes.
    pub fn primary(&self) -> Option<&Understood> {
        self.documents
            .iter()
            .max_by_key(|d| (d.meeting.kind != Kind::Other, weight(&d.meeting)))
    }
}

fn weight(m: &Meeting) -> usize {
    m.attendees.len()
        + m.agenda_items.len()
        + m.actions.len()
        + m.next_meetings.len()
        + usize::from(m.date.is_some() && !m.date_from_mail)
        + usize::from(m.title.is_some())
}

/// Reads a raw mail; undated documents are dated from its Date header.
pub fn read_mail(raw: &[u8], limits: &Limits) -> Reading {
    let mail = document::read_mail(raw, limits);
    let ctx = Context {
        fallback_date: mail.date.map(|d| d.date_naive()),
    };
    Reading {
        mail_date: mail.date,
        subject: mail.subject,
        from: mail.from,
        documents: mail
            .documents
            .into_iter()
            .map(|doc| understand(doc, &ctx))
            .collect(),
        refused: mail.refused,
    }
}

/// Reads one file: a document, or a whole .eml.
pub fn read_file(name: &str, bytes: &[u8], limits: &Limits) -> Reading {
    if looks_like_mail(name, bytes) {
        return read_mail(bytes, limits);
    }
    match document::read_file(name, bytes, limits) {
        Ok(docs) => Reading {
            documents: docs
                .into_iter()
                .map(|doc| {
                    understand(
                        doc,
                        &Context {
                            fallback_date: None,
                        },
                    )
                })
                .collect(),
            ..Reading::default()
        },
        Err(refused) => Reading {
            refused: vec![refused],
            ..Reading::default()
        },
    }
}

fn understand(doc: document::TextDocument, ctx: &Context) -> Understood {
    let meeting = extract::extract(&doc.text, ctx);
    Understood {
        name: doc.name,
        format: doc.format,
        note: doc.note,
        text: doc.text,
        meeting,
    }
}

/// An .eml file, or bytes that start with a mail's header block (From plus one header only
/// mail has): "Datum:", "Plats:" and "Date:" lines at the top of minutes are not enough.
fn looks_like_mail(name: &str, bytes: &[u8]) -> bool {
    if name.to_ascii_lowercase().ends_with(".eml") {
        return true;
    }
    let head = String::from_utf8_lossy(&bytes[..bytes.len().min(4096)]);
    let mut from = false;
    let mut mail_only = false;
    for line in head.lines().take_while(|l| !l.trim().is_empty()) {
        if line.starts_with([' ', '\t']) {
            continue;
        }
        let Some((field, _)) = line.split_once(':') else {
            return false;
        };
        if field.is_empty() || field.contains(char::is_whitespace) {
            return false;
        }
        let field = field.to_ascii_lowercase();
        from |= field == "from";
        mail_only |= matches!(
            field.as_str(),
            "message-id" | "mime-version" | "received" | "return-path" | "delivered-to"
        );
    }
    from && mail_only
}
