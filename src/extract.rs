//! Understanding a meeting document's text: what meeting it is about, who was there, what was
//! decided, who is to do what, and when the body meets next.
//!
//! The text (from any format; table rows arrive as TAB-separated cells) is cut into lines
//! ([`text`]), and lines are read by what introduces them rather than by where they stand:
//! labels from a vocabulary of how Swedish and English secretaries head things ("Plats:",
//! "Närvarande", "Justeras av", "Apologies"), numbered headings ("3.", "3)", "§ 8"), and tables
//! recognised by their header row. People lists come in several layouts ([`people`]); dates and
//! times in the forms people write them, a year-less date taking the meeting's year
//! ([`dates`]); actions from explicit sections and from commitments in prose ([`actions`]);
//! agenda items from agenda tables, tables of contents and headings, each item once
//! ([`agenda`]). Nothing here names a particular body, person or document.

use std::collections::HashSet;
use std::sync::LazyLock;

use chrono::{Datelike, NaiveDate, NaiveTime};
use regex::Regex;
use serde::{Serialize, Serializer};

mod actions;
mod agenda;
pub mod dates;
mod people;
mod text;

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
    /// Lines consumed by a labelled section (people, agenda, actions): not prose.
    consumed: Vec<bool>,
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
    decisions: Vec<Decision>,
    next_texts: Vec<String>,
}

