//! Invitations: which meetings get a calendar request, an update or a cancellation, and the
//! mail each member receives.
//!
//! A meeting is invited when a document announces it (minutes' next meetings, a notice or an
//! agenda) and it is still ahead by the daemon's clock. What the request says (date, time,
//! place, agenda, link) is summed up in a fingerprint: a later document that changes any of it
//! raises SEQUENCE and sends an update; one that changes nothing sends nothing. Every mail is
//! queued under the key (UID, SEQUENCE, attendee), so the same document twice, two documents
//! announcing the same meeting, or a restart mid-way never produce a second request.

use std::sync::LazyLock;

use anyhow::Result;
use chrono::{DateTime, Duration, NaiveDate, NaiveTime, Utc};
use regex::Regex;
use sha2::{Digest, Sha256};

use crate::calendar::{self, Attendee, Event, Person, When};
use crate::config::MailboxConfig;
use crate::extract::Language;
use crate::outgoing::{self, Attachment, InvitationMail};
use crate::receipt::{long_date_in, time_span_text};
use crate::series;
use crate::store::meetings::{self, MeetingRow};
use crate::store::people as stored_people;
use crate::store::series::{self as stored_series, SeriesRow};
use crate::store::{self, Tx};

/// What was done about one meeting, for the receipt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Note {
    /// A request (or, with `sequence` above 0, an update) went to `count` members.
    Invited {
        date: NaiveDate,
        count: usize,
        sequence: u32,
        /// The time was not given; the series' usual time was used.
        assumed_time: Option<String>,
        /// No time given and none usual: an all-day event.
        all_day: bool,
    },
    /// Nothing changed since the last request.
    Unchanged { date: NaiveDate },
    /// A cancellation went to `count` members.
    Cancelled { date: NaiveDate, count: usize },
    /// The meeting is already past: nothing sent.
    Past { date: NaiveDate },
    /// No member of the series has a known address.
    NoMembers { date: NaiveDate },
}

/// Words that call a meeting off.
static CANCELLED: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\b(ställs in|ställts in|är inställt|inställt|inställd|avlyst|avlyses|ställer in|cancel+ed|is called off|will not take place)\b")
        .expect("cancellation pattern")
});

/// A link to a video meeting.
static VIDEO_LINK: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"https://[^\s<>"')\]]*(?:teams\.microsoft\.com|teams\.live\.com|zoom\.us|meet\.google\.com|webex\.com|whereby\.com|jitsi)[^\s<>"')\]]*"#)
        .expect("video link pattern")
});

/// Words that move a meeting to another date.
static MOVED: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\b(flyttas|flyttat|flyttats|skjuts upp|senareläggs|tidigareläggs|moved|postponed|rescheduled|brought forward)\b")
        .expect("move pattern")
});

/// A meeting moved from one date to another.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Move {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub start: Option<NaiveTime>,
    pub end: Option<NaiveTime>,
}

/// "Mötet den 2 maj flyttas till den 9 maj kl. 13.00": the first sentence that moves a meeting
/// and names two dates; the earlier-written date is the old one. Dates without a year take
/// `year`.
pub fn moved(text: &str, year: Option<i32>) -> Option<Move> {
    for line in text.lines() {
        let Some(found) = MOVED.find(line) else {
            continue;
        };
        let sentence = sentence_around(line, found.start());
        let dates = crate::extract::dates::find_dates(sentence, year);
        let (Some(first), Some(last)) = (dates.first(), dates.last()) else {
            continue;
        };
        if first.date == last.date {
            continue;
        }
        let time = crate::extract::dates::find_time(&sentence[last.span.end..], false);
        return Some(Move {
            from: first.date,
            to: last.date,
            start: time.as_ref().map(|t| t.start),
            end: time.and_then(|t| t.end),
        });
    }
    None
}

/// The sentence of `line` around byte `at`: sentences end at ". ", "! " or "? " before a
/// capital letter (so "kl. 13.00" stays in its sentence).
fn sentence_around(line: &str, at: usize) -> &str {
    let ends: Vec<usize> = line
        .match_indices(['.', '!', '?'])
        .map(|(i, _)| i + 1)
        .filter(|&i| {
            let rest = &line[i..];
            rest.starts_with(' ') && rest.trim_start().starts_with(char::is_uppercase)
        })
        .collect();
    let start = ends.iter().rev().find(|&&e| e <= at).copied().unwrap_or(0);
    let end = ends
        .iter()
        .find(|&&e| e > at)
        .copied()
        .unwrap_or(line.len());
    &line[start..end]
}

