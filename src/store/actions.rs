//! Actions from minutes, their history, and the reminders and digests sent about them.
//!
//! An action is one row per owner person: "Kommunerna" owning an action is one row per member
//! found for it, all with the same `owner_text`. The key (meeting, owner text, text, owner) is
//! unique, so the same minutes mailed twice record nothing new. Every change of state and every
//! progress note is an `action_events` row.

use anyhow::Result;
use chrono::{DateTime, NaiveDate, Utc};
use sqlx::Row;

use super::{Store, Tx, ts};

/// An action as a document states it, for one owner.
#[derive(Debug, Clone)]
pub struct NewAction<'a> {
    pub series_id: i64,
    pub meeting_id: i64,
    /// How the minutes name the owner ("Kommunerna", "Anna"); empty when no one is named.
    pub owner_text: &'a str,
    /// The person it resolved to, if one did.
    pub owner_person_id: Option<i64>,
    pub text: &'a str,
    pub due: Option<NaiveDate>,
    /// Where it was learned, for its first event ("minutes of 2030-01-08").
    pub source: &'a str,
}

/// Records an action unless the same one is known; returns its id when it was new.
pub async fn insert(tx: &mut Tx, new: &NewAction<'_>, now: DateTime<Utc>) -> Result<Option<i64>> {
    let row = sqlx::query(
        "INSERT INTO actions (series_id, meeting_id, owner_text, owner_person_id, owner_key, \
         text, due, state, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, 'open', $8, $8) \
         ON CONFLICT (meeting_id, owner_text, text, owner_key) DO NOTHING RETURNING id",
    )
    .bind(new.series_id)
    .bind(new.meeting_id)
    .bind(new.owner_text)
    .bind(new.owner_person_id)
    .bind(new.owner_person_id.unwrap_or(0))
    .bind(new.text)
    .bind(new.due.map(|d| d.to_string()))
    .bind(ts(now))
    .fetch_optional(&mut **tx)
    .await?;
    let Some(row) = row else { return Ok(None) };
    let id: i64 = row.get(0);
    event(tx, id, "open", None, new.source, now).await?;
    Ok(Some(id))
}

async fn event(
    tx: &mut Tx,
    action_id: i64,
    state: &str,
    note: Option<&str>,
    source: &str,
    now: DateTime<Utc>,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO action_events (action_id, at, state, note, source) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(action_id)
    .bind(ts(now))
    .bind(state)
    .bind(note)
    .bind(source)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Moves an open action to `state` (done or dropped); false when it was not open.
pub async fn close(
    tx: &mut Tx,
    action_id: i64,
    state: &str,
    source: &str,
    now: DateTime<Utc>,
) -> Result<bool> {
    let updated = sqlx::query(
        "UPDATE actions SET state = $1, updated_at = $2 WHERE id = $3 AND state = 'open'",
    )
    .bind(state)
    .bind(ts(now))
    .bind(action_id)
    .execute(&mut **tx)
    .await?;
    if updated.rows_affected() == 0 {
        return Ok(false);
    }
    event(tx, action_id, state, None, source, now).await?;
    Ok(true)
}

/// Keeps a progress note on an open action; false when it is not open.
pub async fn note(
    tx: &mut Tx,
    action_id: i64,
    note: &str,
    source: &str,
    now: DateTime<Utc>,
) -> Result<bool> {
    let state: Option<String> = sqlx::query("SELECT state FROM actions WHERE id = $1")
        .bind(action_id)
        .fetch_optional(&mut **tx)
        .await?
        .map(|r| r.get(0));
    if state.as_deref() != Some("open") {
        return Ok(false);
    }
    event(tx, action_id, "open", Some(note), source, now).await?;
    sqlx::query("UPDATE actions SET updated_at = $1 WHERE id = $2")
        .bind(ts(now))
        .bind(action_id)
        .execute(&mut **tx)
        .await?;
    Ok(true)
}

/// An action with what reminders, digests and listings show of it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ActionRow {
    pub id: i64,
    pub series_id: i64,
    pub series: String,
    pub time_zone: String,
    pub language: String,
    pub mailbox: String,
    pub meeting_id: i64,
    /// The date of the meeting whose minutes record it.
    pub meeting_date: Option<NaiveDate>,
    pub owner_text: String,
    pub owner_person_id: Option<i64>,
    pub owner_name: Option<String>,
    pub text: String,
    pub due: Option<NaiveDate>,
    /// open | done | dropped
    pub state: String,
    pub created_at: String,
    pub updated_at: String,
}