/// A heading-like numbered line: short, not a sentence, standing on its own.
fn is_heading(lines: &[Line], i: usize) -> bool {
    let line = &lines[i];
    if line.cells.len() > 1 || without_dot_leader(&line.text).is_some() {
        return false;
    }
    let Some((_, title)) = numbered(&line.text) else {
        return false;
    };
    let standalone = i == 0 || lines[i - 1].is_blank() || line.heading;
    standalone && title.chars().count() <= 150 && !title.ends_with('.') && !title.ends_with(',')
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
            consumed: vec![false; lines.len()],
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
            decisions: Vec::new(),
            next_texts: Vec::new(),
        }
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
            let label = split_label(line).map(|(l, _)| l);
            if label.is_some() || is_heading(self.lines, i) || line.heading {
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
            .filter(|&i| split_label(&self.lines[i]).is_none() && !is_heading(self.lines, i))
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
            let Some((label, value)) = split_label(line) else {
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
                        self.chair.get_or_insert(name);
                    }
                    i = next;
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
                    for j in range.clone() {
                        self.consumed[j] = true;
                        let l = &self.lines[j];
                        if !l.is_blank() {
                            self.action_items.push((l.cells.join(" "), strong));
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
            if split_label(line).is_some() || line.heading {
                break;
            }
            let is_item = line.cells.len() > 1
                || numbered(&line.text).is_some()
                || line.text.starts_with(['-', '•']);
            if is_item {
                items += 1;
                end = i + 1;
            } else if items > 0 || is_heading(self.lines, i) {
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

    /// "Justeras av: Eva Berg Sekreterare Bo Ek Ordförande Lo Al Justerare", or names one per
    /// line: approvers are the justerare and the signing chair; a signing secretary is noted.
    fn read_signatures(&mut self, text: &str) {
        let mut signed: Vec<(String, Option<String>)> = Vec::new();
        let mut name: Vec<&str> = Vec::new();
        for token in text.split_whitespace() {
            let role = token.trim_end_matches([',', ':']).to_lowercase();
            if ROLE_WORDS.contains(&role.as_str()) {
                if !name.is_empty() {
                    signed.push((name.join(" "), Some(role)));
                    name.clear();
                }
            } else {
                name.push(token);
            }
        }
        if !name.is_empty() {
            for line in name.join(" ").split('\n') {
                for p in people::parse_run(line, &self.known_orgs) {
                    signed.push((p.name, None));
                }
            }
            if signed.is_empty() {
                let rest = name.join(" ");
                if let Some(n) = leading_name(&rest) {
                    signed.push((n, None));
                }
            }
        }
        for (name, role) in signed {
            let name = name.trim_matches([',', '.', ' ']).to_string();
            if !people::is_name(&name) {
                continue;
            }
            match role.as_deref() {
                Some("sekreterare" | "secretary") => {
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
        let date_from_mail = self.date.is_none() && ctx.fallback_date.is_some();
        let date = self.date.or(ctx.fallback_date);

        // Numbered headings: agenda items, and the bodies under them.
        let mut headings = Vec::new();
        let mut bodies: Vec<(String, Vec<usize>)> = Vec::new();
        for i in 0..self.lines.len() {
            if self.consumed[i] {
                continue;
            }
            if is_heading(self.lines, i) {
                let (n, t) = numbered(&self.lines[i].text).unwrap_or_default();
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
        for line in self.lines {
            for sentence in sentences(&line.text) {
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
        };
        let mut found_actions = Vec::new();
        for (item, strong) in &self.action_items {
            if let Some(a) = actions::from_item(item, &action_ctx, *strong) {
                found_actions.push(a);
            }
        }
        for (i, line) in self.lines.iter().enumerate() {
            if let Some(rest) = actions::prefixed(&line.text) {
                found_actions.extend(actions::from_item(rest, &action_ctx, true));
                continue;
            }
            if self.consumed[i] || line.is_blank() || split_label(line).is_some() {
                continue;
            }
            for sentence in sentences(&line.text) {
                if let Some(a) = actions::from_sentence(sentence, &action_ctx) {
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
        let secretary = self
            .secretary
            .clone()
            .or_else(|| role_holder(&self.attendees, &["sekreterare", "secretary"]));
        let chair = self
            .chair
            .clone()
            .or_else(|| role_holder(&self.attendees, &["ordförande", "chair"]));
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

    /// The opening lines before the first label, heading or list: where the title and often
    /// the date stand.
    fn title_region(&self) -> Vec<usize> {
        let mut out = Vec::new();
        for (i, line) in self.lines.iter().enumerate() {
            if line.is_blank() {
                continue;
            }
            if out.len() >= 5
                || split_label(line).is_some()
                || is_heading(self.lines, i)
                || line.cells.len() > 1
                || is_prose(line)
            {
                break;
            }
            out.push(i);
        }
        out
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
];

static WEEKDAY: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\b(måndag|tisdag|onsdag|torsdag|fredag|lördag|söndag|monday|tuesday|wednesday|thursday|friday|saturday|sunday)(en)?\b,?|\bden\b|\bkl\.?(\s|$)")
        .unwrap()
});
static NEXT_MEETING: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)nästa (möte|träff|sammanträde)|kommande (möte|sammanträde)|mötestider|next meeting|future meetings|upcoming meetings")
        .unwrap()
});
static DECISION: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\b(beslutade[s]? att|beslutar att|beslöt att|beslutas att|mötet beslutar|resolved that|it was agreed|decided to|decided that)\b")
        .unwrap()
});
static VIDEO: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?i)\b(teams|zoom|google meet|skype|webex)\b").unwrap());
static KIND_WORDS: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)^(?:(?:mötes|minnes)?anteckningar|(?:mötes)?protokoll|kallelse|dagordning|föredragningslista|meeting notes|minutes|notes|agenda|notice)(?:\s+(?:från mötet med|från|för|till|vid|över|of the meeting of|of the meeting|of meeting|of the|of|for))?\b")
        .unwrap()
});

fn add_next_meetings(
    out: &mut Vec<NextMeeting>,
    text: &str,
    year: Option<i32>,
    meeting: Option<NaiveDate>,
    create: bool,
) {
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

fn title(lines: &[Line], region: &[usize]) -> Option<String> {
    let mut fallback = None;
    for &i in region {
        let text = lines[i].text.trim();
        let had_kind = KIND_WORDS.is_match(text);
        let mut t = KIND_WORDS.replace(text, "").into_owned();
        for found in dates::find_dates(&t.clone(), None).into_iter().rev() {
            t.replace_range(found.span, "");
        }
        let t = t.trim().trim_matches(['–', '-', ':', ',', ' ', '—']).trim();
        if !t.is_empty() && t.chars().count() <= 100 {
            let mut chars = t.chars();
            let first = chars.next().unwrap();
            return Some(first.to_uppercase().chain(chars).collect());
        }
        if had_kind && fallback.is_none() {
            fallback = Some(text.to_string());
        }
    }
    fallback
}

fn language(text: &str) -> Language {
    const SV: &[&str] = &[
        "och", "att", "det", "som", "är", "för", "med", "på", "till", "av", "inte", "om", "har",
        "en", "ett",
    ];
    const EN: &[&str] = &[
        "the", "and", "to", "of", "is", "for", "with", "on", "will", "be", "that", "are", "was",
        "a", "an",
    ];
    let (mut sv, mut en) = (0, 0);
    for word in text.split(|c: char| !c.is_alphabetic()).take(5000) {
        let w = word.to_lowercase();
        if SV.contains(&w.as_str()) {
            sv += 1;
        }
        if EN.contains(&w.as_str()) {
            en += 1;
        }
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
