//! Reminders about open actions, and the secretary's digest before each meeting: a scheduler
//! job ([`run_due`]).
//!
//! When mail may go out is a cron schedule (`reminders.schedule`, or a series'
//! `reminder_schedule`) read in the series' own time zone. An **occasion** is the latest firing
//! of that schedule at or before now, and it is due for an owner when it falls within the lead
//! time before the next meeting of one of their actions' series (`days_before_meeting`) or
//! before one of their due dates (`days_before_due`). Each owner then gets one mail listing
//! all their open actions across series, grouped by meeting and numbered, queued under
//! `reminder:<person>:<the meeting or due date it is about>` (one per lead window, however many
//! firings fall in it); a digest goes to each series' secretary once per meeting,
//! under `digest:<meeting>`. So a second tick, a restart or two replicas never send twice, and
//! a firing missed while the daemon was down is made up at the next tick.
//!
//! Local times follow RFC 5545: a firing at a local time that does not exist (the spring gap)
//! happens after the gap; one that exists twice (autumn) happens at the first.
//!
//! The decisions ([`latest_firing`], [`occasion`], [`group`]) are pure and take `now`.

use std::collections::{BTreeMap, HashMap};

use anyhow::{Context as _, Result};
use chrono::{
    DateTime, Duration, LocalResult, NaiveDate, NaiveDateTime, NaiveTime, Offset, TimeZone, Utc,
};
use chrono_tz::Tz;

use crate::config::{Config, MailboxConfig};
use crate::extract::Language;
use crate::outgoing::{self, TextMail};
use crate::receipt::{long_date_in, time_span_text};
use crate::scheduler::{Context, Done};
use crate::store::actions::{self as stored, ActionRow, NewReminder, UpcomingMeeting};
use crate::store::people as stored_people;
use crate::store::{self, Tx, ts};

const JOB: &str = "reminders";

/// When one series' reminders may go out.
#[derive(Debug, Clone)]
pub struct Rules {
    pub schedule: cron::Schedule,
    pub tz: Tz,
    pub days_before_meeting: u32,
    pub days_before_due: u32,
}

/// The instant a local wall time means in `tz`: a time in the spring gap is moved forward by
/// the gap, a time that occurs twice is the first (RFC 5545, 3.3.5).
pub fn local_instant(tz: Tz, local: NaiveDateTime) -> DateTime<Utc> {
    match tz.from_local_datetime(&local) {
        LocalResult::Single(t) => t.with_timezone(&Utc),
        LocalResult::Ambiguous(first, _) => first.with_timezone(&Utc),
        LocalResult::None => {
            // Read with the offset in force before the gap, which moves it forward by the gap.
            let before = tz
                .from_local_datetime(&(local - Duration::hours(3)))
                .earliest()
                .map_or(0, |t| t.offset().fix().local_minus_utc());
            Utc.from_utc_datetime(&(local - Duration::seconds(i64::from(before))))
        }
    }
}

/// The latest firing of `schedule` at or before `now`, reading the schedule in `tz`'s wall time.
pub fn latest_firing(
    schedule: &cron::Schedule,
    tz: Tz,
    now: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    // The schedule runs over wall times (naive, written as UTC); each is then placed in `tz`.
    // Starting a little ahead finds a firing in a repeated hour that already happened.
    let wall_now = now.with_timezone(&tz).naive_local();
    let start = Utc.from_utc_datetime(&(wall_now + Duration::hours(2)));
    schedule
        .after(&start)
        .rev()
        .take(1000)
        .map(|wall| local_instant(tz, wall.naive_utc()))
        .find(|instant| *instant <= now)
}

/// A time something happens, as a wall time in the series' zone, and the lead before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Target {
    pub at: NaiveDateTime,
    pub days_before: u32,
}

/// The occasion due now for these targets: the latest firing at or before `now` that lies within
/// `days_before` (calendar days, wall time) before a target still ahead. None when there is none.
pub fn occasion(rules: &Rules, targets: &[Target], now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let firing = latest_firing(&rules.schedule, rules.tz, now)?;
    targets
        .iter()
        .any(|t| {
            let end = local_instant(rules.tz, t.at);
            let start = local_instant(rules.tz, t.at - Duration::days(i64::from(t.days_before)));
            start <= firing && firing < end && now < end
        })
        .then_some(firing)
}

