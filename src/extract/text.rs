//! The document as lines: inline HTML and Markdown markup removed, table cells split on TAB,
//! and each line classified as a label ("Plats:", "Närvarande"), a numbered heading ("3.",
//! "§ 8"), or plain text. Everything else in extraction works on these lines.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::LazyLock;

use regex::Regex;

/// What a label line introduces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Label {
    Date,
    Time,
    Place,
    TimePlace,
    DateTime,
    Attendees,
    Absent,
    Secretary,
    Approvers,
    ApprovalDue,
    /// "Underskrifter": the signing block (a chair who signs approves).
    Signatures,
    Chair,
    Agenda,
    Actions,
    WeakActions,
    NextMeetings,
    Decisions,
    Contents,
    Contributors,
    Attachments,
}

/// Label vocabulary, lowercase, without the trailing colon. Longest phrases first.
const LABELS: &[(&str, Label)] = &[
    ("justeringens tid och plats", Label::ApprovalDue),
    ("justeringens plats och tid", Label::ApprovalDue),
    ("justeringens plats", Label::ApprovalDue),
    ("justeringsdag", Label::ApprovalDue),
    ("protokollet justeras", Label::ApprovalDue),
    ("justering senast", Label::ApprovalDue),
    ("justeringens tid", Label::ApprovalDue),
    ("justeringsdatum", Label::ApprovalDue),
    ("justeras senast", Label::ApprovalDue),
    ("datum, tid och plats", Label::TimePlace),
    ("datum tid och plats", Label::TimePlace),
    ("tid och plats", Label::TimePlace),
    ("tid och lokal", Label::TimePlace),
    ("plats och tid", Label::TimePlace),
    ("time and place", Label::TimePlace),
    ("date and time", Label::DateTime),
    ("datum och tid", Label::DateTime),
    ("datum", Label::Date),
    ("mötesdatum", Label::Date),
    ("sammanträdesdatum", Label::Date),
    ("sammanträdesdag", Label::Date),
    ("dag", Label::Date),
    ("meeting date", Label::Date),
    ("when", Label::DateTime),
    ("datum och klockslag", Label::DateTime),
    ("dag och tid", Label::DateTime),
    ("date", Label::Date),
    ("tid", Label::Time),
    ("klockan", Label::Time),
    ("klockslag", Label::Time),
    ("time", Label::Time),
    ("plats", Label::Place),
    ("lokal", Label::Place),
    ("mötesplats", Label::Place),
    ("place", Label::Place),
    ("location", Label::Place),
    ("venue", Label::Place),
    ("where", Label::Place),
    ("sammanträdesplats", Label::Place),
    ("möteslokal", Label::Place),
    ("address", Label::Place),
    ("adress", Label::Place),
    ("ej närvarande", Label::Absent),
    ("inte närvarande", Label::Absent),
    ("frånvarande", Label::Absent),
    ("förhindrade", Label::Absent),
    ("förhindrad", Label::Absent),
    ("anmält förhinder", Label::Absent),
    ("anmälda förhinder", Label::Absent),
    ("absent", Label::Absent),
    ("apologies", Label::Absent),
    ("apologies for absence", Label::Absent),
    ("apologies for absence were received from", Label::Absent),
    ("not present", Label::Absent),
    ("regrets", Label::Absent),
    ("anmält frånvaro", Label::Absent),
    ("anmäld frånvaro", Label::Absent),
    ("ej deltagande", Label::Absent),
    ("inte deltagande", Label::Absent),
    ("ej närvarande ledamöter", Label::Absent),
    ("frånvarande ledamöter", Label::Absent),
    ("absences", Label::Absent),
    ("apologies received", Label::Absent),
    ("apologies received from", Label::Absent),
    ("närvarande", Label::Attendees),
    ("närvarande ledamöter", Label::Attendees),
    ("närvarande ersättare", Label::Attendees),
    ("deltagare", Label::Attendees),
    ("mötesdeltagare", Label::Attendees),
    ("övriga deltagare", Label::Attendees),
    ("övriga närvarande", Label::Attendees),
    ("ledamöter", Label::Attendees),
    ("beslutande", Label::Attendees),
    ("beslutande ledamöter", Label::Attendees),
    ("tjänstgörande ersättare", Label::Attendees),
    ("ersättare", Label::Attendees),
    ("övriga", Label::Attendees),
    ("övriga deltagande", Label::Attendees),
    ("ej tjänstgörande ersättare", Label::Attendees),
    ("närvarande ej tjänstgörande ersättare", Label::Attendees),
    ("närvarande tjänstgörande ersättare", Label::Attendees),
    ("närvarande övriga", Label::Attendees),
    ("deltagare från", Label::Attendees),
    ("inbjudna", Label::Attendees),
    ("adjungerade", Label::Attendees),
    ("gäster", Label::Attendees),
    ("guests", Label::Attendees),
    ("members", Label::Attendees),
    ("officers present", Label::Attendees),
    ("staff present", Label::Attendees),
    ("councillors present", Label::Attendees),
    ("present", Label::Attendees),
    ("attendees", Label::Attendees),
    ("attending", Label::Attendees),
    ("participants", Label::Attendees),
    ("members present", Label::Attendees),
    ("also present", Label::Attendees),
    ("those present", Label::Attendees),
    ("present were", Label::Attendees),
    ("chaired by", Label::Chair),
    ("in attendance", Label::Attendees),
    ("antecknat av", Label::Secretary),
    ("antecknare", Label::Secretary),
    ("sekreterare", Label::Secretary),
    ("mötessekreterare", Label::Secretary),
    ("vid protokollet", Label::Secretary),
    ("protokollförare", Label::Secretary),
    ("minutes taken by", Label::Secretary),
    ("minutes by", Label::Secretary),
    ("notes taken by", Label::Secretary),
    ("secretary", Label::Secretary),
    ("recorded by", Label::Secretary),
    ("vid anteckningarna", Label::Secretary),
    ("antecknat", Label::Secretary),
    ("anteckningar förda av", Label::Secretary),
    ("protokollet fört av", Label::Secretary),
    ("protokollförd av", Label::Secretary),
    ("nämndsekreterare", Label::Secretary),
    ("minute taker", Label::Secretary),
    ("minute-taker", Label::Secretary),
    ("note taker", Label::Secretary),
    ("notetaker", Label::Secretary),
    ("clerk", Label::Secretary),
    ("justerare", Label::Approvers),
    ("justeras", Label::Approvers),
    ("justerat", Label::Approvers),
    ("justerad", Label::Approvers),
    ("justeras av", Label::Approvers),
    ("justerat av", Label::Approvers),
    ("justerande", Label::Approvers),
    ("protokollsjusterare", Label::Approvers),
    ("justering", Label::Approvers),
    ("approved by", Label::Approvers),
    ("to be approved by", Label::Approvers),
    ("utses att justera", Label::Approvers),
    ("utsedd att justera", Label::Approvers),
    ("att justera", Label::Approvers),
    ("justerare utses", Label::Approvers),
    ("protokollet justeras av", Label::Approvers),
    ("underskrifter", Label::Signatures),
    ("underskrift", Label::Signatures),
    ("signaturer", Label::Signatures),
    ("signatures", Label::Signatures),
    ("ordförande", Label::Chair),
    ("mötesordförande", Label::Chair),
    ("chair", Label::Chair),
    ("chairman", Label::Chair),
    ("chairperson", Label::Chair),
    ("dagordning", Label::Agenda),
    ("föredragningslista", Label::Agenda),
    ("agenda", Label::Agenda),
    ("åtgärder", Label::Actions),
    ("åtgärdslista", Label::Actions),
    ("att göra", Label::Actions),
    ("uppdrag", Label::Actions),
    ("nya uppdrag", Label::Actions),
    ("action items", Label::Actions),
    ("action points", Label::Actions),
    ("actions", Label::Actions),
    ("action list", Label::Actions),
    ("action log", Label::Actions),
    ("actions agreed", Label::Actions),
    ("agreed actions", Label::Actions),
    ("to do", Label::Actions),
    ("todo", Label::Actions),
    ("tasks", Label::Actions),
    ("uppgifter", Label::Actions),
    ("åtgärdspunkter", Label::Actions),
    ("beslutade åtgärder", Label::Actions),
    ("uppföljning", Label::WeakActions),
    ("aktiviteter", Label::WeakActions),
    ("aktiviteter som identifierades", Label::WeakActions),
    ("next steps", Label::WeakActions),
    ("nästa steg", Label::WeakActions),
    ("nästa möte", Label::NextMeetings),
    ("nästa sammanträde", Label::NextMeetings),
    ("kommande möten", Label::NextMeetings),
    ("kommande mötesdatum", Label::NextMeetings),
    ("kommande sammanträden", Label::NextMeetings),
    ("mötestider", Label::NextMeetings),
    ("mötesdatum framåt", Label::NextMeetings),
    ("next meeting", Label::NextMeetings),
    ("next meetings", Label::NextMeetings),
    ("future meetings", Label::NextMeetings),
    ("date of next meeting", Label::NextMeetings),
    ("dates of next meetings", Label::NextMeetings),
    ("dates of future meetings", Label::NextMeetings),
    ("upcoming meetings", Label::NextMeetings),
    ("meeting dates", Label::NextMeetings),
    ("nästa träff", Label::NextMeetings),
    ("nästa mötestillfälle", Label::NextMeetings),
    ("kommande mötestider", Label::NextMeetings),
    ("kommande träffar", Label::NextMeetings),
    ("mötesplan", Label::NextMeetings),
    ("sammanträdesdagar", Label::NextMeetings),
    ("sammanträdestider", Label::NextMeetings),
    ("beslut", Label::Decisions),
    ("bilagor", Label::Attachments),
    ("bilaga", Label::Attachments),
    ("attachments", Label::Attachments),
    ("appendices", Label::Attachments),
    ("decisions", Label::Decisions),
    ("decision", Label::Decisions),
    ("innehållsförteckning", Label::Contents),
    ("paragrafer", Label::Contents),
    ("paragraf", Label::Contents),
    ("innehåll", Label::Contents),
    ("contents", Label::Contents),
    ("table of contents", Label::Contents),
    ("medverkande", Label::Contributors),
    ("föredragande", Label::Contributors),
];

