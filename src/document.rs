//! Getting the text out of everything a mail can carry: its body (plain text, or the HTML when
//! there is no plain text or when the HTML holds a table), attachments in .docx, .odt, .pdf (text
//! layer), .html, .rtf, .md and .txt, and attached mails (message/rfc822 or .eml), each as one
//! [`TextDocument`].
//!
//! # Formats
//! A file's format is found by its content first (magic bytes, the entries of a ZIP, binary
//! control bytes) and by its name's extension only between kinds of text; when the two disagree
//! the content wins and the document carries a [`TextDocument::note`] saying so. Text without a
//! declared charset is UTF-8 (BOM dropped), UTF-16 with a BOM, else windows-1252.
//!
//! # Tables stay tables
//! A row of a Word, ODT, HTML or RTF table becomes one line with its cells separated by TAB, so
//! attendee and agenda tables can still be read as such. Paragraphs, headings ("#" lines) and list
//! items ("1. ", "- ") become lines.
//!
//! # Limits
//! Every input is untrusted ([`Limits`]). Sizes are checked before parsing; ZIP entries are
//! counted before the ZIP library sees them and their XML is streamed through a bounded reader
//! (declared sizes are not believed); a PDF's compressed streams are measured before the PDF
//! library inflates them; HTML nesting that would make the parser quadratic is refused; attached
//! mails nest only so deep; text is cut at a length; and each document has a deadline, checked
//! between units of work (XML events, pages, RTF bytes), since no parser can be stopped from
//! outside. A format library that panics is caught. A refused or broken part becomes a
//! [`Refused`] with a reason in plain words, and the other parts of the mail are still read.

use std::borrow::Cow;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::time::{Duration, Instant};

use chrono::{DateTime, FixedOffset};
use mail_parser::decoders::base64::base64_decode;
use mail_parser::decoders::quoted_printable::quoted_printable_decode;
use mail_parser::{
    Encoding, HeaderName, Message, MessageParser, MessagePart, MimeHeaders, PartType,
};
use serde::Serialize;

#[path = "document/html.rs"]
mod html;
#[path = "document/odf_lists.rs"]
mod odf_lists;
#[path = "document/office.rs"]
mod office;
#[path = "document/pdf.rs"]
mod pdf;
#[path = "document/rtf.rs"]
mod rtf;

/// Bounds on what one mail may make Clerk read.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Largest attachment read, in bytes.
    pub max_part_bytes: usize,
    /// Most entries a .docx/.odt ZIP may have.
    pub max_zip_entries: usize,
    /// Most bytes read out of one ZIP in all (the XML of the document).
    pub max_zip_expanded_bytes: u64,
    /// Most bytes a PDF's compressed (non-image) streams may inflate to.
    pub max_pdf_expanded_bytes: u64,
    /// How deep attached mails may nest.
    pub max_depth: usize,
    /// Most MIME parts of one mail read; the rest are refused in one line.
    pub max_parts: usize,
    /// Longest text kept of one document, in characters.
    pub max_text_chars: usize,
    /// Wall-clock time one document may take, checked between units of work.
    pub time_per_document: Duration,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_part_bytes: 25 * 1024 * 1024,
            max_zip_entries: 2000,
            max_zip_expanded_bytes: 100 * 1024 * 1024,
            max_pdf_expanded_bytes: 100 * 1024 * 1024,
            max_depth: 3,
            max_parts: 500,
            max_text_chars: 2_000_000,
            time_per_document: Duration::from_secs(10),
        }
    }
}

/// The kinds of document read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    Text,
    Markdown,
    Html,
    Docx,
    Odt,
    Pdf,
    Rtf,
    Eml,
}

impl Format {
    /// The name it serialises to.
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Text => "text",
            Format::Markdown => "markdown",
            Format::Html => "html",
            Format::Docx => "docx",
            Format::Odt => "odt",
            Format::Pdf => "pdf",
            Format::Rtf => "rtf",
            Format::Eml => "eml",
        }
    }

    /// What a sender calls it.
    fn describe(self) -> &'static str {
        match self {
            Format::Text => "text file",
            Format::Markdown => "Markdown file",
            Format::Html => "web page",
            Format::Docx => "Word document",
            Format::Odt => "OpenDocument text",
            Format::Pdf => "PDF",
            Format::Rtf => "RTF document",
            Format::Eml => "attached mail",
        }
    }
}

/// The text of one document, and where it came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TextDocument {
    /// The file name, or [`BODY`] for the mail's own text; "outer.eml: inner.pdf" for a document
    /// of an attached mail.
    pub name: String,
    pub format: Format,
    pub text: String,
    /// Something the sender may want to know: the file was read as another format than its name
    /// says, or its text was cut at the length limit.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// A part that could not be read, and why, in words for the sender.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Refused {
    pub name: String,
    pub reason: String,
}

