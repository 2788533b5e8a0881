//! The document as lines: inline HTML and Markdown markup removed, table cells split on TAB,
//! and each line classified as a label ("Plats:", "Närvarande"), a numbered heading ("3.",
//! "§ 8"), or plain text. Everything else in extraction works on these lines.

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
    ("not present", Label::Absent),
    ("regrets", Label::Absent),
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
    ("present", Label::Attendees),
    ("attendees", Label::Attendees),
    ("attending", Label::Attendees),
    ("participants", Label::Attendees),
    ("members present", Label::Attendees),
    ("also present", Label::Attendees),
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
    ("justerare", Label::Approvers),
    ("justeras av", Label::Approvers),
    ("justerat av", Label::Approvers),
    ("justerande", Label::Approvers),
    ("protokollsjusterare", Label::Approvers),
    ("justering", Label::Approvers),
    ("approved by", Label::Approvers),
    ("to be approved by", Label::Approvers),
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
    ("beslut", Label::Decisions),
    ("bilagor", Label::Attachments),
    ("bilaga", Label::Attachments),
    ("attachments", Label::Attachments),
    ("appendices", Label::Attachments),
    ("decisions", Label::Decisions),
    ("decision", Label::Decisions),
    ("innehållsförteckning", Label::Contents),
    ("innehåll", Label::Contents),
    ("contents", Label::Contents),
    ("table of contents", Label::Contents),
    ("medverkande", Label::Contributors),
    ("föredragande", Label::Contributors),
];

pub fn label_of(text: &str) -> Option<Label> {
    let key = text
        .trim()
        .trim_end_matches([':', '.'])
        .trim()
        .to_lowercase();
    LABELS
        .iter()
        .find(|(l, _)| *l == key)
        .map(|(_, label)| *label)
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
            let raw = raw
                .trim_end_matches('\r')
                .replace(['\u{a0}', '\u{200b}'], " ");
            let mut s = TAG.replace_all(&raw, "").into_owned();
            let mut heading = false;
            let trimmed = s.trim_start();
            if trimmed.starts_with('#') {
                heading = true;
                s = trimmed.trim_start_matches('#').to_string();
            }
            if s.contains('*') || s.contains("__") {
                s = s.replace("**", "").replace("__", "");
                s = MD_EMPHASIS
                    .replace_all(&s, |c: &regex::Captures| match c.get(1) {
                        Some(inner) => format!(" {}", inner.as_str()),
                        None => String::new(),
                    })
                    .into_owned();
            }
            let cells: Vec<String> = s
                .split('\t')
                .map(|c| c.split_whitespace().collect::<Vec<_>>().join(" "))
                .collect();
            let cells: Vec<String> = if cells.iter().filter(|c| !c.is_empty()).count() <= 1 {
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

/// A line of a table of contents ("§ 8 Justering ..... 3"): its text without the leader.
pub fn without_dot_leader(text: &str) -> Option<String> {
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
    let (head, rest) = text.split_once(':')?;
    if head.len() > 40 {
        return None;
    }
    let label = label_of(head)?;
    Some((label, rest.trim().to_string()))
}

static NUMBERED: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"^(?:§\s*(\d{1,3}[a-z]?)\.?|(\d{1,2})[.)]|(?:punkt|item)\s+(\d{1,2})[.:]?)\s+(\S.*)$",
    )
    .unwrap()
});

/// "3. Title", "3) Title", "§ 8 Title": the number and the title.
pub fn numbered(text: &str) -> Option<(String, String)> {
    let c = NUMBERED.captures(text.trim())?;
    let number = c.get(1).or(c.get(2)).or(c.get(3))?.as_str().to_string();
    Some((number, c[4].trim().to_string()))
}

/// Sentences of a paragraph, split after ". ", "! ", "? ".
pub fn sentences(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    let bytes = text.as_bytes();
    for (i, ch) in text.char_indices() {
        if matches!(ch, '.' | '!' | '?')
            && bytes.get(i + 1).is_none_or(|b| *b == b' ')
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
    fn sentences_split_but_not_on_abbreviations() {
        assert_eq!(
            sentences("Vi ses t.ex. i maj. Sara skickar ut. Klart"),
            ["Vi ses t.ex. i maj.", "Sara skickar ut.", "Klart"]
        );
    }
}
