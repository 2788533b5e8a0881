//! Understanding a meeting document's text: what meeting it is about, who was there, what was
//! decided, who is to do what, and when the body meets next.
//!
//! The approach, in the order the reading goes:
//!
//! - **Lines** ([`text`]): the text (from any format; table rows arrive as TAB-separated cells)
//!   is cut into lines with inline HTML and Markdown markup removed.
//! - **Sections by label vocabulary**: lines are read by what introduces them rather than by
//!   where they stand — labels from a vocabulary of how Swedish and English secretaries head
//!   things ("Plats:", "Närvarande", "Justeras av", "Apologies", "Underskrifter"), also with a
//!   qualifier ("Mötestider våren 2025:"); a label's section runs to the next label or heading.
//! - **Layout detectors**: numbered headings ("3.", "3)", "§ 8", "24/101"), standing alone after
//!   a blank line or (PDF text has none) continuing the numbering; tables recognised by their
//!   header row wherever they stand (agenda: "Punkt | Beskrivning | Ansvarig"; actions: "Vem |
//!   Vad | När"); tables of contents with dot leaders (kept once); people lists in several
//!   layouts ([`people`]); signing blocks with roles before or after the names; sentences run
//!   over line breaks joined back into paragraphs.
//! - **Date resolution** ([`dates`]): dates and times in the forms people write them; a
//!   year-less date takes the meeting's year, and the next year when it would fall before the
//!   meeting; "before the next meeting" is the next meeting's date.
//! - **Actions** ([`actions`]) from explicit sections and tables, "ACTION:" lines, and clear
//!   commitments in prose ("X återkommer med", "X will send"), not discussion. Agenda items
//!   ([`agenda`]) from agenda tables, tables of contents and headings, each item once.
//!
//! Nothing here names a particular body, person or document; nothing does I/O or reads the
//! clock, and no input makes it panic.

use std::collections::HashSet;
use std::sync::LazyLock;

use chrono::{Datelike, NaiveDate, NaiveTime};
use regex::Regex;
use serde::{Serialize, Serializer};

#[path = "extract/actions.rs"]
mod actions;
#[path = "extract/agenda.rs"]
mod agenda;
#[path = "extract/dates.rs"]
pub mod dates;
#[path = "extract/pattern.rs"]
mod pattern;
#[path = "extract/people.rs"]
mod people;
#[path = "extract/text.rs"]
mod text;

use pattern::Bounded;
use text::{Label, Line, numbered, sentences, split_label, without_dot_leader};