/// Everything read out of one mail.
#[derive(Debug, Clone, Default, Serialize)]
pub struct MailDocuments {
    pub subject: Option<String>,
    /// The sender's address; `None` unless the mail has exactly one From header with one address.
    pub from: Option<String>,
    pub date: Option<DateTime<FixedOffset>>,
    pub documents: Vec<TextDocument>,
    pub refused: Vec<Refused>,
}

/// The name the mail body goes by.
pub const BODY: &str = "mail body";

fn refuse(name: &str, reason: impl Into<String>) -> Refused {
    Refused {
        name: name.to_string(),
        reason: reason.into(),
    }
}

/// One document's wall-clock budget. Parsers cannot be stopped from outside, so the converters
/// check it between units of work.
pub(crate) struct Deadline {
    end: Option<Instant>,
    limit: Duration,
    ticks: u32,
}

impl Deadline {
    fn new(limit: Duration) -> Deadline {
        Deadline {
            end: Instant::now().checked_add(limit),
            limit,
            ticks: 0,
        }
    }

    #[cfg(test)]
    pub(crate) fn unlimited() -> Deadline {
        Deadline {
            end: None,
            limit: Duration::MAX,
            ticks: 0,
        }
    }

    /// Fails once the time is up.
    pub(crate) fn check(&self) -> Result<(), String> {
        match self.end {
            Some(end) if Instant::now() > end => Err(format!(
                "reading it took longer than {} s; it is too large or too complex",
                self.limit.as_secs_f32()
            )),
            _ => Ok(()),
        }
    }

    /// [`Deadline::check`] for tight loops: looks at the clock every 1024th call.
    pub(crate) fn tick(&mut self) -> Result<(), String> {
        self.ticks = self.ticks.wrapping_add(1);
        if self.ticks.is_multiple_of(1024) {
            self.check()
        } else {
            Ok(())
        }
    }
}

/// Reads a whole mail: its body and every attachment, attached mails included. Never fails: what
/// cannot be read is in [`MailDocuments::refused`].
pub fn read_mail(raw: &[u8], limits: &Limits) -> MailDocuments {
    read_mail_at(raw, limits, 0)
}

/// Parses a whole mail: `None` for bytes that are no mail, or that make the parser panic
/// (mail-parser 0.11 has assertions of its own that hostile structure can trip; a fuzzed mail
/// did, see tests/fixtures/fuzz). Every full parse of untrusted mail goes through here.
pub fn parse_mail(raw: &[u8]) -> Option<Message<'_>> {
    catch_unwind(AssertUnwindSafe(|| MessageParser::default().parse(raw)))
        .ok()
        .flatten()
}

/// The header block only, as [`parse_mail`].
pub fn parse_mail_headers(raw: &[u8]) -> Option<Message<'_>> {
    catch_unwind(AssertUnwindSafe(|| MessageParser::new().parse_headers(raw)))
        .ok()
        .flatten()
}

fn read_mail_at(raw: &[u8], limits: &Limits, depth: usize) -> MailDocuments {
    let mut out = MailDocuments::default();
    let Some(message) = parse_mail(raw) else {
        out.refused.push(refuse("message", "not a readable mail"));
        return out;
    };
    out.subject = message.subject().map(str::to_string);
    out.from = sender(&message);
    out.date = message
        .date()
        .and_then(|d| DateTime::parse_from_rfc3339(&d.to_rfc3339()).ok());
    if message.parts.len() > limits.max_parts {
        out.refused.push(refuse(
            "message",
            format!(
                "the mail has {} parts (limit {}); only the first were read",
                message.parts.len(),
                limits.max_parts
            ),
        ));
    }
    match body_text(&message, limits) {
        Ok(Some((text, format))) => out.documents.push(document(BODY, format, text, limits)),
        Ok(None) => {}
        Err(reason) => out.refused.push(refuse(BODY, reason)),
    }
    for (n, part) in message.attachments().enumerate() {
        if n >= limits.max_parts {
            break;
        }
        read_attachment(&message, part, n, limits, depth, &mut out);
    }
    out
}

/// The sender's address, only when the mail says it once: a second From header would win in the
/// parser, and a forged one is how that is used.
fn sender(message: &Message<'_>) -> Option<String> {
    let from_headers = message
        .headers()
        .iter()
        .filter(|h| h.name == HeaderName::From)
        .count();
    let from = message.from()?;
    if from_headers != 1 || from.iter().count() != 1 {
        return None;
    }
    from.first()?.address().map(str::to_string)
}

