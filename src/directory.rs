//! The directory file: who has which address, as the organisation exports it.
//!
//! Two shapes are read: vCard (3.0 and 4.0, as Outlook, Google and Apple export them; several
//! cards in one file) and CSV with the columns name, email, organisation (comma or semicolon
//! separated, as Swedish Excel writes it, with or without a header row). The daemon re-reads the
//! file when its contents change (see [`crate::people::sync_directory`]). vCard is read by hand:
//! the few properties needed (FN, N, EMAIL, ORG) are simple, and the crates on offer read only
//! one vCard version strictly, while exports mix them.

use std::path::Path;

use anyhow::{Context, Result, bail};

/// One person in the directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub name: String,
    pub email: String,
    pub organization: Option<String>,
}

/// Reads a directory file; the format follows the extension (.vcf/.vcard, else CSV).
pub fn read(path: &Path) -> Result<Vec<Entry>> {
    let bytes =
        std::fs::read(path).with_context(|| format!("reading the directory {}", path.display()))?;
    let text = decode(&bytes);
    let is_vcard = path
        .extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("vcf") || e.eq_ignore_ascii_case("vcard"))
        || text
            .trim_start()
            .to_ascii_uppercase()
            .starts_with("BEGIN:VCARD");
    let entries = if is_vcard {
        parse_vcards(&text)
    } else {
        parse_csv(&text).with_context(|| format!("reading the CSV directory {}", path.display()))?
    };
    Ok(entries)
}

/// UTF-8 (with or without BOM), else Windows-1252, as old Excel exports are.
fn decode(bytes: &[u8]) -> String {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    match std::str::from_utf8(bytes) {
        Ok(text) => text.to_string(),
        Err(_) => encoding_rs::WINDOWS_1252.decode(bytes).0.into_owned(),
    }
}

/// Every card with a name and an address; cards without either are skipped.
pub fn parse_vcards(text: &str) -> Vec<Entry> {
    let mut entries = Vec::new();
    let mut card: Option<Card> = None;
    for line in unfold(text) {
        let Some((head, value)) = line.split_once(':') else {
            continue;
        };
        let mut params = head.split(';');
        let property = params.next().unwrap_or("");
        // "item1.EMAIL" (Apple) is EMAIL in a group.
        let property = property
            .rsplit_once('.')
            .map_or(property, |(_, p)| p)
            .to_ascii_uppercase();
        let params: Vec<String> = params.map(|p| p.to_ascii_uppercase()).collect();
        match property.as_str() {
            "BEGIN" if value.trim().eq_ignore_ascii_case("VCARD") => card = Some(Card::default()),
            "END" if value.trim().eq_ignore_ascii_case("VCARD") => {
                if let Some(entry) = card.take().and_then(Card::into_entry) {
                    entries.push(entry);
                }
            }
            _ => {
                if let Some(card) = card.as_mut() {
                    card.property(&property, &params, value);
                }
            }
        }
    }
    entries
}

#[derive(Default)]
struct Card {
    full_name: Option<String>,
    structured_name: Option<String>,
    emails: Vec<(bool, String)>,
    organization: Option<String>,
}

impl Card {
    fn property(&mut self, property: &str, params: &[String], value: &str) {
        match property {
            "FN" => self.full_name = Some(unescape(value)),
            "N" => {
                // Family;Given;Additional;Prefix;Suffix
                let parts: Vec<String> = split_unescaped(value, ';');
                let given = parts.get(1).map(String::as_str).unwrap_or("");
                let family = parts.first().map(String::as_str).unwrap_or("");
                let name = format!("{given} {family}").trim().to_string();
                if !name.is_empty() {
                    self.structured_name = Some(name);
                }
            }
            "EMAIL" => {
                let preferred = params
                    .iter()
                    .any(|p| p.contains("PREF") || p.contains("TYPE=PREF"));
                let address = unescape(value)
                    .trim()
                    .trim_start_matches("mailto:")
                    .to_string();
                if address.contains('@') {
                    self.emails.push((preferred, address));
                }
            }
            "ORG" => {
                let org = split_unescaped(value, ';')
                    .into_iter()
                    .next()
                    .unwrap_or_default();
                if !org.trim().is_empty() {
                    self.organization = Some(org.trim().to_string());
                }
            }
            _ => {}
        }
    }

    fn into_entry(self) -> Option<Entry> {
        let name = self
            .full_name
            .filter(|n| !n.trim().is_empty())
            .or(self.structured_name)?;
        let email = self
            .emails
            .iter()
            .find(|(preferred, _)| *preferred)
            .or(self.emails.first())
            .map(|(_, e)| e.clone())?;
        Some(Entry {
            name: name.trim().to_string(),
            email,
            organization: self.organization,
        })
    }
}

/// Joins folded lines (a line starting with a space or tab continues the one before).
fn unfold(text: &str) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    for raw in text.split('\n') {
        let raw = raw.strip_suffix('\r').unwrap_or(raw);
        if let Some(rest) = raw.strip_prefix([' ', '\t'])
            && let Some(last) = lines.last_mut()
        {
            last.push_str(rest);
        } else {
            lines.push(raw.to_string());
        }
    }
    lines
}

