//! Actions: the items of an explicit section ("Åtgärder", "Action items", "ACTION:"), and clear
//! commitments in prose: a person or group, then a verb of commitment ("X återkommer med",
//! "X skickar ut", "X uppdras att", "X ska ta fram", "X will send"). Discussion ("X informerar",
//! "vi behöver fortsätta") is not an action. A date in the same sentence is the due date.

use std::cell::OnceCell;
use std::collections::HashSet;
use std::sync::LazyLock;

use chrono::{Datelike, NaiveDate};
use regex::Regex;

use super::Action;
use super::dates::{after_meeting, find_dates};
use super::pattern::Bounded;
use super::people::is_name;

/// What actions are resolved against: the meeting's date and the people it names.
pub struct Context {
    pub meeting_date: Option<NaiveDate>,
    /// Full names of everyone the document lists.
    pub people: Vec<String>,
    /// The date of the next meeting, for "before the next meeting".
    pub next_meeting: Option<NaiveDate>,
}

impl Context {
    fn first_names(&self) -> HashSet<String> {
        self.people
            .iter()
            .filter_map(|p| p.split_whitespace().next())
            .map(str::to_lowercase)
            .collect()
    }

    /// "Sara" is Sara Herrman when she is the only Sara the document lists.
    pub fn resolve(&self, owner: &str) -> String {
        let parts: Vec<String> = owner
            .split(" och ")
            .map(|part| {
                let part = part.trim();
                if part.contains(' ') {
                    return part.to_string();
                }
                let matches: Vec<&String> = self
                    .people
                    .iter()
                    .filter(|p| p.split_whitespace().next() == Some(part))
                    .collect();
                match matches.as_slice() {
                    [one] => (*one).clone(),
                    _ => part.to_string(),
                }
            })
            .collect();
        parts.join(" och ")
    }
}

/// Verbs that commit the subject to do something, Swedish and English.
static COMMITMENT: LazyLock<Regex> = LazyLock::new(|| {
    let present = "återkommer|skickar(?: ut)?|mailar(?: ut)?|mejlar(?: ut)?|tar fram|kallar(?: till)?|stämmer av|sammanställer|bjuder in|kontaktar|undersöker|utreder|bereder|återrapporterar|ser över|bokar|förbereder|pratar vidare|jobbar vidare|arbetar vidare|diskuterar vidare|tittar vidare|uppdras att|uppmanas att|får i uppdrag att|ges i uppdrag att|åtar sig att|tar på sig att|lovar att|ansvarar för att";
    let infinitive = "återkomma|återkommer|skicka(?: ut)?|maila|mejla|ta fram|kalla(?: till)?|stämma av|sammanställa|bjuda in|kontakta|undersöka|utreda|bereda|återrapportera|se över|boka|förbereda|lämna|föra en dialog|titta på|ta upp";
    let english = "will (?:send|circulate|prepare|draft|contact|follow up|report|arrange|book|check|review|update|share|organi[sz]e|set up|invite|look into|investigate|come back|write|present|provide|distribute)|agreed to|(?:is|was|were|are) asked to|(?:is|was) tasked with|volunteered to|to (?:send|circulate|prepare|draft|contact|follow up|arrange|book|review|update|share|organi[sz]e|set up|invite|look into|investigate)";
    Regex::new(&format!(
        // Word boundaries spelled out: Unicode `\b` keeps the fast engines off Swedish text.
        r"(?i)(?:^|[^\p{{L}}\p{{N}}_])((?:ska|skall|behöver|bör|måste)\s+(?:också\s+|även\s+|gärna\s+)?(?:{infinitive})|{present}|{english})(?:$|[^\p{{L}}\p{{N}}_])"
    ))
    .unwrap()
});

/// Verbs after which the owner must be a person: "E-rådet ansvarar för att ..." describes a
/// mandate, "Anna ansvarar för att ..." assigns a task.
const PERSON_ONLY: &[&str] = &["ansvarar för att"];