/// Label phrases (as bytes) to their label.
type LabelMap = HashMap<&'static [u8], Label, Fnv>;

/// The label vocabulary by phrase (the first entry wins, as in a scan of [`LABELS`]), and the
/// longest phrase in characters.
static LABEL_INDEX: LazyLock<(LabelMap, usize)> = LazyLock::new(|| {
    let mut index = HashMap::default();
    for (phrase, label) in LABELS {
        index.entry(phrase.as_bytes()).or_insert(*label);
    }
    let longest = LABELS.iter().map(|(l, _)| l.chars().count()).max();
    (index, longest.unwrap_or(0))
});

/// FNV-1a: the map's keys are a few hundred short phrases, its lookups one or more per line.
type Fnv = BuildHasherDefault<FnvHasher>;

#[derive(Default)]
struct FnvHasher(u64);

impl Hasher for FnvHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        let mut hash = if self.0 == 0 {
            0xcbf2_9ce4_8422_2325
        } else {
            self.0
        };
        for &b in bytes {
            hash = (hash ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
        self.0 = hash;
    }
}

pub fn label_of(text: &str) -> Option<Label> {
    let key = text.trim().trim_end_matches([':', '.']).trim();
    let (index, longest) = &*LABEL_INDEX;
    // Lowercasing never makes a text shorter in characters: a longer key is no label, and most
    // lines of prose are ruled out without lowercasing them.
    if key.chars().nth(*longest).is_some() {
        return None;
    }
    with_lowercase(key, |key| index.get(key).copied())
}

