//! Meeting series, their meetings and members in the store.

use anyhow::Result;
use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use sqlx::Row;

use super::{Store, Tx, ts};

/// A series as stored.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct SeriesRow {
    pub id: i64,
    pub key: String,
    pub title: String,
    pub mailbox: String,
    pub time_zone: String,
    pub language: String,
    pub configured: bool,
}

/// What a new series starts with.
#[derive(Debug, Clone)]
pub struct NewSeries<'a> {
    pub key: &'a str,
    pub title: &'a str,
    pub mailbox: &'a str,
    pub time_zone: &'a str,
    pub language: &'a str,
    pub configured: bool,
}

/// The series with `new.key`, created from `new` when missing.
pub async fn series(tx: &mut Tx, new: &NewSeries<'_>, now: DateTime<Utc>) -> Result<SeriesRow> {
    sqlx::query(
        "INSERT INTO series (series_key, title, mailbox, time_zone, language, configured, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (series_key) DO NOTHING",
    )
    .bind(new.key)
    .bind(new.title)
    .bind(new.mailbox)
    .bind(new.time_zone)
    .bind(new.language)
    .bind(i64::from(new.configured))
    .bind(ts(now))
    .execute(&mut **tx)
    .await?;
    let row = sqlx::query(
        "SELECT id, series_key, title, mailbox, time_zone, language, configured FROM series \
         WHERE series_key = $1",
    )
    .bind(new.key)
    .fetch_one(&mut **tx)
    .await?;
    Ok(series_row(&row))
}

fn series_row(row: &sqlx::any::AnyRow) -> SeriesRow {
    SeriesRow {
        id: row.get(0),
        key: row.get(1),
        title: row.get(2),
        mailbox: row.get(3),
        time_zone: row.get(4),
        language: row.get(5),
        configured: row.get::<i64, _>(6) != 0,
    }
}

/// The series with this id.
pub async fn series_by_id(tx: &mut Tx, id: i64) -> Result<SeriesRow> {
    let row = sqlx::query(
        "SELECT id, series_key, title, mailbox, time_zone, language, configured FROM series \
         WHERE id = $1",
    )
    .bind(id)
    .fetch_one(&mut **tx)
    .await?;
    Ok(series_row(&row))
}

/// Adds a member to a series (configured members keep that source).
pub async fn add_member(
    tx: &mut Tx,
    series_id: i64,
    person_id: i64,
    source: &str,
    learned_from: &str,
    now: DateTime<Utc>,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO series_members (series_id, person_id, source, learned_from, created_at) \
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT (series_id, person_id) DO NOTHING",
    )
    .bind(series_id)
    .bind(person_id)
    .bind(source)
    .bind(learned_from)
    .bind(ts(now))
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// A meeting as a document describes it.
#[derive(Debug, Clone)]
pub struct MeetingFacts<'a> {
    pub date: NaiveDate,
    pub start: Option<NaiveTime>,
    pub end: Option<NaiveTime>,
    pub place: Option<&'a str>,
    pub title: Option<&'a str>,
    /// "held" for minutes, "planned" for a notice or an announcement.
    pub status: &'a str,
    pub learned_from: &'a str,
    /// The calendar UID it gets if it is new.
    pub uid: &'a str,
}

/// The meeting of a series on a date, created or completed from `facts`: a value a document
/// states replaces a missing one; a minutes' "held" replaces "planned". Returns its id.
pub async fn meeting(
    tx: &mut Tx,
    series_id: i64,
    facts: &MeetingFacts<'_>,
    now: DateTime<Utc>,
) -> Result<i64> {
    let date = facts.date.to_string();
    let time = |t: Option<NaiveTime>| t.map(|t| t.format("%H:%M").to_string());
    let existing =
        sqlx::query("SELECT id FROM meetings WHERE series_id = $1 AND meeting_date = $2")
            .bind(series_id)
            .bind(&date)
            .fetch_optional(&mut **tx)
            .await?;
    if let Some(row) = existing {
        let id: i64 = row.get(0);
        sqlx::query(
            "UPDATE meetings SET start_time = COALESCE($1, start_time), \
             end_time = COALESCE($2, end_time), place = COALESCE($3, place), \
             title = COALESCE($4, title), \
             status = CASE WHEN $5 = 'held' THEN 'held' ELSE status END, updated_at = $6 \
             WHERE id = $7",
        )
        .bind(time(facts.start))
        .bind(time(facts.end))
        .bind(facts.place)
        .bind(facts.title)
        .bind(facts.status)
        .bind(ts(now))
        .bind(id)
        .execute(&mut **tx)
        .await?;
        return Ok(id);
    }
    let row = sqlx::query(
        "INSERT INTO meetings (series_id, meeting_date, start_time, end_time, place, status, \
         ical_uid, title, learned_from, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10) RETURNING id",
    )
    .bind(series_id)
    .bind(&date)
    .bind(time(facts.start))
    .bind(time(facts.end))
    .bind(facts.place)
    .bind(facts.status)
    .bind(facts.uid)
    .bind(facts.title)
    .bind(facts.learned_from)
    .bind(ts(now))
    .fetch_one(&mut **tx)
    .await?;
    Ok(row.get(0))
}

