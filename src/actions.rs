//! Actions: what minutes say someone will do, kept per series with their owner, due date, the
//! meeting they came from and their state (open, done, dropped) with its history.
//!
//! They come in three ways, all inside the transaction that processes a mail:
//! - [`record`]: a minutes document's actions, one row per owner person (a group's action is
//!   one row per member it resolves to, or the secretary's); the same minutes again add nothing.
//!   The same minutes also close earlier open actions they report done ("Enkäten är
//!   utskickad, klart"), conservatively: a done word and most of the action's words on one line.
//! - [`handle_reply`]: an owner answers a reminder ([`crate::reminders`]) with "Klart" (all
//!   listed), "Klart 2" or "Done 1, 3" (those numbers), "Stryk 2" or "Drop 1, 3" (those
//!   numbers will not be done: state dropped), or anything else (kept as a progress
//!   note). The reply is tied to the reminder by In-Reply-To/References and taken only from the
//!   owner's address; it gets a short confirmation instead of a receipt.
//!
//! The reading of a reply ([`parse_reply`]) and of a done line ([`reports_done`]) is pure.

use std::sync::LazyLock;

use anyhow::Result;
use chrono::{DateTime, Utc};
use regex::Regex;

use crate::extract::Meeting;
use crate::people::{self, Resolution, Scope};
use crate::registry::Mail;
use crate::store::actions::{self as stored, ActionListing, NewAction};
use crate::store::series::SeriesRow;
use crate::store::{self, Tx};

/// Records the actions of a minutes document for `meeting_id`, and closes earlier actions of the
/// series that the document reports done. Returns how many actions were new.
pub async fn record(
    tx: &mut Tx,
    series: &SeriesRow,
    meeting_id: i64,
    meeting: &Meeting,
    text: &str,
    scope: &Scope,
    now: DateTime<Utc>,
) -> Result<usize> {
    let source = match meeting.date {
        Some(date) => format!("minutes of {date}"),
        None => "minutes".to_string(),
    };
    for earlier in stored::of_series(tx, series.id).await? {
        let before = match (earlier.meeting_date, meeting.date) {
            (Some(a), Some(b)) => a < b,
            _ => false,
        };
        if earlier.state == "open"
            && earlier.meeting_id != meeting_id
            && before
            && reports_done(text, &earlier.text)
        {
            stored::close(tx, earlier.id, "done", &source, now).await?;
            tracing::info!(action = earlier.id, text = %earlier.text, "reported done in later minutes");
        }
    }
    let mut added = 0;
    for action in &meeting.actions {
        let owner_text = action.owner.as_deref().unwrap_or("").trim();
        let mut owners = owners(owner_text, scope);
        if owners.is_empty() {
            owners.push(None);
        }
        for owner in owners {
            let new = NewAction {
                series_id: series.id,
                meeting_id,
                owner_text,
                owner_person_id: owner,
                text: action.text.trim(),
                due: action.due,
                source: &source,
            };
            if stored::insert(tx, &new, now).await?.is_some() {
                added += 1;
            }
        }
    }
    Ok(added)
}

/// The people an owner mention stands for: a person, a group's members, or the secretary for a
/// group no one was found for. Guesses, ambiguous and unknown names own nothing (they are in
/// the receipt); such an action is kept without an owner.
fn owners(mention: &str, scope: &Scope) -> Vec<Option<i64>> {
    if mention.is_empty() {
        return Vec::new();
    }
    let mut out = Vec::new();
    for (_, resolution) in people::resolve(mention, scope) {
        let ids: Vec<i64> = match resolution {
            Resolution::Person(k) | Resolution::ToSecretary(k) => vec![k.id],
            Resolution::Group(ks) => ks.iter().map(|k| k.id).collect(),
            _ => Vec::new(),
        };
        for id in ids.into_iter().filter(|id| *id > 0) {
            if !out.contains(&Some(id)) {
                out.push(Some(id));
            }
        }
    }
    out
}

static DONE_WORD: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)\b(klart|klar|klara|avklarad|avklarat|avklarade|genomfört|genomförd|genomförda|slutfört|slutförd|done|completed|finished)\b",
    )
    .expect("done pattern")
});