/// Calls `f` with the UTF-8 of `text` lowercased (`str::to_lowercase`), without allocating
/// when the text is short ASCII.
fn with_lowercase<R>(text: &str, f: impl FnOnce(&[u8]) -> R) -> R {
    let mut buf = [0u8; 64];
    match buf.get_mut(..text.len()) {
        Some(lower) if text.is_ascii() => {
            lower.copy_from_slice(text.as_bytes());
            lower.make_ascii_lowercase();
            f(lower)
        }
        _ => f(text.to_lowercase().as_bytes()),
    }
}

/// One line of the document.
#[derive(Debug, Clone)]
pub struct Line {
    /// The text without markup, trimmed; table cells joined by TAB.
    pub text: String,
    /// Table cells (one when the line has no TAB), trimmed.
    pub cells: Vec<String>,
    /// A Markdown heading ("## ...") in the source.
    pub heading: bool,
}

impl Line {
    pub fn is_blank(&self) -> bool {
        self.text.is_empty()
    }
}

static TAG: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)</?(?:b|i|u|em|strong|span|font|br|p|div|small|sup|sub|a)(?:\s[^<>]*)?/?>")
        .unwrap()
});
static MD_EMPHASIS: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?:^|\s)\*(\S[^*]*\S|\S)\*").unwrap());
static DOT_LEADER: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?:\s*\.){4,}\s*\d*\s*$|\t\s*\d+\s*$").unwrap());