/// The earliest target whose lead window holds the occasion due now: what the reminder is
/// about. One reminder per owner and window, not one per firing inside it.
pub fn window(rules: &Rules, targets: &[Target], now: DateTime<Utc>) -> Option<NaiveDateTime> {
    let firing = latest_firing(&rules.schedule, rules.tz, now)?;
    targets
        .iter()
        .filter(|t| {
            let end = local_instant(rules.tz, t.at);
            let start = local_instant(rules.tz, t.at - Duration::days(i64::from(t.days_before)));
            start <= firing && firing < end && now < end
        })
        .map(|t| t.at)
        .min()
}

/// The wall time a meeting starts (midnight when its time is not known).
fn meeting_start(m: &UpcomingMeeting) -> NaiveDateTime {
    m.date.and_time(m.start.unwrap_or(NaiveTime::MIN))
}

/// One meeting's actions in a reminder: ((series, meeting date), [(number, action)]).
pub type Group<'a> = ((String, Option<NaiveDate>), Vec<(u32, &'a ActionRow)>);

/// Actions grouped by the meeting whose minutes record them, in order, numbered from 1 across
/// the groups.
pub fn group(actions: &[ActionRow]) -> Vec<Group<'_>> {
    let mut sorted: Vec<&ActionRow> = actions.iter().collect();
    sorted
        .sort_by(|a, b| (&a.series, a.meeting_date, a.id).cmp(&(&b.series, b.meeting_date, b.id)));
    let mut out: Vec<Group<'_>> = Vec::new();
    for (i, a) in sorted.into_iter().enumerate() {
        let number = u32::try_from(i + 1).unwrap_or(u32::MAX);
        let key = (a.series.clone(), a.meeting_date);
        match out.last_mut() {
            Some((k, items)) if *k == key => items.push((number, a)),
            _ => out.push((key, vec![(number, a)])),
        }
    }
    out
}

fn rules_for(config: &Config, series_title: &str, time_zone: &str) -> Result<Rules> {
    let configured = config
        .series
        .iter()
        .find(|c| crate::names::key(&c.name) == crate::names::key(series_title));
    let text = configured
        .and_then(|c| c.reminder_schedule.as_deref())
        .unwrap_or(&config.reminders.schedule);
    let schedule: cron::Schedule = text
        .parse()
        .with_context(|| format!("the reminder schedule {text:?}"))?;
    let tz: Tz = time_zone
        .parse()
        .or_else(|_| config.daemon.time_zone.parse())
        .map_err(|e| anyhow::anyhow!("time zone {time_zone:?}: {e}"))?;
    Ok(Rules {
        schedule,
        tz,
        days_before_meeting: configured
            .and_then(|c| c.reminder_days_before)
            .unwrap_or(config.reminders.days_before_meeting),
        days_before_due: config.reminders.days_before_due,
    })
}

/// The days whose due dates and meetings may need a reminder between `now` and `days_ahead`
/// days later: a target lies at most its lead (the longest configured) ahead. A day is added on
/// each side for the series' time zones; the exact rule is [`occasion`].
fn near(config: &Config, now: DateTime<Utc>, days_ahead: i64) -> stored::Near {
    let today = now.date_naive();
    let meeting_lead = config
        .series
        .iter()
        .filter_map(|s| s.reminder_days_before)
        .chain([config.reminders.days_before_meeting])
        .max()
        .unwrap_or(0);
    let ahead = |days: u32| today + Duration::days(i64::from(days) + days_ahead + 2);
    let yesterday = today - Duration::days(1);
    stored::Near {
        due: (yesterday, ahead(config.reminders.days_before_due)),
        meetings: (yesterday, ahead(meeting_lead)),
    }
}

/// The next meeting of each series that has not started by `now`.
fn next_meetings(
    upcoming: &[UpcomingMeeting],
    tz_of: impl Fn(i64) -> Tz,
    now: DateTime<Utc>,
) -> BTreeMap<i64, UpcomingMeeting> {
    let mut next = BTreeMap::new();
    for m in upcoming {
        if local_instant(tz_of(m.series_id), meeting_start(m)) > now {
            next.entry(m.series_id).or_insert_with(|| m.clone());
        }
    }
    next
}

