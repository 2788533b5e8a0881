//! Agenda items from the three places documents keep them: a "Dagordning" table or list, a
//! table of contents with dot leaders, and the numbered headings ("3.", "3)", "§ 8") of the
//! body. The same item found twice (by number, or by title) is kept once, first source first.

use std::sync::LazyLock;

use regex::Regex;

use super::AgendaItem;
use super::text::{Line, numbered};

const NUMBER_HEADERS: &[&str] = &["punkt", "nr", "nr.", "#", "item", "no", "no.", "§"];
const TYPE_HEADERS: &[&str] = &["typ", "type"];
const TITLE_HEADERS: &[&str] = &[
    "beskrivning",
    "ärende",
    "rubrik",
    "ämne",
    "description",
    "topic",
    "title",
    "subject",
    "agenda item",
    "ärenden",
    "innehåll",
];
const RESPONSIBLE_HEADERS: &[&str] = &[
    "ansvarig",
    "föredragande",
    "responsible",
    "lead",
    "presenter",
    "owner",
    "vem",
];
const TIME_HEADERS: &[&str] = &["tid", "ca tid", "time", "klockan", "kl"];

static TYPE_TAG: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^\[([A-ZÅÄÖ]{1,2})\]\s*|\s*\[([A-ZÅÄÖ]{1,2})\]$").unwrap());

fn column(header: &[String], names: &[&str]) -> Option<usize> {
    header
        .iter()
        .position(|h| names.contains(&h.to_lowercase().trim_end_matches(':')))
}

/// A header row of an agenda table: a title column and a number, time, type or responsible
/// column ("Punkt | Typ | Beskrivning | Ansvarig | Ca tid", "Item | Topic | Lead | Time").
pub fn is_header(cells: &[String]) -> bool {
    cells.len() >= 2
        && column(cells, TITLE_HEADERS).is_some()
        && [
            NUMBER_HEADERS,
            TIME_HEADERS,
            TYPE_HEADERS,
            RESPONSIBLE_HEADERS,
        ]
        .iter()
        .any(|h| column(cells, h).is_some())
}

/// Items of an agenda section: a table with a header row, or numbered lines.
pub fn from_section(lines: &[&Line]) -> Vec<AgendaItem> {
    let mut items = Vec::new();
    let mut header: Option<Vec<String>> = None;
    for line in lines {
        if line.is_blank() {
            continue;
        }
        if line.cells.len() >= 2 && header.is_none() && column(&line.cells, TITLE_HEADERS).is_some()
        {
            header = Some(line.cells.clone());
            continue;
        }
        if let Some(h) = &header {
            let cell = |names: &[&str]| {
                column(h, names)
                    .and_then(|i| line.cells.get(i))
                    .map(|c| c.trim().to_string())
                    .filter(|c| !c.is_empty())
            };
            let number = cell(NUMBER_HEADERS);
            let Some(title) = cell(TITLE_HEADERS) else {
                continue;
            };
            // A closing row ("AVSLUT ... 16.00") has no number when the others have one.
            if column(h, NUMBER_HEADERS).is_some() && number.is_none() {
                continue;
            }
            items.push(item(
                number,
                &title,
                cell(TYPE_HEADERS),
                cell(RESPONSIBLE_HEADERS),
                cell(TIME_HEADERS),
            ));
            continue;
        }
        if let Some((number, title)) = numbered(&line.text) {
            items.push(item(Some(number), &title, None, None, None));
        } else if let Some(rest) = line.text.strip_prefix(['-', '•', '*']) {
            items.push(item(None, rest.trim(), None, None, None));
        }
    }
    items
}

/// An item with its "[D]"-style type pulled out of the title.
pub fn item(
    number: Option<String>,
    title: &str,
    item_type: Option<String>,
    responsible: Option<String>,
    time: Option<String>,
) -> AgendaItem {
    let mut title = title.trim().trim_end_matches(':').trim().to_string();
    let mut item_type = item_type;
    // Every tag has a '['; captures() allocates even when there is no match.
    if title.contains('[')
        && let Some(c) = TYPE_TAG.captures(&title)
    {
        let tag = c.get(1).or(c.get(2)).map(|m| m.as_str().to_string());
        title = TYPE_TAG.replace(&title, "").trim().to_string();
        item_type = item_type.or(tag);
    }
    AgendaItem {
        number: number.map(|n| n.trim_end_matches(['.', ')']).to_string()),
        title,
        item_type,
        responsible,
        time,
    }
}

fn norm(s: &str) -> String {
    s.to_lowercase()
        .chars()
        .filter(|c| c.is_alphanumeric() || c.is_whitespace())
        .collect::<String>()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// Adds `more` to `items`, skipping what is already there by number or title.
pub fn merge(items: &mut Vec<AgendaItem>, more: Vec<AgendaItem>) {
    // Each title normalised once, not once per comparison.
    let mut titles: Vec<String> = items.iter().map(|i| norm(&i.title)).collect();
    for candidate in more {
        let title = norm(&candidate.title);
        let duplicate = items
            .iter()
            .zip(&titles)
            .any(|(i, t)| (i.number.is_some() && i.number == candidate.number) || *t == title);
        if !duplicate && !candidate.title.is_empty() {
            items.push(candidate);
            titles.push(title);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::extract::text::lines;

    #[test]
    fn table_with_header_and_closing_row() {
        let l = lines(
            "Punkt\tTyp\tBeskrivning\tAnsvarig\tCa tid\n1\tI\tVälkommen\tHenrik\t13.00\n2\tD\tStatus\tSara\t13.10\nAVSLUT\t\t\t\t16.00",
        );
        let refs: Vec<&Line> = l.iter().collect();
        let items = from_section(&refs);
        assert_eq!(items.len(), 2);
        assert_eq!(items[1].title, "Status");
        assert_eq!(items[1].item_type.as_deref(), Some("D"));
        assert_eq!(items[1].responsible.as_deref(), Some("Sara"));
        assert_eq!(items[1].time.as_deref(), Some("13.10"));
    }

    #[test]
    fn numbered_lists_types_and_merging() {
        let l = lines("1. Mötets öppnande\n2. [B] Budget 2027");
        let refs: Vec<&Line> = l.iter().collect();
        let mut items = from_section(&refs);
        assert_eq!(items[1].title, "Budget 2027");
        assert_eq!(items[1].item_type.as_deref(), Some("B"));
        merge(
            &mut items,
            vec![
                item(Some("2".into()), "Budget", None, None, None),
                item(None, "Övrigt", None, None, None),
            ],
        );
        assert_eq!(items.len(), 3);
    }
}
