//! Meeting series: which series a document belongs to, and the series' settings.
//!
//! A document belongs to the first configured series (`[[series]]`) whose sender, title words
//! and mailbox fit it; otherwise to the series of its normalised title in the mailbox it came
//! to, created on first sight. So "Kommunalt forum" in February and "KOMMUNALT FORUM" in May
//! are one series without any configuration, while two mailboxes keep apart two bodies that
//! happen to share a name. The usual time and place are learned from the series' meetings.

use std::collections::BTreeMap;

use chrono::NaiveTime;

use crate::config::{Config, SeriesConfig};
use crate::names;

/// How a document was placed in a series.
#[derive(Debug, Clone)]
pub struct Placement<'a> {
    /// The store key: `config:<name>` or `title:<mailbox>:<normalised title>`.
    pub key: String,
    pub title: String,
    pub config: Option<&'a SeriesConfig>,
}

/// The series a document with `title`, arriving in `mailbox` from `sender`, belongs to. None
/// when it has no title and no configured series claims it.
pub fn place<'a>(
    config: &'a Config,
    title: Option<&str>,
    mailbox: &str,
    sender: Option<&str>,
) -> Option<Placement<'a>> {
    let title_key = title.map(names::key).unwrap_or_default();
    let fits_mailbox = |s: &SeriesConfig| s.mailbox.as_deref().is_none_or(|m| m == mailbox);
    let by_sender = config.series.iter().find(|s| {
        fits_mailbox(s)
            && sender.is_some_and(|from| s.senders.iter().any(|x| x.eq_ignore_ascii_case(from)))
    });
    let by_title = || {
        config.series.iter().find(|s| {
            if !fits_mailbox(s) || title_key.is_empty() {
                return false;
            }
            let patterns: Vec<&String> = if s.match_titles.is_empty() {
                vec![&s.name]
            } else {
                s.match_titles.iter().collect()
            };
            patterns
                .iter()
                .any(|p| contains_words(&title_key, &names::key(p)))
        })
    };
    if let Some(series) = by_sender.or_else(by_title) {
        return Some(Placement {
            key: format!("config:{}", names::key(&series.name)),
            title: series.name.clone(),
            config: Some(series),
        });
    }
    let title = title?.trim();
    if title_key.is_empty() {
        return None;
    }
    Some(Placement {
        key: format!("title:{mailbox}:{title_key}"),
        title: title.to_string(),
        config: None,
    })
}

/// Whether `pattern`'s words appear in `text` as whole words, in order.
fn contains_words(text: &str, pattern: &str) -> bool {
    if pattern.is_empty() {
        return false;
    }
    let padded = format!(" {text} ");
    padded.contains(&format!(" {pattern} "))
}

/// The series' usual start, end and place: the most common among its meetings that state them
/// (the latest wins a tie). None when no meeting said.
pub fn usual(
    meetings: &[(Option<String>, Option<String>, Option<String>)],
) -> (Option<NaiveTime>, Option<NaiveTime>, Option<String>) {
    let time = |t: &Option<String>| {
        t.as_deref()
            .and_then(|t| NaiveTime::parse_from_str(t, "%H:%M").ok())
    };
    let starts: Vec<(NaiveTime, Option<NaiveTime>)> = meetings
        .iter()
        .filter_map(|(s, e, _)| time(s).map(|s| (s, time(e))))
        .collect();
    let (start, end) = most_common(&starts).map_or((None, None), |(s, e)| (Some(s), e));
    let places: Vec<String> = meetings.iter().filter_map(|(_, _, p)| p.clone()).collect();
    (start, end, most_common(&places))
}

fn most_common<T: Clone + Ord>(values: &[T]) -> Option<T> {
    let mut counts: BTreeMap<&T, (usize, usize)> = BTreeMap::new();
    for (i, v) in values.iter().enumerate() {
        let entry = counts.entry(v).or_insert((0, 0));
        entry.0 += 1;
        entry.1 = i;
    }
    counts
        .into_iter()
        .max_by_key(|(_, (count, last))| (*count, *last))
        .map(|(v, _)| v.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(series: &str) -> Config {
        Config::parse(
            &format!("[store]\nurl = \"sqlite::memory:\"\n{series}"),
            "test.toml",
        )
        .unwrap()
    }

    #[test]
    fn unconfigured_titles_make_one_series_per_title_and_mailbox() {
        let config = config("");
        let a = place(&config, Some("Kommunalt forum"), "main", None).unwrap();
        let b = place(&config, Some("KOMMUNALT  FORUM"), "main", None).unwrap();
        let c = place(&config, Some("Kommunalt forum"), "other", None).unwrap();
        assert_eq!(a.key, b.key);
        assert_ne!(a.key, c.key);
        assert!(place(&config, None, "main", None).is_none());
    }

    #[test]
    fn configured_series_match_by_title_words_or_sender() {
        let config = config(
            "[[series]]\nname = \"Kommunalt forum\"\n\
             [[series]]\nname = \"E-rådet\"\nmatch_titles = [\"e-råd\", \"erad\"]\nsenders = [\"sek@example.org\"]\n",
        );
        let p = place(&config, Some("Kommunalt forum Kronoberg"), "main", None).unwrap();
        assert_eq!(p.title, "Kommunalt forum");
        assert_eq!(
            place(&config, Some("E-råd Fyrbodal"), "main", None)
                .unwrap()
                .title,
            "E-rådet"
        );
        // Å is a letter of its own: "E-rad" is not "E-råd".
        assert!(
            place(&config, Some("E rad"), "main", None)
                .unwrap()
                .config
                .is_none()
        );
        assert_eq!(
            place(
                &config,
                Some("Något annat"),
                "main",
                Some("SEK@example.org")
            )
            .unwrap()
            .title,
            "E-rådet"
        );
        // Words, not letters: "forumet" is not "forum".
        assert!(
            place(&config, Some("Kommunalt forumet"), "main", None)
                .unwrap()
                .config
                .is_none()
        );
    }

    #[test]
    fn usual_time_and_place_are_the_most_common() {
        let m = |s: &str, p: &str| (Some(s.to_string()), None, Some(p.to_string()));
        let (start, _, place) = usual(&[m("09:00", "A"), m("13:00", "B"), m("09:00", "B")]);
        assert_eq!(start, NaiveTime::from_hms_opt(9, 0, 0));
        assert_eq!(place.as_deref(), Some("B"));
        assert_eq!(usual(&[]), (None, None, None));
    }
}