const COLUMNS: &str = "a.id, a.series_id, s.title, s.time_zone, s.language, s.mailbox, \
     a.meeting_id, m.meeting_date, a.owner_text, a.owner_person_id, p.name, a.text, a.due, \
     a.state, a.created_at, a.updated_at FROM actions a JOIN series s ON s.id = a.series_id \
     JOIN meetings m ON m.id = a.meeting_id LEFT JOIN people p ON p.id = a.owner_person_id";

const ORDER: &str = "ORDER BY s.title, m.meeting_date, a.id";

fn action_row(r: &sqlx::any::AnyRow) -> ActionRow {
    let date = |i: usize| r.get::<Option<String>, _>(i).and_then(|d| d.parse().ok());
    ActionRow {
        id: r.get(0),
        series_id: r.get(1),
        series: r.get(2),
        time_zone: r.get(3),
        language: r.get(4),
        mailbox: r.get(5),
        meeting_id: r.get(6),
        meeting_date: date(7),
        owner_text: r.get(8),
        owner_person_id: r.get(9),
        owner_name: r.get(10),
        text: r.get(11),
        due: date(12),
        state: r.get(13),
        created_at: r.get(14),
        updated_at: r.get(15),
    }
}

/// Which actions may be due for a reminder: due on a day in `due`, or in a series with a
/// planned meeting on a day in `meetings` (both inclusive).
#[derive(Debug, Clone, Copy)]
pub struct Near {
    pub due: (NaiveDate, NaiveDate),
    pub meetings: (NaiveDate, NaiveDate),
}

/// Every open action of the owners who have one near (see [`Near`]), for reminders: a
/// reminder lists all of its owner's open actions. Only those owners are read, so a pass costs
/// what is due, not what is stored (indexes in migration 0006).
pub async fn open_owned_near(tx: &mut Tx, near: Near) -> Result<Vec<ActionRow>> {
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} WHERE a.state = 'open' AND a.owner_person_id IN ( \
           SELECT owner_person_id FROM actions \
           WHERE state = 'open' AND owner_person_id IS NOT NULL AND due >= $1 AND due <= $2 \
           UNION \
           SELECT n.owner_person_id FROM actions n JOIN meetings m ON m.series_id = n.series_id \
           WHERE n.state = 'open' AND n.owner_person_id IS NOT NULL AND m.status = 'planned' \
             AND m.meeting_date >= $3 AND m.meeting_date <= $4) {ORDER}"
    ))
    .bind(near.due.0.to_string())
    .bind(near.due.1.to_string())
    .bind(near.meetings.0.to_string())
    .bind(near.meetings.1.to_string())
    .fetch_all(&mut **tx)
    .await?;
    Ok(rows.iter().map(action_row).collect())
}

/// Every action of a series, for its digest and for closing by later minutes.
pub async fn of_series(tx: &mut Tx, series_id: i64) -> Result<Vec<ActionRow>> {
    let rows = sqlx::query(&format!("SELECT {COLUMNS} WHERE a.series_id = $1 {ORDER}"))
        .bind(series_id)
        .fetch_all(&mut **tx)
        .await?;
    Ok(rows.iter().map(action_row).collect())
}

/// One entry in an action's history.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct EventRow {
    pub action_id: i64,
    pub at: String,
    pub state: String,
    pub note: Option<String>,
    pub source: String,
}

/// The history of the given actions, oldest first.
pub async fn events(tx: &mut Tx, action_ids: &[i64]) -> Result<Vec<EventRow>> {
    let mut out = Vec::new();
    for id in action_ids {
        let rows = sqlx::query(
            "SELECT action_id, at, state, note, source FROM action_events WHERE action_id = $1 \
             ORDER BY id",
        )
        .bind(id)
        .fetch_all(&mut **tx)
        .await?;
        out.extend(rows.iter().map(|r| EventRow {
            action_id: r.get(0),
            at: r.get(1),
            state: r.get(2),
            note: r.get(3),
            source: r.get(4),
        }));
    }
    Ok(out)
}

/// A meeting still to come (planned, on or after `from`), with its series.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpcomingMeeting {
    pub id: i64,
    pub series_id: i64,
    pub date: NaiveDate,
    pub start: Option<chrono::NaiveTime>,
}

