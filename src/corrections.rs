//! Corrections by reply: a secretary answers a receipt with lines such as
//! "Anna Fransson = anna.fransson@example.org", and Clerk learns that address.
//!
//! Only the new text of a reply counts: reading stops at the quoted original (lines starting
//! with ">", or the "On ... wrote:" / "Från:" block that mail programs put above it), so the
//! example in Clerk's own receipt is never taken for a correction.

use std::sync::LazyLock;

use regex::Regex;

/// The placeholder addresses Clerk's receipts show in their example line; never taken as a
/// correction, should a reply carry the example along unquoted.
pub const EXAMPLE_ADDRESSES: [&str; 2] = [
    "fornamn.efternamn@organisation.se",
    "firstname.lastname@organisation.org",
];

/// One "Name = address" line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Correction {
    pub name: String,
    pub address: String,
}

static LINE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^\s*[-*•]?\s*(?P<name>[\p{L}][\p{L}\p{M} .'’-]{1,80}?)\s*[=:]\s*<?(?P<address>[^\s<>@]+@[^\s<>@]+\.[^\s<>@]+?)>?\s*[.,;]?\s*$")
        .expect("correction pattern")
});

static QUOTE_HEADER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)^\s*(-{2,}\s*(original message|ursprungligt meddelande|vidarebefordrat)|(från|from|skickat|sent|från:|from:)\s*:|(on|den|på) .{3,120}(wrote|skrev)\s*:?\s*$|_{10,})",
    )
    .expect("quote header pattern")
});

/// The lines of a reply's new text: everything above the quoted original.
pub fn new_lines(text: &str) -> impl Iterator<Item = &str> {
    text.lines()
        .take_while(|line| !line.trim_start().starts_with('>') && !QUOTE_HEADER.is_match(line))
}

/// The new part of a reply as one text: its lines up to the quoted original, without a
/// signature ("-- ").
pub fn new_text(text: &str) -> String {
    new_lines(text)
        .take_while(|line| *line != "-- ")
        .collect::<Vec<_>>()
        .join("\n")
        .trim()
        .to_string()
}

/// The corrections in the new part of a reply's text.
pub fn parse(text: &str) -> Vec<Correction> {
    let mut out = Vec::new();
    for line in new_lines(text) {
        if let Some(c) = LINE.captures(line) {
            let name = c["name"].split_whitespace().collect::<Vec<_>>().join(" ");
            let address = c["address"].trim_end_matches(['.', ',', ';']).to_string();
            // "Datum: 2024-..." or "Tid: 9.00" are not corrections; a name has letters only.
            if lettre::Address::new(
                address.split('@').next().unwrap_or(""),
                address.split('@').nth(1).unwrap_or(""),
            )
            .is_ok()
                && !EXAMPLE_ADDRESSES.contains(&address.to_lowercase().as_str())
            {
                out.push(Correction { name, address });
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_of_name_and_address() {
        let text = "Hej!\n\nAnna Fransson = anna.fransson@example.org\n- Åke Öberg: <ake@example.org>\n\
                    Det var allt.\nMvh Sara";
        assert_eq!(
            parse(text),
            vec![
                Correction {
                    name: "Anna Fransson".into(),
                    address: "anna.fransson@example.org".into()
                },
                Correction {
                    name: "Åke Öberg".into(),
                    address: "ake@example.org".into()
                },
            ]
        );
    }

    #[test]
    fn the_quoted_original_is_not_read() {
        let outlook = "Lena Nilsson = lena@example.org\n\nFrån: Clerk <clerk@example.org>\n\
                       Skickat: den 3 maj\n  Bo Ek = bo.ek@example.org\n";
        assert_eq!(parse(outlook).len(), 1);
        let gmail = "Tack\n\nDen 3 maj 2018 kl. 10:00 skrev Clerk <clerk@example.org>:\n> Bo Ek = bo@example.org\n";
        assert!(parse(gmail).is_empty());
        let quoted = "> Bo Ek = bo@example.org\n";
        assert!(parse(quoted).is_empty());
    }

    #[test]
    fn other_lines_are_not_corrections() {
        assert!(parse("Datum: 2018-05-02\nTid = 9.00\nSe https://example.org/a=b\n").is_empty());
    }
}