const PRONOUNS: &[&str] = &[
    "han", "hon", "vi", "man", "de", "dom", "jag", "ni", "det", "den", "detta", "denna", "dessa",
    "he", "she", "we", "they", "i", "it", "this", "you", "someone", "någon",
];

const GROUP_SUFFIXES: &[&str] = &[
    "erna",
    "arna",
    "orna",
    "gruppen",
    "nätverket",
    "rådet",
    "styrelsen",
    "förbundet",
    "nämnden",
    "kontoret",
    "ledningen",
    "kansliet",
    "regionen",
    "kommunen",
    "länsstyrelsen",
    "sekretariatet",
    "presidiet",
    "utskottet",
    "sekreteraren",
    "ordföranden",
    "samordnaren",
    "enheten",
    "förvaltningen",
    "team",
    "group",
    "committee",
    "board",
    "secretariat",
    "chair",
    "secretary",
    "region",
    "länsstyrelse",
    "kommun",
    "landsting",
    "styrelse",
    "nämnd",
    "förbund",
];

const DETERMINERS: &[&str] = &[
    "varje",
    "alla",
    "samtliga",
    "respektive",
    "each",
    "every",
    "all",
];

/// Whether `subject` can own an action, and in what form.
fn owner(subject: &str, ctx: &Context, person_only: bool) -> Option<String> {
    let subject = subject
        .trim()
        .trim_start_matches(['-', '–', '•', '*'])
        .trim();
    let words: Vec<&str> = subject.split_whitespace().collect();
    if words.is_empty() || words.len() > 7 {
        return None;
    }
    let lower = subject.to_lowercase();
    if PRONOUNS.contains(&lower.as_str()) {
        return None;
    }
    // Built only when a one-word name needs it.
    let first_names = OnceCell::new();
    let is_person = |part: &str| {
        let part = part.trim();
        (is_name(part) && part.contains(' '))
            || (is_name(part)
                && first_names
                    .get_or_init(|| ctx.first_names())
                    .contains(&part.to_lowercase()))
    };
    let parts: Vec<&str> = subject
        .split(" och ")
        .flat_map(|p| p.split(" and "))
        .collect();
    if parts.iter().all(|p| is_person(p)) {
        return Some(ctx.resolve(subject));
    }
    if person_only {
        return None;
    }
    let is_group = |part: &str| {
        let p = part.trim().to_lowercase();
        let last = p.split_whitespace().last().unwrap_or("");
        (GROUP_SUFFIXES.iter().any(|s| last.ends_with(s)) && part.split_whitespace().count() <= 3)
            || (is_name(part.trim()) && part.trim().contains(' '))
    };
    if parts.iter().all(|p| is_group(p) || is_person(p)) {
        return Some(capitalise(subject));
    }
    if DETERMINERS.contains(&words[0].to_lowercase().as_str()) && words.len() <= 5 {
        return Some(capitalise(subject));
    }
    None
}