/// What the document itself cannot say.
#[derive(Debug, Clone, Default)]
pub struct Context {
    /// The mail's date, for a document that has none of its own.
    pub fallback_date: Option<NaiveDate>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Minutes,
    Agenda,
    Other,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Language {
    Sv,
    En,
}

/// Everything understood of one document; serialises to the JSON `clerk ingest --json` prints.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Meeting {
    pub kind: Kind,
    pub language: Language,
    pub title: Option<String>,
    #[serde(serialize_with = "opt_date")]
    pub date: Option<NaiveDate>,
    /// The date is the mail's, because the document has none.
    pub date_from_mail: bool,
    #[serde(serialize_with = "opt_time")]
    pub start: Option<NaiveTime>,
    #[serde(serialize_with = "opt_time")]
    pub end: Option<NaiveTime>,
    pub place: Option<String>,
    pub attendees: Vec<Person>,
    pub absent: Vec<Person>,
    pub secretary: Option<String>,
    pub chair: Option<String>,
    pub approvers: Vec<String>,
    #[serde(serialize_with = "opt_date")]
    pub approval_due: Option<NaiveDate>,
    pub agenda_items: Vec<AgendaItem>,
    pub decisions: Vec<Decision>,
    pub actions: Vec<Action>,
    pub next_meetings: Vec<NextMeeting>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Person {
    pub name: String,
    pub organization: Option<String>,
    pub role: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AgendaItem {
    pub number: Option<String>,
    pub title: String,
    #[serde(rename = "type")]
    pub item_type: Option<String>,
    pub responsible: Option<String>,
    pub time: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Decision {
    pub item: Option<String>,
    pub text: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Action {
    pub owner: Option<String>,
    pub text: String,
    #[serde(serialize_with = "opt_date")]
    pub due: Option<NaiveDate>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NextMeeting {
    #[serde(serialize_with = "opt_date")]
    pub date: Option<NaiveDate>,
    #[serde(serialize_with = "opt_time")]
    pub start: Option<NaiveTime>,
    #[serde(serialize_with = "opt_time")]
    pub end: Option<NaiveTime>,
    pub place: Option<String>,
}

fn opt_date<S: Serializer>(d: &Option<NaiveDate>, s: S) -> Result<S::Ok, S::Error> {
    match d {
        Some(d) => s.serialize_str(&d.format("%Y-%m-%d").to_string()),
        None => s.serialize_none(),
    }
}

fn opt_time<S: Serializer>(t: &Option<NaiveTime>, s: S) -> Result<S::Ok, S::Error> {
    match t {
        Some(t) => s.serialize_str(&t.format("%H:%M").to_string()),
        None => s.serialize_none(),
    }
}

/// Reads one document's text.
pub fn extract(text: &str, ctx: &Context) -> Meeting {
    let lines = text::lines(text);
    let mut reader = Reader::new(&lines);
    reader.read_labels();
    reader.finish(text, ctx)
}

/// The state of one reading: what the labels, sections and headings said so far.
struct Reader<'a> {
    lines: &'a [Line],
    /// Each line's label and value ([`split_label`]), read once.
    labels: Vec<Option<(Label, String)>>,
    /// Lines consumed by a labelled section (people, agenda, actions): not prose.
    consumed: Vec<bool>,
    /// The number and title of each line that is a numbered heading.
    headings: Vec<Option<(String, String)>>,
    /// Where an "Underskrifter" block starts: a chair named in it signs.
    signatures_at: Option<usize>,
    known_orgs: HashSet<String>,
    date: Option<NaiveDate>,
    start: Option<NaiveTime>,
    end: Option<NaiveTime>,
    place: Option<String>,
    attendees: Vec<Person>,
    absent: Vec<Person>,
    secretary: Option<String>,
    chair: Option<String>,
    approvers: Vec<String>,
    approval_due_text: Option<String>,
    agenda: Vec<AgendaItem>,
    contents: Vec<AgendaItem>,
    action_items: Vec<(String, bool)>,
    /// Rows of action tables, with the columns their header named.
    action_rows: Vec<(Vec<String>, Option<actions::Columns>)>,
    decisions: Vec<Decision>,
    next_texts: Vec<String>,
}

/// Which lines are numbered headings ("3.", "3)", "§ 8"): short, not a sentence, standing on
/// their own after a blank line, or (text from PDFs has no blank lines) continuing the
/// numbering of the heading before.
fn find_headings(lines: &[Line]) -> Vec<Option<(String, String)>> {
    let mut out = vec![None; lines.len()];
    let mut last: Option<u32> = None;
    for (i, line) in lines.iter().enumerate() {
        // numbered() first: it rules most lines out by their first character.
        let Some((n, title)) = numbered(&line.text) else {
            continue;
        };
        if line.cells.len() > 1 || without_dot_leader(&line.text).is_some() {
            continue;
        }
        let len = title.chars().count();
        if len > 150 || title.ends_with(['.', ',', ';']) {
            continue;
        }
        let standalone = i == 0 || lines[i - 1].is_blank() || line.heading;
        let num: Option<u32> = n.parse().ok();
        let capital = title.chars().next().is_some_and(|c| c.is_uppercase());
        let paragraph_sign = line.text.starts_with('§');
        let in_sequence = len <= 80
            && capital
            && (paragraph_sign
                || match (num, last) {
                    (Some(k), Some(l)) => k == l + 1,
                    (Some(1), None) => true,
                    _ => false,
                });
        if standalone || in_sequence {
            out[i] = Some((n, title));
            if num.is_some() {
                last = num;
            }
        }
    }
    out
}

/// A line of running prose rather than a list entry.
fn is_prose(line: &Line) -> bool {
    let words = line.text.split_whitespace().count();
    line.cells.len() == 1 && (words > 14 || (words > 6 && line.text.ends_with('.')))
}

impl<'a> Reader<'a> {
    fn new(lines: &'a [Line]) -> Reader<'a> {
        let known_orgs = lines
            .iter()
            .filter(|l| l.cells.len() >= 2 && l.cells[0].ends_with(':'))
            .map(|l| l.cells[0].trim_end_matches(':').trim().to_string())
            .filter(|o| text::label_of(o).is_none() && !o.is_empty())
            .collect();
        Reader {
            lines,
            labels: lines.iter().map(split_label).collect(),
            consumed: vec![false; lines.len()],
            headings: find_headings(lines),
            signatures_at: None,
            known_orgs,
            date: None,
            start: None,
            end: None,
            place: None,
            attendees: Vec::new(),
            absent: Vec::new(),
            secretary: None,
            chair: None,
            approvers: Vec::new(),
            approval_due_text: None,
            agenda: Vec::new(),
            contents: Vec::new(),
            action_items: Vec::new(),
            action_rows: Vec::new(),
            decisions: Vec::new(),
            next_texts: Vec::new(),
        }
    }

    fn is_heading(&self, i: usize) -> bool {
        self.headings.get(i).is_some_and(Option::is_some)
    }

    fn has_label(&self, i: usize) -> bool {
        self.labels[i].is_some()
    }

    /// The lines after a label line that belong to it.
    fn section(&self, from: usize, prose_ends: bool) -> std::ops::Range<usize> {
        let mut end = from;
        let mut seen_content = false;
        for i in from..self.lines.len() {
            let line = &self.lines[i];
            if line.is_blank() {
                end = i + 1;
                continue;
            }
            if self.has_label(i) || self.is_heading(i) || line.heading {
                break;
            }
            if prose_ends && is_prose(line) && seen_content {
                break;
            }
            if !(prose_ends && is_prose(line)) {
                seen_content = true;
            }
            end = i + 1;
        }
        from..end
    }

    fn next_value(&self, from: usize) -> Option<(usize, &'a str)> {
        (from..self.lines.len().min(from + 4))
            .find(|&i| !self.lines[i].is_blank())
            .filter(|&i| !self.has_label(i) && !self.is_heading(i))
            .map(|i| (i, self.lines[i].text.as_str()))
    }

    fn read_labels(&mut self) {
        let mut i = 0;
        while i < self.lines.len() {
            let line = &self.lines[i];
            if let Some(contents) = without_dot_leader(&line.text) {
                if let Some((n, title)) = numbered(&contents) {
                    self.contents
                        .push(agenda::item(Some(n), &title, None, None, None));
                }
                self.consumed[i] = true;
                i += 1;
                continue;
            }
            let label = self.labels[i].clone();
            if label.is_none() && line.cells.len() >= 2 {
                let end = self.table_end(i + 1);
                if let Some(columns) = actions::header(&line.cells) {
                    for j in i..end {
                        self.consumed[j] = true;
                        if j > i {
                            self.action_rows
                                .push((self.lines[j].cells.clone(), Some(columns)));
                        }
                    }
                    i = end;
                    continue;
                }
                if agenda::is_header(&line.cells) {
                    let section: Vec<&Line> = (i..end).map(|j| &self.lines[j]).collect();
                    let items = agenda::from_section(&section);
                    (i..end).for_each(|j| self.consumed[j] = true);
                    agenda::merge(&mut self.agenda, items);
                    i = end;
                    continue;
                }
            }
            let Some((label, value)) = label else {
                i += 1;
                continue;
            };
            self.consumed[i] = true;
            let value_or_next = |r: &Reader<'a>| -> (String, usize) {
                if !value.is_empty() {
                    (value.clone(), i + 1)
                } else if let Some((j, v)) = r.next_value(i + 1) {
                    (v.to_string(), j + 1)
                } else {
                    (String::new(), i + 1)
                }
            };
            match label {
                Label::Date | Label::DateTime | Label::Time | Label::TimePlace | Label::Place => {
                    let (v, next) = value_or_next(self);
                    self.read_when_where(label, &v);
                    i = next;
                    continue;
                }
                Label::Attendees | Label::Absent => {
                    let range = self.section(i + 1, true);
                    let mut section: Vec<&Line> = Vec::new();
                    let value_line;
                    if !value.is_empty() {
                        value_line = text::lines(&value).remove(0);
                        section.push(&value_line);
                        section.extend(range.clone().map(|j| &self.lines[j]));
                        let people = people::parse_section(&section, &self.known_orgs);
                        self.add_people(label, people);
                    } else {
                        section.extend(range.clone().map(|j| &self.lines[j]));
                        let people = people::parse_section(&section, &self.known_orgs);
                        self.add_people(label, people);
                    }
                    range.clone().for_each(|j| self.consumed[j] = true);
                    i = range.end.max(i + 1);
                    continue;
                }
                Label::Secretary => {
                    let (v, next) = value_or_next(self);
                    if let Some(name) = leading_name(&v) {
                        self.secretary.get_or_insert(name);
                    }
                    i = next;
                    continue;
                }
                Label::Chair => {
                    let (v, next) = value_or_next(self);
                    if let Some(name) = leading_name(&v) {
                        // A chair named in the signing block signs the minutes.
                        if self.signatures_at.is_some_and(|s| i <= s + 15) {
                            self.add_signer(name.clone(), Some("ordförande"));
                        }
                        self.chair.get_or_insert(name);
                    }
                    i = next;
                    continue;
                }
                Label::Signatures => {
                    self.signatures_at = Some(i);
                    let range = self.section(i + 1, true);
                    let mut text = value.clone();
                    for j in range.clone() {
                        if !self.lines[j].is_blank() {
                            text.push('\n');
                            text.push_str(&self.lines[j].text);
                        }
                        self.consumed[j] = true;
                    }
                    self.read_signatures(&text);
                    i = range.end.max(i + 1);
                    continue;
                }
                Label::Approvers => {
                    let range = self.section(i + 1, true);
                    let mut text = value.clone();
                    for j in range.clone() {
                        if !self.lines[j].is_blank() {
                            text.push('\n');
                            text.push_str(&self.lines[j].text);
                        }
                        self.consumed[j] = true;
                    }
                    self.read_signatures(&text);
                    i = range.end.max(i + 1);
                    continue;
                }
                Label::ApprovalDue => {
                    let (v, next) = value_or_next(self);
                    self.approval_due_text = Some(v);
                    i = next;
                    continue;
                }
                Label::Agenda => {
                    let range = self.agenda_section(i + 1);
                    let section: Vec<&Line> = range.clone().map(|j| &self.lines[j]).collect();
                    let items = agenda::from_section(&section);
                    if !items.is_empty() {
                        range.clone().for_each(|j| self.consumed[j] = true);
                        agenda::merge(&mut self.agenda, items);
                        i = range.end.max(i + 1);
                        continue;
                    }
                }
                Label::Actions | Label::WeakActions => {
                    let strong = label == Label::Actions;
                    if !value.is_empty() {
                        self.action_items.push((value.clone(), strong));
                    }
                    let range = self.section(i + 1, false);
                    let mut columns = None;
                    for j in range.clone() {
                        self.consumed[j] = true;
                        let l = &self.lines[j];
                        if l.is_blank() {
                            continue;
                        }
                        if l.cells.len() >= 2 {
                            if let Some(c) = actions::header(&l.cells) {
                                columns = Some(c);
                            } else {
                                self.action_rows.push((l.cells.clone(), columns));
                            }
                        } else {
                            self.action_items.push((l.text.clone(), strong));
                        }
                    }
                    i = range.end.max(i + 1);
                    continue;
                }
                Label::NextMeetings => {
                    if !value.is_empty() {
                        self.next_texts.push(value.clone());
                    }
                    let range = self.section(i + 1, false);
                    for j in range.clone() {
                        if !self.lines[j].is_blank() {
                            self.next_texts.push(self.lines[j].text.clone());
                        }
                    }
                    i = range.end.max(i + 1);
                    continue;
                }
                Label::Decisions => {
                    if !value.is_empty() {
                        self.decisions.push(Decision {
                            item: None,
                            text: value.clone(),
                        });
                    }
                }
                Label::Contents | Label::Contributors | Label::Attachments => {}
            }
            i += 1;
        }
    }

    /// The end of a table's rows: the first line that is not a row.
    fn table_end(&self, from: usize) -> usize {
        (from..self.lines.len())
            .find(|&j| self.lines[j].cells.len() < 2)
            .unwrap_or(self.lines.len())
    }

    /// An agenda section runs over its table or list; prose before the first item is allowed
    /// (an explanation of the item types), prose after it ends the section.
    fn agenda_section(&self, from: usize) -> std::ops::Range<usize> {
        let mut end = from;
        let mut items = 0;
        for i in from..self.lines.len() {
            let line = &self.lines[i];
            if line.is_blank() {
                continue;
            }
            if self.has_label(i) || line.heading {
                break;
            }
            let is_item = line.cells.len() > 1
                || numbered(&line.text).is_some()
                || line.text.starts_with(['-', '•']);
            if is_item {
                items += 1;
                end = i + 1;
            } else if items > 0 || self.is_heading(i) {
                break;
            }
        }
        from..end
    }

    fn add_people(&mut self, label: Label, people: Vec<Person>) {
        let list = if label == Label::Absent {
            &mut self.absent
        } else {
            &mut self.attendees
        };
        for p in people {
            if !list.iter().any(|q| q.name.eq_ignore_ascii_case(&p.name)) {
                list.push(p);
            }
        }
    }

    fn read_when_where(&mut self, label: Label, value: &str) {
        let mut rest = value.to_string();
        if matches!(label, Label::Date | Label::DateTime | Label::TimePlace)
            && let Some(found) = dates::find_dates(value, None).into_iter().next()
        {
            self.date.get_or_insert(found.date);
            rest.replace_range(found.span.clone(), &" ".repeat(found.span.len()));
        }
        if matches!(
            label,
            Label::Time | Label::DateTime | Label::TimePlace | Label::Date
        ) && let Some(t) = dates::find_time(&rest, label == Label::Time)
        {
            if self.start.is_none() {
                self.start = Some(t.start);
                self.end = t.end;
            }
            rest.replace_range(t.span.clone(), &" ".repeat(t.span.len()));
        }
        if matches!(label, Label::Place | Label::TimePlace) {
            let place = if label == Label::Place {
                value.to_string()
            } else {
                rest
            };
            let place = WEEKDAY
                .replace_all(&place, " ")
                .trim()
                .trim_matches([',', '-', '–', ' ', '\t'])
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ");
            if !place.is_empty() && self.place.is_none() {
                self.place = Some(place);
            }
        }
    }

    /// "Justeras av: Eva Berg Sekreterare Bo Ek Ordförande Lo Al Justerare", a signing block
    /// with the role before each name, or names one per line: approvers are the justerare and
    /// the signing chair; a signing secretary is noted.
    fn read_signatures(&mut self, text: &str) {
        let parts = signature_parts(text, &self.known_orgs);
        let first_role = parts.iter().position(|p| matches!(p, Signed::Role(_)));
        let first_name = parts.iter().position(|p| matches!(p, Signed::Name(_)));
        let role_first = matches!((first_role, first_name), (Some(r), Some(n)) if r < n);
        let mut signed: Vec<(String, Option<String>)> = Vec::new();
        let mut pending: Option<String> = None;
        for (k, part) in parts.iter().enumerate() {
            match part {
                Signed::Role(r) if role_first => pending = Some(r.clone()),
                Signed::Name(n) if role_first => signed.push((n.clone(), pending.take())),
                Signed::Name(n) => {
                    let role = match parts.get(k + 1) {
                        Some(Signed::Role(r)) => Some(r.clone()),
                        _ => None,
                    };
                    signed.push((n.clone(), role));
                }
                _ => {}
            }
        }
        for (name, role) in signed {
            self.add_signer(name, role.as_deref());
        }
    }

    fn add_signer(&mut self, name: String, role: Option<&str>) {
        let name = name.trim_matches([',', '.', ' ']).to_string();
        if !people::is_name(&name) {
            return;
        }
        match role {
            Some("sekreterare" | "secretary" | "protokollförare") => {
                self.secretary.get_or_insert(name);
            }
            Some(r) => {
                if r.starts_with("ordf") || r.starts_with("chair") {
                    self.chair.get_or_insert(name.clone());
                }
                if !self.approvers.contains(&name) {
                    self.approvers.push(name);
                }
            }
            None => {
                if !self.approvers.contains(&name) {
                    self.approvers.push(name);
                }
            }
        }
    }

    fn finish(mut self, full_text: &str, ctx: &Context) -> Meeting {
        let language = language(full_text);
        let title_lines = self.title_region();
        let title = title(self.lines, &title_lines);
        if self.date.is_none() {
            self.date = self.early_date(&title_lines);
        }
        if self.start.is_none()
            && let Some(t) = title_lines
                .iter()
                .find_map(|&i| dates::find_time(&self.lines[i].text, false))
        {
            self.start = Some(t.start);
            self.end = t.end;
        }
        if self.place.is_none() {
            self.place = self.unlabelled_place(&title_lines);
        }
        let date_from_mail = self.date.is_none() && ctx.fallback_date.is_some();
        let date = self.date.or(ctx.fallback_date);

        // Numbered headings: agenda items, and the bodies under them.
        let mut headings = Vec::new();
        let mut bodies: Vec<(String, Vec<usize>)> = Vec::new();
        for i in 0..self.lines.len() {
            if self.consumed[i] {
                continue;
            }
            if self.is_heading(i) {
                let (n, t) = self.headings[i].clone().unwrap_or_default();
                headings.push(agenda::item(Some(n), &t, None, None, None));
                bodies.push((t, Vec::new()));
                self.consumed[i] = true;
            } else if let Some((_, body)) = bodies.last_mut() {
                body.push(i);
            }
        }
        let mut agenda_items = std::mem::take(&mut self.agenda);
        agenda::merge(&mut agenda_items, std::mem::take(&mut self.contents));
        agenda::merge(&mut agenda_items, headings);

        // Next meetings: labelled, under a "Kommande möten" heading, or said in a sentence.
        for (title, body) in &bodies {
            if NEXT_MEETING.is_match(title) {
                for &i in body {
                    self.next_texts.push(self.lines[i].text.clone());
                }
            }
        }
        let mut next_meetings = Vec::new();
        let year = date.map(|d| d.year());
        let texts = std::mem::take(&mut self.next_texts);
        for text in &texts {
            add_next_meetings(&mut next_meetings, text, year, date, true);
        }
        // All paragraphs (not only prose), each cut into sentences once.
        let paragraphs = self.paragraphs(false);
        let all_sentences: Vec<Vec<&str>> = paragraphs.iter().map(|p| sentences(p)).collect();
        for paragraph in &all_sentences {
            for &sentence in paragraph {
                if NEXT_MEETING.is_match(sentence) {
                    add_next_meetings(&mut next_meetings, sentence, year, date, false);
                }
            }
        }

        // People named anywhere, for resolving "Sara" in actions.
        let mut everyone: Vec<String> = self
            .attendees
            .iter()
            .chain(&self.absent)
            .map(|p| p.name.clone())
            .collect();
        everyone.extend(self.secretary.clone());
        let action_ctx = actions::Context {
            meeting_date: date,
            people: everyone,
            next_meeting: next_meetings.iter().filter_map(|m| m.date).min(),
        };
        let mut found_actions = Vec::new();
        for (item, strong) in &self.action_items {
            if let Some(a) = actions::from_item(item, &action_ctx, *strong) {
                found_actions.push(a);
            }
        }
        for (cells, columns) in &self.action_rows {
            let action = match columns {
                Some(c) => actions::from_row(cells, *c, &action_ctx),
                None => actions::from_cells(cells, &action_ctx),
            };
            found_actions.extend(action);
        }
        for line in self.lines {
            if let Some(rest) = actions::prefixed(&line.text) {
                found_actions.extend(actions::from_item(rest, &action_ctx, true));
            }
        }
        for (paragraph, heading) in self.paragraphs_under_headings(true) {
            for sentence in sentences(&paragraph) {
                if let Some(mut a) = actions::from_sentence(sentence, &action_ctx) {
                    // "X återkommer till denna dialog": say which dialog.
                    if let Some(h) = heading.as_deref().filter(|_| REFERS_BACK.is_match(&a.text)) {
                        a.text = format!("{} ({h})", a.text);
                    }
                    found_actions.push(a);
                }
                if DECISION.is_match(sentence) {
                    self.decisions.push(Decision {
                        item: None,
                        text: sentence.trim().to_string(),
                    });
                }
            }
        }
        let mut seen = HashSet::new();
        found_actions.retain(|a| seen.insert((a.owner.clone(), a.text.to_lowercase())));

        // The secretary and chair may only be named by role in a people list.
        let secretary = self.secretary.clone().or_else(|| {
            role_holder(
                &self.attendees,
                &[
                    "sekreterare",
                    "secretary",
                    "clerk",
                    "protokollförare",
                    "minutes",
                ],
            )
        });
        let chair = self.chair.clone().or_else(|| {
            self.attendees
                .iter()
                .find(|p| {
                    p.role.as_deref().is_some_and(|r| {
                        let r = r.to_lowercase();
                        (r.starts_with("ordförande") || r.starts_with("chair"))
                            && !r.starts_with("vice")
                    })
                })
                .map(|p| p.name.clone())
        });
        if self.approval_due_text.is_none() {
            // "Protokollet justeras den 12 mars."
            self.approval_due_text = all_sentences.iter().find_map(|p| {
                p.iter()
                    .find(|s| {
                        APPROVAL.is_match(s)
                            && s.to_lowercase().contains("justeras")
                            && !dates::find_dates(s, year).is_empty()
                    })
                    .map(|s| s.to_string())
            });
        }
        let approval_due = self.approval_due_text.as_deref().and_then(|t| {
            dates::find_dates(t, year)
                .first()
                .map(|f| dates::after_meeting(f, date))
        });
        let kind = kind(
            self.lines,
            &title_lines,
            &self.attendees,
            &agenda_items,
            &self.approvers,
        );
        Meeting {
            kind,
            language,
            title,
            date,
            date_from_mail,
            start: self.start,
            end: self.end,
            place: self.place,
            attendees: self.attendees,
            absent: self.absent,
            secretary,
            chair,
            approvers: self.approvers,
            approval_due,
            agenda_items,
            decisions: self.decisions,
            actions: found_actions,
            next_meetings,
        }
    }

    /// Lines joined into paragraphs where a sentence runs on over a line break (text from
    /// PDFs): the next line starts in lowercase or with a digit, or the line before is a long
    /// one without a closing stop. `prose_only` leaves out labelled and consumed lines.
    fn paragraphs(&self, prose_only: bool) -> Vec<String> {
        self.paragraphs_under_headings(prose_only)
            .into_iter()
            .map(|(p, _)| p)
            .collect()
    }

    /// Paragraphs with the title of the numbered heading they stand under.
    fn paragraphs_under_headings(&self, prose_only: bool) -> Vec<(String, Option<String>)> {
        let mut out: Vec<(String, Option<String>)> = Vec::new();
        let mut open = false;
        let mut heading: Option<String> = None;
        for (i, line) in self.lines.iter().enumerate() {
            if let Some((_, t)) = &self.headings[i] {
                heading = Some(t.clone());
            }
            let skip = line.is_blank()
                || (prose_only
                    && (self.consumed[i]
                        || self.has_label(i)
                        || actions::prefixed(&line.text).is_some()));
            if skip {
                open = false;
                continue;
            }
            let text = line.text.as_str();
            let starts_low = text
                .chars()
                .next()
                .is_some_and(|c| c.is_lowercase() || c.is_ascii_digit());
            let list_item = text.starts_with(['-', '•', '*', '–']);
            let continues = open
                && !self.is_heading(i)
                && !list_item
                && line.cells.len() == 1
                && out.last().is_some_and(|(p, _)| {
                    !p.ends_with(['.', '!', '?', ':', ';'])
                        && (starts_low
                            || p.lines()
                                .next_back()
                                .unwrap_or("")
                                .chars()
                                .nth(59)
                                .is_some())
                });
            match out.last_mut() {
                Some((p, _)) if continues => {
                    p.push(' ');
                    p.push_str(text);
                }
                _ => out.push((text.to_string(), heading.clone())),
            }
            open = !self.is_heading(i) && line.cells.len() == 1;
        }
        out
    }

    /// The opening lines before the first label, heading or list: where the title and often
    /// the date stand.
    fn title_region(&self) -> Vec<usize> {
        let mut out = Vec::new();
        for (i, line) in self.lines.iter().enumerate() {
            if line.is_blank() {
                continue;
            }
            // "AGENDA" standing first is the document's kind, not a section.
            let kind_label = matches!(&self.labels[i], Some((Label::Agenda, v)) if v.is_empty())
                && out.len() < 2;
            if out.len() >= 5
                || (self.has_label(i) && !kind_label)
                || self.is_heading(i)
                || line.cells.len() > 1
                || (is_prose(line) && dates::find_dates(&line.text, None).is_empty())
            {
                break;
            }
            out.push(i);
        }
        out
    }

    /// A place said without a label in the opening lines: after the date and time ("Held on
    /// 2 May 2019 at 6 pm at the Riverside Centre"), or on the line after them when it reads
    /// like an address or a room.
    fn unlabelled_place(&self, title_lines: &[usize]) -> Option<String> {
        for (k, &i) in title_lines.iter().enumerate() {
            let text = &self.lines[i].text;
            let mut end = None;
            for f in dates::find_dates(text, None) {
                end = end.max(Some(f.span.end));
            }
            if let Some(t) = dates::find_time(text, false) {
                end = end.max(Some(t.span.end));
            }
            let Some(end) = end else { continue };
            if let Some(c) = PLACE_AFTER.captures(&text[end..]) {
                let place = c[2].trim().trim_end_matches(['.', ',']).trim();
                let by_preposition = c.get(2).is_none();
                if !place.is_empty()
                    && place.chars().count() <= 100
                    && (by_preposition || looks_like_place(place))
                {
                    return Some(place.to_string());
                }
            }
            if let Some(&next) = title_lines.get(k + 1) {
                let t = self.lines[next].text.trim();
                if looks_like_place(t) {
                    return Some(t.to_string());
                }
            }
        }
        None
    }

    fn early_date(&self, title_lines: &[usize]) -> Option<NaiveDate> {
        let in_title = title_lines.iter().find_map(|&i| {
            dates::find_dates(&self.lines[i].text, None)
                .into_iter()
                .next()
        });
        in_title
            .or_else(|| {
                self.lines
                    .iter()
                    .filter(|l| !l.is_blank())
                    .take(12)
                    .filter(|l| !NEXT_MEETING.is_match(&l.text))
                    .find_map(|l| {
                        dates::find_dates(&l.text, None)
                            .into_iter()
                            .find(|f| f.explicit_year)
                    })
            })
            .map(|f| f.date)
    }
}

const ROLE_WORDS: &[&str] = &[
    "sekreterare",
    "ordförande",
    "ordf",
    "ordf.",
    "justerare",
    "justerande",
    "secretary",
    "chair",
    "chairman",
    "chairperson",
    "approver",
    "protokollförare",
];

/// A piece of a signing block: a role word, a name, or something else ("Paragrafer 8-14").
enum Signed {
    Role(String),
    Name(String),
    Other,
}

fn role_word(token: &str) -> Option<String> {
    let role = token.trim_matches([',', ':', '(', ')', '.']).to_lowercase();
    (ROLE_WORDS.contains(&role.as_str()) || role == "ordf").then_some(role)
}

fn signature_parts(text: &str, known_orgs: &HashSet<String>) -> Vec<Signed> {
    fn flush(name: &mut Vec<&str>, parts: &mut Vec<Signed>, known_orgs: &HashSet<String>) {
        if name.is_empty() {
            return;
        }
        let joined = name.join(" ");
        name.clear();
        let joined = joined.trim_matches([',', '.', ':', ' ']);
        if people::is_name(joined) && joined.contains(' ') {
            parts.push(Signed::Name(joined.to_string()));
            return;
        }
        let run: Vec<Person> = people::parse_run(joined, known_orgs)
            .into_iter()
            .filter(|p| p.name.contains(' '))
            .collect();
        if !run.is_empty() {
            parts.extend(run.into_iter().map(|p| Signed::Name(p.name)));
        } else if let Some(n) = leading_name(joined) {
            parts.push(Signed::Name(n));
        } else {
            parts.push(Signed::Other);
        }
    }
    let mut parts = Vec::new();
    for unit in text.split(['\n', '\t']) {
        let mut name: Vec<&str> = Vec::new();
        for token in unit.split_whitespace() {
            if let Some(role) = role_word(token) {
                flush(&mut name, &mut parts, known_orgs);
                parts.push(Signed::Role(role));
            } else {
                name.push(token);
            }
        }
        flush(&mut name, &mut parts, known_orgs);
    }
    parts
}

static PLACE_AFTER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)^[\s,]*(?:(?:at|in|i|på|hos|venue|plats|lokal)[:\s]+(?:the\s+)?|([-–,])\s*)(\S.*)$",
    )
    .unwrap()
});
static PLACE_WORDS: LazyLock<Bounded> = LazyLock::new(|| {
    Bounded::new(
        r"(?i)\b(?:room|rum|rummet|sal|salen|sessionssalen|hall|huset|hus|house|building|centre|center|street|road|lane|avenue|gatan|vägen|torget|floor|våning|kontor|kontoret|office|teams|zoom|google meet|skype|webex|digitalt|online|lokal|lokalen|conference|konferensrum|stadshus|stadshuset|kommunhuset|regionhuset|town hall|library|bibliotek|biblioteket)\b|\w+(?:gatan|vägen|salen|rummet|huset)\b",
    )
});

