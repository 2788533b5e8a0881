//! The entry points the fuzz targets in `fuzz/` and the in-suite randomized test share, so both
//! feed untrusted bytes to exactly the code intake runs. Random bytes rarely get past a parser's
//! first check, so each input is also remapped into a small alphabet of the format's own
//! punctuation (the trick of mail-parser's fuzz target), which reaches headers, parameters,
//! boundaries and nesting; document inputs are wrapped in a real ZIP where the format is one.
//!
//! **Invariant:** nothing here may panic on any input; a panic is a bug in what it calls.

use std::io::Write as _;

use crate::document::Limits;

/// Characters mail structure is made of (mail-parser's fuzz alphabet, plus the ones MIME
/// parameters, encoded words and boundaries need).
pub const RFC822_ALPHABET: &[u8] = b"0123456789abcdefghijklm:=- \r\n;\"*'%?<>@.";
/// Characters XML is made of, with the tag letters of WordprocessingML and ODF text.
pub const XML_ALPHABET: &[u8] = b"<>/=\"' wptrcbl:xmnsoefigh&;#!-[]?\n";
pub const HTML_ALPHABET: &[u8] = b"<>/=\"' divtablerdhpscrn&;#!-\n";
pub const RTF_ALPHABET: &[u8] = b"{}\\ '*0123456789abcdefhilnprstuv;\n-";

/// Each byte mapped to one of `alphabet`'s.
pub fn into_alphabet(data: &[u8], alphabet: &[u8]) -> Vec<u8> {
    data.iter()
        .map(|&b| alphabet[usize::from(b) % alphabet.len()])
        .collect()
}

/// Prefixes that make a remapped input a mail with a multipart body, so that the fuzzer's bytes
/// land in parts, parameters and nested boundaries rather than only in the header block.
const MAIL_PREFIX: &[u8] = b"From: a@b.c\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"-\"\r\n\r\n---\r\n";

/// MIME intake: what intake's blocking thread does with a stored message (its size limit
/// included), on the bytes as given, remapped, and remapped behind a multipart header.
pub fn mime_intake(data: &[u8]) {
    let remapped = into_alphabet(data, RFC822_ALPHABET);
    let mut prefixed = MAIL_PREFIX.to_vec();
    prefixed.extend_from_slice(&remapped);
    for raw in [data, &remapped, &prefixed] {
        let report = crate::intake::understand(raw, 1 << 20);
        let _ = crate::intake::peek_headers(raw);
        let _ = crate::senders::forged_from(raw);
        let _ = report.subject.map(|s| crate::receipt::subject(Some(&s)));
    }
}

/// Document extraction: the first byte picks a format, the rest is its content (remapped to
/// the format's alphabet, and inside a ZIP for .docx and .odt), read as intake reads an
/// attachment of that name.
pub fn document_extraction(data: &[u8]) {
    let Some((&kind, rest)) = data.split_first() else {
        return;
    };
    let limits = Limits::default();
    let (name, bytes): (&str, Vec<u8>) = match kind % 8 {
        0 => (
            "f.docx",
            zip_of("word/document.xml", &into_alphabet(rest, XML_ALPHABET)),
        ),
        1 => (
            "f.odt",
            zip_of("content.xml", &into_alphabet(rest, XML_ALPHABET)),
        ),
        2 => ("f.html", into_alphabet(rest, HTML_ALPHABET)),
        3 => ("f.rtf", into_alphabet(rest, RTF_ALPHABET)),
        4 => ("f.pdf", rest.to_vec()),
        5 => ("f.docx", rest.to_vec()),
        6 => ("f.txt", rest.to_vec()),
        _ => ("f.eml", into_alphabet(rest, RFC822_ALPHABET)),
    };
    let _ = crate::understanding::read_file(name, &bytes, &limits);
}

/// A ZIP holding one deflated entry (the fuzz input) beside what the format needs to be known.
fn zip_of(entry: &str, content: &[u8]) -> Vec<u8> {
    let mut buf = std::io::Cursor::new(Vec::new());
    {
        let mut zip = zip::ZipWriter::new(&mut buf);
        let options = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated);
        let written = if entry == "content.xml" {
            zip.start_file("mimetype", options)
                .and_then(|()| {
                    zip.write_all(b"application/vnd.oasis.opendocument.text")
                        .map_err(Into::into)
                })
                .and_then(|()| zip.start_file(entry, options))
        } else {
            zip.start_file(entry, options)
        };
        if written
            .and_then(|()| zip.write_all(content).map_err(Into::into))
            .and_then(|()| zip.finish().map(|_| ()))
            .is_err()
        {
            return content.to_vec();
        }
    }
    buf.into_inner()
}
