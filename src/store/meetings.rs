//! Meetings as invitations see them: what was last sent, and each invitee's answer.

use anyhow::Result;
use chrono::{NaiveDate, NaiveTime};
use sqlx::Row;

use super::{Store, Tx};

/// A meeting row with what invitations need.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct MeetingRow {
    pub id: i64,
    pub series_id: i64,
    pub date: Option<NaiveDate>,
    pub start: Option<NaiveTime>,
    pub end: Option<NaiveTime>,
    pub place: Option<String>,
    pub title: Option<String>,
    /// planned | held | cancelled
    pub status: String,
    pub uid: String,
    pub sequence: u32,
    /// Agenda items, one per line.
    pub agenda: Option<String>,
    pub url: Option<String>,
    pub invited_fingerprint: Option<String>,
    pub cancel_sent: bool,
    pub learned_from: Option<String>,
}

const COLUMNS: &str = "id, series_id, meeting_date, start_time, end_time, place, title, status, \
     ical_uid, ical_sequence, agenda, url, invited_fingerprint, cancel_sent, learned_from";

fn row(r: &sqlx::any::AnyRow) -> MeetingRow {
    let time = |i: usize| {
        r.get::<Option<String>, _>(i)
            .and_then(|t| NaiveTime::parse_from_str(&t, "%H:%M").ok())
    };
    MeetingRow {
        id: r.get(0),
        series_id: r.get(1),
        date: r.get::<Option<String>, _>(2).and_then(|d| d.parse().ok()),
        start: time(3),
        end: time(4),
        place: r.get(5),
        title: r.get(6),
        status: r.get(7),
        uid: r.get(8),
        sequence: u32::try_from(r.get::<i64, _>(9)).unwrap_or(0),
        agenda: r.get(10),
        url: r.get(11),
        invited_fingerprint: r.get(12),
        cancel_sent: r.get::<i64, _>(13) != 0,
        learned_from: r.get(14),
    }
}

pub async fn load(tx: &mut Tx, id: i64) -> Result<MeetingRow> {
    let r = sqlx::query(&format!("SELECT {COLUMNS} FROM meetings WHERE id = $1"))
        .bind(id)
        .fetch_one(&mut **tx)
        .await?;
    Ok(row(&r))
}

pub async fn by_uid(tx: &mut Tx, uid: &str) -> Result<Option<MeetingRow>> {
    let r = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM meetings WHERE ical_uid = $1"
    ))
    .bind(uid)
    .fetch_optional(&mut **tx)
    .await?;
    Ok(r.as_ref().map(row))
}

/// Invited meetings on `date` in the series of `mailbox` (for a cancellation that names only
/// the date).
pub async fn invited_on(tx: &mut Tx, mailbox: &str, date: NaiveDate) -> Result<Vec<MeetingRow>> {
    let rows = sqlx::query(&format!(
        "SELECT {} FROM meetings m JOIN series s ON s.id = m.series_id \
         WHERE s.mailbox = $1 AND m.meeting_date = $2 AND m.invited_fingerprint IS NOT NULL",
        COLUMNS
            .split(", ")
            .map(|c| format!("m.{c}"))
            .collect::<Vec<_>>()
            .join(", ")
    ))
    .bind(mailbox)
    .bind(date.to_string())
    .fetch_all(&mut **tx)
    .await?;
    Ok(rows.iter().map(row).collect())
}

/// Sets the agenda and video link an agenda document gives its meeting.
pub async fn set_agenda(
    tx: &mut Tx,
    id: i64,
    agenda: Option<&str>,
    url: Option<&str>,
) -> Result<()> {
    sqlx::query(
        "UPDATE meetings SET agenda = COALESCE($1, agenda), url = COALESCE($2, url) WHERE id = $3",
    )
    .bind(agenda)
    .bind(url)
    .bind(id)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

pub async fn set_status(tx: &mut Tx, id: i64, status: &str) -> Result<()> {
    sqlx::query("UPDATE meetings SET status = $1 WHERE id = $2")
        .bind(status)
        .bind(id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Records what the request now being sent says.
pub async fn mark_invited(tx: &mut Tx, id: i64, sequence: u32, fingerprint: &str) -> Result<()> {
    sqlx::query("UPDATE meetings SET ical_sequence = $1, invited_fingerprint = $2 WHERE id = $3")
        .bind(i64::from(sequence))
        .bind(fingerprint)
        .bind(id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

pub async fn mark_cancel_sent(tx: &mut Tx, id: i64, sequence: u32) -> Result<()> {
    sqlx::query(
        "UPDATE meetings SET ical_sequence = $1, cancel_sent = 1, status = 'cancelled' WHERE id = $2",
    )
    .bind(i64::from(sequence))
    .bind(id)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// The person an address belongs to.
pub async fn person_with_address(tx: &mut Tx, address: &str) -> Result<Option<i64>> {
    Ok(
        sqlx::query("SELECT person_id FROM addresses WHERE address = $1")
            .bind(address.trim().to_lowercase())
            .fetch_optional(&mut **tx)
            .await?
            .map(|r| r.get(0)),
    )
}

/// Sets an invitee's answer; false when the person was not invited to the meeting.
pub async fn set_partstat(
    tx: &mut Tx,
    meeting_id: i64,
    person_id: i64,
    partstat: &str,
) -> Result<bool> {
    let updated = sqlx::query(
        "UPDATE attendance SET partstat = $1 WHERE meeting_id = $2 AND person_id = $3 \
         AND role = 'invitee'",
    )
    .bind(partstat)
    .bind(meeting_id)
    .bind(person_id)
    .execute(&mut **tx)
    .await?;
    Ok(updated.rows_affected() > 0)
}

/// One meeting for `clerk meetings`, with each invitee's answer.
#[derive(Debug, Clone, serde::Serialize)]
pub struct MeetingListing {
    pub series: String,
    pub meeting: MeetingRow,
    /// (name, address, PARTSTAT)
    pub invitees: Vec<(String, Option<String>, String)>,
    /// none | requested | approved
    pub approval_state: String,
    pub approval_due: Option<String>,
    pub approval: super::approvals::ApprovalListing,
}

impl Store {
    /// Every meeting, newest first, for `clerk meetings`.
    pub async fn meetings_listing(&self) -> Result<Vec<MeetingListing>> {
        let rows = sqlx::query(&format!(
            "SELECT {}, s.title, m.approval_state, m.approval_due FROM meetings m \
             JOIN series s ON s.id = m.series_id ORDER BY m.meeting_date DESC, s.title",
            COLUMNS
                .split(", ")
                .map(|c| format!("m.{c}"))
                .collect::<Vec<_>>()
                .join(", ")
        ))
        .fetch_all(&self.pool)
        .await?;
        let invitees = sqlx::query(
            "SELECT a.meeting_id, p.name, \
             (SELECT MIN(x.address) FROM addresses x WHERE x.person_id = p.id), a.partstat \
             FROM attendance a JOIN people p ON p.id = a.person_id WHERE a.role = 'invitee' \
             ORDER BY p.normalized_name",
        )
        .fetch_all(&self.pool)
        .await?;
        let mut out = Vec::new();
        for r in &rows {
            let meeting = row(r);
            let approval = self.approval_listing(meeting.id).await?;
            out.push(MeetingListing {
                series: r.get(15),
                invitees: invitees
                    .iter()
                    .filter(|i| i.get::<i64, _>(0) == meeting.id)
                    .map(|i| (i.get(1), i.get(2), i.get(3)))
                    .collect(),
                approval_state: r.get(16),
                approval_due: r.get(17),
                approval,
                meeting,
            });
        }
        Ok(out)
    }
}
