//! Approval of minutes in the store: each approver's state per meeting, and the history.

use anyhow::Result;
use chrono::{DateTime, NaiveDate, Utc};
use sqlx::Row;

use super::{Store, Tx, ts};

/// One approver of one meeting's minutes.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Approver {
    pub meeting_id: i64,
    pub address: String,
    pub name: String,
    pub version: u32,
    /// pending | approved | changes
    pub state: String,
}

fn approver(r: &sqlx::any::AnyRow) -> Approver {
    Approver {
        meeting_id: r.get(0),
        address: r.get(1),
        name: r.get(2),
        version: u32::try_from(r.get::<i64, _>(3)).unwrap_or(0),
        state: r.get(4),
    }
}

/// The meeting's minutes version, its text hash, who sent it, and the approval state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MinutesState {
    pub version: u32,
    pub hash: Option<String>,
    pub secretary_address: Option<String>,
    pub approval_state: String,
    pub approval_due: Option<NaiveDate>,
}

pub async fn minutes_state(tx: &mut Tx, meeting_id: i64) -> Result<MinutesState> {
    let r = sqlx::query(
        "SELECT minutes_version, minutes_hash, secretary_address, approval_state, approval_due \
         FROM meetings WHERE id = $1",
    )
    .bind(meeting_id)
    .fetch_one(&mut **tx)
    .await?;
    Ok(MinutesState {
        version: u32::try_from(r.get::<i64, _>(0)).unwrap_or(0),
        hash: r.get(1),
        secretary_address: r.get(2),
        approval_state: r.get(3),
        approval_due: r.get::<Option<String>, _>(4).and_then(|d| d.parse().ok()),
    })
}

/// Records a new version of the minutes sent out for approval.
pub async fn set_minutes(
    tx: &mut Tx,
    meeting_id: i64,
    version: u32,
    hash: &str,
    secretary_address: Option<&str>,
    state: &str,
    due: Option<NaiveDate>,
) -> Result<()> {
    sqlx::query(
        "UPDATE meetings SET minutes_version = $1, minutes_hash = $2, \
         secretary_address = COALESCE($3, secretary_address), approval_state = $4, \
         approval_due = $5 WHERE id = $6",
    )
    .bind(i64::from(version))
    .bind(hash)
    .bind(secretary_address)
    .bind(state)
    .bind(due.map(|d| d.to_string()))
    .bind(meeting_id)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

pub async fn set_approval_state(tx: &mut Tx, meeting_id: i64, state: &str) -> Result<()> {
    sqlx::query("UPDATE meetings SET approval_state = $1 WHERE id = $2")
        .bind(state)
        .bind(meeting_id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Asks `address` to approve `version` (a new version resets an earlier answer).
pub async fn request(
    tx: &mut Tx,
    meeting_id: i64,
    address: &str,
    name: &str,
    version: u32,
    now: DateTime<Utc>,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO approvals (meeting_id, address, name, version, state, requested_at) \
         VALUES ($1, $2, $3, $4, 'pending', $5) ON CONFLICT (meeting_id, address) DO UPDATE \
         SET version = excluded.version, state = 'pending', requested_at = excluded.requested_at, \
         answered_at = NULL",
    )
    .bind(meeting_id)
    .bind(address.to_lowercase())
    .bind(name)
    .bind(i64::from(version))
    .bind(ts(now))
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Records an approver's answer.
pub async fn answer(
    tx: &mut Tx,
    meeting_id: i64,
    address: &str,
    state: &str,
    now: DateTime<Utc>,
) -> Result<()> {
    sqlx::query(
        "UPDATE approvals SET state = $1, answered_at = $2 WHERE meeting_id = $3 AND address = $4",
    )
    .bind(state)
    .bind(ts(now))
    .bind(meeting_id)
    .bind(address.to_lowercase())
    .execute(&mut **tx)
    .await?;
    Ok(())
}

pub async fn approvers(tx: &mut Tx, meeting_id: i64) -> Result<Vec<Approver>> {
    let rows = sqlx::query(
        "SELECT meeting_id, address, name, version, state FROM approvals WHERE meeting_id = $1 \
         ORDER BY name",
    )
    .bind(meeting_id)
    .fetch_all(&mut **tx)
    .await?;
    Ok(rows.iter().map(approver).collect())
}

/// Meetings whose minutes wait for approval: (meeting id, due date).
pub async fn awaiting(tx: &mut Tx) -> Result<Vec<(i64, NaiveDate)>> {
    let rows = sqlx::query(
        "SELECT id, approval_due FROM meetings WHERE approval_state = 'requested' \
         AND approval_due IS NOT NULL ORDER BY id",
    )
    .fetch_all(&mut **tx)
    .await?;
    Ok(rows
        .iter()
        .filter_map(|r| {
            let due: String = r.get(1);
            Some((r.get(0), due.parse().ok()?))
        })
        .collect())
}

pub async fn event(tx: &mut Tx, meeting_id: i64, what: &str, now: DateTime<Utc>) -> Result<()> {
    sqlx::query("INSERT INTO approval_events (meeting_id, at, what) VALUES ($1, $2, $3)")
        .bind(meeting_id)
        .bind(ts(now))
        .bind(what)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// The outbox row a received mail answers, by its Message-ID: (dedupe key, kind).
pub async fn sent_mail(tx: &mut Tx, message_id: &str) -> Result<Option<(String, String)>> {
    let id = format!("<{}>", message_id.trim().trim_matches(['<', '>']));
    Ok(
        sqlx::query("SELECT dedupe_key, kind FROM outbox WHERE message_id = $1")
            .bind(id)
            .fetch_optional(&mut **tx)
            .await?
            .map(|r| (r.get(0), r.get(1))),
    )
}

/// A meeting's approval, for `clerk meetings`.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct ApprovalListing {
    pub approvers: Vec<Approver>,
    /// (at, what)
    pub history: Vec<(String, String)>,
}

impl Store {
    pub async fn approval_listing(&self, meeting_id: i64) -> Result<ApprovalListing> {
        let approvers = sqlx::query(
            "SELECT meeting_id, address, name, version, state FROM approvals \
             WHERE meeting_id = $1 ORDER BY name",
        )
        .bind(meeting_id)
        .fetch_all(&self.pool)
        .await?;
        let history =
            sqlx::query("SELECT at, what FROM approval_events WHERE meeting_id = $1 ORDER BY id")
                .bind(meeting_id)
                .fetch_all(&self.pool)
                .await?;
        Ok(ApprovalListing {
            approvers: approvers.iter().map(approver).collect(),
            history: history.iter().map(|r| (r.get(0), r.get(1))).collect(),
        })
    }
}