/// A line of its own that names a place: an address or a room, not a sentence.
fn looks_like_place(text: &str) -> bool {
    text.chars().count() <= 100
        && !text.ends_with(['.', '?', '!', ':'])
        && dates::find_dates(text, None).is_empty()
        && !KIND_WORDS.is_match(text)
        && text.split_whitespace().count() <= 12
        && PLACE_WORDS.is_match(text)
}

static WEEKDAY: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\b(måndag|tisdag|onsdag|torsdag|fredag|lördag|söndag|monday|tuesday|wednesday|thursday|friday|saturday|sunday)(en)?\b,?|\bden\b|\bkl\.?(\s|$)")
        .unwrap()
});
static NEXT_MEETING: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)nästa (möte|träff|sammanträde)|kommande (möte|sammanträde)|mötestider|next meeting|future meetings|upcoming meetings")
        .unwrap()
});
static DECISION: LazyLock<Bounded> = LazyLock::new(|| {
    Bounded::new(
        r"(?i)\b(beslutade[s]? att|beslutar att|beslöt att|beslutas att|mötet beslutar|resolved that|it was agreed|decided to|decided that)\b",
    )
});
static VIDEO: LazyLock<Bounded> =
    LazyLock::new(|| Bounded::new(r"(?i)\b(teams|zoom|google meet|skype|webex)\b"));