fn capitalise(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(c) => c.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// "till nästa möte", "before the next meeting": due when the body next meets.
static NEXT_REF: LazyLock<Bounded> = LazyLock::new(|| {
    Bounded::new(
        r"(?i)\b(?:till|inför|före|innan|senast|vid|på|by|before|until|for|at|ahead of|prior to)\s+(?:the\s+)?(?:nästa|next|kommande)\s+(?:möte|mötet|meeting|sammanträde|sammanträdet|träff|träffen)\b",
    )
});

/// The due date: a date in the action's own words, resolved from the meeting's date, or the
/// next meeting's date when the action is due by then.
fn due(text: &str, ctx: &Context) -> Option<NaiveDate> {
    let year = ctx.meeting_date.map(|d| d.year());
    find_dates(text, year)
        .first()
        .map(|f| after_meeting(f, ctx.meeting_date))
        .or_else(|| ctx.next_meeting.filter(|_| NEXT_REF.is_match(text)))
}

fn tidy(text: &str) -> String {
    text.trim()
        .trim_end_matches(['.', ';', ','])
        .trim()
        .to_string()
}

/// Commitments in one sentence of prose.
pub fn from_sentence(sentence: &str, ctx: &Context) -> Option<Action> {
    // is_match() first: captures() allocates even when there is no match.
    if !COMMITMENT.is_match(sentence) {
        return None;
    }
    let m = COMMITMENT.captures(sentence)?.get(1)?;
    let before = &sentence[..m.start()];
    // The subject runs back to the start of its clause.
    let clause_start = ["–", " - ", ":", ", ", " att ", "; "]
        .iter()
        .filter_map(|b| before.rfind(b).map(|p| p + b.len()))
        .max()
        .unwrap_or(0);
    let subject = before[clause_start..].trim();
    let person_only = PERSON_ONLY
        .iter()
        .any(|v| m.as_str().eq_ignore_ascii_case(v));
    let owner = owner(subject, ctx, person_only)?;
    let text = tidy(&sentence[m.start()..]);
    Some(Action {
        owner: Some(owner),
        due: due(&text, ctx),
        text,
    })
}

/// The columns of an action table, from its header row ("Vem | Vad | När").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Columns {
    owner: Option<usize>,
    text: usize,
    due: Option<usize>,
}

const OWNER_HEADERS: &[&str] = &[
    "vem",
    "who",
    "ansvarig",
    "ansvariga",
    "ansvar",
    "owner",
    "action owner",
    "responsible",
    "by whom",
    "utförare",
];
const TEXT_HEADERS: &[&str] = &[
    "vad",
    "what",
    "åtgärd",
    "åtgärder",
    "action",
    "actions",
    "action item",
    "uppgift",
    "task",
    "aktivitet",
    "att göra",
    "uppdrag",
];
const DUE_HEADERS: &[&str] = &[
    "när",
    "when",
    "klart",
    "klart till",
    "klart senast",
    "senast",
    "deadline",
    "due",
    "due date",
    "by when",
    "datum",
    "date",
    "tidpunkt",
];

fn header_cell(cells: &[String], names: &[&str]) -> Option<usize> {
    cells.iter().position(|c| {
        let c = c.trim().trim_end_matches([':', '?']).to_lowercase();
        names.contains(&c.as_str())
    })
}

/// An action table's header row: a "what" column and a "who" or "when" column.
pub fn header(cells: &[String]) -> Option<Columns> {
    if cells.len() < 2 {
        return None;
    }
    let text = header_cell(cells, TEXT_HEADERS)?;
    let owner = header_cell(cells, OWNER_HEADERS);
    let due = header_cell(cells, DUE_HEADERS);
    (owner.is_some() || due.is_some()).then_some(Columns { owner, text, due })
}

/// One row of an action table.
pub fn from_row(cells: &[String], cols: Columns, ctx: &Context) -> Option<Action> {
    let cell = |i: Option<usize>| {
        i.and_then(|i| cells.get(i))
            .map(|c| c.trim())
            .filter(|c| !c.is_empty())
    };
    let text = tidy(cell(Some(cols.text))?);
    if text.is_empty() {
        return None;
    }
    let owner = cell(cols.owner).map(|o| ctx.resolve(o));
    let year = ctx.meeting_date.map(|d| d.year());
    let due_date = cell(cols.due)
        .and_then(|d| find_dates(d, year).into_iter().next())
        .map(|f| after_meeting(&f, ctx.meeting_date))
        .or_else(|| due(&text, ctx))
        .or_else(|| {
            cell(cols.due)
                .filter(|d| NEXT_REF.is_match(&format!("till {d}")) || NEXT_REF.is_match(d))
                .and(ctx.next_meeting)
        });
    Some(Action {
        owner,
        text,
        due: due_date,
    })
}