/// Records someone's role in a meeting (attendee, absent, secretary, approver, chair).
pub async fn attendance(tx: &mut Tx, meeting_id: i64, person_id: i64, role: &str) -> Result<()> {
    sqlx::query(
        "INSERT INTO attendance (meeting_id, person_id, role) VALUES ($1, $2, $3) \
         ON CONFLICT (meeting_id, person_id, role) DO NOTHING",
    )
    .bind(meeting_id)
    .bind(person_id)
    .bind(role)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Links a stored document to the meeting it describes.
pub async fn link_document(tx: &mut Tx, document_id: i64, meeting_id: i64) -> Result<()> {
    sqlx::query("UPDATE documents SET meeting_id = $1 WHERE id = $2")
        .bind(meeting_id)
        .bind(document_id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// The raw mail and file name of the latest minutes stored for a meeting.
pub async fn latest_minutes(tx: &mut Tx, meeting_id: i64) -> Result<Option<(Vec<u8>, String)>> {
    Ok(sqlx::query(
        "SELECT r.raw, d.name FROM documents d JOIN raw_messages r ON r.id = d.raw_message_id \
         WHERE d.meeting_id = $1 AND d.kind = 'minutes' ORDER BY d.id DESC LIMIT 1",
    )
    .bind(meeting_id)
    .fetch_optional(&mut **tx)
    .await?
    .map(|r| (r.get(0), r.get(1))))
}

/// Those named present at a meeting who have an address: (name, address).
pub async fn attendees_with_addresses(
    tx: &mut Tx,
    meeting_id: i64,
) -> Result<Vec<(String, String)>> {
    let rows = sqlx::query(
        "SELECT p.name, MIN(a.address) FROM attendance t JOIN people p ON p.id = t.person_id \
         JOIN addresses a ON a.person_id = p.id WHERE t.meeting_id = $1 AND t.role = 'attendee' \
         GROUP BY p.id, p.name ORDER BY p.name",
    )
    .bind(meeting_id)
    .fetch_all(&mut **tx)
    .await?;
    Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
}

/// Start times and places of the series' meetings, for learning its usual ones.
pub async fn times_and_places(
    tx: &mut Tx,
    series_id: i64,
) -> Result<Vec<(Option<String>, Option<String>, Option<String>)>> {
    let rows = sqlx::query(
        "SELECT start_time, end_time, place FROM meetings WHERE series_id = $1 ORDER BY meeting_date",
    )
    .bind(series_id)
    .fetch_all(&mut **tx)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect())
}

/// Whether `sender` has sent this mailbox a document that was recorded for a meeting: such a
/// sender is taken to be a secretary and may correct addresses.
pub async fn is_secretary(tx: &mut Tx, mailbox: &str, sender: &str) -> Result<bool> {
    let row = sqlx::query(
        "SELECT COUNT(*) FROM raw_messages r JOIN documents d ON d.raw_message_id = r.id \
         WHERE r.mailbox = $1 AND LOWER(r.sender) = LOWER($2) AND d.meeting_id IS NOT NULL",
    )
    .bind(mailbox)
    .bind(sender)
    .fetch_one(&mut **tx)
    .await?;
    Ok(row.get::<i64, _>(0) > 0)
}

/// A series with its meetings and members, for `clerk series`.
#[derive(Debug, Clone, serde::Serialize)]
pub struct SeriesListing {
    pub series: SeriesRow,
    pub meetings: Vec<MeetingListing>,
    pub members: Vec<MemberListing>,
}

/// A meeting of a series, and where Clerk learned of it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct MeetingListing {
    pub date: String,
    pub start: Option<String>,
    pub place: Option<String>,
    pub status: String,
    pub learned_from: Option<String>,
}

/// A member of a series, their address, and how they became a member.
#[derive(Debug, Clone, serde::Serialize)]
pub struct MemberListing {
    pub name: String,
    pub address: Option<String>,
    pub how: String,
}

impl Store {
    /// Every series, for `clerk series`.
    pub async fn series_listing(&self) -> Result<Vec<SeriesListing>> {
        let mut tx = self.pool.begin().await?;
        let rows = sqlx::query(
            "SELECT id, series_key, title, mailbox, time_zone, language, configured FROM series \
             ORDER BY title",
        )
        .fetch_all(&mut *tx)
        .await?;
        let mut out = Vec::new();
        for row in rows {
            let series = series_row(&row);
            let meetings = sqlx::query(
                "SELECT meeting_date, start_time, place, status, learned_from FROM meetings \
                 WHERE series_id = $1 ORDER BY meeting_date",
            )
            .bind(series.id)
            .fetch_all(&mut *tx)
            .await?
            .into_iter()
            .map(|r| MeetingListing {
                date: r.get(0),
                start: r.get(1),
                place: r.get(2),
                status: r.get(3),
                learned_from: r.get(4),
            })
            .collect();
            let members = super::people::members(&mut tx, series.id)
                .await?
                .into_iter()
                .map(|k| (k.name, k.address, String::new()))
                .collect::<Vec<_>>();
            let sources = sqlx::query(
                "SELECT p.name, m.source, m.learned_from FROM series_members m \
                 JOIN people p ON p.id = m.person_id WHERE m.series_id = $1",
            )
            .bind(series.id)
            .fetch_all(&mut *tx)
            .await?;
            let members = members
                .into_iter()
                .map(|(name, address, _)| {
                    let how = sources
                        .iter()
                        .find(|r| r.get::<String, _>(0) == name)
                        .map(|r| {
                            let source: String = r.get(1);
                            let from: Option<String> = r.get(2);
                            from.map_or(source.clone(), |f| format!("{source}: {f}"))
                        })
                        .unwrap_or_default();
                    MemberListing { name, address, how }
                })
                .collect();
            out.push(SeriesListing {
                series,
                meetings,
                members,
            });
        }
        tx.rollback().await?;
        Ok(out)
    }
}