/// Whether a document calls its meeting off.
pub fn calls_off(text: &str) -> bool {
    CANCELLED.is_match(text)
}

/// The first video-meeting link in a text.
pub fn video_link(text: &str) -> Option<String> {
    VIDEO_LINK
        .find(text)
        .map(|m| m.as_str().trim_end_matches(['.', ',', ';']).to_string())
}

/// What the mail's context gives every invitation.
pub struct Context<'a> {
    pub mailbox: &'a MailboxConfig,
    pub now: DateTime<Utc>,
    /// The document to attach (an agenda), if any.
    pub attachment: Option<Attachment>,
    /// Where the meeting was announced, for the mail's text.
    pub announced_in: Option<String>,
    /// Who sent the document, told should an invitation be refused for good.
    pub secretary: Option<String>,
}

/// Sends what the meeting's current state calls for: a request, an update, a cancellation, or
/// nothing.
pub async fn send_for_meeting(tx: &mut Tx, ctx: &Context<'_>, meeting_id: i64) -> Result<Note> {
    let meeting = meetings::load(tx, meeting_id).await?;
    let series = stored_series::series_by_id(tx, meeting.series_id).await?;
    let tz: chrono_tz::Tz = series
        .time_zone
        .parse()
        .unwrap_or(chrono_tz::Europe::Stockholm);
    let Some(date) = meeting.date else {
        anyhow::bail!("meeting {meeting_id} has no date");
    };
    if date < ctx.now.with_timezone(&tz).date_naive() {
        return Ok(Note::Past { date });
    }
    let language = if series.language == "en" {
        Language::En
    } else {
        Language::Sv
    };
    if meeting.status == "cancelled" {
        return cancel(tx, ctx, &meeting, &series, tz, language, date).await;
    }
    let usual = series::usual(&stored_series::times_and_places(tx, series.id).await?);
    let (when, assumed_time) = match (meeting.start, usual.0) {
        (Some(start), _) => (timed(date, start, meeting.end), None),
        (None, Some(start)) => (
            timed(date, start, usual.1),
            time_span_text(Some(start), usual.1),
        ),
        (None, None) => (When::AllDay(date), None),
    };
    // A place not given is the series' usual one, as a time not given is.
    let place = meeting.place.clone().or(usual.2.clone());
    let fingerprint = fingerprint(&when, place.as_deref(), &meeting);
    let sequence = match &meeting.invited_fingerprint {
        None => meeting.sequence,
        Some(sent) if *sent != fingerprint => meeting.sequence + 1,
        Some(_) => meeting.sequence,
    };
    let members = reachable_members(tx, series.id).await?;
    if members.is_empty() {
        return Ok(Note::NoMembers { date });
    }
    let unchanged = meeting.invited_fingerprint.as_deref() == Some(fingerprint.as_str());
    let event = event(
        ctx,
        &meeting,
        &series,
        &members,
        Details {
            sequence,
            description: description(&meeting, language),
            location: place.clone(),
            url: meeting.url.clone(),
            when,
            tz,
        },
    );
    let words = Words::of(language);
    let subject = format!(
        "{}: {} {}",
        if sequence > 0 {
            words.updated
        } else {
            words.invitation
        },
        series.title,
        when_text(&when, language)
    );
    let text = request_text(&event, &series, language, assumed_time.as_deref(), ctx);
    for (_, address) in &members {
        if let Some(person) = meetings::person_with_address(tx, address).await? {
            stored_series::attendance(tx, meeting.id, person, "invitee").await?;
        }
    }
    let letter = Letter {
        key: "invitation",
        subject: &subject,
        text: &text,
        ics: &calendar::request(&event),
        attachment: ctx.attachment.clone(),
    };
    let queued = queue(tx, ctx, &meeting, &series, &members, sequence, &letter).await?;
    meetings::mark_invited(tx, meeting.id, sequence, &fingerprint).await?;
    if unchanged && queued == 0 {
        return Ok(Note::Unchanged { date });
    }
    Ok(Note::Invited {
        date,
        count: members.len(),
        sequence,
        all_day: matches!(event.when, When::AllDay(_)),
        assumed_time,
    })
}