fn read_attachment(
    message: &Message<'_>,
    part: &MessagePart<'_>,
    n: usize,
    limits: &Limits,
    depth: usize,
    out: &mut MailDocuments,
) {
    let name = part
        .attachment_name()
        .map(|s| bounded_name(&s.chars().filter(|c| !c.is_control()).collect::<String>()))
        .filter(|s| !s.trim().is_empty())
        .unwrap_or_else(|| format!("attachment {}", n + 1));
    if let PartType::Message(inner) = &part.body {
        if depth + 1 > limits.max_depth {
            out.refused.push(too_deep(&name, limits));
            return;
        }
        let nested = read_mail_at(inner.raw_message(), limits, depth + 1);
        out.documents
            .extend(nested.documents.into_iter().map(|d| prefixed(&name, d)));
        out.refused.extend(
            nested
                .refused
                .into_iter()
                .map(|r| refuse(&format!("{name}: {}", r.name), r.reason)),
        );
        return;
    }
    let content_type = part
        .content_type()
        .map(|ct| format!("{}/{}", ct.ctype(), ct.subtype().unwrap_or("")).to_lowercase())
        .unwrap_or_default();
    match decoration(&name, &content_type, part) {
        Some(Decoration::Skip) => return,
        Some(Decoration::Refuse(reason)) => {
            out.refused.push(refuse(&name, reason));
            return;
        }
        None => {}
    }
    let text;
    let bytes = if let PartType::Text(_) = part.body {
        text = part_text(message, part);
        text.as_bytes()
    } else {
        part.contents()
    };
    match read_file_at(&name, bytes, limits, depth) {
        Ok(docs) => out.documents.extend(docs),
        Err(r) => out.refused.push(r),
    }
}

/// Longest attachment name kept: RFC 2231 continuations can make a name of any length, and it
/// is repeated in the receipt and the store.
const MAX_NAME_CHARS: usize = 255;

/// The name cut to [`MAX_NAME_CHARS`] in the middle, so that its start and its extension (which
/// decides how it is read) stay.
fn bounded_name(name: &str) -> String {
    let count = name.chars().count();
    if count <= MAX_NAME_CHARS {
        return name.to_string();
    }
    let tail = 54;
    let head: String = name.chars().take(MAX_NAME_CHARS - tail - 1).collect();
    let end: String = name.chars().skip(count - tail).collect();
    format!("{head}…{end}")
}

fn too_deep(name: &str, limits: &Limits) -> Refused {
    refuse(
        name,
        format!(
            "attached mails nest deeper than {} levels; not read",
            limits.max_depth
        ),
    )
}

fn prefixed(outer: &str, mut doc: TextDocument) -> TextDocument {
    doc.name = format!("{outer}: {}", doc.name);
    doc
}