/// When an owner with these open actions is due a reminder at `now`: the occasion (the latest
/// firing in a lead window) and what the reminder is about (the earliest target whose window
/// holds it). None when no firing of theirs falls in a window.
fn owner_due(
    rules: &BTreeMap<i64, Rules>,
    next: &BTreeMap<i64, UpcomingMeeting>,
    actions: &[ActionRow],
    now: DateTime<Utc>,
) -> Option<(DateTime<Utc>, NaiveDateTime)> {
    let mut when: Option<DateTime<Utc>> = None;
    let mut about: Option<NaiveDateTime> = None;
    for a in actions {
        let Some(r) = rules.get(&a.series_id) else {
            continue;
        };
        let mut targets = Vec::new();
        if let Some(m) = next.get(&a.series_id) {
            targets.push(Target {
                at: meeting_start(m),
                days_before: r.days_before_meeting,
            });
        }
        if let Some(due) = a.due {
            targets.push(Target {
                at: due.and_time(NaiveTime::MIN),
                days_before: r.days_before_due,
            });
        }
        if let Some(o) = occasion(r, &targets, now) {
            when = Some(when.map_or(o, |w| w.max(o)));
        }
        if let Some(w) = window(r, &targets, now) {
            about = Some(about.map_or(w, |a: NaiveDateTime| a.min(w)));
        }
    }
    Some((when?, about?))
}

/// What the reminder decisions read from the store: the open actions that have an owner, by
/// owner; the reminder rules of their series; and the meetings ahead.
struct OpenActions {
    by_owner: BTreeMap<i64, Vec<ActionRow>>,
    rules: BTreeMap<i64, Rules>,
    upcoming: Vec<UpcomingMeeting>,
}

impl OpenActions {
    /// Reads the actions that may need a reminder from `now` until `days_ahead` days later.
    async fn load(
        config: &Config,
        tx: &mut Tx,
        now: DateTime<Utc>,
        days_ahead: i64,
    ) -> Result<OpenActions> {
        let open = stored::open_owned_near(tx, near(config, now, days_ahead)).await?;
        let upcoming =
            stored::upcoming_meetings(tx, (now - Duration::days(2)).date_naive()).await?;
        let mut rules: BTreeMap<i64, Rules> = BTreeMap::new();
        for a in &open {
            if let std::collections::btree_map::Entry::Vacant(e) = rules.entry(a.series_id) {
                e.insert(rules_for(config, &a.series, &a.time_zone)?);
            }
        }
        let mut by_owner: BTreeMap<i64, Vec<ActionRow>> = BTreeMap::new();
        for a in open {
            if let Some(owner) = a.owner_person_id {
                by_owner.entry(owner).or_default().push(a);
            }
        }
        Ok(OpenActions {
            by_owner,
            rules,
            upcoming,
        })
    }

    /// The next meeting of each series that has not started by `now`.
    fn next_meetings(&self, now: DateTime<Utc>) -> BTreeMap<i64, UpcomingMeeting> {
        let tz_of = |id: i64| {
            self.rules
                .get(&id)
                .map_or(chrono_tz::Europe::Stockholm, |r| r.tz)
        };
        next_meetings(&self.upcoming, tz_of, now)
    }
}

/// The next reminder the schedule will send, for `clerk status`.
#[derive(Debug, Clone, serde::Serialize)]
pub struct NextReminder {
    /// When (UTC): a firing of the schedule, or now when one is due at the next tick.
    pub at: DateTime<Utc>,
    pub to: String,
    pub address: Option<String>,
    pub open_actions: usize,
    /// The meeting or due date it is about (wall time in the series' zone).
    pub about: NaiveDateTime,
}

/// How far ahead [`next_reminder`] looks, and how many firings it tries at most.
const LOOKAHEAD_DAYS: i64 = 60;
const LOOKAHEAD_FIRINGS: usize = 500;

/// The firings of `schedule` after `now`, read in `tz`'s wall time, in order.
pub fn firings_after(
    schedule: &cron::Schedule,
    tz: Tz,
    now: DateTime<Utc>,
) -> impl Iterator<Item = DateTime<Utc>> + '_ {
    let wall_now = now.with_timezone(&tz).naive_local();
    // Starting a little behind keeps a firing in a repeated hour that is still ahead.
    let start = Utc.from_utc_datetime(&(wall_now - Duration::hours(2)));
    schedule
        .after(&start)
        .map(move |wall| local_instant(tz, wall.naive_utc()))
        .filter(move |instant| *instant > now)
}

