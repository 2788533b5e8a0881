//! Dates and times as people write them in Swedish and English: "2018-05-02", "den 2 maj 2018",
//! "måndag 16 september 2024", "29 augusti", "21/10", "May 2, 2018"; "kl. 09.00 - 12.00",
//! "Klockan: 9.00–11.30", "kl 13-15", "1.30 pm". A date without a year takes the meeting's.

use std::ops::Range;
use std::sync::LazyLock;

use super::pattern::Bounded;
use chrono::{Datelike, NaiveDate, NaiveTime};

/// Month names and abbreviations, Swedish and English, lowercase, to month number.
fn month(word: &str) -> Option<u32> {
    let w = word.to_lowercase();
    let w = w.trim_end_matches('.');
    let m = match w {
        "januari" | "january" | "jan" => 1,
        "februari" | "february" | "feb" => 2,
        "mars" | "march" | "mar" => 3,
        "april" | "apr" => 4,
        "maj" | "may" => 5,
        "juni" | "june" | "jun" => 6,
        "juli" | "july" | "jul" => 7,
        "augusti" | "august" | "aug" => 8,
        "september" | "sep" | "sept" => 9,
        "oktober" | "october" | "okt" | "oct" => 10,
        "november" | "nov" => 11,
        "december" | "dec" => 12,
        _ => return None,
    };
    Some(m)
}

const MONTHS: &str = "januari|februari|mars|april|maj|juni|juli|augusti|september|oktober|november|december|january|february|march|may|june|july|august|october|jan|feb|mar|apr|jun|jul|aug|sept|sep|okt|oct|nov|dec";

// Word boundaries next to Swedish letters slow the regex crate down: see [`Bounded`].
static ISO: LazyLock<Bounded> = LazyLock::new(|| Bounded::new(r"\b(\d{4})-(\d{1,2})-(\d{1,2})\b"));
static DAY_MONTH: LazyLock<Bounded> = LazyLock::new(|| {
    Bounded::new(&format!(
        r"(?i)\b(\d{{1,2}})(?:st|nd|rd|th|e|:e|:a)?(?:\s*[-–]\s*\d{{1,2}})?\.?\s+(?:of\s+)?({MONTHS})\.?(?:,?\s+(\d{{4}}))?\b"
    ))
});
static MONTH_DAY: LazyLock<Bounded> = LazyLock::new(|| {
    Bounded::new(&format!(
        r"(?i)\b({MONTHS})\.?\s+(\d{{1,2}})(?:st|nd|rd|th)?\b(?:,?\s+(\d{{4}}))?"
    ))
});
static SLASH: LazyLock<Bounded> =
    LazyLock::new(|| Bounded::new(r"\b(\d{1,2})/(\d{1,2})(?:[/-](\d{2}|\d{4}))?\b"));

/// A date found in text, where it was, and whether the text gave the year.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FoundDate {
    pub date: NaiveDate,
    pub span: Range<usize>,
    pub explicit_year: bool,
}

/// Every date in `text`, in order of position. Dates without a year take `year` (the meeting's);
/// without one they are skipped.
pub fn find_dates(text: &str, year: Option<i32>) -> Vec<FoundDate> {
    let mut found: Vec<FoundDate> = Vec::new();
    let push = |found: &mut Vec<FoundDate>, f: FoundDate| {
        if !found
            .iter()
            .any(|g| g.span.start < f.span.end && f.span.start < g.span.end)
        {
            found.push(f);
        }
    };
    for c in ISO.captures_iter(text) {
        let (y, m, d) = (num(&c[1]), num(&c[2]), num(&c[3]));
        if let Some(date) = NaiveDate::from_ymd_opt(y as i32, m, d) {
            let span = c.get(0).unwrap().range();
            push(
                &mut found,
                FoundDate {
                    date,
                    span,
                    explicit_year: true,
                },
            );
        }
    }
    for c in DAY_MONTH.captures_iter(text) {
        let (Some(m), d) = (month(&c[2]), num(&c[1])) else {
            continue;
        };
        let explicit = c.get(3).is_some();
        let Some(y) = c.get(3).map(|y| num(y.as_str()) as i32).or(year) else {
            continue;
        };
        if let Some(date) = NaiveDate::from_ymd_opt(y, m, d) {
            let span = c.get(0).unwrap().range();
            push(
                &mut found,
                FoundDate {
                    date,
                    span,
                    explicit_year: explicit,
                },
            );
        }
    }
    for c in MONTH_DAY.captures_iter(text) {
        // "maj 2018" alone is a month, not a date: the day must not be a year.
        let (Some(m), d) = (month(&c[1]), num(&c[2])) else {
            continue;
        };
        let explicit = c.get(3).is_some();
        let Some(y) = c.get(3).map(|y| num(y.as_str()) as i32).or(year) else {
            continue;
        };
        if let Some(date) = NaiveDate::from_ymd_opt(y, m, d) {
            let span = c.get(0).unwrap().range();
            push(
                &mut found,
                FoundDate {
                    date,
                    span,
                    explicit_year: explicit,
                },
            );
        }
    }
    for c in SLASH.captures_iter(text) {
        let (d, m) = (num(&c[1]), num(&c[2]));
        let explicit = c.get(3).is_some();
        let y = match c.get(3) {
            Some(y) if y.as_str().len() == 2 => 2000 + num(y.as_str()) as i32,
            Some(y) => num(y.as_str()) as i32,
            None => match year {
                Some(y) => y,
                None => continue,
            },
        };
        if let Some(date) = NaiveDate::from_ymd_opt(y, m, d) {
            let span = c.get(0).unwrap().range();
            push(
                &mut found,
                FoundDate {
                    date,
                    span,
                    explicit_year: explicit,
                },
            );
        }
    }
    found.sort_by_key(|f| f.span.start);
    found
}