/// A row of an action section without a header: the cell that names a person or group is
/// the owner, a cell holding a date the due date, the longest other cell the task.
pub fn from_cells(cells: &[String], ctx: &Context) -> Option<Action> {
    let year = ctx.meeting_date.map(|d| d.year());
    let mut owner_col = None;
    let mut due_col = None;
    for (i, c) in cells.iter().enumerate() {
        let c = c.trim();
        if owner_col.is_none()
            && c.split_whitespace().count() <= 5
            && owner(c, ctx, false).is_some()
        {
            owner_col = Some(i);
        } else if due_col.is_none()
            && c.split_whitespace().count() <= 4
            && !find_dates(c, year).is_empty()
        {
            due_col = Some(i);
        }
    }
    let text_col = (0..cells.len())
        .filter(|&i| Some(i) != owner_col && Some(i) != due_col)
        .max_by_key(|&i| cells[i].chars().count())?;
    from_row(
        cells,
        Columns {
            owner: owner_col,
            text: text_col,
            due: due_col,
        },
        ctx,
    )
}

static ACTION_PREFIX: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?i)^\s*(?:action|åtgärd|att göra|todo|to do)\s*:\s*").unwrap());

/// "ACTION: Anna to send the report by 3 May" anywhere in the text.
pub fn prefixed(line: &str) -> Option<&str> {
    if !line.contains(':') {
        return None;
    }
    ACTION_PREFIX.find(line).map(|m| &line[m.end()..])
}

