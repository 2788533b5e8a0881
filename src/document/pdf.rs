//! The text layer of a PDF, page by page (so the deadline and the text limit are checked between
//! pages). Scans have no text layer; encrypted PDFs are read only when they open without a
//! password (many are merely "protected" against editing). Compressed streams are measured
//! before the PDF library inflates any of them, since it inflates without limit.

use std::io::Read;

use flate2::read::ZlibDecoder;

use super::{Deadline, Limits};

const ENCRYPTED: &str = "encrypted PDF: it needs a password to open; please send it without one";

/// The PDF's text, or why there is none.
pub fn text(bytes: &[u8], limits: &Limits, deadline: &mut Deadline) -> Result<String, String> {
    check_expansion(bytes, limits.max_pdf_expanded_bytes, deadline)?;
    let document = lopdf::Document::load_mem(bytes).map_err(|e| {
        if matches!(e, lopdf::Error::Decryption(_)) {
            ENCRYPTED.to_string()
        } else {
            format!("not a readable PDF ({e})")
        }
    })?;
    // Loading decrypts with the empty password when that works; still encrypted means locked.
    if document.is_encrypted() {
        return Err(ENCRYPTED.into());
    }
    let max_bytes = limits.max_text_chars.saturating_mul(4);
    let mut out = String::new();
    for page in document.get_pages().into_keys() {
        deadline.check()?;
        let mut page_text = String::new();
        let mut output = pdf_extract::PlainTextOutput::new(&mut page_text);
        pdf_extract::output_doc_page(&document, &mut output, page)
            .map_err(|e| format!("the PDF's text could not be read ({e})"))?;
        out.push_str(&page_text);
        if out.len() > max_bytes {
            break;
        }
    }
    let out = out.trim_start();
    if out.is_empty() {
        return Err("PDF has no text layer (scanned?); please send the original document".into());
    }
    Ok(out.to_string())
}

/// Inflates every Flate stream that is not an image into nothing, counting, and refuses the PDF
/// when the total passes `limit`. A plain byte search for "stream": no PDF parsing, so it runs
/// before the library that has no limits.
fn check_expansion(bytes: &[u8], limit: u64, deadline: &mut Deadline) -> Result<(), String> {
    let mut total = 0u64;
    let mut from = 0;
    while let Some(at) = find(&bytes[from..], b"stream") {
        let start = from + at;
        from = start + b"stream".len();
        if bytes[..start].ends_with(b"end") || is_image(&bytes[..start]) {
            continue;
        }
        let rest = &bytes[from..];
        let Some(data) = rest
            .strip_prefix(b"\r\n")
            .or_else(|| rest.strip_prefix(b"\n"))
        else {
            continue;
        };
        deadline.check()?;
        total += inflated_len(data, limit - total + 1);
        if total > limit {
            return Err(format!(
                "PDF expands to more than {} MB when decompressed (a decompression bomb?)",
                limit.div_ceil(1024 * 1024)
            ));
        }
    }
    Ok(())
}

/// Whether the stream dictionary just before this point says /Subtype /Image (images are never
/// inflated for text).
fn is_image(before: &[u8]) -> bool {
    let window = &before[before.len().saturating_sub(1024)..];
    let dict = match rfind(window, b"obj") {
        Some(at) => &window[at..],
        None => window,
    };
    find(dict, b"/Image").is_some()
}

/// How many bytes a zlib stream inflates to, counting at most `cap`; 0 when it is not zlib.
fn inflated_len(data: &[u8], cap: u64) -> u64 {
    let mut decoder = ZlibDecoder::new(data).take(cap);
    let mut buf = vec![0u8; 64 * 1024];
    let mut n = 0u64;
    while let Ok(read) = decoder.read(&mut buf) {
        if read == 0 {
            break;
        }
        n += read as u64;
    }
    n
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn rfind(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).rposition(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use flate2::{Compression, write::ZlibEncoder};

    use super::*;

    fn zlib(data: &[u8]) -> Vec<u8> {
        let mut e = ZlibEncoder::new(Vec::new(), Compression::best());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    fn pdf_with_stream(dict: &str, data: &[u8]) -> Vec<u8> {
        let mut pdf = format!("%PDF-1.4\n1 0 obj\n<< {dict} >>\nstream\n").into_bytes();
        pdf.extend(zlib(data));
        pdf.extend(b"\nendstream\nendobj\n%%EOF\n");
        pdf
    }

    #[test]
    fn decompression_bombs_are_measured_before_parsing() {
        let zeros = vec![0u8; 3_000_000];
        let limits = Limits {
            max_pdf_expanded_bytes: 1_000_000,
            ..Limits::default()
        };
        let bomb = pdf_with_stream("/Filter /FlateDecode", &zeros);
        let err = text(&bomb, &limits, &mut Deadline::unlimited()).unwrap_err();
        assert!(err.contains("decompression bomb"), "{err}");
        // An image is never inflated for text, so it is not counted.
        let image = pdf_with_stream("/Subtype /Image /Filter /FlateDecode", &zeros);
        assert!(check_expansion(&image, 1_000_000, &mut Deadline::unlimited()).is_ok());
        let small = pdf_with_stream("/Filter /FlateDecode", &zeros[..10_000]);
        assert!(check_expansion(&small, 1_000_000, &mut Deadline::unlimited()).is_ok());
    }

    #[test]
    fn garbage_after_the_magic_is_refused() {
        let err = text(
            b"%PDF-1.7\n\x00\x01garbage",
            &Limits::default(),
            &mut Deadline::unlimited(),
        );
        assert!(err.unwrap_err().contains("not a readable PDF"));
    }

    /// A one-page PDF with Helvetica and the given page content, with a correct xref table.
    fn pdf(content: &str) -> Vec<u8> {
        let objects = [
            "<< /Type /Catalog /Pages 2 0 R >>".to_string(),
            "<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_string(),
            "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R \
             /Resources << /Font << /F1 5 0 R >> >> >>"
                .to_string(),
            format!(
                "<< /Length {} >>\nstream\n{content}\nendstream",
                content.len()
            ),
            "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>".to_string(),
        ];
        let mut out = String::from("%PDF-1.4\n");
        let mut offsets = Vec::new();
        for (i, body) in objects.iter().enumerate() {
            offsets.push(out.len());
            out.push_str(&format!("{} 0 obj\n{body}\nendobj\n", i + 1));
        }
        let xref = out.len();
        out.push_str("xref\n0 6\n0000000000 65535 f \n");
        for offset in offsets {
            out.push_str(&format!("{offset:010} 00000 n \n"));
        }
        out.push_str(&format!(
            "trailer\n<< /Size 6 /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n"
        ));
        out.into_bytes()
    }

    #[test]
    fn the_text_layer_is_read_and_a_scan_is_refused() {
        let limits = Limits::default();
        let with_text = pdf("BT /F1 12 Tf 72 720 Td (Dagordning) Tj 0 -20 Td (1. Val) Tj ET");
        let text = text(&with_text, &limits, &mut Deadline::unlimited()).unwrap();
        assert!(text.starts_with("Dagordning"), "{text:?}");
        assert!(text.contains("1. Val"), "{text:?}");
        let scan = pdf("0 0 1 rg 72 72 200 300 re f");
        let err = super::text(&scan, &limits, &mut Deadline::unlimited()).unwrap_err();
        assert!(err.starts_with("PDF has no text layer"), "{err}");
    }
}
