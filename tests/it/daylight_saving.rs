//! Scheduled mail across the Europe/Stockholm daylight-saving switches (last Sunday of March:
//! 02:00 → 03:00, the hour is skipped; last Sunday of October: 03:00 → 02:00, the hour is
//! repeated). The cron crate on its own skips a firing in the gap and doubles one in the
//! repeated hour; Clerk reads schedules by RFC 5545: a firing in the gap moves forward by the gap,
//! a repeated hour fires once (the first). Checked twice: the firings the schedule yields over
//! simulated clock ticks, and the reminder mail the real scheduler queues over such ticks.

use chrono::{DateTime, Duration, Utc};
use clerk::reminders::latest_firing;
use clerk::scheduler::{self, Context};

use crate::people::{SENDER, Setup, mail, setup, store_and_process};
use crate::store::sqlite_store;
use crate::support::{header, subject};

const STOCKHOLM: chrono_tz::Tz = chrono_tz::Europe::Stockholm;
const DAILY_0230: &str = "0 30 2 * * *";
/// `reminders.schedule`'s default.
const DEFAULT_SCHEDULE: &str = "0 0 8 * * Mon-Fri";

fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .expect("valid")
        .with_timezone(&Utc)
}

/// The distinct firings seen by a clock ticking every `step` from `from` to `to`, each with the
/// first tick that saw it.
fn firings_over_ticks(
    schedule: &str,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    step: Duration,
) -> Vec<DateTime<Utc>> {
    let schedule: cron::Schedule = schedule.parse().expect("valid cron");
    let mut seen: Vec<DateTime<Utc>> = Vec::new();
    let mut now = from;
    while now <= to {
        let firing = latest_firing(&schedule, STOCKHOLM, now).expect("a firing");
        assert!(firing <= now, "a firing after now: {firing} at {now}");
        if seen.last() != Some(&firing) {
            assert!(
                seen.iter().all(|s| *s < firing),
                "firing {firing} seen again or out of order at {now}: {seen:?}"
            );
            // A new firing is seen by the first tick at or after it (the first tick sees
            // whatever fired before the range).
            assert!(
                seen.is_empty() || now - firing < step,
                "firing {firing} seen late, at {now}"
            );
            seen.push(firing);
        }
        now += step;
    }
    seen
}

/// Every minute from Friday to Tuesday around the switch.
fn minute_ticks(schedule: &str, from: &str, to: &str) -> Vec<DateTime<Utc>> {
    let mut firings = firings_over_ticks(schedule, at(from), at(to), Duration::minutes(1));
    // The first entry is whatever fired before the range began.
    firings.remove(0);
    firings
}

#[test]
fn daily_0230_fires_once_a_day_across_spring_dst() {
    let firings = minute_ticks(DAILY_0230, "2026-03-27T00:00:00Z", "2026-03-31T00:00:00Z");
    assert_eq!(
        firings,
        vec![
            at("2026-03-27T01:30:00Z"), // Friday 02:30 CET
            at("2026-03-28T01:30:00Z"), // Saturday 02:30 CET
            at("2026-03-29T01:30:00Z"), // Sunday: 02:30 does not exist; 03:30 CEST
            at("2026-03-30T00:30:00Z"), // Monday 02:30 CEST
        ]
    );
}

#[test]
fn daily_0230_fires_once_a_day_across_autumn_dst() {
    let firings = minute_ticks(DAILY_0230, "2026-10-23T00:00:00Z", "2026-10-27T00:00:00Z");
    assert_eq!(
        firings,
        vec![
            at("2026-10-23T00:30:00Z"), // Friday 02:30 CEST
            at("2026-10-24T00:30:00Z"), // Saturday 02:30 CEST
            at("2026-10-25T00:30:00Z"), // Sunday: the first 02:30 (CEST) only, not 01:30Z
            at("2026-10-26T01:30:00Z"), // Monday 02:30 CET
        ]
    );
}

#[test]
fn the_default_schedule_fires_each_weekday_at_0800_across_both_switches() {
    let spring = minute_ticks(
        DEFAULT_SCHEDULE,
        "2026-03-26T00:00:00Z",
        "2026-03-31T12:00:00Z",
    );
    assert_eq!(
        spring,
        vec![
            at("2026-03-26T07:00:00Z"), // Thursday 08:00 CET
            at("2026-03-27T07:00:00Z"), // Friday 08:00 CET
            at("2026-03-30T06:00:00Z"), // Monday 08:00 CEST
            at("2026-03-31T06:00:00Z"), // Tuesday 08:00 CEST
        ]
    );
    let autumn = minute_ticks(
        DEFAULT_SCHEDULE,
        "2026-10-22T00:00:00Z",
        "2026-10-27T12:00:00Z",
    );
    assert_eq!(
        autumn,
        vec![
            at("2026-10-22T06:00:00Z"), // Thursday 08:00 CEST
            at("2026-10-23T06:00:00Z"), // Friday 08:00 CEST
            at("2026-10-26T07:00:00Z"), // Monday 08:00 CET
            at("2026-10-27T07:00:00Z"), // Tuesday 08:00 CET
        ]
    );
}