fn unescape(value: &str) -> String {
    split_unescaped(value, '\u{0}').concat()
}

/// Splits on `separator` where it is not escaped with a backslash, and unescapes each part.
fn split_unescaped(value: &str, separator: char) -> Vec<String> {
    let mut parts = vec![String::new()];
    let mut chars = value.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            match chars.next() {
                Some('n' | 'N') => parts.last_mut().unwrap().push(' '),
                Some(other) => parts.last_mut().unwrap().push(other),
                None => {}
            }
        } else if c == separator {
            parts.push(String::new());
        } else {
            parts.last_mut().unwrap().push(c);
        }
    }
    parts
}

/// Rows of name, email, organisation. A header row is recognised by a cell naming the email
/// column, and then its columns are found by name in any order.
pub fn parse_csv(text: &str) -> Result<Vec<Entry>> {
    let first_line = text.lines().next().unwrap_or("");
    let delimiter = if first_line.matches(';').count() > first_line.matches(',').count() {
        b';'
    } else {
        b','
    };
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .has_headers(false)
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let mut columns = (0usize, 1usize, Some(2usize));
    let mut entries = Vec::new();
    for (row, record) in reader.records().enumerate() {
        let record = record.with_context(|| format!("row {}", row + 1))?;
        if row == 0 && is_header(&record) {
            columns = header_columns(&record)?;
            continue;
        }
        let (name, email, organization) = columns;
        let cell = |i: usize| record.get(i).map(str::trim).unwrap_or("");
        if cell(name).is_empty() || !cell(email).contains('@') {
            continue;
        }
        entries.push(Entry {
            name: cell(name).to_string(),
            email: cell(email).to_string(),
            organization: organization
                .map(cell)
                .filter(|o| !o.is_empty())
                .map(str::to_string),
        });
    }
    Ok(entries)
}

fn is_header(record: &csv::StringRecord) -> bool {
    record
        .iter()
        .any(|cell| is_email_column(&cell.to_lowercase()))
}

fn is_email_column(cell: &str) -> bool {
    cell.contains("mail") || cell.contains("e-post") || cell.contains("epost")
}

fn header_columns(record: &csv::StringRecord) -> Result<(usize, usize, Option<usize>)> {
    let find =
        |test: &dyn Fn(&str) -> bool| record.iter().position(|cell| test(&cell.to_lowercase()));
    let email = find(&is_email_column).context("no email column")?;
    let Some(name) = find(&|c| c.contains("name") || c.contains("namn")) else {
        bail!("the header row has no name column (name or namn)")
    };
    let organization = find(&|c| c.starts_with("org") || c.contains("organisation"));
    Ok((name, email, organization))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vcard_3_and_4_with_folding_groups_and_preferred_address() {
        let text = "BEGIN:VCARD\r\nVERSION:3.0\r\nN:Fransson;Anna;;;\r\nFN:Anna Fransson\r\n\
ORG:Region Kronoberg;Kansli\r\nEMAIL;TYPE=INTERNET:anna.privat@example.com\r\n\
EMAIL;TYPE=INTERNET,PREF:anna.fransson@\r\n example.org\r\nEND:VCARD\r\n\
BEGIN:VCARD\nVERSION:4.0\nN:Öberg;Åke;;;\nitem1.EMAIL;PREF=1:ake.oberg@example.org\nEND:VCARD\n\
BEGIN:VCARD\nVERSION:4.0\nFN:No Address\nEND:VCARD\n";
        let entries = parse_vcards(text);
        assert_eq!(
            entries,
            vec![
                Entry {
                    name: "Anna Fransson".into(),
                    email: "anna.fransson@example.org".into(),
                    organization: Some("Region Kronoberg".into()),
                },
                Entry {
                    name: "Åke Öberg".into(),
                    email: "ake.oberg@example.org".into(),
                    organization: None,
                },
            ]
        );
    }

    #[test]
    fn csv_with_and_without_header_comma_or_semicolon() {
        let plain = "Anna Fransson,anna@example.org,Region Kronoberg\nBo Ek,bo@example.org\n";
        let entries = parse_csv(plain).unwrap();
        assert_eq!(entries.len(), 2);
        assert_eq!(entries[1].organization, None);
        let excel =
            "E-post;Namn;Organisation\r\nlena@example.org;Lena Nilsson;\"Växjö kommun\"\r\n";
        let entries = parse_csv(excel).unwrap();
        assert_eq!(
            entries,
            vec![Entry {
                name: "Lena Nilsson".into(),
                email: "lena@example.org".into(),
                organization: Some("Växjö kommun".into()),
            }]
        );
    }

    #[test]
    fn windows_1252_is_decoded() {
        assert_eq!(decode(b"G\xf6ran"), "Göran");
        assert_eq!(decode("Göran".as_bytes()), "Göran");
    }
}