async fn cancel(
    tx: &mut Tx,
    ctx: &Context<'_>,
    meeting: &MeetingRow,
    series: &SeriesRow,
    tz: chrono_tz::Tz,
    language: Language,
    date: NaiveDate,
) -> Result<Note> {
    if meeting.invited_fingerprint.is_none() || meeting.cancel_sent {
        return Ok(Note::Cancelled { date, count: 0 });
    }
    let sequence = meeting.sequence + 1;
    let members = reachable_members(tx, series.id).await?;
    let when = match meeting.start {
        Some(start) => timed(date, start, meeting.end),
        None => When::AllDay(date),
    };
    let event = event(
        ctx,
        meeting,
        series,
        &members,
        Details {
            sequence,
            description: None,
            location: meeting.place.clone(),
            url: None,
            when,
            tz,
        },
    );
    let words = Words::of(language);
    let subject = format!(
        "{}: {} {}",
        words.cancelled,
        series.title,
        when_text(&when, language)
    );
    let text = format!(
        "{}\n\n{}\n\n{}\n{}\n",
        words.hello,
        words
            .cancelled_text
            .replace("{series}", &series.title)
            .replace("{date}", &long_date_in(language, date)),
        words.regards,
        words.signature.replace("{series}", &series.title)
    );
    let letter = Letter {
        key: "cancel",
        subject: &subject,
        text: &text,
        ics: &calendar::cancel(&event),
        attachment: None,
    };
    queue(tx, ctx, meeting, series, &members, sequence, &letter).await?;
    meetings::mark_cancel_sent(tx, meeting.id, sequence).await?;
    Ok(Note::Cancelled {
        date,
        count: members.len(),
    })
}

/// The members of a series that have an address: (name, address).
async fn reachable_members(tx: &mut Tx, series_id: i64) -> Result<Vec<(String, String)>> {
    Ok(stored_people::members(tx, series_id)
        .await?
        .into_iter()
        .filter_map(|k| k.address.map(|a| (k.name, a)))
        .collect())
}

/// What differs between the versions of one meeting's event.
struct Details {
    sequence: u32,
    description: Option<String>,
    location: Option<String>,
    url: Option<String>,
    when: When,
    tz: chrono_tz::Tz,
}

/// The event as the series' members see it: organised by the mailbox in the series' name.
fn event(
    ctx: &Context<'_>,
    meeting: &MeetingRow,
    series: &SeriesRow,
    members: &[(String, String)],
    details: Details,
) -> Event {
    Event {
        uid: meeting.uid.clone(),
        sequence: details.sequence,
        summary: series.title.clone(),
        description: details.description,
        location: details.location,
        url: details.url,
        when: details.when,
        tz: details.tz,
        organizer: Person::new(ctx.mailbox.address.clone(), Some(&series.title)),
        attendees: members
            .iter()
            .map(|(name, address)| Attendee::new(Person::new(address.clone(), Some(name))))
            .collect(),
        dtstamp: ctx.now,
    }
}

/// One mail about an event, the same for every member.
struct Letter<'a> {
    /// "invitation" or "cancel": the outbox kind's and dedupe key's prefix.
    key: &'static str,
    subject: &'a str,
    text: &'a str,
    ics: &'a str,
    attachment: Option<Attachment>,
}

/// Queues the letter to each member under (kind, UID, SEQUENCE, address); returns how many were
/// new (the rest were queued before).
async fn queue(
    tx: &mut Tx,
    ctx: &Context<'_>,
    meeting: &MeetingRow,
    series: &SeriesRow,
    members: &[(String, String)],
    sequence: u32,
    letter: &Letter<'_>,
) -> Result<usize> {
    let mut queued = 0;
    for (name, address) in members {
        let mail = InvitationMail {
            dedupe_key: format!("{}:{}:{sequence}:{address}", letter.key, meeting.uid),
            kind: if letter.key == "cancel" {
                "cancellation"
            } else {
                "invitation"
            },
            mailbox_name: &ctx.mailbox.name,
            from: outgoing::mailbox(Some(&series.title), &ctx.mailbox.address)?,
            to: vec![outgoing::mailbox(Some(name), address)?],
            subject: letter.subject,
            text: letter.text.to_string(),
            html: html(letter.text),
            ics: letter.ics.to_string(),
            attachment: letter.attachment.clone(),
            date: ctx.now,
        }
        .render()?
        .telling_on_failure(ctx.secretary.as_deref(), series.language == "en");
        if store::enqueue(tx, &mail, ctx.now).await? {
            queued += 1;
        }
    }
    Ok(queued)
}