static KIND_WORDS: LazyLock<Bounded> = LazyLock::new(|| {
    Bounded::new(
        r"(?i)^(?:(?:mötes|minnes)?anteckningar|(?:mötes|sammanträdes)?protokoll|kallelse|dagordning|föredragningslista|meeting notes|minutes|notes|agenda|notice)(?:\s+(?:fört vid|förda vid|från|för|till|vid|över|med|of|for|from))?(?:\s+(?:the|ett|en))?(?:\s+(?:möte|mötet|sammanträde|sammanträdet|meeting|träff|träffen)(?:\s+(?:med|i|för|of|with|in))?)?(?:\s+the)?\b",
    )
});
static CONNECTOR: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)^(?:\s*(?:[-–—:,/&|]|\band\b|\boch\b|\bsamt\b))*\s*").unwrap()
});
/// Words pointing back at the item under discussion ("denna fråga", "this proposal").
static REFERS_BACK: LazyLock<Bounded> = LazyLock::new(|| {
    Bounded::new(
        r"(?i)\b(?:denna|detta|dessa|frågan|ärendet|förslaget|this|these|the matter|the issue|the proposal)\b",
    )
});
static GENERIC_MEETING: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)^(?:\w*(?:möte|mötet|sammanträde|sammanträdet|träff)|(?:\w+\s)?meeting)$")
        .unwrap()
});
static APPROVAL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)justera[st]|justering|approved? (?:by|on|before)|signed by").unwrap()
});
static WEEKDAY_START: LazyLock<Bounded> = LazyLock::new(|| {
    Bounded::new(
        r"(?i)^(?:held|hålls|hölls|den|on|måndag|tisdag|onsdag|torsdag|fredag|lördag|söndag|monday|tuesday|wednesday|thursday|friday|saturday|sunday)\b",
    )
});