/// Splits and cleans the document into lines.
pub fn lines(text: &str) -> Vec<Line> {
    text.split('\n')
        .map(|raw| {
            let raw = raw.trim_end_matches('\r');
            if is_plain(raw) {
                // What the steps below make of a plain line: the line itself.
                return Line {
                    text: raw.to_string(),
                    cells: vec![raw.to_string()],
                    heading: false,
                };
            }
            // Both characters' UTF-8 start with 0xc2 or 0xe2: look for those bytes first.
            let raw = if raw.bytes().any(|b| b == 0xc2 || b == 0xe2)
                && raw.contains(['\u{a0}', '\u{200b}'])
            {
                Cow::Owned(raw.replace(['\u{a0}', '\u{200b}'], " "))
            } else {
                Cow::Borrowed(raw)
            };
            // Every tag starts with '<': lines without one keep their text.
            let mut s = if raw.contains('<') {
                TAG.replace_all(&raw, "").into_owned()
            } else {
                raw.into_owned()
            };
            let mut heading = false;
            let trimmed = s.trim_start();
            if trimmed.starts_with('#') {
                heading = true;
                s = trimmed.trim_start_matches('#').to_string();
            }
            if s.contains('*') || (s.contains('_') && s.contains("__")) {
                s = s.replace("**", "").replace("__", "");
                s = MD_EMPHASIS
                    .replace_all(&s, |c: &regex::Captures| match c.get(1) {
                        Some(inner) => format!(" {}", inner.as_str()),
                        None => String::new(),
                    })
                    .into_owned();
            }
            let cells: Vec<String> = s.split('\t').map(squeeze).collect();
            let cells: Vec<String> = if cells.len() == 1 {
                cells
            } else if cells.iter().filter(|c| !c.is_empty()).count() <= 1 {
                vec![cells.concat()]
            } else {
                // Keep empty cells between filled ones: table columns must stay aligned.
                let last = cells.iter().rposition(|c| !c.is_empty()).unwrap_or(0);
                let first = cells.iter().position(|c| !c.is_empty()).unwrap_or(0);
                cells[first..=last].to_vec()
            };
            Line {
                text: cells.join("\t"),
                cells,
                heading,
            }
        })
        .collect()
}

/// The words of `s` joined by single spaces, as `s.split_whitespace()` joined by " ": most
/// cells already are, and are copied as they stand.
fn squeeze(s: &str) -> String {
    if is_squeezed(s) {
        s.to_string()
    } else {
        s.split_whitespace().collect::<Vec<_>>().join(" ")
    }
}

/// How [`is_plain`] and [`is_squeezed`] read a byte.
const ORDINARY: u8 = 0;
const SPACE: u8 = 1;
/// The lead byte of U+0085, U+00A0, U+1680, U+2000-U+205F or U+3000 (whitespace) or of
/// U+200B; most characters starting so ("§", "–") are none of them.
const LEAD: u8 = 2;
/// Other ASCII whitespace (TAB to CR).
const CONTROL: u8 = 3;
/// Markup: '<', '*', '_'.
const MARKUP: u8 = 4;

static BYTE_CLASS: [u8; 256] = {
    let mut class = [ORDINARY; 256];
    class[b' ' as usize] = SPACE;
    let mut b = b'\t';
    while b <= b'\r' {
        class[b as usize] = CONTROL;
        b += 1;
    }
    class[b'<' as usize] = MARKUP;
    class[b'*' as usize] = MARKUP;
    class[b'_' as usize] = MARKUP;
    class[0xc2] = LEAD;
    class[0xe1] = LEAD;
    class[0xe2] = LEAD;
    class[0xe3] = LEAD;
    class
};