fn timed(date: NaiveDate, start: NaiveTime, end: Option<NaiveTime>) -> When {
    let start = date.and_time(start);
    let end = end
        .map(|e| date.and_time(e))
        .filter(|e| *e > start)
        .unwrap_or(start + Duration::hours(1));
    When::Timed { start, end }
}

/// What a request says, as a digest: a change in it is a change attendees must see.
fn fingerprint(when: &When, place: Option<&str>, meeting: &MeetingRow) -> String {
    let text = format!(
        "{when:?}|{}|{}|{}",
        place.unwrap_or(""),
        meeting.agenda.as_deref().unwrap_or(""),
        meeting.url.as_deref().unwrap_or("")
    );
    hex::encode(Sha256::digest(text.as_bytes()))
}

fn description(meeting: &MeetingRow, language: Language) -> Option<String> {
    let agenda = meeting.agenda.as_deref()?;
    Some(format!("{}:\n{agenda}", Words::of(language).agenda))
}

fn when_text(when: &When, language: Language) -> String {
    match when {
        When::Timed { start, .. } => format!(
            "{} {} {}",
            long_date_in(language, start.date()),
            Words::of(language).at,
            start.format("%H.%M")
        ),
        When::AllDay(date) => long_date_in(language, *date),
    }
}

fn request_text(
    event: &Event,
    series: &SeriesRow,
    language: Language,
    assumed_time: Option<&str>,
    ctx: &Context<'_>,
) -> String {
    let w = Words::of(language);
    let mut out = format!(
        "{}\n\n{}\n\n",
        w.hello,
        if event.sequence > 0 {
            w.updated_text
        } else {
            w.welcome
        }
        .replace("{series}", &series.title)
    );
    let (date, time) = match event.when {
        When::Timed { start, end } => (
            start.date(),
            time_span_text(Some(start.time()), Some(end.time())),
        ),
        When::AllDay(date) => (date, None),
    };
    out.push_str(&format!("{}: {}\n", w.date, long_date_in(language, date)));
    match (time, assumed_time) {
        (Some(time), Some(_)) => {
            out.push_str(&format!("{}: {time} ({})\n", w.time, w.usual_time));
        }
        (Some(time), None) => out.push_str(&format!("{}: {time}\n", w.time)),
        (None, _) => out.push_str(&format!("{}: {}\n", w.time, w.no_time)),
    }
    if let Some(place) = &event.location {
        out.push_str(&format!("{}: {place}\n", w.place));
    }
    if let Some(url) = &event.url {
        out.push_str(&format!("{}: {url}\n", w.link));
    }
    if let Some(description) = &event.description {
        out.push_str(&format!("\n{description}\n"));
    }
    if let Some(announced) = &ctx.announced_in {
        out.push_str(&format!("\n{}\n", w.announced.replace("{doc}", announced)));
    }
    out.push_str(&format!(
        "\n{}\n\n{}\n{}\n",
        w.answer,
        w.regards,
        w.signature.replace("{series}", &series.title)
    ));
    out
}

/// The plain text as simple HTML, for clients that show only the HTML part.
fn html(text: &str) -> String {
    let escaped = text
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;");
    let paragraphs: Vec<String> = escaped
        .split("\n\n")
        .map(|p| format!("<p>{}</p>", p.trim_end().replace('\n', "<br>\n")))
        .collect();
    format!(
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"></head><body>\n{}\n</body></html>\n",
        paragraphs.join("\n")
    )
}