/// Words that say nothing about which action is meant.
const FILLER: &[&str] = &[
    "senast", "till", "inför", "nästa", "möte", "mötet", "efter", "från", "före", "innan", "med",
    "och", "eller", "samt", "before", "next", "meeting", "with", "from", "will", "about", "until",
    "that", "this", "klart", "done",
];

fn significant_words(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .map(str::to_lowercase)
        .filter(|w| w.chars().count() >= 4)
        .filter(|w| !w.chars().all(|c| c.is_ascii_digit()))
        .filter(|w| !FILLER.contains(&w.as_str()))
        .collect()
}

/// Whether a line of `text` reports the action `action` done: the line has a done word
/// ("klart", "genomfört", "done") and at least two of the action's words, and most of them
/// (a word counts when a word of the line starts with its first five letters).
pub fn reports_done(text: &str, action: &str) -> bool {
    let wanted = significant_words(action);
    if wanted.len() < 2 {
        return false;
    }
    text.lines().any(|line| {
        if !DONE_WORD.is_match(line) {
            return false;
        }
        let words: Vec<String> = line
            .split(|c: char| !c.is_alphanumeric())
            .map(str::to_lowercase)
            .collect();
        let found = wanted
            .iter()
            .filter(|w| {
                let stem: String = w.chars().take(5).collect();
                words.iter().any(|l| l.starts_with(&stem))
            })
            .count();
        found >= 2 && found * 3 >= wanted.len() * 2
    })
}

/// What the new text of an owner's reply to a reminder says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReplyCommand {
    /// "Klart" / "Done": every action the reminder listed is done.
    DoneAll,
    /// "Klart 2", "Done 1, 3": these numbers are done.
    Done(Vec<u32>),
    /// "Stryk 2", "Drop 1, 3": these numbers will not be done (always numbered: dropping
    /// everything by one word is too easy to do by mistake).
    Drop(Vec<u32>),
    /// Anything else: a progress note.
    Note(String),
    /// No new text at all.
    Nothing,
}

static DONE_COMMAND: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)^\s*(klart|klar|done|avklarat|fixat|gjort)\b(?P<rest>.*)$")
        .expect("done command pattern")
});

static DROP_COMMAND: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)^\s*(stryk|stryks|struken|struket|utgår|drop|dropped|cancel|cancelled|canceled)\b(?P<rest>.*)$")
        .expect("drop command pattern")
});

static NUMBERS: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)^[\s#]*\d{1,3}([\s#]*(,|;|&|/|och|and|\s)[\s#]*\d{1,3})*[\s.!]*$")
        .expect("numbers pattern")
});

/// What follows a command word, without the punctuation people put between.
fn command_rest(rest: &str) -> &str {
    rest.trim().trim_start_matches([':', ',', '-', '–']).trim()
}

/// "2", "1, 3", "1 och 3.": the item numbers, when that is all the text holds.
fn numbers(rest: &str) -> Option<Vec<u32>> {
    if !NUMBERS.is_match(rest) {
        return None;
    }
    let mut numbers: Vec<u32> = rest
        .split(|c: char| !c.is_ascii_digit())
        .filter_map(|n| n.parse().ok())
        .collect();
    numbers.dedup();
    Some(numbers)
}

/// Reads the new part of a reply (the quoted reminder is ignored): its first line decides.
pub fn parse_reply(text: &str) -> ReplyCommand {
    let new: Vec<&str> = crate::corrections::new_lines(text).collect();
    let Some(first) = new.iter().find(|l| !l.trim().is_empty()) else {
        return ReplyCommand::Nothing;
    };
    if let Some(c) = DONE_COMMAND.captures(first) {
        let rest = command_rest(&c["rest"]);
        if rest.trim_end_matches(['.', '!']).is_empty() {
            return ReplyCommand::DoneAll;
        }
        if let Some(numbers) = numbers(rest) {
            return ReplyCommand::Done(numbers);
        }
    }
    if let Some(c) = DROP_COMMAND.captures(first)
        && let Some(numbers) = numbers(command_rest(&c["rest"]))
    {
        return ReplyCommand::Drop(numbers);
    }
    let note = new.join("\n").trim().to_string();
    let note: String = note.chars().take(2000).collect();
    ReplyCommand::Note(note)
}

