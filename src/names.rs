//! Comparing people's names as they are typed.
//!
//! Secretaries type the same name differently: case, spacing, hyphens, a forgotten accent
//! ("Andre" for "André"). Those differences must not matter. The Swedish letters å, ä and ö (and
//! the Nordic æ and ø) are letters of their own, not accented a and o: "Åke" and "Ake" are
//! different names. So there are two keys: [`key`] folds only what never distinguishes names,
//! [`loose_key`] folds the Swedish letters too and is used only when nothing matches the strict
//! key, with the match flagged for a person to check.

use unicode_normalization::UnicodeNormalization;

/// Letters that are letters of their own in Swedish (and its neighbours), never folded by [`key`].
const OWN_LETTERS: &[char] = &['å', 'ä', 'ö', 'æ', 'ø'];

/// The strict comparison key: lower case, accents other than the Swedish letters removed,
/// hyphens and runs of white space as one space, dots and quotes dropped.
pub fn key(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut space = true;
    // Compose first, so a decomposed "a + ring" is the letter å and survives the folding below.
    for ch in name.nfc().flat_map(char::to_lowercase) {
        if OWN_LETTERS.contains(&ch) {
            out.push(ch);
            space = false;
            continue;
        }
        if ch.is_whitespace() || matches!(ch, '-' | '‐' | '‑' | '–' | '_') {
            if !space {
                out.push(' ');
                space = true;
            }
            continue;
        }
        if matches!(ch, '.' | '\'' | '’' | '"' | '”' | '“') {
            continue;
        }
        for base in std::iter::once(ch).nfd() {
            if !is_combining_mark(base) {
                out.push(base);
                space = false;
            }
        }
    }
    if out.ends_with(' ') {
        out.pop();
    }
    out
}

/// The loose key: [`key`] with å, ä, æ as a and ö, ø as o. A match on this key alone is a guess.
pub fn loose_key(name: &str) -> String {
    key(name)
        .chars()
        .map(|c| match c {
            'å' | 'ä' | 'æ' => 'a',
            'ö' | 'ø' => 'o',
            other => other,
        })
        .collect()
}

/// The first word of a name's key ("sara" for "Sara Herrman").
pub fn first_name_key(name: &str) -> String {
    key(name).split(' ').next().unwrap_or("").to_string()
}

/// Whether a mention is a bare first name (one word), which only resolves within a meeting.
pub fn is_single_word(name: &str) -> bool {
    !key(name).contains(' ')
}

fn is_combining_mark(c: char) -> bool {
    matches!(c as u32, 0x0300..=0x036F | 0x1AB0..=0x1AFF | 0x1DC0..=0x1DFF | 0x20D0..=0x20FF | 0xFE20..=0xFE2F)
}

/// Splits a mention naming several people ("Håkan och Lena", "Anna, Bo & Cilla") into one
/// mention each. A single name comes back as itself.
pub fn split_mention(mention: &str) -> Vec<String> {
    let mut parts = vec![mention.to_string()];
    for separator in [",", ";", " & ", " + ", "/", " och ", " and ", " samt "] {
        parts = parts
            .iter()
            .flat_map(|p| {
                split_case_insensitive(p, separator)
                    .into_iter()
                    .map(str::to_string)
                    .collect::<Vec<_>>()
            })
            .collect();
    }
    parts
        .into_iter()
        .map(|p| p.trim().to_string())
        .filter(|p| !p.is_empty())
        .collect()
}

fn split_case_insensitive<'a>(text: &'a str, separator: &str) -> Vec<&'a str> {
    let lower = text.to_lowercase();
    // Lower-casing can change byte lengths; split by the original only when they agree.
    if lower.len() != text.len() {
        return text.split(separator).collect();
    }
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(at) = lower[from..].find(separator) {
        out.push(&text[from..from + at]);
        from += at + separator.len();
    }
    out.push(&text[from..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn case_spacing_hyphens_and_accents_do_not_matter() {
        assert_eq!(key("Anna  FRANSSON"), key("anna fransson"));
        assert_eq!(key("Ann-Sofie Berg"), key("Ann Sofie Berg"));
        assert_eq!(key("André Lind"), key("Andre Lind"));
        assert_eq!(key(" Lena\tNilsson "), "lena nilsson");
    }

    #[test]
    fn swedish_letters_are_letters_of_their_own() {
        assert_ne!(key("Åke Öberg"), key("Ake Oberg"));
        assert_ne!(key("Håkan"), key("Hakan"));
        assert_eq!(loose_key("Åke Öberg"), loose_key("Ake Oberg"));
        // A decomposed å (a + combining ring) is still å.
        assert_eq!(key("A\u{30a}ke"), key("Åke"));
    }

    #[test]
    fn mentions_of_several_people_are_split() {
        assert_eq!(split_mention("Håkan och Lena"), vec!["Håkan", "Lena"]);
        assert_eq!(
            split_mention("Anna, Bo & Cilla"),
            vec!["Anna", "Bo", "Cilla"]
        );
        assert_eq!(split_mention("Sara Herrman"), vec!["Sara Herrman"]);
        assert_eq!(split_mention("HÅKAN OCH LENA"), vec!["HÅKAN", "LENA"]);
    }

    #[test]
    fn first_names() {
        assert_eq!(first_name_key("Sara Herrman"), "sara");
        assert!(is_single_word("Sara"));
        assert!(!is_single_word("Sara Herrman"));
    }
}