/// A date without a year that falls before the meeting means the next year's ("in January",
/// written in December).
pub fn after_meeting(found: &FoundDate, meeting: Option<NaiveDate>) -> NaiveDate {
    match meeting {
        Some(m) if !found.explicit_year && found.date < m => found
            .date
            .with_year(found.date.year() + 1)
            .unwrap_or(found.date),
        _ => found.date,
    }
}

fn num(s: &str) -> u32 {
    s.parse().unwrap_or(0)
}

const T: &str = r"(\d{1,2})(?:[.:](\d{2}))?\s*(a\.?m\.?|p\.?m\.?)?";

static RANGE: LazyLock<Bounded> = LazyLock::new(|| {
    Bounded::new(&format!(
        r"(?i)(kl\.?|klockan|time:?|at)?\s*\b{T}\s*(?:-|–|—|till|to|until)\s*(?:kl\.?\s*)?{T}"
    ))
});
static SINGLE: LazyLock<Bounded> =
    LazyLock::new(|| Bounded::new(&format!(r"(?i)(kl\.?|klockan|at)?\s*\b{T}")));

/// A time of day or a span of them, and where it was.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FoundTime {
    pub start: NaiveTime,
    pub end: Option<NaiveTime>,
    pub span: Range<usize>,
}

fn time_of(h: &str, m: Option<&str>, ampm: Option<&str>) -> Option<NaiveTime> {
    let mut h = num(h);
    let m = m.map(num).unwrap_or(0);
    match ampm.map(|s| s.to_ascii_lowercase().replace('.', "")) {
        Some(p) if p == "pm" && h < 12 => h += 12,
        Some(p) if p == "am" && h == 12 => h = 0,
        _ => {}
    }
    NaiveTime::from_hms_opt(h, m, 0)
}