/// What to do with a part that is not a document.
enum Decoration {
    /// Logos, signatures, contact cards, calendar data: not worth a word.
    Skip,
    /// Something the sender may have meant as the document.
    Refuse(&'static str),
}

fn decoration(name: &str, content_type: &str, part: &MessagePart<'_>) -> Option<Decoration> {
    let lower = name.to_lowercase();
    let ext = extension(&lower);
    if lower == "winmail.dat" || content_type == "application/ms-tnef" {
        return Some(Decoration::Refuse(
            "winmail.dat is Outlook's wrapper (TNEF), which Clerk cannot open; please send the \
             attachments as ordinary files",
        ));
    }
    if content_type.starts_with("image/") {
        // Inline images are logos; an image attached as a file may be a photo of the minutes.
        let inline = part.content_id().is_some()
            || part
                .content_disposition()
                .is_some_and(|d| d.ctype().eq_ignore_ascii_case("inline"));
        return Some(if inline {
            Decoration::Skip
        } else {
            Decoration::Refuse("an image, not a document; Clerk reads only text")
        });
    }
    let skipped_types = [
        "application/pkcs7-signature",
        "application/x-pkcs7-signature",
        "application/pgp-signature",
        "application/pgp-keys",
        "text/vcard",
        "text/x-vcard",
        "text/directory",
        "text/calendar",
        "application/ics",
    ];
    let skipped_exts = ["p7s", "p7m", "asc", "sig", "vcf", "ics"];
    (skipped_types.contains(&content_type) || skipped_exts.contains(&ext.as_str()))
        .then_some(Decoration::Skip)
}

/// The mail's own text, without quoted replies and the signature: the HTML alternative when it
/// holds a table (tables survive only there), else every plain text body part, else the HTML.
fn body_text(message: &Message<'_>, limits: &Limits) -> Result<Option<(String, Format)>, String> {
    let html = message.html_bodies().find_map(|p| match &p.body {
        PartType::Html(h) => Some(h.as_ref()),
        _ => None,
    });
    let plain: Vec<Cow<'_, str>> = message
        .text_bodies()
        .filter(|p| matches!(p.body, PartType::Text(_)))
        .map(|p| part_text(message, p))
        .collect();
    let (text, format) = match html {
        Some(h) if plain.is_empty() || has_table(h) => (html_body(h, limits)?, Format::Html),
        _ if !plain.is_empty() => (
            normalise_newlines(&plain.join("\n")).into_owned(),
            Format::Text,
        ),
        _ => return Ok(None),
    };
    let body = strip_reply_and_signature(&text);
    Ok((!body.is_empty()).then(|| (body.to_string(), format)))
}

fn html_body(html: &str, limits: &Limits) -> Result<String, String> {
    let html = cut_to(html, limits.max_part_bytes);
    let mut deadline = Deadline::new(limits.time_per_document);
    catch_unwind(AssertUnwindSafe(|| html::to_text(html, &mut deadline)))
        .map_err(|_| "the HTML of the mail could not be read".to_string())?
}

/// A text part as the parser decoded it; or, when its declared charset was wrong or unknown
/// (the parser leaves U+FFFD), its bytes again under the rule for undeclared text (UTF-8, else
/// windows-1252), which is what Swedish mail with a wrong label really is.
fn part_text<'a>(message: &'a Message<'a>, part: &'a MessagePart<'a>) -> Cow<'a, str> {
    let PartType::Text(text) = &part.body else {
        return String::from_utf8_lossy(part.contents());
    };
    if !text.contains('\u{FFFD}') {
        return Cow::Borrowed(text.as_ref());
    }
    let raw = message.raw_message();
    let (start, end) = (part.offset_body as usize, part.offset_end as usize);
    let Some(encoded) = raw.get(start..end.min(raw.len())) else {
        return Cow::Borrowed(text.as_ref());
    };
    let bytes = match part.encoding {
        Encoding::Base64 => base64_decode(encoded),
        Encoding::QuotedPrintable => quoted_printable_decode(encoded),
        Encoding::None => Some(encoded.to_vec()),
    };
    match bytes {
        Some(bytes) if std::str::from_utf8(&bytes).is_err() => {
            Cow::Owned(decode_text(&bytes).into_owned())
        }
        _ => Cow::Borrowed(text.as_ref()),
    }
}

fn has_table(html: &str) -> bool {
    html.as_bytes()
        .windows(6)
        .any(|w| w.eq_ignore_ascii_case(b"<table"))
}

/// The text before the signature ("-- " line), without quoted ("> ") lines, trimmed.
fn strip_reply_and_signature(text: &str) -> String {
    let mut kept = String::with_capacity(text.len());
    for line in text.lines() {
        if line == "-- " || line == "--" {
            break;
        }
        if line.trim_start().starts_with('>') {
            continue;
        }
        kept.push_str(line);
        kept.push('\n');
    }
    kept.trim().to_string()
}

/// `s` cut to at most `max` bytes, at a character boundary.
fn cut_to(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

fn normalise_newlines(text: &str) -> Cow<'_, str> {
    if text.contains('\r') {
        Cow::Owned(text.replace("\r\n", "\n").replace('\r', "\n"))
    } else {
        Cow::Borrowed(text)
    }
}

/// [`normalise_newlines`] for text that may already be owned: copies only when it must.
fn into_lf(text: Cow<'_, str>) -> String {
    match normalise_newlines(&text) {
        Cow::Owned(lf) => lf,
        Cow::Borrowed(_) => text.into_owned(),
    }
}

/// A document, cut at the text limit (with a note saying so).
fn document(name: &str, format: Format, mut text: String, limits: &Limits) -> TextDocument {
    let mut note = None;
    if let Some((cut, _)) = text.char_indices().nth(limits.max_text_chars) {
        text.truncate(cut);
        note = Some(format!(
            "only the first {} characters were read",
            limits.max_text_chars
        ));
    }
    TextDocument {
        name: name.to_string(),
        format,
        text,
        note,
    }
}

/// Reads one file, by its content first (see the module doc). A .eml gives the documents of that
/// mail, named "file.eml: part".
pub fn read_file(name: &str, bytes: &[u8], limits: &Limits) -> Result<Vec<TextDocument>, Refused> {
    read_file_at(name, bytes, limits, 0)
}

fn read_file_at(
    name: &str,
    bytes: &[u8],
    limits: &Limits,
    depth: usize,
) -> Result<Vec<TextDocument>, Refused> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(refuse(name, "empty file"));
    }
    if bytes.len() > limits.max_part_bytes {
        return Err(refuse(
            name,
            format!(
                "file is {:.1} MB (limit {:.1} MB)",
                megabytes(bytes.len()),
                megabytes(limits.max_part_bytes)
            ),
        ));
    }
    let sniffed = sniff(name, bytes, limits).map_err(|reason| refuse(name, reason))?;
    if sniffed.format == Format::Eml {
        return read_attached_mail(name, bytes, limits, depth);
    }
    let format = sniffed.format;
    let mut deadline = Deadline::new(limits.time_per_document);
    // Format libraries are not all hardened against hostile input; a panic in one must not take
    // the rest of the mail with it.
    let text = catch_unwind(AssertUnwindSafe(|| {
        convert(format, bytes, limits, &mut deadline)
    }))
    .map_err(|panic| {
        let what = panic
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "the reader failed".into());
        refuse(
            name,
            format!(
                "{} could not be read: {}",
                format.describe(),
                cut_to(&what, 200)
            ),
        )
    })?
    .map_err(|reason| refuse(name, reason))?;
    if text.trim().is_empty() {
        return Err(refuse(
            name,
            format!("the {} holds no text", format.describe()),
        ));
    }
    let mut doc = document(name, format, text, limits);
    if let Some(mismatch) = sniffed.mismatch {
        doc.note = Some(match doc.note {
            Some(cut) => format!("{mismatch}; {cut}"),
            None => mismatch,
        });
    }
    Ok(vec![doc])
}