/// Whether `s` has no whitespace but single spaces between words and, unless `markup_allowed`,
/// none of '<', '*', '_', U+200B.
fn single_spaced(s: &str, markup_allowed: bool) -> bool {
    let bytes = s.as_bytes();
    // Spaces are frequent: doubled ones are noted without branching on them.
    let mut after_space = true;
    let mut doubled = false;
    for (i, &b) in bytes.iter().enumerate() {
        let class = BYTE_CLASS[b as usize];
        let space = class == SPACE;
        doubled |= space & after_space;
        after_space = space;
        if class > SPACE {
            let ok = match class {
                LEAD => {
                    let special =
                        |c: char| c.is_whitespace() || (!markup_allowed && c == '\u{200b}');
                    !s[i..].starts_with(special)
                }
                MARKUP => markup_allowed,
                _ => false,
            };
            if !ok {
                return false;
            }
        }
    }
    !doubled && (!after_space || bytes.is_empty())
}

/// A line the cleaning in [`lines`] leaves as it is: no markup characters ('<', '*', '_', a
/// leading '#'), no TAB, no whitespace but single spaces between words, no U+00A0 or U+200B.
fn is_plain(s: &str) -> bool {
    !s.starts_with('#') && single_spaced(s, false)
}

/// No whitespace but single spaces between words.
fn is_squeezed(s: &str) -> bool {
    single_spaced(s, true)
}

/// A line of a table of contents ("§ 8 Justering ..... 3"): its text without the leader.
pub fn without_dot_leader(text: &str) -> Option<String> {
    // A leader is four dots or more, or a TAB before the page number; either way the line
    // ends in a dot or a digit ("\d" is any Unicode digit, all of them numeric).
    if !text
        .trim_end()
        .ends_with(|c: char| c == '.' || c.is_numeric())
    {
        return None;
    }
    if !text.contains('\t') && text.bytes().filter(|&b| b == b'.').count() < 4 {
        return None;
    }
    DOT_LEADER
        .find(text)
        .filter(|m| m.start() > 0)
        .map(|m| text[..m.start()].trim().to_string())
}

/// A label at the start of a line and the value after it: "Plats: Rum 3", "Datum\t2020-09-10",
/// or the whole line ("Närvarande:"), value empty.
pub fn split_label(line: &Line) -> Option<(Label, String)> {
    if line.cells.len() >= 2
        && let Some(label) = label_of(&line.cells[0])
    {
        return Some((label, line.cells[1..].join("\t").trim().to_string()));
    }
    let text = line.text.trim();
    if let Some(label) = label_of(text) {
        return Some((label, String::new()));
    }
    if let Some((head, rest)) = text.split_once(':')
        && head.len() <= 40
    {
        if let Some(label) = label_of(head) {
            return Some((label, rest.trim().to_string()));
        }
        if let Some(label) = label_prefix(head) {
            return Some((label, rest.trim().to_string()));
        }
        return None;
    }
    // "Mötestider våren 2025", "Närvarande från kommunerna": a label with a qualifier.
    if text.split_whitespace().nth(4).is_none() && !text.ends_with(['.', '?', '!']) {
        return label_prefix(text).map(|label| (label, String::new()));
    }
    None
}

/// Labels that may carry a qualifier after them ("Nästa möte hösten 2025:").
const PREFIXABLE: &[&str] = &[
    "närvarande",
    "deltagare",
    "frånvarande",
    "förhindrade",
    "ej närvarande",
    "anmält förhinder",
    "nästa möte",
    "nästa sammanträde",
    "kommande möten",
    "kommande sammanträden",
    "mötestider",
    "sammanträdesdagar",
    "next meeting",
    "next meetings",
    "future meetings",
    "meeting dates",
    "åtgärder",
    "action items",
    "actions",
    "attendees",
    "participants",
    "apologies",
    "absent",
];

static PREFIXABLE_FIRST_WORDS: LazyLock<HashSet<&'static [u8]>> = LazyLock::new(|| {
    PREFIXABLE
        .iter()
        .filter_map(|p| p.split_whitespace().next())
        .map(str::as_bytes)
        .collect()
});

/// A label followed by a few qualifying words: the head's longest label prefix.
fn label_prefix(head: &str) -> Option<Label> {
    // Lowercasing goes word by word: a label prefix starts with the first word of a prefixable
    // label, which rules out most heads before they are lowercased.
    let first = head.split_whitespace().next()?;
    if !with_lowercase(first, |w| PREFIXABLE_FIRST_WORDS.contains(w)) {
        return None;
    }
    let lower = head.trim().to_lowercase();
    let words: Vec<&str> = lower.split_whitespace().collect();
    if words.len() < 2 || words.len() > 6 {
        return None;
    }
    // No prefixable label has more than two words: longer prefixes are none of them.
    (1..words.len().min(3)).rev().find_map(|n| {
        let key = words[..n].join(" ");
        PREFIXABLE
            .contains(&key.as_str())
            .then(|| label_of(&key))
            .flatten()
    })
}

