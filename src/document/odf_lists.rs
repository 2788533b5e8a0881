//! OpenDocument list numbering, written out as text ("1. ", "2.3) ", "b) ", "- ").
//!
//! An .odt keeps list numbers out of the text: a `<text:list>` names a list style, and the
//! style (in content.xml's automatic styles or in styles.xml) says per level whether items are
//! bulleted or numbered, in which format ("1", "a", "I"), with which prefix and suffix, from
//! which start value and showing how many parent levels. Agendas rely on those numbers, so the
//! reader counts items the way the office suite shows them.

use std::collections::HashMap;

use quick_xml::events::{BytesStart, Event};

use super::office::{attr, number_attr};

/// How the items of one list level are labelled.
#[derive(Clone, Debug, PartialEq)]
struct Level {
    /// `None` for bullets (and images, and numbering without a format).
    format: Option<char>,
    prefix: String,
    suffix: String,
    start: usize,
    /// How many levels the label shows: 2 gives "2.3".
    display_levels: usize,
}

/// List styles by name, then level (1-based).
#[derive(Default)]
pub struct ListStyles {
    styles: HashMap<String, HashMap<usize, Level>>,
    /// The `<text:list-style>` being read.
    open: Option<String>,
}

impl ListStyles {
    /// Takes what it needs from one event of content.xml or styles.xml.
    pub fn read(&mut self, event: &Event<'_>) {
        match event {
            Event::Start(e) | Event::Empty(e) => match e.local_name().as_ref() {
                b"list-style" => self.open = attr(e, b"name"),
                b"list-level-style-number" => self.add(e, true),
                b"list-level-style-bullet" | b"list-level-style-image" => self.add(e, false),
                _ => {}
            },
            Event::End(e) if e.local_name().as_ref() == b"list-style" => self.open = None,
            _ => {}
        }
    }

    fn add(&mut self, e: &BytesStart<'_>, numbered: bool) {
        let (Some(style), Some(level)) = (&self.open, number_attr(e, b"level")) else {
            return;
        };
        let format = if numbered {
            attr(e, b"num-format").and_then(|f| f.chars().next())
        } else {
            None
        };
        let level_style = Level {
            format,
            prefix: attr(e, b"num-prefix").unwrap_or_default(),
            suffix: attr(e, b"num-suffix").unwrap_or_default(),
            start: number_attr(e, b"start-value").unwrap_or(1),
            display_levels: number_attr(e, b"display-levels").unwrap_or(1).clamp(1, 10),
        };
        self.styles
            .entry(style.clone())
            .or_default()
            .insert(level, level_style);
    }

    fn level(&self, style: Option<&str>, level: usize) -> Option<&Level> {
        self.styles.get(style?)?.get(&level)
    }
}

/// A `<text:list>` being read.
struct OpenList {
    style: Option<String>,
    /// The number of the last item at this level; `None` before the first.
    last: Option<usize>,
}

/// The lists open at the current point of the body, and where closed ones stopped (for
/// `text:continue-numbering` and `text:continue-list`).
#[derive(Default)]
pub struct Lists {
    open: Vec<OpenList>,
    stopped: HashMap<(Option<String>, usize), usize>,
}

/// Deeper lists than this are read as text without labels (a hostile document can nest
/// thousands).
const MAX_DEPTH: usize = 10;

impl Lists {
    /// `<text:list>`: a list at the next depth, in its own style or its parent's.
    pub fn start_list(&mut self, e: &BytesStart<'_>) {
        let style = attr(e, b"style-name").or_else(|| self.open.last()?.style.clone());
        let depth = self.open.len() + 1;
        let continues = attr(e, b"continue-numbering").is_some_and(|v| v == "true")
            || attr(e, b"continue-list").is_some();
        let last = if continues {
            self.stopped.get(&(style.clone(), depth)).copied()
        } else {
            None
        };
        self.open.push(OpenList { style, last });
    }

    /// `</text:list>`.
    pub fn end_list(&mut self) {
        let depth = self.open.len();
        if let Some(list) = self.open.pop()
            && let Some(last) = list.last
        {
            self.stopped.insert((list.style, depth), last);
        }
    }

    /// `<text:list-item>`: counts it and gives the label its first paragraph starts with.
    pub fn start_item(&mut self, e: &BytesStart<'_>, styles: &ListStyles) -> String {
        let depth = self.open.len();
        let Some(list) = self.open.last_mut() else {
            return "- ".into();
        };
        if depth > MAX_DEPTH {
            return "- ".into();
        }
        let Some(level) = styles.level(list.style.as_deref(), depth) else {
            return "- ".into();
        };
        let Some(format) = level.format else {
            return "- ".into();
        };
        let number = number_attr(e, b"start-value")
            .or_else(|| list.last.map(|n| n + 1))
            .unwrap_or(level.start);
        list.last = Some(number);
        // Parent levels shown in the label ("2.3"): their current numbers, in their formats.
        let shown = level.display_levels.min(depth);
        let mut parts = Vec::with_capacity(shown);
        for d in depth + 1 - shown..=depth {
            let list = &self.open[d - 1];
            let format = styles
                .level(list.style.as_deref(), d)
                .and_then(|l| l.format)
                .unwrap_or(format);
            parts.push(label(list.last.unwrap_or(1), format));
        }
        format!("{}{}{} ", level.prefix, parts.join("."), level.suffix)
    }
}

/// `n` in an ODF number format: "1", "a", "A", "i", "I".
fn label(n: usize, format: char) -> String {
    match format {
        'a' => letters(n),
        'A' => letters(n).to_uppercase(),
        'i' => roman(n),
        'I' => roman(n).to_uppercase(),
        _ => n.to_string(),
    }
}

/// a, b, …, z, aa, bb, … as office suites count letters.
fn letters(n: usize) -> String {
    let n = n.max(1);
    let letter = char::from(b'a' + ((n - 1) % 26) as u8);
    std::iter::repeat_n(letter, (n - 1) / 26 + 1).collect()
}

fn roman(n: usize) -> String {
    if n == 0 || n >= 4000 {
        return n.to_string();
    }
    const NUMERALS: [(usize, &str); 13] = [
        (1000, "m"),
        (900, "cm"),
        (500, "d"),
        (400, "cd"),
        (100, "c"),
        (90, "xc"),
        (50, "l"),
        (40, "xl"),
        (10, "x"),
        (9, "ix"),
        (5, "v"),
        (4, "iv"),
        (1, "i"),
    ];
    let mut rest = n;
    let mut out = String::new();
    for (value, numeral) in NUMERALS {
        while rest >= value {
            out.push_str(numeral);
            rest -= value;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_in_each_format() {
        assert_eq!(label(3, '1'), "3");
        assert_eq!(label(2, 'a'), "b");
        assert_eq!(label(28, 'a'), "bb");
        assert_eq!(label(4, 'I'), "IV");
        assert_eq!(label(1994, 'i'), "mcmxciv");
    }
}