/// The next reminder that is not sent yet: the first moment from `now` on (the next tick, then
/// each firing of the series' schedules) at which an owner of open actions is due one, looking
/// ahead [`LOOKAHEAD_DAYS`]. It reads the store only, and decides as [`run_due`] would.
pub async fn next_reminder(
    config: &Config,
    store: &crate::store::Store,
    now: DateTime<Utc>,
) -> Result<Option<NextReminder>> {
    if !config.reminders.enabled {
        return Ok(None);
    }
    let mut tx = store.begin_read().await?;
    let open = OpenActions::load(config, &mut tx, now, LOOKAHEAD_DAYS).await?;
    let horizon = now + Duration::days(LOOKAHEAD_DAYS);
    let mut moments: std::collections::BTreeSet<DateTime<Utc>> = open
        .rules
        .values()
        .flat_map(|r| {
            firings_after(&r.schedule, r.tz, now)
                .take_while(|f| *f <= horizon)
                .take(LOOKAHEAD_FIRINGS)
        })
        .collect();
    moments.insert(now);
    let mut found = None;
    'moments: for at in moments.into_iter().take(LOOKAHEAD_FIRINGS) {
        let next = open.next_meetings(at);
        for (owner, actions) in &open.by_owner {
            let Some((_, about)) = owner_due(&open.rules, &next, actions, at) else {
                continue;
            };
            if stored::reminder_recorded(&mut tx, &format!("reminder:{owner}:{about}")).await? {
                continue;
            }
            let person = stored_people::everyone(&mut tx)
                .await?
                .into_iter()
                .find(|k| k.id == *owner);
            found = Some(NextReminder {
                at,
                to: person
                    .as_ref()
                    .map_or_else(|| actions[0].owner_text.clone(), |p| p.name.clone()),
                address: person.and_then(|p| p.address),
                open_actions: actions.len(),
                about,
            });
            break 'moments;
        }
    }
    tx.rollback().await?;
    Ok(found)
}

/// Queues the reminders and digests due at `ctx.now` (or only reports them when `dry_run`).
pub async fn run_due(ctx: &Context<'_>) -> Result<Vec<Done>> {
    if !ctx.config.reminders.enabled {
        return Ok(Vec::new());
    }
    let now = ctx.now;
    let mut tx = ctx.store.begin_write().await?;
    let mut done = reminders(ctx, &mut tx, now).await?;
    if ctx.config.reminders.digest {
        done.extend(digests(ctx, &mut tx, now).await?);
    }
    if ctx.dry_run {
        tx.rollback().await?;
    } else {
        tx.commit().await?;
    }
    Ok(done)
}

async fn reminders(ctx: &Context<'_>, tx: &mut Tx, now: DateTime<Utc>) -> Result<Vec<Done>> {
    let config = ctx.config;
    let open = OpenActions::load(config, tx, now, 0).await?;
    if open.by_owner.is_empty() {
        return Ok(Vec::new());
    }
    let next = open.next_meetings(now);
    let everyone: HashMap<i64, stored_people::Known> = stored_people::everyone(tx)
        .await?
        .into_iter()
        .map(|k| (k.id, k))
        .collect();
    let mut done = Vec::new();
    for (&owner, actions) in &open.by_owner {
        let Some((when, about)) = owner_due(&open.rules, &next, actions, now) else {
            continue;
        };
        let Some(person) = everyone.get(&owner) else {
            continue;
        };
        let Some(address) = person.address.as_deref() else {
            let what = format!("{}: no address known; not reminded", person.name);
            if ctx.dry_run {
                done.push(Done { job: JOB, what });
            } else {
                tracing::debug!(%what, "reminder not sent");
            }
            continue;
        };
        let Some(mailbox) = mailbox_for(config, &actions[0].mailbox) else {
            continue;
        };
        let language = actions[0].language.clone();
        // Keyed by what it is about (the meeting or due date ahead), so the next firings inside
        // the same lead window send nothing more.
        let key = format!("reminder:{owner}:{about}");
        let groups = group(actions);
        let items: Vec<(u32, i64)> = groups
            .iter()
            .flat_map(|(_, items)| items.iter().map(|(n, a)| (*n, a.id)))
            .collect();
        let what = format!(
            "reminder to {} <{address}>: {} open action(s), occasion {}",
            person.name,
            items.len(),
            ts(when)
        );
        // Recorded in a dry run too (it is rolled back), so one already sent is not reported.
        let recorded = stored::record_reminder(
            tx,
            &NewReminder {
                dedupe_key: &key,
                kind: "reminder",
                person_id: Some(owner),
                meeting_id: None,
                language: &language,
                occasion: when,
                items: &items,
            },
            now,
        )
        .await?;
        if !recorded {
            continue;
        }
        if ctx.dry_run {
            done.push(Done { job: JOB, what });
            continue;
        }
        let lang = if language == "en" {
            Language::En
        } else {
            Language::Sv
        };
        let next_of = |series_id: i64| next.get(&series_id).cloned();
        let body = reminder_text(lang, &person.name, &groups, &next_of);
        let mail = TextMail {
            dedupe_key: key,
            kind: "reminder",
            mailbox_name: &mailbox.name,
            from: outgoing::mailbox(Some(&mailbox.display_name), &mailbox.address)?,
            to: vec![outgoing::mailbox(Some(&person.name), address)?],
            subject: match lang {
                Language::Sv => "Påminnelse: dina öppna åtgärder",
                Language::En => "Reminder: your open action items",
            },
            body,
            in_reply_to: None,
            date: now,
            attachments: Vec::new(),
        }
        .render()?;
        if store::enqueue(tx, &mail, now).await? {
            done.push(Done { job: JOB, what });
        }
    }
    Ok(done)
}