/// One item of an explicit action section: the owner is the leading person or group, or the
/// "Vem"/"Who" cell of a table row. Items of a weak section ("Aktiviteter") need an owner.
pub fn from_item(item: &str, ctx: &Context, strong: bool) -> Option<Action> {
    let item = item.trim().trim_start_matches(['-', '–', '•', '*']).trim();
    if item.is_empty() {
        return None;
    }
    if let Some(action) = from_sentence(item, ctx) {
        return Some(action);
    }
    // "Sara för en dialog med ...": the subject is the words before the first verb-like word.
    let words: Vec<&str> = item.split_whitespace().collect();
    for n in (1..=words.len().min(5)).rev() {
        let subject = words[..n].join(" ");
        if n < words.len()
            && let Some(owner) = owner(&subject, ctx, false)
        {
            let next = words[n].to_lowercase();
            if next == "och" || next.chars().next().is_some_and(|c| c.is_uppercase()) {
                continue;
            }
            let text = tidy(&words[n..].join(" "));
            return Some(Action {
                owner: Some(owner),
                due: due(&text, ctx),
                text,
            });
        }
    }
    strong.then(|| {
        let text = tidy(item);
        Action {
            owner: None,
            due: due(&text, ctx),
            text,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx() -> Context {
        Context {
            meeting_date: NaiveDate::from_ymd_opt(2020, 9, 10),
            people: vec!["Sara Herr".into(), "Johan Hög".into(), "Lena Teg".into()],
            next_meeting: NaiveDate::from_ymd_opt(2020, 10, 8),
        }
    }

    #[test]
    fn commitments_in_prose() {
        let c = ctx();
        let a = from_sentence(
            "Gunilla Glas återkommer till gruppen vid ett kommande tillfälle.",
            &c,
        )
        .unwrap();
        assert_eq!(a.owner.as_deref(), Some("Gunilla Glas"));
        assert!(a.text.starts_with("återkommer"));
        let a = from_sentence(
            "Kommunchefsnätverket uppdras att titta på möjliga områden.",
            &c,
        )
        .unwrap();
        assert_eq!(a.owner.as_deref(), Some("Kommunchefsnätverket"));
        let a = from_sentence(
            "man beslutade att Sara och Johan ska återkomma vid nästa möte",
            &c,
        )
        .unwrap();
        assert_eq!(a.owner.as_deref(), Some("Sara Herr och Johan Hög"));
        let a = from_sentence("Kommunerna behöver lämna besked till den 31 mars.", &c).unwrap();
        assert_eq!(a.due, NaiveDate::from_ymd_opt(2021, 3, 31));
        let a = from_sentence("Anna Berg will send the report by 15 October.", &c).unwrap();
        assert_eq!(a.owner.as_deref(), Some("Anna Berg"));
        assert_eq!(a.due, NaiveDate::from_ymd_opt(2020, 10, 15));
        let a = from_sentence(
            "Carl Dahl will contact the applicants before the next meeting.",
            &c,
        )
        .unwrap();
        assert_eq!(a.due, NaiveDate::from_ymd_opt(2020, 10, 8));
        let a = from_sentence("Anna Berg tar fram ett förslag till nästa möte.", &c).unwrap();
        assert_eq!(a.due, NaiveDate::from_ymd_opt(2020, 10, 8));
        let a = from_sentence("Anna Berg återkommer vid nätverkets nästa möte.", &c).unwrap();
        assert_eq!(a.due, None);
    }

    #[test]
    fn discussion_is_not_an_action() {
        let c = ctx();
        for s in [
            "Frågan återkommer vid kommande möte.",
            "Anna Berg informerar om läget.",
            "Kommunerna behöver fortsätta att göra det som de är bra på.",
            "Vi behöver forma avtalet på ett smart sätt.",
            "Han tar gärna emot inspel.",
            "E-rådet ansvarar för att initiera frågor.",
            "Förslaget är att kommunerna tillsammans tar fram ett underlag.",
        ] {
            assert!(from_sentence(s, &c).is_none(), "{s}");
        }
    }

    #[test]
    fn section_items() {
        let c = ctx();
        let a = from_item(
            "Sara för en dialog med Håkan och Lena inför mötet den 15 september.",
            &c,
            true,
        )
        .unwrap();
        assert_eq!(a.owner.as_deref(), Some("Sara Herr"));
        assert_eq!(a.due, NaiveDate::from_ymd_opt(2020, 9, 15));
        let a = from_item(
            "- Varje representant i rådet bör föra en dialog med ledningen.",
            &c,
            false,
        )
        .unwrap();
        assert_eq!(a.owner.as_deref(), Some("Varje representant i rådet"));
        assert!(from_item("Att vi ges utrymme för att presentera.", &c, false).is_none());
        let a = from_item("Uppdatera hemsidan", &c, true).unwrap();
        assert_eq!(a.owner, None);
    }

    #[test]
    fn action_tables() {
        let c = ctx();
        let cells = |s: &str| s.split('\t').map(String::from).collect::<Vec<_>>();
        let cols = header(&cells("Vem\tVad\tNär")).unwrap();
        let a = from_row(&cells("Sara\tBoka lokal\t15/11"), cols, &c).unwrap();
        assert_eq!(a.owner.as_deref(), Some("Sara Herr"));
        assert_eq!(a.text, "Boka lokal");
        assert_eq!(a.due, NaiveDate::from_ymd_opt(2020, 11, 15));
        let cols = header(&cells("Action\tOwner\tDue")).unwrap();
        let a = from_row(&cells("Send the report\tAnna Berg\tnext meeting"), cols, &c).unwrap();
        assert_eq!(a.owner.as_deref(), Some("Anna Berg"));
        assert_eq!(a.due, NaiveDate::from_ymd_opt(2020, 10, 8));
        assert!(header(&cells("Punkt\tBeskrivning\tAnsvarig")).is_none());
        let a = from_cells(&cells("Johan Hög\tUppdatera hemsidan\t2020-10-01"), &c).unwrap();
        assert_eq!(a.owner.as_deref(), Some("Johan Hög"));
        assert_eq!(a.text, "Uppdatera hemsidan");
        assert_eq!(a.due, NaiveDate::from_ymd_opt(2020, 10, 1));
    }
}