/// Planned meetings on or after `from`, earliest first.
pub async fn upcoming_meetings(tx: &mut Tx, from: NaiveDate) -> Result<Vec<UpcomingMeeting>> {
    let rows = sqlx::query(
        "SELECT id, series_id, meeting_date, start_time FROM meetings \
         WHERE status = 'planned' AND meeting_date >= $1 ORDER BY meeting_date, start_time",
    )
    .bind(from.to_string())
    .fetch_all(&mut **tx)
    .await?;
    Ok(rows
        .iter()
        .filter_map(|r| {
            Some(UpcomingMeeting {
                id: r.get(0),
                series_id: r.get::<Option<i64>, _>(1)?,
                date: r.get::<Option<String>, _>(2)?.parse().ok()?,
                start: r
                    .get::<Option<String>, _>(3)
                    .and_then(|t| chrono::NaiveTime::parse_from_str(&t, "%H:%M").ok()),
            })
        })
        .collect())
}

/// The sender of the series' latest minutes: who gets its digest unless one is configured.
pub async fn latest_minutes_sender(tx: &mut Tx, series_id: i64) -> Result<Option<String>> {
    let row = sqlx::query(
        "SELECT r.sender FROM raw_messages r JOIN documents d ON d.raw_message_id = r.id \
         JOIN meetings m ON m.id = d.meeting_id \
         WHERE m.series_id = $1 AND d.kind = 'minutes' AND r.sender IS NOT NULL \
         ORDER BY m.meeting_date DESC, r.id DESC LIMIT 1",
    )
    .bind(series_id)
    .fetch_optional(&mut **tx)
    .await?;
    Ok(row.map(|r| r.get(0)))
}

/// Each invitee of a meeting: (name, PARTSTAT).
pub async fn invitees(tx: &mut Tx, meeting_id: i64) -> Result<Vec<(String, String)>> {
    let rows = sqlx::query(
        "SELECT p.name, a.partstat FROM attendance a JOIN people p ON p.id = a.person_id \
         WHERE a.meeting_id = $1 AND a.role = 'invitee' ORDER BY p.normalized_name",
    )
    .bind(meeting_id)
    .fetch_all(&mut **tx)
    .await?;
    Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
}

/// A reminder or digest about to be queued.
#[derive(Debug, Clone)]
pub struct NewReminder<'a> {
    pub dedupe_key: &'a str,
    /// reminder | digest
    pub kind: &'a str,
    pub person_id: Option<i64>,
    pub meeting_id: Option<i64>,
    pub language: &'a str,
    pub occasion: DateTime<Utc>,
    /// (number in the mail, action id)
    pub items: &'a [(u32, i64)],
}

/// Records what a reminder's numbers mean; false when it was recorded before.
pub async fn record_reminder(
    tx: &mut Tx,
    new: &NewReminder<'_>,
    now: DateTime<Utc>,
) -> Result<bool> {
    let inserted = sqlx::query(
        "INSERT INTO reminders (dedupe_key, kind, person_id, meeting_id, language, occasion, \
         created_at) VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (dedupe_key) DO NOTHING",
    )
    .bind(new.dedupe_key)
    .bind(new.kind)
    .bind(new.person_id)
    .bind(new.meeting_id)
    .bind(new.language)
    .bind(ts(new.occasion))
    .bind(ts(now))
    .execute(&mut **tx)
    .await?;
    if inserted.rows_affected() == 0 {
        return Ok(false);
    }
    // One statement per 100 items: a pass queues thousands of reminders in one transaction.
    for chunk in new.items.chunks(100) {
        let values: Vec<String> = (0..chunk.len())
            .map(|i| format!("($1, ${}, ${})", 2 * i + 2, 2 * i + 3))
            .collect();
        let sql = format!(
            "INSERT INTO reminder_items (dedupe_key, number, action_id) VALUES {}",
            values.join(", ")
        );
        let mut query = sqlx::query(&sql).bind(new.dedupe_key);
        for (number, action_id) in chunk {
            query = query.bind(i64::from(*number)).bind(*action_id);
        }
        query.execute(&mut **tx).await?;
    }
    Ok(true)
}

/// Whether a reminder or digest under this dedupe key was recorded (so it is sent or queued).
pub async fn reminder_recorded(tx: &mut Tx, dedupe_key: &str) -> Result<bool> {
    let row = sqlx::query("SELECT COUNT(*) FROM reminders WHERE dedupe_key = $1")
        .bind(dedupe_key)
        .fetch_one(&mut **tx)
        .await?;
    Ok(row.get::<i64, _>(0) > 0)
}