/// The first time span or time in `text`. Bare numbers count only when `labelled` (the text is
/// the value of a "Tid:" or "Klockan:" label) or when they have minutes or "kl"; otherwise
/// "8-14" (paragraphs) or "10–11 kommuner" would read as times.
pub fn find_time(text: &str, labelled: bool) -> Option<FoundTime> {
    for c in RANGE.captures_iter(text) {
        let prefixed = c.get(1).is_some();
        let has_minutes = c.get(3).is_some() || c.get(6).is_some();
        let has_ampm = c.get(4).is_some() || c.get(7).is_some();
        if !(labelled || prefixed || has_minutes || has_ampm) {
            continue;
        }
        // A date like 2018-05-02 is not 20–18.
        let whole = c.get(0).unwrap();
        if text[whole.end()..].starts_with('-') || text[..whole.start()].ends_with('-') {
            continue;
        }
        let end_ampm = c.get(7).map(|m| m.as_str());
        let start_ampm = c.get(4).map(|m| m.as_str()).or(end_ampm);
        let start = time_of(&c[2], c.get(3).map(|m| m.as_str()), start_ampm);
        let end = time_of(&c[5], c.get(6).map(|m| m.as_str()), end_ampm);
        if let (Some(start), Some(end)) = (start, end)
            && end > start
        {
            return Some(FoundTime {
                start,
                end: Some(end),
                span: whole.range(),
            });
        }
    }
    for c in SINGLE.captures_iter(text) {
        let prefixed = c.get(1).is_some();
        let has_minutes = c.get(3).is_some();
        let has_ampm = c.get(4).is_some();
        if !(prefixed || (labelled && has_minutes) || has_ampm) {
            continue;
        }
        let whole = c.get(0).unwrap();
        let after = &text[whole.end()..];
        if after.starts_with(['-', '/']) || text[..whole.start()].ends_with(['-', '/']) {
            continue;
        }
        if let Some(start) = time_of(
            &c[2],
            c.get(3).map(|m| m.as_str()),
            c.get(4).map(|m| m.as_str()),
        ) {
            return Some(FoundTime {
                start,
                end: None,
                span: whole.range(),
            });
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }
    fn t(h: u32, m: u32) -> NaiveTime {
        NaiveTime::from_hms_opt(h, m, 0).unwrap()
    }
    fn dates(text: &str, year: Option<i32>) -> Vec<NaiveDate> {
        find_dates(text, year).into_iter().map(|f| f.date).collect()
    }

    #[test]
    fn written_dates() {
        assert_eq!(dates("Kommunalt forum 2018-05-02", None), [d(2018, 5, 2)]);
        assert_eq!(
            dates("måndag 16 september 2024 kl. 09.00", None),
            [d(2024, 9, 16)]
        );
        assert_eq!(
            dates("nästa möte är den 2 maj 2018.", None),
            [d(2018, 5, 2)]
        );
        assert_eq!(
            dates("Kommande möten är 29 augusti och 24 oktober.", Some(2018)),
            [d(2018, 8, 29), d(2018, 10, 24)]
        );
        assert_eq!(
            dates("nästa träff 21/10 – eftermiddag", Some(2024)),
            [d(2024, 10, 21)]
        );
        assert_eq!(dates("May 2, 2018", None), [d(2018, 5, 2)]);
        assert_eq!(
            dates("Monday 16 September 2024, 9:00-12:00", None),
            [d(2024, 9, 16)]
        );
        assert_eq!(dates("the 3rd of March", Some(2025)), [d(2025, 3, 3)]);
        assert_eq!(
            dates("Tuesday, March 4, 2025 at 2:00 PM", None),
            [d(2025, 3, 4)]
        );
        assert_eq!(dates("Thursday 7th November 2024", None), [d(2024, 11, 7)]);
        assert_eq!(dates("by 15 March", Some(2026)), [d(2026, 3, 15)]);
        assert_eq!(dates("senast 2024-10-01", None), [d(2024, 10, 1)]);
        assert_eq!(dates("den 17-18 januari", Some(2019)), [d(2019, 1, 17)]);
    }

    #[test]
    fn no_year_no_date_and_no_false_dates() {
        assert!(dates("29 augusti", None).is_empty());
        assert!(dates("I juni 2023 blir det ett möte", None).is_empty());
        assert!(dates("Paragrafer 8-14, 30 procent", Some(2020)).is_empty());
        assert!(dates("31/02", Some(2020)).is_empty());
    }

    #[test]
    fn dates_before_the_meeting_roll_into_next_year() {
        let f = &find_dates("den 15 januari", Some(2024))[0];
        assert_eq!(after_meeting(f, Some(d(2024, 12, 10))), d(2025, 1, 15));
        let f = &find_dates("den 15 januari 2024", None)[0];
        assert_eq!(after_meeting(f, Some(d(2024, 12, 10))), d(2024, 1, 15));
    }

    #[test]
    fn bounded_patterns_find_what_the_regexes_find() {
        const PIECES: &[&str] = &[
            "2018-05-02",
            "2024",
            "-",
            "05",
            "/",
            "21/10",
            "29",
            "3",
            " ",
            "augusti",
            "maj",
            "May",
            "sept",
            "Sept.",
            "of",
            "th",
            ":e",
            "st",
            "–",
            ", ",
            "kl",
            "kl.",
            "Klockan",
            "time:",
            "at",
            "9",
            "13.15",
            ".",
            ":",
            "30",
            "pm",
            "a.m.",
            "till",
            "to",
            "until",
            "—",
            "den",
        ];
        for re in [&ISO, &DAY_MONTH, &MONTH_DAY, &SLASH, &RANGE, &SINGLE] {
            crate::extract::pattern::assert_same_as_regex(re, PIECES);
        }
    }

    #[test]
    fn written_times() {
        let span = |s: &str, l: bool| find_time(s, l).map(|f| (f.start, f.end));
        assert_eq!(
            span("kl. 09.00 - 12.00", false),
            Some((t(9, 0), Some(t(12, 0))))
        );
        assert_eq!(span("9.00–11.30", true), Some((t(9, 0), Some(t(11, 30)))));
        assert_eq!(span("13.00-16.00", true), Some((t(13, 0), Some(t(16, 0)))));
        assert_eq!(span("kl 13-15", false), Some((t(13, 0), Some(t(15, 0)))));
        assert_eq!(
            span("kl. 13.15–16", false),
            Some((t(13, 15), Some(t(16, 0))))
        );
        assert_eq!(span("9:00-12:00", false), Some((t(9, 0), Some(t(12, 0)))));
        assert_eq!(
            span("1.30 pm to 3 pm", false),
            Some((t(13, 30), Some(t(15, 0))))
        );
        assert_eq!(span("kl. 10", false), Some((t(10, 0), None)));
        assert_eq!(span("at 2:00 PM", false), Some((t(14, 0), None)));
        assert_eq!(
            span("at 7.30pm in the hall", false),
            Some((t(19, 30), None))
        );
        assert_eq!(
            span("Klockan: 9.00–11.30", false),
            Some((t(9, 0), Some(t(11, 30))))
        );
        assert_eq!(span("1.30 pm", false), Some((t(13, 30), None)));
        assert_eq!(span("Paragrafer: 8-14", false), None);
        assert_eq!(span("2018-05-02", false), None);
        assert_eq!(span("10–11 kommuner", false), None);
    }
}