fn megabytes(bytes: usize) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

fn read_attached_mail(
    name: &str,
    bytes: &[u8],
    limits: &Limits,
    depth: usize,
) -> Result<Vec<TextDocument>, Refused> {
    if depth + 1 > limits.max_depth {
        return Err(too_deep(name, limits));
    }
    let mail = read_mail_at(bytes, limits, depth + 1);
    if mail.documents.is_empty() {
        let reason = match mail.refused.first() {
            Some(r) => format!(
                "the attached mail has no readable text ({}: {})",
                r.name, r.reason
            ),
            None => "the attached mail has no text".to_string(),
        };
        return Err(refuse(name, reason));
    }
    Ok(mail
        .documents
        .into_iter()
        .map(|d| prefixed(name, d))
        .collect())
}

fn convert(
    format: Format,
    bytes: &[u8],
    limits: &Limits,
    deadline: &mut Deadline,
) -> Result<String, String> {
    match format {
        Format::Text | Format::Markdown => Ok(into_lf(decode_text(bytes))),
        Format::Html => html::to_text(&decode_text(bytes), deadline),
        Format::Docx => office::docx_text(bytes, limits, deadline),
        Format::Odt => office::odt_text(bytes, limits, deadline),
        Format::Pdf => pdf::text(bytes, limits, deadline),
        Format::Rtf => rtf::to_text(bytes, deadline),
        Format::Eml => Err("a mail inside a mail".to_string()),
    }
}

fn extension(name: &str) -> String {
    name.rsplit_once('.')
        .map(|(_, e)| e.trim().to_lowercase())
        .unwrap_or_default()
}

/// A file's format, and a note when its name says otherwise.
struct Sniffed {
    format: Format,
    mismatch: Option<String>,
}

/// The formats a name's extension claims.
fn claimed(ext: &str) -> Option<Format> {
    Some(match ext {
        "pdf" => Format::Pdf,
        "docx" | "docm" | "dotx" => Format::Docx,
        "odt" | "ott" => Format::Odt,
        "rtf" => Format::Rtf,
        "html" | "htm" | "xhtml" => Format::Html,
        "md" | "markdown" => Format::Markdown,
        "txt" | "text" | "csv" | "tsv" => Format::Text,
        "eml" => Format::Eml,
        _ => return None,
    })
}

/// What the bytes are. Content wins over the name: a PNG called .docx is refused as an image, a
/// text file called .pdf is read as text (with a note).
fn sniff(name: &str, bytes: &[u8], limits: &Limits) -> Result<Sniffed, String> {
    let ext = extension(name);
    let format = sniff_content(&ext, bytes, limits)?;
    let mismatch = match claimed(&ext) {
        Some(said) if said != format && !is_text_kin(said, format) => Some(format!(
            "read as {}: the content is not a {} despite its .{ext} name",
            format.describe(),
            said.describe()
        )),
        _ => None,
    };
    Ok(Sniffed { format, mismatch })
}

/// Kinds of text that pass for each other without a remark (a .txt holding Markdown or a mail).
fn is_text_kin(a: Format, b: Format) -> bool {
    let texty = |f| matches!(f, Format::Text | Format::Markdown | Format::Eml);
    texty(a) && texty(b)
}

fn sniff_content(ext: &str, bytes: &[u8], limits: &Limits) -> Result<Format, String> {
    let head = &bytes[..bytes.len().min(1024)];
    // The PDF header may follow a little junk; readers accept it within the first KB.
    if head.windows(5).any(|w| w == b"%PDF-") {
        return Ok(Format::Pdf);
    }
    if bytes.starts_with(b"PK\x03\x04") || bytes.starts_with(b"PK\x05\x06") {
        return zip_format(ext, bytes, limits);
    }
    if bytes.starts_with(b"{\\rtf") {
        return Ok(Format::Rtf);
    }
    if let Some(what) = foreign_binary(bytes) {
        return Err(if claimed(ext).is_some() {
            format!(
                "{what}, not a {} despite its .{ext} name",
                claimed_describe(ext)
            )
        } else {
            format!("{what}, not a document Clerk reads")
        });
    }
    if looks_binary(bytes) {
        return Err(match claimed(ext) {
            Some(said) if said != Format::Text => format!(
                "binary data, not a {} despite its .{ext} name",
                said.describe()
            ),
            _ => "binary data, not a document".to_string(),
        });
    }
    let text_head = String::from_utf8_lossy(&bytes[..bytes.len().min(2048)]).to_lowercase();
    let text_head = text_head.trim_start_matches('\u{feff}').trim_start();
    Ok(match claimed(ext) {
        Some(Format::Eml) => Format::Eml,
        Some(Format::Html) => Format::Html,
        Some(Format::Markdown) => Format::Markdown,
        _ if text_head.starts_with("<!doctype html") || text_head.contains("<html") => Format::Html,
        _ if is_mail_header(text_head) => Format::Eml,
        _ => Format::Text,
    })
}

