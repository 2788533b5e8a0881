//! The receipt: the reply every sender gets, saying what Clerk found in their mail and what it
//! understood, so that a mistake is caught by a person early. Written in the language of the
//! documents (Swedish unless they are English). Pure text; no I/O.

use chrono::{Datelike, NaiveDate, NaiveTime};

use crate::approval::Note as ApprovalNote;
use crate::document::BODY;
use crate::extract::{Kind, Language, Meeting, Person};
use crate::invitations::Note;
use crate::people::Problem;
use crate::registry::{Refusal, Registration};
use crate::understanding::Reading;

/// The words of one language.
struct Words {
    hello: &'static str,
    thanks: &'static str,
    nothing: &'static str,
    minutes: &'static str,
    agenda: &'static str,
    other: &'static str,
    date: &'static str,
    date_from_mail: &'static str,
    no_date: &'static str,
    time: &'static str,
    place: &'static str,
    present: &'static str,
    absent: &'static str,
    secretary: &'static str,
    approvers: &'static str,
    approval_due: &'static str,
    agenda_items: &'static str,
    decisions: &'static str,
    actions: &'static str,
    no_owner: &'static str,
    due: &'static str,
    next_meetings: &'static str,
    time_not_given: &'static str,
    unreadable: &'static str,
    closing: &'static str,
    body_name: &'static str,
    series: &'static str,
    cannot_reach: &'static str,
    how_to_fix: &'static str,
    example_address: &'static str,
    unknown: &'static str,
    ambiguous: &'static str,
    full_name: &'static str,
    no_address_for: &'static str,
    guessed: &'static str,
    to_secretary: &'static str,
    noted: &'static str,
    not_noted: &'static str,
    not_trusted: &'static str,
    need_full_name: &'static str,
    belongs_to: &'static str,
    calendar: &'static str,
    invited: &'static str,
    updated: &'static str,
    assumed_time: &'static str,
    all_day: &'static str,
    unchanged: &'static str,
    cancel_sent: &'static str,
    past: &'static str,
    no_members: &'static str,
    approval: &'static str,
    approval_requested: &'static str,
    approval_already: &'static str,
    approval_unchanged: &'static str,
    approval_too_late: &'static str,
    months: [&'static str; 12],
    weekdays: [&'static str; 7],
}

const SV: Words = Words {
    hello: "Hej",
    thanks: "Tack, jag har läst ditt mejl. Så här uppfattade jag det:",
    nothing: "Tack för ditt mejl. Jag hittade inget möte, ingen kallelse och inget protokoll i det.",
    minutes: "Protokoll",
    agenda: "Kallelse/dagordning",
    other: "Dokument",
    date: "Datum",
    date_from_mail: "dokumentet saknar datum, så jag har utgått från mejlets datum",
    no_date: "framgår inte",
    time: "Tid",
    place: "Plats",
    present: "Närvarande",
    absent: "Förhindrade",
    secretary: "Sekreterare",
    approvers: "Justerare",
    approval_due: "Justeras senast",
    agenda_items: "Dagordning",
    decisions: "Beslut",
    actions: "Åtgärder",
    no_owner: "ansvarig saknas",
    due: "senast",
    next_meetings: "Kommande möten",
    time_not_given: "tid ej angiven",
    unreadable: "Det här kunde jag inte läsa:",
    closing: "Stämmer något inte? Svara på det här mejlet så rättar vi det.\n\nVänliga hälsningar\nClerk",
    body_name: "mejlets text",
    series: "Mötesserie",
    cannot_reach: "Personer jag inte kan nå ännu (de får ingen inbjudan, justering eller påminnelse):",
    how_to_fix: "Jag skickar aldrig till en gissad adress. Svara på det här mejlet med en rad per person, hela namnet först, till exempel:",
    example_address: crate::corrections::EXAMPLE_ADDRESSES[0],
    unknown: "ingen med det namnet är känd",
    ambiguous: "kan vara",
    full_name: "skriv hela namnet",
    no_address_for: "ingen e-postadress känd för",
    guessed: "jag tror att det är {}, men stavningen skiljer sig (å, ä, ö); bekräfta med en rad enligt nedan",
    to_secretary: "ingen i gruppen kunde hittas, så uppgiften går till {}",
    noted: "Jag har noterat:",
    not_noted: "Det här kunde jag inte notera:",
    not_trusted: "bara en sekreterare som skickat protokoll eller kallelser hit kan rätta adresser",
    need_full_name: "skriv hela namnet (för- och efternamn)",
    belongs_to: "adressen tillhör redan {}",
    calendar: "Kalender:",
    invited: "inbjudan skickad till {n} personer",
    updated: "uppdaterad inbjudan skickad till {n} personer",
    assumed_time: "tiden angavs inte, så jag använde seriens vanliga tid {t}",
    all_day: "ingen tid angavs, så mötet ligger som heldag i kalendern",
    unchanged: "redan inbjudet; inget nytt att skicka",
    cancel_sent: "inställt; besked skickat till {n} personer",
    past: "har redan varit; ingen inbjudan skickad",
    no_members: "ingen inbjudan skickad: ingen i serien har en känd e-postadress",
    approval: "Justering:",
    approval_requested: "skickat till {n} justerare (version {v}), att justeras senast {due}",
    approval_already: "protokollet anger att det redan är justerat; ingen begäran skickad",
    approval_unchanged: "den här versionen är redan skickad för justering",
    approval_too_late: "ingen begäran skickad: justeringstiden {due} har passerat",
    months: [
        "januari",
        "februari",
        "mars",
        "april",
        "maj",
        "juni",
        "juli",
        "augusti",
        "september",
        "oktober",
        "november",
        "december",
    ],
    weekdays: [
        "måndag", "tisdag", "onsdag", "torsdag", "fredag", "lördag", "söndag",
    ],
};

const EN: Words = Words {
    hello: "Hello",
    thanks: "Thank you, I have read your mail. This is what I understood:",
    nothing: "Thank you for your mail. I found no meeting, notice or minutes in it.",
    minutes: "Minutes",
    agenda: "Notice/agenda",
    other: "Document",
    date: "Date",
    date_from_mail: "the document has no date, so I used the date of your mail",
    no_date: "not stated",
    time: "Time",
    place: "Place",
    present: "Present",
    absent: "Apologies",
    secretary: "Minutes taken by",
    approvers: "To be approved by",
    approval_due: "Approval due",
    agenda_items: "Agenda",
    decisions: "Decisions",
    actions: "Actions",
    no_owner: "no owner given",
    due: "due",
    next_meetings: "Next meetings",
    time_not_given: "time not given",
    unreadable: "I could not read this:",
    closing: "Is anything wrong? Reply to this mail and it will be put right.\n\nKind regards\nClerk",
    body_name: "the mail's text",
    series: "Meeting series",
    cannot_reach: "People I cannot reach yet (they get no invitation, approval request or reminder):",
    how_to_fix: "I never send to a guessed address. Reply to this mail with one line per person, full name first, for example:",
    example_address: crate::corrections::EXAMPLE_ADDRESSES[1],
    unknown: "no one by that name is known",
    ambiguous: "could be",
    full_name: "please use the full name",
    no_address_for: "no email address known for",
    guessed: "I think this is {}, but the spelling differs (å, ä, ö); please confirm with a line as below",
    to_secretary: "no one in the group could be found, so the task goes to {}",
    noted: "I have noted:",
    not_noted: "I could not note this:",
    not_trusted: "only a secretary who has sent minutes or agendas here may correct addresses",
    need_full_name: "please give the full name (first and last name)",
    belongs_to: "the address already belongs to {}",
    calendar: "Calendar:",
    invited: "invitation sent to {n} people",
    updated: "updated invitation sent to {n} people",
    assumed_time: "no time was given, so I used the series' usual time {t}",
    all_day: "no time was given, so it is an all-day event in the calendar",
    unchanged: "already invited; nothing new to send",
    cancel_sent: "cancelled; notice sent to {n} people",
    past: "already past; no invitation sent",
    no_members: "no invitation sent: no one in the series has a known address",
    approval: "Approval:",
    approval_requested: "sent to {n} approver(s) (version {v}), to be approved by {due}",
    approval_already: "the minutes say they are approved already; no request sent",
    approval_unchanged: "this version was sent for approval already",
    approval_too_late: "no request sent: the approval deadline {due} has passed",
    months: [
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ],
    weekdays: [
        "Monday",
        "Tuesday",
        "Wednesday",
        "Thursday",
        "Friday",
        "Saturday",
        "Sunday",
    ],
};

/// The language the receipt is written in: that of the main meeting document, else Swedish.
pub fn language(reading: &Reading) -> Language {
    reading
        .primary()
        .map(|d| d.meeting.language)
        .unwrap_or(Language::Sv)
}

fn words(reading: &Reading) -> &'static Words {
    match language(reading) {
        Language::En => &EN,
        Language::Sv => &SV,
    }
}

/// "Re: <subject>", or a plain subject when the mail had none.
pub fn subject(original: Option<&str>) -> String {
    match original.map(str::trim).filter(|s| !s.is_empty()) {
        Some(s) if s.to_ascii_lowercase().starts_with("re:") => s.to_string(),
        Some(s) => format!("Re: {s}"),
        None => "Mottaget av Clerk / Received by Clerk".to_string(),
    }
}

/// The receipt's text: a greeting, what was understood of each document, what could not be
/// read, and how to correct it.
pub fn body(
    reading: &Reading,
    sender_name: Option<&str>,
    registration: Option<&Registration>,
) -> String {
    let w = words(reading);
    // The sender's name is whatever their mail says: no control characters in the greeting.
    let sender_name = sender_name.map(|n| crate::outgoing::clean_header_text(n, 120));
    let mut out = match sender_name
        .as_deref()
        .and_then(|n| n.split_whitespace().next())
    {
        Some(first) => format!("{} {first},\n\n", w.hello),
        None => format!("{},\n\n", w.hello),
    };
    if let Some(registration) = registration {
        write_corrections(&mut out, w, registration);
    }
    out.push_str(&summary(reading));
    if let Some(registration) = registration {
        write_registration(&mut out, w, registration);
    }
    out.push('\n');
    out.push_str(w.closing);
    out.push('\n');
    out
}

/// What was understood, without greeting (also what `clerk ingest` prints).
pub fn summary(reading: &Reading) -> String {
    let w = words(reading);
    let mut out = String::new();
    // A mail body that only says "here are the minutes" is not reported as a meeting.
    let meetings: Vec<_> = reading
        .documents
        .iter()
        .filter(|d| d.has_meeting_content() || (d.name != BODY && d.meeting.kind != Kind::Other))
        .collect();
    if meetings.is_empty() {
        out.push_str(w.nothing);
        out.push('\n');
    } else {
        out.push_str(w.thanks);
        out.push('\n');
        for doc in meetings {
            out.push('\n');
            let name = if doc.name == BODY {
                w.body_name
            } else {
                doc.name.as_str()
            };
            write_meeting(&mut out, w, name, &doc.meeting);
        }
    }
    if !reading.refused.is_empty() {
        out.push('\n');
        out.push_str(w.unreadable);
        out.push('\n');
        for r in &reading.refused {
            out.push_str(&format!("- {}: {}\n", r.name, r.reason));
        }
    }
    out
}

/// One meeting as the receipt shows it (for mails that summarise a document, e.g. approvals).
pub fn meeting_summary(language: Language, name: &str, meeting: &Meeting) -> String {
    let mut out = String::new();
    write_meeting(
        &mut out,
        match language {
            Language::En => &EN,
            Language::Sv => &SV,
        },
        name,
        meeting,
    );
    out
}

fn write_meeting(out: &mut String, w: &Words, name: &str, m: &Meeting) {
    let kind = match m.kind {
        Kind::Minutes => w.minutes,
        Kind::Agenda => w.agenda,
        Kind::Other => w.other,
    };
    let title = m.title.as_deref().unwrap_or(name);
    out.push_str(&format!("{kind}: {title} ({name})\n"));
    let date = match m.date {
        Some(d) if m.date_from_mail => format!("{} ({})", long_date(w, d), w.date_from_mail),
        Some(d) => long_date(w, d),
        None => w.no_date.to_string(),
    };
    line(out, w.date, &date);
    if let Some(time) = time_span(m.start, m.end) {
        line(out, w.time, &time);
    }
    if let Some(place) = &m.place {
        line(out, w.place, place);
    }
    list(out, w.present, &m.attendees);
    list(out, w.absent, &m.absent);
    if let Some(secretary) = &m.secretary {
        line(out, w.secretary, secretary);
    }
    if !m.approvers.is_empty() {
        line(out, w.approvers, &m.approvers.join(", "));
    }
    if let Some(due) = m.approval_due {
        line(out, w.approval_due, &long_date(w, due));
    }
    if !m.agenda_items.is_empty() {
        out.push_str(&format!("  {}:\n", w.agenda_items));
        for item in &m.agenda_items {
            let number = item
                .number
                .as_deref()
                .map(|n| format!("{n} "))
                .unwrap_or_default();
            out.push_str(&format!("    {number}{}\n", item.title));
        }
    }
    if !m.decisions.is_empty() {
        out.push_str(&format!("  {}:\n", w.decisions));
        for decision in &m.decisions {
            out.push_str(&format!("    - {}\n", decision.text));
        }
    }
    if !m.actions.is_empty() {
        out.push_str(&format!("  {}:\n", w.actions));
        for action in &m.actions {
            let owner = action.owner.as_deref().unwrap_or(w.no_owner);
            let due = action
                .due
                .map(|d| format!(" ({} {})", w.due, long_date(w, d)))
                .unwrap_or_default();
            out.push_str(&format!("    - {owner}: {}{due}\n", action.text));
        }
    }
    if !m.next_meetings.is_empty() {
        out.push_str(&format!("  {}:\n", w.next_meetings));
        for next in &m.next_meetings {
            let mut parts = vec![
                next.date
                    .map(|d| long_date(w, d))
                    .unwrap_or_else(|| w.no_date.into()),
            ];
            parts.push(time_span(next.start, next.end).unwrap_or_else(|| w.time_not_given.into()));
            if let Some(place) = &next.place {
                parts.push(place.clone());
            }
            out.push_str(&format!("    - {}\n", parts.join(", ")));
        }
    }
}

/// The corrections a reply made, first, since they are what the reply was for.
fn write_corrections(out: &mut String, w: &Words, registration: &Registration) {
    let taken: Vec<_> = registration
        .corrections
        .iter()
        .filter(|(_, outcome)| outcome.is_ok())
        .collect();
    if !taken.is_empty() {
        out.push_str(w.noted);
        out.push('\n');
        for (c, _) in taken {
            out.push_str(&format!("  {} = {}\n", c.name, c.address));
        }
        out.push('\n');
    }
    let refused: Vec<_> = registration
        .corrections
        .iter()
        .filter_map(|(c, outcome)| outcome.as_ref().err().map(|r| (c, r)))
        .collect();
    if !refused.is_empty() {
        out.push_str(w.not_noted);
        out.push('\n');
        for (c, refusal) in refused {
            let why = match refusal {
                Refusal::NotTrusted => w.not_trusted.to_string(),
                Refusal::NeedFullName => w.need_full_name.to_string(),
                Refusal::BelongsTo(owner) => w.belongs_to.replace("{}", owner),
            };
            out.push_str(&format!("  {} = {}: {why}\n", c.name, c.address));
        }
        out.push('\n');
    }
}

/// The series each meeting was placed in, and the people who cannot be reached, with how to
/// fix that.
fn write_registration(out: &mut String, w: &Words, registration: &Registration) {
    let mut series: Vec<&str> = registration
        .meetings
        .iter()
        .map(|(s, _)| s.as_str())
        .collect();
    series.dedup();
    if !series.is_empty() {
        out.push_str(&format!("\n{}: {}\n", w.series, series.join(", ")));
    }
    write_invitations(out, w, registration);
    write_approvals(out, w, registration);
    if registration.problems.is_empty() {
        return;
    }
    out.push('\n');
    out.push_str(w.cannot_reach);
    out.push('\n');
    let mut example = None;
    let without_address: Vec<&str> = registration
        .problems
        .iter()
        .filter_map(|p| match p {
            Problem::NoAddress { name } => Some(name.as_str()),
            _ => None,
        })
        .collect();
    if let Some(first) = without_address.first() {
        example = Some(first.to_string());
        out.push_str(&format!(
            "  - {} ({}): {}\n",
            w.no_address_for,
            without_address.len(),
            without_address.join(", ")
        ));
    }
    for problem in &registration.problems {
        let text = match problem {
            Problem::Unknown { mention } => format!("{mention}: {}", w.unknown),
            Problem::Ambiguous {
                mention,
                candidates,
            } => format!(
                "{mention}: {} {}; {}",
                w.ambiguous,
                candidates.join(", "),
                w.full_name
            ),
            Problem::NoAddress { .. } => continue,
            Problem::Guessed { mention, taken_as } => {
                example.get_or_insert(taken_as.clone());
                format!("{mention}: {}", w.guessed.replace("{}", taken_as))
            }
            Problem::GroupToSecretary { mention, secretary } => {
                format!("{mention}: {}", w.to_secretary.replace("{}", secretary))
            }
        };
        out.push_str(&format!("  - {text}\n"));
    }
    let example = example.unwrap_or_else(|| "Anna Andersson".into());
    out.push_str(&format!(
        "{}\n  {example} = {}\n",
        w.how_to_fix, w.example_address
    ));
}

/// What was done to have minutes approved.
fn write_approvals(out: &mut String, w: &Words, registration: &Registration) {
    if registration.approvals.is_empty() {
        return;
    }
    out.push_str(&format!("\n{}\n", w.approval));
    for (series, date, note) in &registration.approvals {
        let text = match note {
            ApprovalNote::Requested {
                version,
                count,
                due,
            } => w
                .approval_requested
                .replace("{n}", &count.to_string())
                .replace("{v}", &version.to_string())
                .replace("{due}", &long_date(w, *due)),
            ApprovalNote::AlreadyApproved => w.approval_already.to_string(),
            ApprovalNote::Unchanged => w.approval_unchanged.to_string(),
            ApprovalNote::TooLate { due } => {
                w.approval_too_late.replace("{due}", &long_date(w, *due))
            }
        };
        out.push_str(&format!("  - {series} {}: {text}\n", long_date(w, *date)));
    }
}

/// What was sent to calendars about each announced meeting.
fn write_invitations(out: &mut String, w: &Words, registration: &Registration) {
    if registration.invitations.is_empty() {
        return;
    }
    out.push_str(&format!("\n{}\n", w.calendar));
    for (series, note) in &registration.invitations {
        let (date, text) = match note {
            Note::Invited {
                date,
                count,
                sequence,
                assumed_time,
                all_day,
            } => {
                let mut text = if *sequence > 0 { w.updated } else { w.invited }
                    .replace("{n}", &count.to_string());
                if let Some(time) = assumed_time {
                    text.push_str(&format!("; {}", w.assumed_time.replace("{t}", time)));
                }
                if *all_day {
                    text.push_str(&format!("; {}", w.all_day));
                }
                (date, text)
            }
            Note::Unchanged { date } => (date, w.unchanged.to_string()),
            Note::Cancelled { date, count } => {
                (date, w.cancel_sent.replace("{n}", &count.to_string()))
            }
            Note::Past { date } => (date, w.past.to_string()),
            Note::NoMembers { date } => (date, w.no_members.to_string()),
        };
        out.push_str(&format!("  - {series} {}: {text}\n", long_date(w, *date)));
    }
}

fn line(out: &mut String, label: &str, value: &str) {
    out.push_str(&format!("  {label}: {value}\n"));
}

fn list(out: &mut String, label: &str, people: &[Person]) {
    if people.is_empty() {
        return;
    }
    let names: Vec<String> = people
        .iter()
        .map(|p| match &p.organization {
            Some(org) => format!("{} ({org})", p.name),
            None => p.name.clone(),
        })
        .collect();
    out.push_str(&format!(
        "  {label} ({}): {}\n",
        people.len(),
        names.join(", ")
    ));
}

/// "onsdag 2 maj 2018" / "Wednesday 2 May 2018".
/// "onsdag 29 augusti 2018" / "Wednesday 29 August 2018".
pub fn long_date_in(language: Language, date: NaiveDate) -> String {
    long_date(
        match language {
            Language::En => &EN,
            Language::Sv => &SV,
        },
        date,
    )
}

/// "09.00–11.55" (Swedish style, both languages), or None without a start.
pub fn time_span_text(start: Option<NaiveTime>, end: Option<NaiveTime>) -> Option<String> {
    time_span(start, end)
}

fn long_date(w: &Words, date: NaiveDate) -> String {
    let weekday = w.weekdays[date.weekday().num_days_from_monday() as usize];
    let month = w.months[date.month0() as usize];
    format!("{weekday} {} {month} {}", date.day(), date.year())
}

fn time_span(start: Option<NaiveTime>, end: Option<NaiveTime>) -> Option<String> {
    match (start, end) {
        (Some(s), Some(e)) => Some(format!("{}–{}", s.format("%H.%M"), e.format("%H.%M"))),
        (Some(s), None) => Some(s.format("%H.%M").to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::document::Limits;
    use crate::understanding::read_file;

    #[test]
    fn subject_gets_one_re() {
        assert_eq!(subject(Some("Protokoll")), "Re: Protokoll");
        assert_eq!(subject(Some("RE: Protokoll")), "RE: Protokoll");
        assert!(subject(None).contains("Clerk"));
    }

    #[test]
    fn swedish_summary_of_minutes() {
        let text = "Protokoll styrelsen 2026-03-02\nTid: 13.00-15.00\nPlats: Rum 1\n\nNärvarande:\tAnna Berg, Bo Ek\n\n\
                    1. Budget\n\nAnna Berg skickar ut budgeten senast den 9 mars.\n\nNästa möte: 6 april 2026";
        let reading = read_file("p.txt", text.as_bytes(), &Limits::default());
        let body = body(&reading, Some("Sara Ek"), None);
        assert!(body.starts_with("Hej Sara,"), "{body}");
        assert!(body.contains("Protokoll: Styrelsen (p.txt)"), "{body}");
        assert!(body.contains("Datum: måndag 2 mars 2026"), "{body}");
        assert!(body.contains("Tid: 13.00–15.00"), "{body}");
        assert!(body.contains("Närvarande (2): Anna Berg, Bo Ek"), "{body}");
        assert!(
            body.contains(
                "Anna Berg: skickar ut budgeten senast den 9 mars (senast måndag 9 mars 2026)"
            ),
            "{body}"
        );
        assert!(
            body.contains("måndag 6 april 2026, tid ej angiven"),
            "{body}"
        );
        assert!(body.contains("Svara på det här mejlet"), "{body}");
    }

    #[test]
    fn english_document_english_receipt_and_refusals_listed() {
        let text =
            "Minutes of the Finance Committee\nDate: 2 March 2026\n\nPresent: Anna Berg, Bo Ek\n";
        let mut reading = read_file("m.txt", text.as_bytes(), &Limits::default());
        reading.refused.push(crate::document::Refused {
            name: "scan.pdf".into(),
            reason: "no text layer".into(),
        });
        let body = body(&reading, None, None);
        assert!(body.starts_with("Hello,"), "{body}");
        assert!(body.contains("Date: Monday 2 March 2026"), "{body}");
        assert!(
            body.contains("I could not read this:\n- scan.pdf: no text layer"),
            "{body}"
        );
    }
}
