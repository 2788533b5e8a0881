//! Regexes with Unicode word boundaries (`\b`), searched fast in Swedish text.
//!
//! The regex crate's fast engines (its DFAs) cannot evaluate a Unicode `\b` next to a
//! non-ASCII character: on "möte" or "är" they give up and the slow engines search the whole
//! text instead, some microseconds for every sentence. [`Bounded`] keeps, next to the regex, the
//! same regex with every `\b` removed ("relaxed"). Dropping an assertion only lets more text
//! match, so wherever the regex matches the relaxed one matches too, and the relaxed one's
//! leftmost match never starts after the regex's. The relaxed regex, run by the fast engines,
//! says where the first match can start, or that there is none; the regex itself then searches
//! from there, seeing the text before as context. The matches found are exactly the regex's.

use regex::{Captures, Match, Regex};

/// A regex and the same regex without its word boundaries.
pub struct Bounded {
    full: Regex,
    relaxed: Regex,
}

impl Bounded {
    /// `pattern` must not match the empty string, and spells word boundaries `\b` only.
    pub fn new(pattern: &str) -> Bounded {
        Bounded {
            full: Regex::new(pattern).unwrap(),
            relaxed: Regex::new(&pattern.replace(r"\b", "")).unwrap(),
        }
    }

    /// Where a match may start at `from` or later: no match of the regex starts before.
    fn candidate(&self, text: &str, from: usize) -> Option<usize> {
        self.relaxed.find_at(text, from).map(|m| m.start())
    }

    pub fn is_match(&self, text: &str) -> bool {
        self.candidate(text, 0)
            .is_some_and(|at| self.full.find_at(text, at).is_some())
    }

    pub fn find<'h>(&self, text: &'h str) -> Option<Match<'h>> {
        self.full.find_at(text, self.candidate(text, 0)?)
    }

    /// The same captures, in the same order, as `Regex::captures_iter`.
    pub fn captures_iter<'r, 'h>(&'r self, text: &'h str) -> CapturesIter<'r, 'h> {
        CapturesIter {
            re: self,
            text,
            at: Some(0),
        }
    }
}

pub struct CapturesIter<'r, 'h> {
    re: &'r Bounded,
    text: &'h str,
    /// Where the next search starts; `None` when there is nothing more to find.
    at: Option<usize>,
}

impl<'h> Iterator for CapturesIter<'_, 'h> {
    type Item = Captures<'h>;

    fn next(&mut self) -> Option<Captures<'h>> {
        let from = self.at.take()?;
        let start = self.re.candidate(self.text, from)?;
        let c = self.re.full.captures_at(self.text, start)?;
        let end = c.get(0).map_or(start, |m| m.end());
        // The patterns never match the empty string; should one, stop rather than loop.
        self.at = (end > from).then_some(end);
        Some(c)
    }
}

/// Checks that `Bounded` finds what the plain regex finds, on texts made of `pieces` and of
/// characters that sit on both sides of word boundaries.
#[cfg(test)]
pub fn assert_same_as_regex(re: &Bounded, pieces: &[&str]) {
    const EDGES: &[&str] = &[
        "a", "å", "Ö", "é", "ß", "ſ", "\u{212a}", "İ", "1", "12", "2024", "٣", "²", " ", "  ",
        "\t", "\n", "\u{a0}", "\u{2009}", ".", ",", "-", "–", "/", ":", "(", ")", "_", "😀",
        "\u{301}",
    ];
    let plain = Regex::new(re.full.as_str()).unwrap();
    let mut seed: u64 = 0x2545_f491_4f6c_dd1d;
    let mut next = || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let spans = |c: Captures| -> Vec<Option<(usize, usize)>> {
        c.iter().map(|m| m.map(|m| (m.start(), m.end()))).collect()
    };
    for _ in 0..4000 {
        let mut text = String::new();
        for _ in 0..(next() % 24) {
            let r = next();
            let from = if r % 2 == 0 { EDGES } else { pieces };
            text.push_str(from[((r >> 1) % from.len() as u64) as usize]);
        }
        let want: Vec<_> = plain.captures_iter(&text).map(spans).collect();
        let got: Vec<_> = re.captures_iter(&text).map(spans).collect();
        assert_eq!(got, want, "{} on {text:?}", plain.as_str());
        assert_eq!(re.is_match(&text), plain.is_match(&text));
        assert_eq!(
            re.find(&text).map(|m| m.range()),
            plain.find(&text).map(|m| m.range())
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_matches_as_the_regex() {
        const PIECES: &[&str] = &[
            "kl",
            "kl.",
            "at",
            "den",
            "maj",
            "Sep",
            "1st",
            "3:e",
            "pm",
            "a.m.",
            "möte",
            "teams",
            "beslutade att",
        ];
        for pattern in [
            r"(?i)\b(\d{1,2})(?:st|:e)?\.?\s+(maj|sep|may)\.?(?:,?\s+(\d{4}))?\b",
            r"(?i)(kl\.?|at)?\s*\b(\d{1,2})(?:[.:](\d{2}))?\s*(a\.?m\.?|p\.?m\.?)?",
            r"(?i)\b(teams|möte|beslutade att)\b",
            r"(?i)^(?:den|at)\b",
        ] {
            assert_same_as_regex(&Bounded::new(pattern), PIECES);
        }
    }
}