/// What a reply to a reminder did, for the log and the confirmation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplyOutcome {
    /// (number, text) of the actions closed now.
    pub closed: Vec<(u32, String)>,
    /// (number, text) of the actions dropped now.
    pub dropped: Vec<(u32, String)>,
    /// Numbers the reminder did not have, or actions no longer open.
    pub ignored: Vec<u32>,
    /// The note kept, if the reply was one.
    pub note: Option<String>,
}

/// Handles `mail` when it answers a reminder: closes or annotates the actions it lists and
/// queues a short confirmation. None when the mail is no such answer (or not from the owner):
/// then it is processed as any other mail.
pub async fn handle_reply(
    tx: &mut Tx,
    mail: &Mail<'_>,
    now: DateTime<Utc>,
) -> Result<Option<ReplyOutcome>> {
    let Some(parsed) = crate::document::parse_mail_headers(mail.raw) else {
        return Ok(None);
    };
    let mut parents: Vec<String> = Vec::new();
    for value in [parsed.in_reply_to(), parsed.references()] {
        if let Some(list) = value.as_text_list() {
            parents.extend(list.iter().map(|s| s.to_string()));
        }
    }
    if parents.is_empty() {
        return Ok(None);
    }
    let Some(reminder) = stored::reminder_by_message_ids(tx, &parents).await? else {
        return Ok(None);
    };
    let Some((name, sender)) = mail.from.as_ref() else {
        return Ok(None);
    };
    let person = store::meetings::person_with_address(tx, sender).await?;
    if person != Some(reminder.person_id) {
        tracing::warn!(%sender, reminder = %reminder.dedupe_key, "a reply to a reminder from someone else than its owner; not taken");
        return Ok(None);
    }
    let text = mail
        .reading
        .documents
        .iter()
        .find(|d| d.name == crate::document::BODY)
        .map(|d| d.text.as_str())
        .unwrap_or("");
    let command = parse_reply(text);
    let source = format!("reply by {sender}");
    let mut outcome = ReplyOutcome {
        closed: Vec::new(),
        dropped: Vec::new(),
        ignored: Vec::new(),
        note: None,
    };
    let numbers: Vec<u32> = match &command {
        ReplyCommand::DoneAll => reminder.items.iter().map(|(n, _)| *n).collect(),
        ReplyCommand::Done(numbers) | ReplyCommand::Drop(numbers) => numbers.clone(),
        _ => Vec::new(),
    };
    let dropping = matches!(command, ReplyCommand::Drop(_));
    let state = if dropping { "dropped" } else { "done" };
    for number in numbers {
        let Some((_, id)) = reminder.items.iter().find(|(n, _)| *n == number) else {
            outcome.ignored.push(number);
            continue;
        };
        if stored::close(tx, *id, state, &source, now).await? {
            let text = stored::texts(tx, &[*id])
                .await?
                .pop()
                .map(|(_, t)| t)
                .unwrap_or_default();
            if dropping {
                outcome.dropped.push((number, text));
            } else {
                outcome.closed.push((number, text));
            }
        } else if !matches!(command, ReplyCommand::DoneAll) {
            outcome.ignored.push(number);
        }
    }
    if let ReplyCommand::Note(note) = &command {
        for (_, id) in &reminder.items {
            stored::note(tx, *id, note, &source, now).await?;
        }
        outcome.note = Some(note.clone());
    }
    let english = reminder.language == "en";
    let body = confirmation(&outcome, name.as_deref(), english);
    let message_id = parsed.message_id();
    let key = store::message_key(message_id, mail.raw);
    let subject = crate::receipt::subject(parsed.subject());
    let confirmation = crate::outgoing::TextMail {
        dedupe_key: format!("action-reply:{}:{key}", mail.mailbox.name),
        kind: "confirmation",
        mailbox_name: &mail.mailbox.name,
        from: crate::outgoing::mailbox(Some(&mail.mailbox.display_name), &mail.mailbox.address)?,
        to: vec![crate::outgoing::mailbox(name.as_deref(), sender)?],
        subject: &subject,
        body,
        in_reply_to: message_id,
        date: now,
        attachments: Vec::new(),
    }
    .render()?;
    store::enqueue(tx, &confirmation, now).await?;
    tracing::info!(%sender, reminder = %reminder.dedupe_key, ?outcome, "reply to a reminder taken");
    Ok(Some(outcome))
}