fn add_next_meetings(
    out: &mut Vec<NextMeeting>,
    text: &str,
    year: Option<i32>,
    meeting: Option<NaiveDate>,
    create: bool,
) {
    if APPROVAL.is_match(text) {
        return;
    }
    let time = dates::find_time(text, false);
    let place = VIDEO.find(text).map(|m| capitalise_word(m.as_str()));
    for found in dates::find_dates(text, year) {
        let date = dates::after_meeting(&found, meeting);
        if Some(date) == meeting {
            continue;
        }
        if let Some(existing) = out.iter_mut().find(|m| m.date == Some(date)) {
            if existing.place.is_none() {
                existing.place = place.clone();
            }
            if existing.start.is_none()
                && let Some(t) = &time
            {
                existing.start = Some(t.start);
                existing.end = t.end;
            }
            continue;
        }
        let _ = create;
        out.push(NextMeeting {
            date: Some(date),
            start: time.as_ref().map(|t| t.start),
            end: time.as_ref().and_then(|t| t.end),
            place: place.clone(),
        });
    }
}

fn capitalise_word(s: &str) -> String {
    let lower = s.to_lowercase();
    let mut c = lower.chars();
    c.next()
        .map(|f| f.to_uppercase().chain(c).collect())
        .unwrap_or_default()
}