static NUMBERED: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"^(?:§\s*(\d{1,3}[a-z]?)\.?|(\d{1,2})[.)]|(?:punkt|item)\s+(\d{1,2})[.:]?|(\d{1,4}/\d{1,4})[.:]?)\s+(\S.*)$",
    )
    .unwrap()
});

/// "3. Title", "3) Title", "§ 8 Title": the number and the title.
pub fn numbered(text: &str) -> Option<(String, String)> {
    let text = text.trim();
    // The pattern is anchored: it starts with "§", a digit ("\d" is any Unicode digit, all of
    // them numeric), "punkt" or "item" (case matters).
    let first = text.chars().next()?;
    if !(first == '§'
        || first.is_numeric()
        || text.starts_with("punkt")
        || text.starts_with("item"))
    {
        return None;
    }
    let c = NUMBERED.captures(text)?;
    let number = c.get(1).or(c.get(2)).or(c.get(3)).or(c.get(4))?;
    Some((number.as_str().to_string(), c[5].trim().to_string()))
}

/// Where the next '.', '!' or '?' stands, from `from` on; eight bytes at a time.
fn next_stop(bytes: &[u8], from: usize) -> Option<usize> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    // Whether a byte of `x` is zero (exact; which byte is not needed).
    let has_zero = |x: u64| x.wrapping_sub(ONES) & !x & HIGHS != 0;
    let mut i = from;
    while let Some(chunk) = bytes.get(i..i + 8) {
        let word = u64::from_le_bytes(chunk.try_into().unwrap_or_default());
        if has_zero(word ^ (ONES * u64::from(b'.')))
            || has_zero(word ^ (ONES * u64::from(b'!')))
            || has_zero(word ^ (ONES * u64::from(b'?')))
        {
            break;
        }
        i += 8;
    }
    bytes
        .get(i..)?
        .iter()
        .position(|b| matches!(b, b'.' | b'!' | b'?'))
        .map(|p| i + p)
}