/// The words of invitation mails in one language.
struct Words {
    invitation: &'static str,
    updated: &'static str,
    cancelled: &'static str,
    hello: &'static str,
    welcome: &'static str,
    updated_text: &'static str,
    cancelled_text: &'static str,
    date: &'static str,
    time: &'static str,
    at: &'static str,
    usual_time: &'static str,
    no_time: &'static str,
    place: &'static str,
    link: &'static str,
    agenda: &'static str,
    announced: &'static str,
    answer: &'static str,
    regards: &'static str,
    signature: &'static str,
}

impl Words {
    fn of(language: Language) -> &'static Words {
        match language {
            Language::Sv => &SV,
            Language::En => &EN,
        }
    }
}

const SV: Words = Words {
    invitation: "Inbjudan",
    updated: "Uppdaterad inbjudan",
    cancelled: "Inställt",
    hello: "Hej,",
    welcome: "Välkommen till {series}.",
    updated_text: "Mötet med {series} har ändrats. Så här gäller nu:",
    cancelled_text: "Mötet med {series} {date} är inställt. Kalenderinbjudan tas bort.",
    date: "Datum",
    time: "Tid",
    at: "kl.",
    usual_time: "tiden angavs inte, så jag har använt seriens vanliga tid",
    no_time: "ej angiven (heldag i kalendern)",
    place: "Plats",
    link: "Länk till mötet",
    agenda: "Dagordning",
    announced: "Mötet aviserades i {doc}.",
    answer: "Svara på inbjudan i din kalender, så vet vi vem som kommer.",
    regards: "Vänliga hälsningar",
    signature: "Clerk för {series}",
};

const EN: Words = Words {
    invitation: "Invitation",
    updated: "Updated invitation",
    cancelled: "Cancelled",
    hello: "Hello,",
    welcome: "You are invited to {series}.",
    updated_text: "The {series} meeting has changed. This is what now holds:",
    cancelled_text: "The {series} meeting on {date} is cancelled. The calendar invitation is withdrawn.",
    date: "Date",
    time: "Time",
    at: "at",
    usual_time: "no time was given, so the series' usual time is used",
    no_time: "not given (an all-day event in the calendar)",
    place: "Place",
    link: "Meeting link",
    agenda: "Agenda",
    announced: "The meeting was announced in {doc}.",
    answer: "Please answer the invitation in your calendar, so we know who is coming.",
    regards: "Kind regards",
    signature: "Clerk for {series}",
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cancellations_and_links_are_recognised() {
        assert!(calls_off("Mötet den 29 augusti ställs in."));
        assert!(calls_off("Kommunalt forum 24 oktober: INSTÄLLT"));
        assert!(calls_off("The meeting on 3 May is cancelled."));
        assert!(!calls_off("Vi ställer oss bakom förslaget."));
        assert_eq!(
            video_link(
                "Anslut: https://teams.microsoft.com/l/meetup-join/19%3a123/0?context=x. Tack"
            )
            .as_deref(),
            Some("https://teams.microsoft.com/l/meetup-join/19%3a123/0?context=x")
        );
        assert_eq!(video_link("https://example.org/a"), None);
    }

    #[test]
    fn moves_name_the_old_and_the_new_date() {
        let d = |m, d| NaiveDate::from_ymd_opt(2018, m, d).unwrap();
        assert_eq!(
            moved(
                "Hej!\nMötet den 2 maj flyttas till den 9 maj kl. 13.00-15.00. Mvh",
                Some(2018)
            ),
            Some(Move {
                from: d(5, 2),
                to: d(5, 9),
                start: NaiveTime::from_hms_opt(13, 0, 0),
                end: NaiveTime::from_hms_opt(15, 0, 0),
            })
        );
        assert_eq!(
            moved(
                "The meeting on 2018-05-02 is postponed to 2018-05-16.",
                None
            )
            .map(|m| m.to),
            Some(d(5, 16))
        );
        assert_eq!(moved("Mötet flyttas.", Some(2018)), None);
        assert_eq!(
            moved("Nästa möte är den 2 maj och den 9 maj.", Some(2018)),
            None
        );
    }

    #[test]
    fn html_escapes_and_keeps_paragraphs() {
        let h = html("Hej,\n\nA <b> & c\nrad 2");
        assert!(h.contains("<p>A &lt;b&gt; &amp; c<br>\nrad 2</p>"), "{h}");
    }
}