/// "Titti Andersson" out of "Titti Andersson, förbundssekreterare".
fn leading_name(text: &str) -> Option<String> {
    let first = text.split([',', '\t', '(', '\n']).next()?.trim();
    let words: Vec<&str> = first.split_whitespace().collect();
    (1..=words.len().min(4))
        .rev()
        .map(|n| words[..n].join(" "))
        .find(|cand| people::is_name(cand) && cand.contains(' '))
}

fn role_holder(people: &[Person], roles: &[&str]) -> Option<String> {
    people
        .iter()
        .find(|p| {
            p.role
                .as_deref()
                .is_some_and(|r| roles.iter().any(|x| r.to_lowercase().contains(x)))
        })
        .map(|p| p.name.clone())
}

/// A line without its document-kind words: "Minutes of the Finance Committee" is
/// (true, "Finance Committee"); "Notice of meeting and agenda" is (true, "").
fn strip_kind(text: &str) -> (bool, String) {
    let mut had_kind = false;
    let mut t = text.trim().to_string();
    while let Some(m) = KIND_WORDS.find(&t) {
        had_kind = true;
        t = t[m.end()..].to_string();
        let skip = CONNECTOR.find(&t).map_or(0, |c| c.end());
        t = t[skip..].to_string();
    }
    (had_kind, t)
}