/// Sentences of a paragraph, split after ". ", "! ", "? ".
pub fn sentences(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    let bytes = text.as_bytes();
    // '.', '!' and '?' are ASCII: never part of a longer UTF-8 sequence.
    let mut from = 0;
    while let Some(i) = next_stop(bytes, from) {
        from = i + 1;
        if bytes.get(i + 1).is_none_or(|b| *b == b' ')
            && bytes
                .get(i + 2)
                .is_none_or(|b| b.is_ascii_uppercase() || *b >= 0x80 || *b == b'-')
        {
            // "t.ex. " and "m.m. " do not end a sentence.
            let word_start = text[..i].rfind(' ').map(|p| p + 1).unwrap_or(0);
            let word = &text[word_start..i];
            if word.len() <= 3 && word.contains('.') {
                continue;
            }
            out.push(text[start..=i].trim());
            start = i + 1;
        }
    }
    if start < text.len() && !text[start..].trim().is_empty() {
        out.push(text[start..].trim());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markup_goes_and_cells_stay() {
        let l = lines(
            "## **2. Modell för X**\nTove Andersson (<i>ersätter Per</i>)\tLysekil\n**Plats:** Oden",
        );
        assert!(l[0].heading);
        assert_eq!(l[0].text.trim(), "2. Modell för X");
        assert_eq!(l[1].cells, ["Tove Andersson (ersätter Per)", "Lysekil"]);
        assert_eq!(split_label(&l[2]), Some((Label::Place, "Oden".into())));
    }

    #[test]
    fn labels_and_numbers() {
        let l = lines("Datum\t2020-09-10\nNÄRVARANDE\nTid och plats:\tmåndag");
        assert_eq!(split_label(&l[0]), Some((Label::Date, "2020-09-10".into())));
        assert_eq!(split_label(&l[1]), Some((Label::Attendees, String::new())));
        assert_eq!(
            split_label(&l[2]),
            Some((Label::TimePlace, "måndag".into()))
        );
        assert_eq!(numbered("§ 8 Upprop"), Some(("8".into(), "Upprop".into())));
        assert_eq!(
            numbered("1) Välkommen"),
            Some(("1".into(), "Välkommen".into()))
        );
        assert_eq!(numbered("2018 var ett år"), None);
        assert_eq!(
            without_dot_leader("§ 8 Protokollets justering.....\t3").as_deref(),
            Some("§ 8 Protokollets justering")
        );
    }

    #[test]
    fn qualified_labels_and_minute_references() {
        let l = lines(
            "Mötestider våren 2025: 3 mars\nNärvarande från kommunerna\nÖvriga frågor: inga\nThose present: Anna Berg",
        );
        assert_eq!(
            split_label(&l[0]),
            Some((Label::NextMeetings, "3 mars".into()))
        );
        assert_eq!(split_label(&l[1]), Some((Label::Attendees, String::new())));
        assert_eq!(split_label(&l[2]), None);
        assert_eq!(
            split_label(&l[3]),
            Some((Label::Attendees, "Anna Berg".into()))
        );
        assert_eq!(
            numbered("24/101 Declarations of interest"),
            Some(("24/101".into(), "Declarations of interest".into()))
        );
    }

    #[test]
    fn prefixable_labels_are_short_labels() {
        for p in PREFIXABLE {
            assert!(p.split_whitespace().count() <= 2, "{p}");
            assert!(label_of(p).is_some(), "{p}");
        }
    }

    #[test]
    fn squeezed_like_split_whitespace() {
        for s in [
            "",
            " ",
            "a",
            " a",
            "a ",
            "a  b",
            "a b",
            "a\u{a0}b",
            "a\u{2009} b",
            "§ 3 – två",
            "x\u{3000}",
            "\u{85}",
            "a\rb",
            "  ",
            "ä ö å",
            "a\u{1680}b",
            "a\u{205f}b",
            "a\u{202f}",
            "a\u{200b}b",
            "“a” – b",
            "\u{2028}",
            "a\u{c}b",
            "a\u{1}b",
            "\u{1} ",
            "a §2",
            "\u{3000}",
            "a \u{3000}",
        ] {
            assert_eq!(
                squeeze(s),
                s.split_whitespace().collect::<Vec<_>>().join(" "),
                "{s:?}"
            );
        }
    }

    #[test]
    fn plain_lines_come_out_as_they_are() {
        for raw in [
            "Plats: Rum 3",
            "§ 4 – Beslut",
            "a",
            "",
            "Anna  Berg",
            " x",
            "x ",
            "# Rubrik",
            "a_b",
            "a\u{a0}b",
            "a\u{200b}b",
            "a\u{2009}b",
            "<b>x</b>",
            "**x**",
            "x\ty",
            "x\u{b}y",
            "“Citat” — så",
        ] {
            let line = &lines(raw)[0];
            if is_plain(raw) {
                assert_eq!((line.text.as_str(), line.cells.len()), (raw, 1), "{raw:?}");
                assert!(!line.heading);
            } else {
                assert!(
                    line.text != raw
                        || line.heading
                        || line.cells.len() > 1
                        || raw.contains(['_', '<', '*'])
                        || raw.contains('\u{200b}'),
                    "{raw:?} is plain after all"
                );
            }
        }
        assert!(is_plain("§ 4 – Beslut") && is_plain("") && !is_plain("a\u{200b}b"));
    }

    #[test]
    fn stops_found_in_long_text() {
        let text = "abcdefghijklmnopqrstuvwxyzåäö. Nästa! Sist? ja";
        let stops: Vec<usize> = (0..text.len())
            .filter(|&i| matches!(text.as_bytes()[i], b'.' | b'!' | b'?'))
            .collect();
        let mut found = Vec::new();
        let mut from = 0;
        while let Some(i) = next_stop(text.as_bytes(), from) {
            found.push(i);
            from = i + 1;
        }
        assert_eq!(found, stops);
        assert_eq!(next_stop(b"abc", 3), None);
        assert_eq!(next_stop(b"abc", 4), None);
    }

    #[test]
    fn sentences_split_but_not_on_abbreviations() {
        assert_eq!(
            sentences("Vi ses t.ex. i maj. Sara skickar ut. Klart"),
            ["Vi ses t.ex. i maj.", "Sara skickar ut.", "Klart"]
        );
    }
}