fn claimed_describe(ext: &str) -> &'static str {
    claimed(ext).map_or("document", Format::describe)
}

fn zip_format(ext: &str, bytes: &[u8], limits: &Limits) -> Result<Format, String> {
    let damaged = |reason: String| match claimed(ext) {
        Some(Format::Docx | Format::Odt) if reason.starts_with("the ZIP inside") => {
            format!("damaged .{ext}: {reason}")
        }
        _ => reason,
    };
    match office::zip_kind(bytes, limits).map_err(damaged)? {
        Some(office::Kind::Docx) => Ok(Format::Docx),
        Some(office::Kind::Odt) => Ok(Format::Odt),
        None => Err(match claimed(ext) {
            Some(Format::Docx | Format::Odt) => {
                format!("damaged .{ext}: the ZIP holds no {}", claimed_describe(ext))
            }
            _ => "a ZIP archive of another kind (not .docx or .odt), which Clerk does not read"
                .to_string(),
        }),
    }
}

/// Formats recognised by their first bytes that are certainly not documents Clerk reads.
fn foreign_binary(bytes: &[u8]) -> Option<&'static str> {
    const MAGIC: &[(&[u8], &str)] = &[
        (b"\x89PNG", "an image (PNG)"),
        (b"\xff\xd8\xff", "an image (JPEG)"),
        (b"GIF8", "an image (GIF)"),
        (b"II*\0", "an image (TIFF)"),
        (b"MM\0*", "an image (TIFF)"),
        (
            b"\xd0\xcf\x11\xe0",
            "an old Office file (.doc/.xls); please send .docx or PDF",
        ),
        (b"7z\xbc\xaf", "a 7-Zip archive"),
        (b"Rar!", "a RAR archive"),
        (b"\x1f\x8b", "a gzip archive"),
        (b"\x78\x9f\x3e\x22", "Outlook's winmail.dat (TNEF)"),
    ];
    MAGIC
        .iter()
        .find(|(magic, _)| bytes.starts_with(magic))
        .map(|(_, what)| *what)
}

fn is_mail_header(head: &str) -> bool {
    let block: Vec<&str> = head.lines().take_while(|l| !l.trim().is_empty()).collect();
    block.iter().any(|l| l.starts_with("from:"))
        && block.iter().any(|l| {
            l.starts_with("message-id:")
                || l.starts_with("mime-version:")
                || l.starts_with("received:")
        })
}

/// Control bytes other than whitespace mean binary, unless the text is UTF-16 with a BOM.
fn looks_binary(bytes: &[u8]) -> bool {
    if bytes.starts_with(&[0xff, 0xfe]) || bytes.starts_with(&[0xfe, 0xff]) {
        return false;
    }
    let sample = &bytes[..bytes.len().min(8192)];
    let control = sample
        .iter()
        .filter(|&&b| b < 0x09 || (0x0e..0x20).contains(&b) && b != 0x1b)
        .count();
    control * 100 > sample.len()
}