fn capitalise(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// The meeting body or series: what a "Minutes of ..." line names, else the first opening
/// line that is not a date or time, else the kind line itself ("Anteckningar").
fn title(lines: &[Line], region: &[usize]) -> Option<String> {
    let mut kind_rest = None;
    let mut plain = None;
    let mut fallback = None;
    for &i in region {
        let text = lines[i].text.trim();
        let (had_kind, mut t) = strip_kind(text);
        for found in dates::find_dates(&t.clone(), None).into_iter().rev() {
            t.replace_range(found.span, "");
        }
        let t = t
            .trim()
            .trim_matches(['–', '-', ':', ',', ' ', '—', '|'])
            .trim();
        let usable =
            !t.is_empty() && t.chars().count() <= 100 && t.chars().any(char::is_alphabetic);
        // "Minutes of the meeting held on ...", "Protokoll från styrelsemöte": no name.
        let usable_rest = usable
            && !WEEKDAY_START.is_match(t)
            && dates::find_time(t, false).is_none()
            && !GENERIC_MEETING.is_match(t);
        if had_kind {
            if usable_rest && kind_rest.is_none() {
                kind_rest = Some(capitalise(t));
            }
            fallback.get_or_insert_with(|| text.to_string());
        } else if usable
            && plain.is_none()
            && dates::find_time(text, false).is_none()
            && !WEEKDAY_START.is_match(text)
            && !looks_like_place(text)
        {
            plain = Some(capitalise(t));
        }
    }
    kind_rest.or(plain).or(fallback)
}

/// The words language() counts (as language_of_lowercase() matches them).
#[cfg(test)]
const LANGUAGE_SV: &[&str] = &[
    "och", "att", "det", "som", "är", "för", "med", "på", "till", "av", "inte", "om", "har", "en",
    "ett",
];
#[cfg(test)]
const LANGUAGE_EN: &[&str] = &[
    "the", "and", "to", "of", "is", "for", "with", "on", "will", "be", "that", "are", "was", "a",
    "an",
];

/// Which list a word is in, lowercased as `str::to_lowercase` does: ASCII on the stack.
fn language_word(word: &str, ascii: bool) -> Option<Language> {
    // Lowercasing never makes a word shorter in characters: longer words are in no list
    // (their words have at most four characters, eight bytes).
    if ascii {
        let mut buf = [0u8; 4];
        let lower = buf.get_mut(..word.len())?;
        lower.copy_from_slice(word.as_bytes());
        lower.make_ascii_lowercase();
        language_of_lowercase(lower)
    } else if word.len() <= 16 && word.chars().nth(4).is_none() {
        language_of_lowercase(word.to_lowercase().as_bytes())
    } else {
        None
    }
}

fn language_of_lowercase(word: &[u8]) -> Option<Language> {
    // LANGUAGE_SV and LANGUAGE_EN, as a match (tests check they agree); "är", "för", "på"
    // in UTF-8.
    match word {
        b"och" | b"att" | b"det" | b"som" | b"\xc3\xa4r" | b"f\xc3\xb6r" | b"med"
        | b"p\xc3\xa5" | b"till" | b"av" | b"inte" | b"om" | b"har" | b"en" | b"ett" => {
            Some(Language::Sv)
        }
        b"the" | b"and" | b"to" | b"of" | b"is" | b"for" | b"with" | b"on" | b"will" | b"be"
        | b"that" | b"are" | b"was" | b"a" | b"an" => Some(Language::En),
        _ => None,
    }
}

fn language(text: &str) -> Language {
    let (mut sv, mut en) = (0, 0);
    // The first 5000 pieces of `text.split(|c: char| !c.is_alphabetic())`: each run of
    // alphabetic characters up to the next other character, ASCII read byte by byte. (Empty
    // pieces count towards the 5000; a last empty piece after a final separator is in no list
    // and ends the text, so it is not looked at.)
    let bytes = text.as_bytes();
    let (mut pieces, mut i) = (0, 0);
    while i < bytes.len() && pieces < 5000 {
        let start = i;
        let mut ascii = true;
        let mut separator = 0;
        while let Some(&b) = bytes.get(i) {
            if b.is_ascii_alphabetic() {
                i += 1;
            } else if b.is_ascii() {
                separator = 1;
                break;
            } else {
                let c = text[i..].chars().next().unwrap_or_default();
                if !c.is_alphabetic() {
                    separator = c.len_utf8();
                    break;
                }
                ascii = false;
                i += c.len_utf8();
            }
        }
        if i > start {
            match language_word(&text[start..i], ascii) {
                Some(Language::Sv) => sv += 1,
                Some(Language::En) => en += 1,
                None => {}
            }
        }
        pieces += 1;
        i += separator;
    }
    if en > sv { Language::En } else { Language::Sv }
}

fn kind(
    lines: &[Line],
    title_lines: &[usize],
    attendees: &[Person],
    agenda: &[AgendaItem],
    approvers: &[String],
) -> Kind {
    const MINUTES: &[&str] = &[
        "protokoll",
        "anteckningar",
        "minutes",
        "notes",
        "minnesanteckningar",
        "mötesanteckningar",
    ];
    const AGENDA: &[&str] = &[
        "kallelse",
        "dagordning",
        "föredragningslista",
        "agenda",
        "notice",
    ];
    for &i in title_lines {
        let t = lines[i].text.to_lowercase();
        if MINUTES.iter().any(|w| t.contains(w)) {
            return Kind::Minutes;
        }
        if AGENDA.iter().any(|w| t.contains(w)) {
            return Kind::Agenda;
        }
    }
    if !approvers.is_empty() || !attendees.is_empty() {
        Kind::Minutes
    } else if !agenda.is_empty() {
        Kind::Agenda
    } else {
        Kind::Other
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn language_words_are_short() {
        let longest = |words: &[&str]| words.iter().map(|w| w.chars().count()).max();
        assert!(longest(LANGUAGE_SV) <= Some(4) && longest(LANGUAGE_EN) <= Some(4));
        assert!(!LANGUAGE_SV.iter().any(|w| LANGUAGE_EN.contains(w)));
        for w in LANGUAGE_SV {
            assert_eq!(
                language_of_lowercase(w.as_bytes()),
                Some(Language::Sv),
                "{w}"
            );
        }
        for w in LANGUAGE_EN {
            assert_eq!(
                language_of_lowercase(w.as_bytes()),
                Some(Language::En),
                "{w}"
            );
        }
        for w in [
            "ÄR", "För", "PÅ", "İs", "\u{212a}", "ΣΑ", "TILL", "tills", "x",
        ] {
            let lower = w.to_lowercase();
            let listed =
                LANGUAGE_SV.contains(&lower.as_str()) || LANGUAGE_EN.contains(&lower.as_str());
            assert_eq!(language_word(w, w.is_ascii()).is_some(), listed, "{w}");
        }
        assert_eq!(language("Vi ÄR inte HÄR för att"), Language::Sv);
        assert_eq!(language("THE board WILL be there"), Language::En);
        // As the words of `split(not alphabetic)` are counted, the first 5000 pieces only.
        let by_split = |text: &str| {
            let (mut sv, mut en) = (0, 0);
            for word in text.split(|c: char| !c.is_alphabetic()).take(5000) {
                let w = word.to_lowercase();
                sv += usize::from(LANGUAGE_SV.contains(&w.as_str()));
                en += usize::from(LANGUAGE_EN.contains(&w.as_str()));
            }
            if en > sv { Language::En } else { Language::Sv }
        };
        for commas in [4998, 4999, 5000, 5001] {
            let text = format!("{}THE and tO ÄR", ",".repeat(commas));
            assert_eq!(language(&text), by_split(&text), "{commas}");
        }
        for text in [
            "",
            "the",
            "och the",
            "ÅR är",
            "İs the",
            "\u{212a}",
            "a😀an😀är",
        ] {
            assert_eq!(language(text), by_split(text), "{text:?}");
        }
        const PIECES: &[&str] = &[
            "the", "THE", "och", "ÄR", "är", "på", "an", "a", " ", ",", "\n", "😀", "ß", "İ", "Σ",
            "\u{301}", "1", "inte", "with", "tills", "ﬁ",
        ];
        let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
        for _ in 0..2000 {
            let mut text = String::new();
            for _ in 0..(seed % 40) {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                text.push_str(PIECES[(seed % PIECES.len() as u64) as usize]);
            }
            assert_eq!(language(&text), by_split(&text), "{text:?}");
        }
    }

    #[test]
    fn odd_input_never_panics() {
        let ctx = Context::default();
        for text in [
            "".to_string(),
            "   \n\t\n".to_string(),
            "§".to_string(),
            "x".repeat(1_000_000),
            "Närvarande:\n\nJusteras av:\n§ 1\n1)\nDatum:".to_string(),
            "ÅÄÖ 😀 \u{202e} 31/02 99.99-88.88 kl 25".to_string(),
        ] {
            let _ = extract(&text, &ctx);
        }
    }

    #[test]
    fn random_text_never_panics() {
        // Deterministic pseudo-random documents from pieces secretaries write.
        const PIECES: &[&str] = &[
            "§",
            " ",
            "\n",
            "\t",
            "1.",
            "2)",
            "Närvarande:",
            "Justeras av:",
            "Datum:",
            "kl.",
            "13.15–16",
            "29 augusti",
            "21/10",
            "2024-02-30",
            "Åtgärder:",
            "ACTION:",
            "Anna Berg",
            ", ",
            " och ",
            "(",
            ")",
            "ÅÄÖ",
            "😀",
            "\u{202e}",
            "återkommer",
            "will send",
            "Nästa möte",
            ".....",
            "<b>",
            "**",
            "#",
            "Vem\tVad\tNär",
            "Underskrifter",
            "pm",
        ];
        let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
        let ctx = Context {
            fallback_date: NaiveDate::from_ymd_opt(2025, 1, 1),
        };
        for _ in 0..300 {
            let mut text = String::new();
            for _ in 0..60 {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                text.push_str(PIECES[(seed % PIECES.len() as u64) as usize]);
            }
            let m = extract(&text, &ctx);
            assert!(m.date.is_some());
        }
    }

    #[test]
    fn bounded_patterns_find_what_the_regexes_find() {
        const PIECES: &[&str] = &[
            "room",
            "Rum",
            "Storgatan",
            "salen",
            "hus",
            "town hall",
            "teams",
            "Zoom",
            "google meet",
            "beslutade att",
            "Mötet beslutar",
            "it was agreed",
            "decided to",
            "minnesanteckningar",
            "Protokoll",
            "fört vid",
            "the",
            "möte",
            "meeting",
            "med",
            "notes",
            "of",
            "denna",
            "förslaget",
            "the proposal",
            "held",
            "hålls",
            "den",
            "on",
            "måndag",
            "Sunday",
            " ",
            "x",
        ];
        for re in [
            &PLACE_WORDS,
            &DECISION,
            &VIDEO,
            &KIND_WORDS,
            &REFERS_BACK,
            &WEEKDAY_START,
        ] {
            pattern::assert_same_as_regex(re, PIECES);
        }
    }

    #[test]
    fn undated_document_takes_the_mail_date() {
        let ctx = Context {
            fallback_date: NaiveDate::from_ymd_opt(2026, 11, 2),
        };
        let m = extract("Anteckningar\n\nNÄRVARANDE\n\nAnna Berg, Ale\n", &ctx);
        assert_eq!(m.date, ctx.fallback_date);
        assert!(m.date_from_mail);
        assert_eq!(m.kind, Kind::Minutes);
        assert_eq!(m.attendees[0].name, "Anna Berg");
    }

    #[test]
    fn pdf_text_without_blank_lines() {
        let text = "Minnesanteckningar från möte i Nätverket för skolchefer\nDatum: 21 oktober 2022\nTid: kl 13-15\nDeltagare: Anna Ek, Bo Berg,\nCarl Dahl och Dan Falk\nFrånvarande: Eva Lund\n1) Inledning\nAnna Ek hälsade välkommen.\n2) Skolskjutsar\nCarl Dahl skickar ut underlaget till alla kommuner senast\n2022-11-01.\n";
        let m = extract(text, &Context::default());
        assert_eq!(m.title.as_deref(), Some("Nätverket för skolchefer"));
        assert_eq!(m.attendees.len(), 4);
        assert_eq!(m.absent.len(), 1);
        assert_eq!(m.agenda_items.len(), 2);
        assert_eq!(m.actions.len(), 1);
        assert_eq!(m.actions[0].due, NaiveDate::from_ymd_opt(2022, 11, 1));
    }

    #[test]
    fn signing_block_with_roles_before_names() {
        let text = "Protokoll\nSocialnämnden\n\nSammanträdesdatum\t2025-02-04\nUtses att justera\tNils Åberg\nJusteringens plats och tid\tSocialkontoret 2025-02-10\nUnderskrifter\tSekreterare\t\tParagrafer\t12-15\n\tOla Nyberg\n\tOrdförande\n\tKarin Holm\n\tJusterande\n\tNils Åberg\n";
        let m = extract(text, &Context::default());
        assert_eq!(m.secretary.as_deref(), Some("Ola Nyberg"));
        assert_eq!(m.chair.as_deref(), Some("Karin Holm"));
        assert_eq!(m.approvers, ["Nils Åberg", "Karin Holm"]);
        assert_eq!(m.approval_due, NaiveDate::from_ymd_opt(2025, 2, 10));
    }

    #[test]
    fn unlabelled_agenda_table_and_place() {
        let text = "Regional Transport Partnership\nNotice of meeting and agenda\n\nMonday 16 September 2024, 9:00-12:00\nConference Room B, 14 High Street\n\nItem\tTopic\tLead\tTime\n1\tWelcome\tChair\t9:00\n2\tBus network review\tSam Patel\t9:20\n";
        let m = extract(text, &Context::default());
        assert_eq!(m.kind, Kind::Agenda);
        assert_eq!(m.title.as_deref(), Some("Regional Transport Partnership"));
        assert_eq!(
            m.place.as_deref(),
            Some("Conference Room B, 14 High Street")
        );
        assert_eq!(m.agenda_items.len(), 2);
        assert_eq!(m.agenda_items[1].responsible.as_deref(), Some("Sam Patel"));
    }

    #[test]
    fn titles_and_places_in_the_opening_lines() {
        let m = extract(
            "Harbour Council\n\nMinutes of the Finance Committee\nHeld on May 2, 2019 at 6.00 pm at the Riverside Centre\n",
            &Context::default(),
        );
        assert_eq!(m.title.as_deref(), Some("Finance Committee"));
        assert_eq!(m.place.as_deref(), Some("Riverside Centre"));
        assert_eq!(m.start, NaiveTime::from_hms_opt(18, 0, 0));
        let (had, rest) = strip_kind("Notice of meeting and agenda");
        assert!(had && rest.is_empty());
        assert_eq!(
            strip_kind("Protokoll fört vid sammanträde med Kommunstyrelsen").1,
            "Kommunstyrelsen"
        );
    }

    #[test]
    fn action_tables_and_next_meeting_dues() {
        let text = "Minutes\nDate: 11 February 2025\n\nActions\nAction\tOwner\tDue\nShare the pack\tRachel Moore\t18 February\nUpdate the list\tTom Becker\tnext meeting\n\nNext meetings\n- 11 March 2025\n- 8 April 2025\n";
        let m = extract(text, &Context::default());
        assert_eq!(m.actions.len(), 2);
        assert_eq!(m.actions[0].owner.as_deref(), Some("Rachel Moore"));
        assert_eq!(m.actions[0].due, NaiveDate::from_ymd_opt(2025, 2, 18));
        assert_eq!(m.actions[1].due, NaiveDate::from_ymd_opt(2025, 3, 11));
        assert_eq!(m.next_meetings.len(), 2);
    }

    #[test]
    fn swedish_next_meetings_with_a_qualified_label() {
        let text = "Anteckningar\nDatum: 2022-10-21\n\nMötestider våren 2023: 26 januari, 23 mars och 25 maj, kl. 13.00–15.00.\n";
        let m = extract(text, &Context::default());
        let dates: Vec<_> = m.next_meetings.iter().filter_map(|n| n.date).collect();
        assert_eq!(
            dates,
            [
                NaiveDate::from_ymd_opt(2023, 1, 26).unwrap(),
                NaiveDate::from_ymd_opt(2023, 3, 23).unwrap(),
                NaiveDate::from_ymd_opt(2023, 5, 25).unwrap()
            ]
        );
        assert!(
            m.next_meetings
                .iter()
                .all(|n| n.end == NaiveTime::from_hms_opt(15, 0, 0))
        );
        assert!(m.actions.is_empty());
    }

    #[test]
    fn english_notice() {
        let text = "Notice of meeting: Finance Committee\n\nDate: Monday 2 March 2026\nTime: 1.30 pm - 3 pm\nLocation: Room 4, Town Hall\n\nAgenda\n1. Welcome\n2. Budget\n\nApologies: Anna Berg, Bo Ek\n\nACTION: Carl Dahl to circulate the budget by 25 March.\n\nNext meeting: 6 April 2026 at 1.30 pm.";
        let m = extract(text, &Context::default());
        assert_eq!(m.language, Language::En);
        assert_eq!(m.kind, Kind::Agenda);
        assert_eq!(m.title.as_deref(), Some("Finance Committee"));
        assert_eq!(m.date, NaiveDate::from_ymd_opt(2026, 3, 2));
        assert_eq!(m.start, NaiveTime::from_hms_opt(13, 30, 0));
        assert_eq!(m.end, NaiveTime::from_hms_opt(15, 0, 0));
        assert_eq!(m.place.as_deref(), Some("Room 4, Town Hall"));
        assert_eq!(m.agenda_items.len(), 2);
        assert_eq!(m.absent.len(), 2);
        assert_eq!(m.actions[0].owner.as_deref(), Some("Carl Dahl"));
        assert_eq!(m.actions[0].due, NaiveDate::from_ymd_opt(2026, 3, 25));
        assert_eq!(m.next_meetings[0].date, NaiveDate::from_ymd_opt(2026, 4, 6));
    }
}