/// The short answer to an owner's reply.
pub fn confirmation(outcome: &ReplyOutcome, name: Option<&str>, english: bool) -> String {
    let first = name
        .and_then(|n| n.split_whitespace().next())
        .map(|n| format!(" {n}"))
        .unwrap_or_default();
    let mut out = if english {
        format!("Hello{first},\n\n")
    } else {
        format!("Hej{first},\n\n")
    };
    let mut list = |heading: &str, items: &[(u32, String)]| {
        if !items.is_empty() {
            out.push_str(heading);
            for (n, text) in items {
                out.push_str(&format!("  {n}. {text}\n"));
            }
        }
    };
    list(
        if english {
            "Thank you. Marked as done:\n"
        } else {
            "Tack! Markerat som klart:\n"
        },
        &outcome.closed,
    );
    list(
        if english {
            "Thank you. Dropped (will not be done):\n"
        } else {
            "Tack! Struket (ska inte göras):\n"
        },
        &outcome.dropped,
    );
    if !outcome.ignored.is_empty() {
        let numbers: Vec<String> = outcome.ignored.iter().map(u32::to_string).collect();
        out.push_str(&if english {
            format!(
                "Not changed (no such open item in the reminder): {}\n",
                numbers.join(", ")
            )
        } else {
            format!(
                "Inte ändrat (ingen sådan öppen punkt i påminnelsen): {}\n",
                numbers.join(", ")
            )
        });
    }
    if outcome.note.is_some() {
        out.push_str(if english {
            "Thank you. Your update is noted and goes to the secretary before the meeting.\n"
        } else {
            "Tack! Din lägesrapport är noterad och går till sekreteraren inför mötet.\n"
        });
    }
    if outcome.closed.is_empty()
        && outcome.dropped.is_empty()
        && outcome.ignored.is_empty()
        && outcome.note.is_none()
    {
        out.push_str(if english {
            "Your reply had no new text, so nothing was changed.\n"
        } else {
            "Svaret innehöll ingen ny text, så inget ändrades.\n"
        });
    }
    out.push_str(if english {
        "\nKind regards\nClerk\n"
    } else {
        "\nVänliga hälsningar\nClerk\n"
    });
    out
}