/// Text of unknown charset: UTF-8 (BOM dropped), UTF-16 with a BOM, else windows-1252 (which
/// covers ISO-8859-1), as Swedish files really are. Borrows when the bytes are UTF-8 already.
pub fn decode_text(bytes: &[u8]) -> Cow<'_, str> {
    if let Some((encoding, bom)) = encoding_rs::Encoding::for_bom(bytes) {
        return encoding.decode_without_bom_handling(&bytes[bom..]).0;
    }
    match std::str::from_utf8(bytes) {
        Ok(s) => Cow::Borrowed(s),
        Err(_) => {
            encoding_rs::WINDOWS_1252
                .decode_without_bom_handling(bytes)
                .0
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn charsets() {
        assert_eq!(decode_text(b"\xef\xbb\xbfm\xc3\xb6te"), "möte");
        assert_eq!(decode_text(b"m\xf6te"), "möte");
        assert_eq!(decode_text(b"\xff\xfem\x00\xf6\x00"), "mö");
    }

    #[test]
    fn content_wins_over_the_name() {
        let png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR";
        let err = read_file("protokoll.docx", png, &Limits::default()).unwrap_err();
        assert!(err.reason.contains("image"), "{err:?}");
        let docs = read_file(
            "protokoll.pdf",
            b"Protokoll\nDatum: 2026-01-02\n",
            &Limits::default(),
        )
        .unwrap();
        assert_eq!(docs[0].format, Format::Text);
        assert!(
            read_file("x.txt", b"", &Limits::default())
                .unwrap_err()
                .reason
                .contains("empty")
        );
        let garbage: Vec<u8> = (0..4000u32).map(|i| (i * 7919 % 251) as u8).collect();
        assert!(read_file("x.pdf", &garbage, &Limits::default()).is_err());
    }

    #[test]
    fn a_mail_with_a_good_and_a_bad_attachment() {
        let raw = b"From: Anna <anna@example.org>\r\nSubject: Protokoll\r\nDate: Tue, 3 Nov 2026 10:00:00 +0100\r\n\
MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\
Content-Type: text/plain; charset=iso-8859-1\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n\
H=E4r kommer protokollet.\r\n-- \r\nAnna\r\n--b\r\n\
Content-Type: application/pdf; name=trasig.pdf\r\nContent-Disposition: attachment; filename=trasig.pdf\r\n\
Content-Transfer-Encoding: base64\r\n\r\nAAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\r\n--b\r\n\
Content-Type: text/plain; charset=windows-1252; name=p.txt\r\nContent-Disposition: attachment; filename=p.txt\r\n\
Content-Transfer-Encoding: quoted-printable\r\n\r\nM=F6tet =E4r slut.\r\n--b--\r\n";
        let mail = read_mail(raw, &Limits::default());
        assert_eq!(mail.from.as_deref(), Some("anna@example.org"));
        assert_eq!(mail.date.unwrap().to_rfc3339(), "2026-11-03T10:00:00+01:00");
        assert_eq!(mail.documents.len(), 2, "{mail:?}");
        assert_eq!(mail.documents[0].text, "Här kommer protokollet.");
        assert_eq!(mail.documents[1].text.trim(), "Mötet är slut.");
        assert_eq!(mail.refused.len(), 1);
        assert_eq!(mail.refused[0].name, "trasig.pdf");
    }

    fn mail_of(headers: &str, body: &str) -> Vec<u8> {
        format!(
            "From: Anna <anna@example.org>\r\nSubject: Test\r\nMIME-Version: 1.0\r\n{headers}\r\n\r\n{body}"
        )
        .into_bytes()
    }

    #[test]
    fn the_body_drops_quotes_and_signature_and_joins_inline_text_parts() {
        let raw = mail_of(
            "Content-Type: multipart/mixed; boundary=b",
            "--b\r\nContent-Type: text/plain\r\n\r\nFirst part.\r\n> quoted reply\r\n\
             --b\r\nContent-Type: text/plain\r\n\r\nSecond part.\r\n-- \r\nAnna\r\n--b--\r\n",
        );
        let mail = read_mail(&raw, &Limits::default());
        assert_eq!(mail.documents.len(), 1, "{mail:?}");
        assert_eq!(mail.documents[0].text, "First part.\nSecond part.");
    }

    #[test]
    fn plain_text_wins_over_html_unless_the_html_has_a_table() {
        let alternative = |html: &str| {
            mail_of(
                "Content-Type: multipart/alternative; boundary=b",
                &format!(
                    "--b\r\nContent-Type: text/plain\r\n\r\nPlain.\r\n\
                     --b\r\nContent-Type: text/html\r\n\r\n{html}\r\n--b--\r\n"
                ),
            )
        };
        let mail = read_mail(&alternative("<p>Html.</p>"), &Limits::default());
        assert_eq!(mail.documents[0].text, "Plain.");
        assert_eq!(mail.documents[0].format, Format::Text);
        let mail = read_mail(
            &alternative("<TABLE><tr><td>a</td><td>b</td></tr></TABLE>"),
            &Limits::default(),
        );
        assert_eq!(mail.documents[0].text, "a\tb");
        assert_eq!(mail.documents[0].format, Format::Html);
    }

    #[test]
    fn a_second_from_header_leaves_the_sender_unknown() {
        let raw = b"From: a@example.org\r\nFrom: boss@example.org\r\nSubject: x\r\n\r\nHej\r\n";
        assert_eq!(read_mail(raw, &Limits::default()).from, None);
        let raw = b"From: a@example.org, b@example.org\r\nSubject: x\r\n\r\nHej\r\n";
        assert_eq!(read_mail(raw, &Limits::default()).from, None);
    }

    #[test]
    fn images_attached_as_files_are_refused_inline_ones_skipped() {
        let raw = mail_of(
            "Content-Type: multipart/mixed; boundary=b",
            "--b\r\nContent-Type: text/plain\r\n\r\nSee photo.\r\n\
             --b\r\nContent-Type: image/jpeg; name=logo.jpg\r\nContent-ID: <logo>\r\n\
             Content-Disposition: inline\r\nContent-Transfer-Encoding: base64\r\n\r\n/9j/4AAQ\r\n\
             --b\r\nContent-Type: image/jpeg; name=protokoll.jpg\r\n\
             Content-Disposition: attachment; filename=protokoll.jpg\r\n\
             Content-Transfer-Encoding: base64\r\n\r\n/9j/4AAQ\r\n--b--\r\n",
        );
        let mail = read_mail(&raw, &Limits::default());
        assert_eq!(mail.documents.len(), 1);
        assert_eq!(mail.refused.len(), 1, "{mail:?}");
        assert_eq!(mail.refused[0].name, "protokoll.jpg");
        assert!(mail.refused[0].reason.contains("an image"));
    }

    #[test]
    fn long_attachment_names_keep_their_start_and_extension() {
        let long = format!("{}.docx", "Föredragningslista".repeat(60));
        let name = bounded_name(&long);
        assert_eq!(name.chars().count(), MAX_NAME_CHARS);
        assert!(name.starts_with("Föredragningslista") && name.ends_with(".docx"));
        assert_eq!(bounded_name("kort.docx"), "kort.docx");
    }

    #[test]
    fn limits_on_size_length_and_parts() {
        let limits = Limits {
            max_part_bytes: 10,
            ..Limits::default()
        };
        let err = read_file("a.txt", b"more than ten bytes", &limits).unwrap_err();
        assert!(
            err.reason.starts_with("file is 0.0 MB (limit 0.0 MB)"),
            "{err:?}"
        );

        let limits = Limits {
            max_text_chars: 3,
            ..Limits::default()
        };
        let docs = read_file("a.txt", "åäöü".as_bytes(), &limits).unwrap();
        assert_eq!(docs[0].text, "åäö");
        assert_eq!(
            docs[0].note.as_deref(),
            Some("only the first 3 characters were read")
        );

        let parts: String = (0..5)
            .map(|i| {
                format!(
                    "--b\r\nContent-Type: text/plain; name=p{i}.txt\r\n\
                     Content-Disposition: attachment; filename=p{i}.txt\r\n\r\nPart {i}\r\n"
                )
            })
            .collect();
        let raw = mail_of(
            "Content-Type: multipart/mixed; boundary=b",
            &(parts + "--b--\r\n"),
        );
        let limits = Limits {
            max_parts: 3,
            ..Limits::default()
        };
        let mail = read_mail(&raw, &limits);
        assert_eq!(mail.documents.len(), 3);
        assert!(
            mail.refused[0].reason.contains("parts (limit 3)"),
            "{mail:?}"
        );
    }

    #[test]
    fn formats_by_content() {
        let limits = Limits::default();
        let rtf = read_file("x.doc", br"{\rtf1 Hej\par}", &limits).unwrap();
        assert_eq!(
            (rtf[0].format, rtf[0].text.as_str()),
            (Format::Rtf, "Hej\n")
        );
        let html = read_file("x.txt", b"<!DOCTYPE html><p>Hej</p>", &limits).unwrap();
        assert_eq!(html[0].format, Format::Html);
        assert!(html[0].note.is_some());
        let md = read_file("x.md", b"# Rubrik\r\ntext", &limits).unwrap();
        assert_eq!(
            (md[0].format, md[0].text.as_str()),
            (Format::Markdown, "# Rubrik\ntext")
        );
        let utf16: Vec<u8> = [0xff, 0xfe]
            .into_iter()
            .chain("Möte".encode_utf16().flat_map(u16::to_le_bytes))
            .collect();
        assert_eq!(read_file("x.txt", &utf16, &limits).unwrap()[0].text, "Möte");
        let zip = b"PK\x05\x06\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0";
        let err = read_file("x.zip", zip, &limits).unwrap_err();
        assert!(
            err.reason.contains("ZIP archive of another kind"),
            "{err:?}"
        );
    }

    #[test]
    fn an_eml_file_nests_no_deeper_than_the_limit() {
        let raw = mail_of("Content-Type: text/plain", "Hej");
        let docs = read_file("fwd.eml", &raw, &Limits::default()).unwrap();
        assert_eq!(docs[0].name, "fwd.eml: mail body");
        let limits = Limits {
            max_depth: 0,
            ..Limits::default()
        };
        let err = read_file("fwd.eml", &raw, &limits).unwrap_err();
        assert!(err.reason.contains("nest deeper"), "{err:?}");
    }

    #[test]
    fn garbage_mails_never_panic() {
        let limits = Limits::default();
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        for len in [0usize, 1, 10, 100, 1000, 5000] {
            let bytes: Vec<u8> = (0..len)
                .map(|_| {
                    seed ^= seed << 13;
                    seed ^= seed >> 7;
                    seed ^= seed << 17;
                    b"From:\r\n;=?-Content-Type: multipart/mixed boundary=x--x\"<>a\xff"
                        [(seed % 52) as usize]
                })
                .collect();
            let _ = read_mail(&bytes, &limits);
            let _ = read_file("x.docx", &bytes, &limits);
            let _ = read_file("x.pdf", &bytes, &limits);
        }
    }
}