/// A reminder found by the Message-ID of its mail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SentReminder {
    pub dedupe_key: String,
    pub person_id: i64,
    pub language: String,
    pub mailbox: String,
    /// (number in the mail, action id), in order.
    pub items: Vec<(u32, i64)>,
}

/// The reminder (not digest) whose mail has one of these Message-IDs, if any.
pub async fn reminder_by_message_ids(
    tx: &mut Tx,
    message_ids: &[String],
) -> Result<Option<SentReminder>> {
    for id in message_ids {
        let bare = id.trim().trim_matches(['<', '>']);
        let row = sqlx::query(
            "SELECT r.dedupe_key, r.person_id, r.language, o.mailbox FROM outbox o \
             JOIN reminders r ON r.dedupe_key = o.dedupe_key \
             WHERE o.message_id = $1 AND r.kind = 'reminder' AND r.person_id IS NOT NULL",
        )
        .bind(format!("<{bare}>"))
        .fetch_optional(&mut **tx)
        .await?;
        let Some(row) = row else { continue };
        let dedupe_key: String = row.get(0);
        let items = sqlx::query(
            "SELECT number, action_id FROM reminder_items WHERE dedupe_key = $1 ORDER BY number",
        )
        .bind(&dedupe_key)
        .fetch_all(&mut **tx)
        .await?
        .iter()
        .map(|r| (u32::try_from(r.get::<i64, _>(0)).unwrap_or(0), r.get(1)))
        .collect();
        return Ok(Some(SentReminder {
            dedupe_key,
            person_id: row.get(1),
            language: row.get(2),
            mailbox: row.get(3),
            items,
        }));
    }
    Ok(None)
}

/// Texts of the given actions, by id (for a confirmation).
pub async fn texts(tx: &mut Tx, ids: &[i64]) -> Result<Vec<(i64, String)>> {
    let mut out = Vec::new();
    for id in ids {
        if let Some(r) = sqlx::query("SELECT text FROM actions WHERE id = $1")
            .bind(id)
            .fetch_optional(&mut **tx)
            .await?
        {
            out.push((*id, r.get(0)));
        }
    }
    Ok(out)
}

/// Filters for `clerk actions`.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub open_only: bool,
    /// Part of the series' title (case ignored).
    pub series: Option<String>,
    /// Part of the owner's name or of how the minutes name them (case ignored).
    pub owner: Option<String>,
}

/// An action with its history, for `clerk actions`.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ActionListing {
    pub action: ActionRow,
    pub events: Vec<EventRow>,
}

impl Store {
    /// Actions matching `filter`, by series and meeting, each with its history.
    pub async fn actions_listing(&self, filter: &Filter) -> Result<Vec<ActionListing>> {
        let mut conn = self.pool.acquire().await?;
        let rows = sqlx::query(&format!("SELECT {COLUMNS} {ORDER}"))
            .fetch_all(&mut *conn)
            .await?;
        let contains =
            |hay: &str, needle: &str| hay.to_lowercase().contains(&needle.to_lowercase());
        let actions: Vec<ActionRow> = rows
            .iter()
            .map(action_row)
            .filter(|a| !filter.open_only || a.state == "open")
            .filter(|a| {
                filter
                    .series
                    .as_deref()
                    .is_none_or(|s| contains(&a.series, s))
            })
            .filter(|a| {
                filter.owner.as_deref().is_none_or(|o| {
                    contains(&a.owner_text, o)
                        || a.owner_name.as_deref().is_some_and(|n| contains(n, o))
                })
            })
            .collect();
        let events =
            sqlx::query("SELECT action_id, at, state, note, source FROM action_events ORDER BY id")
                .fetch_all(&mut *conn)
                .await?;
        let events: Vec<EventRow> = events
            .iter()
            .map(|r| EventRow {
                action_id: r.get(0),
                at: r.get(1),
                state: r.get(2),
                note: r.get(3),
                source: r.get(4),
            })
            .collect();
        Ok(actions
            .into_iter()
            .map(|action| ActionListing {
                events: events
                    .iter()
                    .filter(|e| e.action_id == action.id)
                    .cloned()
                    .collect(),
                action,
            })
            .collect())
    }
}