fn mailbox_for<'a>(config: &'a Config, name: &str) -> Option<&'a MailboxConfig> {
    config
        .mailboxes
        .iter()
        .find(|m| m.name == name)
        .or(config.mailboxes.first())
}

/// The wording of a reminder: greeting, each meeting's actions numbered, how to answer.
pub fn reminder_text(
    language: Language,
    name: &str,
    groups: &[Group<'_>],
    next_of: &dyn Fn(i64) -> Option<UpcomingMeeting>,
) -> String {
    let en = language == Language::En;
    let first = name.split_whitespace().next().unwrap_or(name);
    let mut out = if en {
        format!("Hello {first},\n\nThese action items are still open with you:\n")
    } else {
        format!("Hej {first},\n\nDe här åtgärderna ligger fortfarande på dig:\n")
    };
    for ((series, date), items) in groups {
        let from = date.map_or(String::new(), |d| {
            if en {
                format!(", minutes of {}", long_date_in(language, d))
            } else {
                format!(", protokollet från {}", long_date_in(language, d))
            }
        });
        out.push_str(&format!("\n{series}{from}\n"));
        if let Some((_, a)) = items.first()
            && let Some(m) = next_of(a.series_id)
        {
            let time = time_span_text(m.start, None)
                .map(|t| {
                    if en {
                        format!(" at {t}")
                    } else {
                        format!(" kl. {t}")
                    }
                })
                .unwrap_or_default();
            out.push_str(&if en {
                format!("Next meeting: {}{time}\n", long_date_in(language, m.date))
            } else {
                format!("Nästa möte: {}{time}\n", long_date_in(language, m.date))
            });
        }
        for (n, a) in items {
            let due = a.due.map_or(String::new(), |d| {
                if en {
                    format!(" (due {})", long_date_in(language, d))
                } else {
                    format!(" (senast {})", long_date_in(language, d))
                }
            });
            let owner = if a.owner_text.is_empty()
                || a.owner_name.as_deref().map(crate::names::key)
                    == Some(crate::names::key(&a.owner_text))
            {
                String::new()
            } else if en {
                format!(" [for {}]", a.owner_text)
            } else {
                format!(" [för {}]", a.owner_text)
            };
            out.push_str(&format!("  {n}. {}{due}{owner}\n", capitalised(&a.text)));
        }
    }
    out.push_str(if en {
        "\nReply to this mail with \"Done\" when all is done, or \"Done 2\" (or \"Done 1, 3\") for \
         single items, and \"Drop 2\" for an item that will not be done. Anything else you write \
         is kept as a progress note for the secretary.\n\nKind regards\nClerk\n"
    } else {
        "\nSvara på det här mejlet med \"Klart\" när allt är gjort, eller \"Klart 2\" (eller \
         \"Klart 1, 3\") för enskilda punkter, och \"Stryk 2\" för en punkt som inte ska göras. \
         Skriver du något annat sparas det som en lägesrapport till sekreteraren.\n\n\
         Vänliga hälsningar\nClerk\n"
    });
    out
}

fn capitalised(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(c) => c.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

async fn digests(ctx: &Context<'_>, tx: &mut Tx, now: DateTime<Utc>) -> Result<Vec<Done>> {
    let config = ctx.config;
    let upcoming = stored::upcoming_meetings(tx, (now - Duration::days(2)).date_naive()).await?;
    let mut series_seen = Vec::new();
    let mut done = Vec::new();
    for m in &upcoming {
        if series_seen.contains(&m.series_id) {
            continue;
        }
        let actions = stored::of_series(tx, m.series_id).await?;
        let Some(first) = actions.first() else {
            continue;
        };
        let rules = rules_for(config, &first.series, &first.time_zone)?;
        if local_instant(rules.tz, meeting_start(m)) <= now {
            continue;
        }
        series_seen.push(m.series_id);
        let target = Target {
            at: meeting_start(m),
            days_before: rules.days_before_meeting,
        };
        let Some(when) = occasion(&rules, &[target], now) else {
            continue;
        };
        let configured = config
            .series
            .iter()
            .find(|c| crate::names::key(&c.name) == crate::names::key(&first.series))
            .and_then(|c| c.secretary.clone());
        let secretary = match configured {
            Some(s) => Some(s),
            None => stored::latest_minutes_sender(tx, m.series_id).await?,
        };
        let Some(secretary) = secretary else {
            let what = format!("digest for {} {}: no secretary known", first.series, m.date);
            if ctx.dry_run {
                done.push(Done { job: JOB, what });
            } else {
                tracing::debug!(%what, "digest not sent");
            }
            continue;
        };
        let key = format!("digest:{}", m.id);
        let what = format!(
            "digest for {} {} to {secretary}: {} action(s)",
            first.series,
            m.date,
            actions.len()
        );
        let recorded = stored::record_reminder(
            tx,
            &NewReminder {
                dedupe_key: &key,
                kind: "digest",
                person_id: None,
                meeting_id: Some(m.id),
                language: &first.language,
                occasion: when,
                items: &[],
            },
            now,
        )
        .await?;
        if !recorded {
            continue;
        }
        if ctx.dry_run {
            done.push(Done { job: JOB, what });
            continue;
        }
        let ids: Vec<i64> = actions.iter().map(|a| a.id).collect();
        let events = stored::events(tx, &ids).await?;
        let invitees = stored::invitees(tx, m.id).await?;
        let lang = if first.language == "en" {
            Language::En
        } else {
            Language::Sv
        };
        let body = digest_text(lang, m, &actions, &events, &invitees);
        let Some(mailbox) = mailbox_for(config, &first.mailbox) else {
            continue;
        };
        let subject = match lang {
            Language::Sv => format!(
                "Inför {} {}: uppföljning av åtgärder",
                first.series,
                long_date_in(lang, m.date)
            ),
            Language::En => format!(
                "Before {} {}: follow-up of action items",
                first.series,
                long_date_in(lang, m.date)
            ),
        };
        let mail = TextMail {
            dedupe_key: key,
            kind: "digest",
            mailbox_name: &mailbox.name,
            from: outgoing::mailbox(Some(&mailbox.display_name), &mailbox.address)?,
            to: vec![outgoing::mailbox(None, &secretary)?],
            subject: &subject,
            body,
            in_reply_to: None,
            date: now,
            attachments: Vec::new(),
        }
        .render()?;
        if store::enqueue(tx, &mail, now).await? {
            done.push(Done { job: JOB, what });
        }
    }
    Ok(done)
}

/// The digest's wording: per person their open and closed actions with notes, then who
/// accepted or declined the invitation.
pub fn digest_text(
    language: Language,
    meeting: &UpcomingMeeting,
    actions: &[ActionRow],
    events: &[stored::EventRow],
    invitees: &[(String, String)],
) -> String {
    let en = language == Language::En;
    let date = long_date_in(language, meeting.date);
    let mut out = if en {
        format!(
            "Hello,\n\nFor the follow-up of the previous minutes at the meeting on {date}, here are \
             the action items per person.\n"
        )
    } else {
        format!(
            "Hej,\n\nInför mötet {date}, som underlag för \"föregående protokoll och uppföljning\", \
             kommer här åtgärderna per person.\n"
        )
    };
    let mut by_owner: BTreeMap<String, Vec<&ActionRow>> = BTreeMap::new();
    for a in actions {
        let owner = a.owner_name.clone().unwrap_or_else(|| {
            if a.owner_text.is_empty() {
                if en {
                    "No owner".into()
                } else {
                    "Ingen ansvarig".into()
                }
            } else {
                a.owner_text.clone()
            }
        });
        by_owner.entry(owner).or_default().push(a);
    }
    for (owner, items) in &by_owner {
        out.push_str(&format!("\n{owner}\n"));
        for a in items {
            let state = match (a.state.as_str(), en) {
                ("open", false) => "öppen",
                ("done", false) => "klar",
                ("dropped", false) => "struken",
                ("open", true) => "open",
                ("done", true) => "done",
                (_, true) => "dropped",
                (_, false) => "struken",
            };
            let due = a.due.map_or(String::new(), |d| {
                if en {
                    format!(", due {d}")
                } else {
                    format!(", senast {d}")
                }
            });
            let from = a.meeting_date.map_or(String::new(), |d| {
                if en {
                    format!(" (from {d})")
                } else {
                    format!(" (från {d})")
                }
            });
            out.push_str(&format!(
                "  [{state}] {}{due}{from}\n",
                capitalised(&a.text)
            ));
            for e in events.iter().filter(|e| e.action_id == a.id) {
                if let Some(note) = &e.note {
                    let day = e.at.get(..10).unwrap_or(&e.at);
                    let label = if en { "note" } else { "lägesrapport" };
                    out.push_str(&format!(
                        "      {label} {day}: {}\n",
                        note.replace('\n', " ")
                    ));
                }
            }
        }
    }
    if !invitees.is_empty() {
        let names = |wanted: &str| -> String {
            let found: Vec<&str> = invitees
                .iter()
                .filter(|(_, p)| p == wanted)
                .map(|(n, _)| n.as_str())
                .collect();
            if found.is_empty() {
                "-".into()
            } else {
                found.join(", ")
            }
        };
        out.push_str(if en {
            "\nAnswers to the invitation\n"
        } else {
            "\nSvar på kallelsen\n"
        });
        for (state, sv, en_label) in [
            ("ACCEPTED", "Kommer", "Accepted"),
            ("DECLINED", "Kommer inte", "Declined"),
            ("TENTATIVE", "Kanske", "Tentative"),
            ("NEEDS-ACTION", "Har inte svarat", "Not answered"),
        ] {
            let label = if en { en_label } else { sv };
            out.push_str(&format!("  {label}: {}\n", names(state)));
        }
    }
    out.push_str(if en {
        "\nKind regards\nClerk\n"
    } else {
        "\nVänliga hälsningar\nClerk\n"
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .expect("valid")
            .with_timezone(&Utc)
    }

    fn wall(text: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M").expect("valid")
    }

    fn rules(schedule: &str) -> Rules {
        Rules {
            schedule: schedule.parse().expect("valid cron"),
            tz: chrono_tz::Europe::Stockholm,
            days_before_meeting: 3,
            days_before_due: 1,
        }
    }

    #[test]
    fn latest_firing_is_local_time_across_spring_dst() {
        let r = rules("0 0 8 * * *");
        // Friday 27 March 2026, winter time: 08:00 CET is 07:00 UTC.
        assert_eq!(
            latest_firing(&r.schedule, r.tz, at("2026-03-27T07:30:00Z")),
            Some(at("2026-03-27T07:00:00Z"))
        );
        // Monday 30 March, after the last Sunday of March: 08:00 CEST is 06:00 UTC.
        assert_eq!(
            latest_firing(&r.schedule, r.tz, at("2026-03-30T06:30:00Z")),
            Some(at("2026-03-30T06:00:00Z"))
        );
        // At 06:59 UTC on the Sunday of the change (08:59 CEST) the firing was 06:00 UTC.
        assert_eq!(
            latest_firing(&r.schedule, r.tz, at("2026-03-29T06:59:00Z")),
            Some(at("2026-03-29T06:00:00Z"))
        );
        // Just before it, the previous day's 08:00 CET.
        assert_eq!(
            latest_firing(&r.schedule, r.tz, at("2026-03-29T05:59:00Z")),
            Some(at("2026-03-28T07:00:00Z"))
        );
    }

    #[test]
    fn a_firing_in_the_gap_or_the_repeated_hour_happens_once() {
        let r = rules("0 30 2 * * *");
        // 02:30 does not exist on 29 March 2026: it happens after the gap, 03:30 CEST = 01:30 UTC.
        assert_eq!(
            latest_firing(&r.schedule, r.tz, at("2026-03-29T02:00:00Z")),
            Some(at("2026-03-29T01:30:00Z"))
        );
        assert_eq!(
            latest_firing(&r.schedule, r.tz, at("2026-03-29T01:00:00Z")),
            Some(at("2026-03-28T01:30:00Z"))
        );
        // 02:30 exists twice on 25 October 2026: the first (CEST, 00:30 UTC) only.
        assert_eq!(
            latest_firing(&r.schedule, r.tz, at("2026-10-25T02:00:00Z")),
            Some(at("2026-10-25T00:30:00Z"))
        );
        assert_eq!(
            latest_firing(&r.schedule, r.tz, at("2026-10-25T01:45:00Z")),
            Some(at("2026-10-25T00:30:00Z"))
        );
    }

    #[test]
    fn occasions_within_the_lead_before_a_meeting_across_autumn_dst() {
        let r = rules("0 0 8 * * Mon-Fri");
        // Meeting Wednesday 28 October 2026 13:00 (winter time); the clocks went back on Sunday
        // 25 October. Three days before: from Sunday 25 October 13:00.
        let meeting = Target {
            at: wall("2026-10-28 13:00"),
            days_before: 3,
        };
        // Friday 23 October 09:00 CEST: the latest firing (08:00) is before the lead: nothing.
        assert_eq!(occasion(&r, &[meeting], at("2026-10-23T07:00:00Z")), None);
        // Sunday 25 October 14:00: the latest firing is Friday's, before the lead: nothing.
        assert_eq!(occasion(&r, &[meeting], at("2026-10-25T13:00:00Z")), None);
        // Monday 26 October 08:00 CET = 07:00 UTC: the first occasion.
        assert_eq!(occasion(&r, &[meeting], at("2026-10-26T06:59:00Z")), None);
        assert_eq!(
            occasion(&r, &[meeting], at("2026-10-26T07:00:00Z")),
            Some(at("2026-10-26T07:00:00Z"))
        );
        assert_eq!(
            occasion(&r, &[meeting], at("2026-10-26T15:00:00Z")),
            Some(at("2026-10-26T07:00:00Z"))
        );
        // Wednesday 12:00: still that day's 08:00; after the meeting started: nothing.
        assert_eq!(
            occasion(&r, &[meeting], at("2026-10-28T11:00:00Z")),
            Some(at("2026-10-28T07:00:00Z"))
        );
        assert_eq!(occasion(&r, &[meeting], at("2026-10-28T12:00:00Z")), None);
    }

    #[test]
    fn a_due_date_has_its_own_lead() {
        let r = rules("0 0 8 * * Mon-Fri");
        let due = Target {
            at: wall("2030-02-01 00:00"),
            days_before: 1,
        };
        // Thursday 31 January 2030 08:00 CET: the day before the due date.
        assert_eq!(
            occasion(&r, &[due], at("2030-01-31T07:00:00Z")),
            Some(at("2030-01-31T07:00:00Z"))
        );
        assert_eq!(occasion(&r, &[due], at("2030-01-30T12:00:00Z")), None);
        // On the due day itself the deadline has passed.
        assert_eq!(occasion(&r, &[due], at("2030-02-01T09:00:00Z")), None);
    }

    fn action(id: i64, series: &str, date: &str, text: &str) -> ActionRow {
        ActionRow {
            id,
            series_id: if series == "A" { 1 } else { 2 },
            series: series.into(),
            time_zone: "Europe/Stockholm".into(),
            language: "sv".into(),
            mailbox: "main".into(),
            meeting_id: id,
            meeting_date: Some(date.parse().expect("date")),
            owner_text: "Alice Andersson".into(),
            owner_person_id: Some(1),
            owner_name: Some("Alice Andersson".into()),
            text: text.into(),
            due: None,
            state: "open".into(),
            created_at: String::new(),
            updated_at: String::new(),
        }
    }

    #[test]
    fn actions_are_grouped_by_meeting_and_numbered_across_groups() {
        let actions = vec![
            action(3, "B", "2030-01-05", "ringa Bo"),
            action(1, "A", "2030-01-08", "skicka enkäten"),
            action(2, "A", "2030-01-08", "boka lokal"),
            action(4, "A", "2029-12-01", "läsa rapporten"),
        ];
        let groups = group(&actions);
        let shape: Vec<(String, Vec<(u32, i64)>)> = groups
            .iter()
            .map(|((s, d), items)| {
                (
                    format!("{s} {}", d.expect("date")),
                    items.iter().map(|(n, a)| (*n, a.id)).collect(),
                )
            })
            .collect();
        assert_eq!(
            shape,
            vec![
                ("A 2029-12-01".to_string(), vec![(1, 4)]),
                ("A 2030-01-08".to_string(), vec![(2, 1), (3, 2)]),
                ("B 2030-01-05".to_string(), vec![(4, 3)]),
            ]
        );
        let next = |id: i64| {
            (id == 1).then(|| UpcomingMeeting {
                id: 9,
                series_id: 1,
                date: "2030-02-12".parse().expect("date"),
                start: NaiveTime::from_hms_opt(13, 0, 0),
            })
        };
        let text = reminder_text(Language::Sv, "Alice Andersson", &groups, &next);
        assert!(text.starts_with("Hej Alice,"), "{text}");
        assert!(
            text.contains("A, protokollet från tisdag 8 januari 2030\nNästa möte: tisdag 12 februari 2030 kl. 13.00\n  2. Skicka enkäten\n  3. Boka lokal\n"),
            "{text}"
        );
        assert!(text.contains("  4. Ringa Bo\n"), "{text}");
        assert!(text.contains("\"Klart 2\""), "{text}");
    }
}