/// `clerk actions`: actions by series and meeting, with their owner, state and history.
pub fn listing(all: &[ActionListing]) -> String {
    if all.is_empty() {
        return "No actions.\n".into();
    }
    let mut out = String::new();
    let mut last: Option<(String, Option<chrono::NaiveDate>)> = None;
    for listing in all {
        let a = &listing.action;
        let head = (a.series.clone(), a.meeting_date);
        if last.as_ref() != Some(&head) {
            out.push_str(&format!(
                "{}, minutes of {}\n",
                a.series,
                a.meeting_date
                    .map_or("(no date)".to_string(), |d| d.to_string())
            ));
            last = Some(head);
        }
        let owner = match (&a.owner_name, a.owner_text.as_str()) {
            (Some(name), "") => name.clone(),
            (Some(name), text) if crate::names::key(name) == crate::names::key(text) => {
                name.clone()
            }
            (Some(name), text) => format!("{name} (as {text})"),
            (None, "") => "no owner".to_string(),
            (None, text) => format!("{text} (not resolved)"),
        };
        let due = a.due.map(|d| format!(", due {d}")).unwrap_or_default();
        out.push_str(&format!("  [{}] {owner}: {}{due}\n", a.state, a.text));
        for e in &listing.events {
            let note = e
                .note
                .as_deref()
                .map(|n| format!(": {}", n.replace('\n', " ")))
                .unwrap_or_default();
            out.push_str(&format!(
                "      {} {} ({}){note}\n",
                e.at, e.state, e.source
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn done_all_numbers_and_notes() {
        assert_eq!(parse_reply("Klart"), ReplyCommand::DoneAll);
        assert_eq!(parse_reply("klart!\n\nMvh Alice"), ReplyCommand::DoneAll);
        assert_eq!(parse_reply("Done."), ReplyCommand::DoneAll);
        assert_eq!(parse_reply("Klart 2"), ReplyCommand::Done(vec![2]));
        assert_eq!(parse_reply("Done 1, 3"), ReplyCommand::Done(vec![1, 3]));
        assert_eq!(
            parse_reply("Klart: 1 och 3."),
            ReplyCommand::Done(vec![1, 3])
        );
        assert_eq!(
            parse_reply("Budgeten är nästan klar, kommer på fredag.\nMvh Bob"),
            ReplyCommand::Note("Budgeten är nästan klar, kommer på fredag.\nMvh Bob".into())
        );
        // "Klart med lokalen" is not a list of numbers: a note, not a closing.
        assert!(matches!(
            parse_reply("Klart med lokalen, enkäten dröjer"),
            ReplyCommand::Note(_)
        ));
        assert_eq!(parse_reply("\n\n"), ReplyCommand::Nothing);
    }

    #[test]
    fn numbered_drops_and_no_drop_without_numbers() {
        assert_eq!(parse_reply("Stryk 2"), ReplyCommand::Drop(vec![2]));
        assert_eq!(
            parse_reply("Utgår: 1 och 3."),
            ReplyCommand::Drop(vec![1, 3])
        );
        assert_eq!(
            parse_reply("Drop 1, 3\n\nBob"),
            ReplyCommand::Drop(vec![1, 3])
        );
        assert_eq!(parse_reply("cancelled 4"), ReplyCommand::Drop(vec![4]));
        // Dropping is always by number; a word alone or a sentence is a note.
        assert!(matches!(parse_reply("Stryk"), ReplyCommand::Note(_)));
        assert!(matches!(
            parse_reply("Stryk punkten om lokalen, den är bokad"),
            ReplyCommand::Note(_)
        ));
        let outcome = ReplyOutcome {
            closed: vec![(1, "skickar ut enkäten".into())],
            dropped: vec![(2, "bokar lokal".into())],
            ignored: Vec::new(),
            note: None,
        };
        let sv = confirmation(&outcome, Some("Alice Andersson"), false);
        assert!(
            sv.contains("Markerat som klart:\n  1. skickar ut enkäten\n")
                && sv.contains("Struket (ska inte göras):\n  2. bokar lokal\n"),
            "{sv}"
        );
        let en = confirmation(&outcome, None, true);
        assert!(
            en.contains("Dropped (will not be done):\n  2. bokar lokal\n"),
            "{en}"
        );
    }

    #[test]
    fn the_quoted_reminder_is_not_read() {
        let gmail = "Klart 2\n\nDen 10 feb. 2030 kl. 08:00 skrev Clerk <clerk@example.org>:\n\
                     > 1. Skicka ut enkäten\n> Svara \"Klart\" när allt är gjort\n";
        assert_eq!(parse_reply(gmail), ReplyCommand::Done(vec![2]));
        let outlook = "Jobbar på det.\n\nFrån: Clerk <clerk@example.org>\nSkickat: den 10 februari\n\
                       Klart\n";
        assert_eq!(
            parse_reply(outlook),
            ReplyCommand::Note("Jobbar på det.".into())
        );
        assert_eq!(parse_reply("> Klart\n"), ReplyCommand::Nothing);
    }

    #[test]
    fn later_minutes_report_an_action_done() {
        let action = "skickar ut enkäten till kommunerna";
        assert!(reports_done(
            "3. Uppföljning\nEnkäten har skickats ut till kommunerna – klart.\n",
            action
        ));
        assert!(reports_done("Enkät till kommunerna: genomfört", action));
        // No done word, or only one of the action's words: not closed.
        assert!(!reports_done(
            "Enkäten till kommunerna skickas nästa vecka.",
            action
        ));
        assert!(!reports_done("Budgeten är klar.", action));
        assert!(!reports_done("Kommunerna är klara med sitt.", action));
        // Too short an action to recognise safely.
        assert!(!reports_done("Bokat, klart.", "bokar"));
    }

    #[test]
    fn confirmation_lists_what_was_closed() {
        let outcome = ReplyOutcome {
            closed: vec![(2, "Ta fram en budget".into())],
            dropped: Vec::new(),
            ignored: vec![7],
            note: None,
        };
        let text = confirmation(&outcome, Some("Bob Berg"), false);
        assert!(text.starts_with("Hej Bob,"), "{text}");
        assert!(text.contains("  2. Ta fram en budget"), "{text}");
        assert!(text.contains(": 7"), "{text}");
        let english = confirmation(&outcome, None, true);
        assert!(english.starts_with("Hello,"), "{english}");
    }
}