/// Minutes with one action due on each of four days in a row, all Anna's. With a lead of one
/// day each due date has a window of its own (the day before), so every firing that lands in
/// one is one reminder: the reminders count the firings.
fn minutes_with_daily_due_dates(dated: &str, due: [&str; 4]) -> String {
    format!(
        "Protokoll Kommunalt forum\nDatum: {dated}\nTid: 09.00-11.00\n\n\
         Närvarande:\nAnna Fransson, Region Kronoberg\nRobert Olesen\nSara Herrman\n\n\
         1. Åtgärder\n\
         - Anna Fransson skickar ut enkäten senast {}.\n\
         - Anna Fransson bokar lokal senast {}.\n\
         - Anna Fransson sammanställer svaren senast {}.\n\
         - Anna Fransson tar fram rapporten senast {}.\n",
        due[0], due[1], due[2], due[3]
    )
}

/// Runs the real scheduler (`scheduler::run_once`, as the daemon's tick does) every ten minutes
/// from `from` to `to` and returns the Date of each reminder it queued (the tick that queued it).
async fn reminders_over_ticks(
    schedule: &str,
    minutes: &str,
    from: &str,
    to: &str,
) -> Vec<DateTime<Utc>> {
    let (store, _dir) = sqlite_store().await;
    let setup: Setup = setup(
        store,
        &format!("[reminders]\nschedule = \"{schedule}\"\ndays_before_due = 1\n"),
    );
    let raw = mail(
        "dst-minutes",
        SENDER,
        "",
        "Protokollet.",
        Some(("protokoll.txt", minutes)),
    );
    store_and_process(&setup, 1, &raw, at(from)).await;
    let mut now = at(from);
    while now <= at(to) {
        scheduler::run_once(&Context {
            config: &setup.intake.config,
            store: &setup.store,
            now,
            dry_run: false,
        })
        .await
        .unwrap();
        now += Duration::minutes(10);
    }
    let queued = setup
        .store
        .due_outgoing("main", at(to) + Duration::days(30), 1000)
        .await
        .unwrap();
    let mut dates: Vec<DateTime<Utc>> = queued
        .iter()
        .filter(|m| {
            subject(&m.raw).starts_with("Påminnelse")
                && m.recipients == vec!["anna.fransson@example.org".to_string()]
        })
        .map(|m| {
            let date = header(&m.raw, "Date").expect("a Date header");
            DateTime::parse_from_rfc2822(date.trim())
                .expect("an RFC 2822 date")
                .with_timezone(&Utc)
        })
        .collect();
    dates.sort();
    dates
}

#[tokio::test]
async fn the_scheduler_reminds_once_per_firing_across_spring_dst() {
    let minutes = minutes_with_daily_due_dates(
        "2026-03-20",
        ["2026-03-28", "2026-03-29", "2026-03-30", "2026-03-31"],
    );
    let daily = reminders_over_ticks(
        DAILY_0230,
        &minutes,
        "2026-03-26T00:00:00Z",
        "2026-03-31T00:00:00Z",
    )
    .await;
    assert_eq!(
        daily,
        vec![
            at("2026-03-27T01:30:00Z"), // for the 28th
            at("2026-03-28T01:30:00Z"), // for the 29th
            at("2026-03-29T01:30:00Z"), // for the 30th: 02:30 in the gap, sent at 03:30 CEST
            at("2026-03-30T00:30:00Z"), // for the 31st
        ]
    );
    let weekdays = reminders_over_ticks(
        DEFAULT_SCHEDULE,
        &minutes,
        "2026-03-26T00:00:00Z",
        "2026-03-31T00:00:00Z",
    )
    .await;
    // Due Saturday: Friday 08:00 CET. Due Sunday and Monday: their day before has no firing.
    // Due Tuesday: Monday 08:00 CEST.
    assert_eq!(
        weekdays,
        vec![at("2026-03-27T07:00:00Z"), at("2026-03-30T06:00:00Z")]
    );
}

#[tokio::test]
async fn the_scheduler_reminds_once_per_firing_across_autumn_dst() {
    let minutes = minutes_with_daily_due_dates(
        "2026-10-16",
        ["2026-10-24", "2026-10-25", "2026-10-26", "2026-10-27"],
    );
    let daily = reminders_over_ticks(
        DAILY_0230,
        &minutes,
        "2026-10-22T00:00:00Z",
        "2026-10-27T00:00:00Z",
    )
    .await;
    assert_eq!(
        daily,
        vec![
            at("2026-10-23T00:30:00Z"), // for the 24th
            at("2026-10-24T00:30:00Z"), // for the 25th
            at("2026-10-25T00:30:00Z"), // for the 26th: the first 02:30 only
            at("2026-10-26T01:30:00Z"), // for the 27th
        ]
    );
    let weekdays = reminders_over_ticks(
        DEFAULT_SCHEDULE,
        &minutes,
        "2026-10-22T00:00:00Z",
        "2026-10-27T00:00:00Z",
    )
    .await;
    assert_eq!(
        weekdays,
        vec![at("2026-10-23T06:00:00Z"), at("2026-10-26T07:00:00Z")]
    );
}
