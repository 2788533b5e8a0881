//! Replicas, their heartbeats and their mailbox leases (`migrations/*/0008_replicas.sql`).
//!
//! Lease times are read from the database's clock ([`Store::db_now_ms`]), never from a
//! replica's: replicas on several hosts (or one running on a fixed demo clock) still agree on
//! when a lease has run out.

use anyhow::Result;
use chrono::{DateTime, Utc};
use sqlx::Row;

use super::{Backend, Store, ts};

/// A mailbox lease as `clerk status` shows it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct LeaseRow {
    pub mailbox: String,
    pub holder: String,
    /// Milliseconds until the lease runs out (negative: it has, and may be taken over).
    pub expires_in_ms: i64,
    pub acquired_at: String,
}

/// A replica as `clerk status` shows it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ReplicaRow {
    pub replica_id: String,
    pub started_at: String,
    /// Milliseconds since it last renewed its leases.
    pub seen_ms_ago: i64,
}

impl Store {
    /// The SQL expression for "now" in Unix milliseconds on the database's clock.
    pub(crate) fn db_now_ms(&self) -> &'static str {
        match self.backend {
            Backend::Postgres => "(EXTRACT(EPOCH FROM clock_timestamp()) * 1000)::BIGINT",
            Backend::Sqlite => "CAST((julianday('now') - 2440587.5) * 86400000.0 AS INTEGER)",
        }
    }

    /// Notes that `replica` is alive, and forgets replicas not seen for a day.
    pub async fn replica_heartbeat(&self, replica: &str, started: DateTime<Utc>) -> Result<()> {
        let now = self.db_now_ms();
        let mut tx = self.begin_write().await?;
        sqlx::query(&format!(
            "INSERT INTO replicas (replica_id, started_at, seen_at_ms) VALUES ($1, $2, {now}) \
             ON CONFLICT (replica_id) DO UPDATE SET seen_at_ms = excluded.seen_at_ms"
        ))
        .bind(replica)
        .bind(ts(started))
        .execute(&mut *tx)
        .await?;
        sqlx::query(&format!(
            "DELETE FROM replicas WHERE seen_at_ms < {now} - 86400000"
        ))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// How many replicas were seen within the last `within_ms` (at least 1: the caller).
    pub async fn live_replicas(&self, within_ms: i64) -> Result<usize> {
        let row = sqlx::query(&format!(
            "SELECT COUNT(*) FROM replicas WHERE seen_at_ms >= {} - $1",
            self.db_now_ms()
        ))
        .bind(within_ms)
        .fetch_one(&self.pool)
        .await?;
        Ok((row.get::<i64, _>(0).max(1)) as usize)
    }

    /// Takes or renews the lease on `mailbox` for `holder` until `lease_ms` from now. True when
    /// `holder` has it: it held it already, nobody did, or the last holder's lease ran out.
    /// False when another holder's lease is still running.
    pub async fn take_mailbox_lease(
        &self,
        mailbox: &str,
        holder: &str,
        lease_ms: i64,
        now: DateTime<Utc>,
    ) -> Result<bool> {
        let db_now = self.db_now_ms();
        let mut tx = self.begin_write().await?;
        let taken = sqlx::query(&format!(
            "INSERT INTO mailbox_leases (mailbox, holder, lease_until_ms, acquired_at) \
             VALUES ($1, $2, {db_now} + $3, $4) \
             ON CONFLICT (mailbox) DO UPDATE SET holder = excluded.holder, \
               lease_until_ms = excluded.lease_until_ms, \
               acquired_at = CASE WHEN mailbox_leases.holder = excluded.holder \
                             THEN mailbox_leases.acquired_at ELSE excluded.acquired_at END \
             WHERE mailbox_leases.holder = excluded.holder \
                OR mailbox_leases.lease_until_ms < {db_now}"
        ))
        .bind(mailbox)
        .bind(holder)
        .bind(lease_ms)
        .bind(ts(now))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(taken.rows_affected() > 0)
    }

    /// Gives up `holder`'s lease on `mailbox` so another replica may take it at once.
    pub async fn release_mailbox_lease(&self, mailbox: &str, holder: &str) -> Result<()> {
        let mut tx = self.begin_write().await?;
        sqlx::query(
            "UPDATE mailbox_leases SET lease_until_ms = 0 WHERE mailbox = $1 AND holder = $2",
        )
        .bind(mailbox)
        .bind(holder)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Forgets a stopped replica. Its outbox claims stay: a send still finishing marks its row,
    /// and a row whose send was aborted is claimable again when its claim ends.
    pub async fn replica_stopped(&self, replica: &str) -> Result<()> {
        let mut tx = self.begin_write().await?;
        sqlx::query("DELETE FROM replicas WHERE replica_id = $1")
            .bind(replica)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Ends every lease and claim. Only for a database that has one replica by construction
    /// (SQLite): a process restarted after a crash need not wait for its predecessor's leases.
    pub async fn reset_leases(&self) -> Result<()> {
        let mut tx = self.begin_write().await?;
        sqlx::query("UPDATE mailbox_leases SET lease_until_ms = 0")
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "UPDATE outbox SET claimed_by = NULL, claim_until_ms = 0 WHERE claim_until_ms <> 0",
        )
        .execute(&mut *tx)
        .await?;
        sqlx::query("DELETE FROM replicas")
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Every mailbox lease, by mailbox.
    pub async fn mailbox_leases(&self) -> Result<Vec<LeaseRow>> {
        let rows = sqlx::query(&format!(
            "SELECT mailbox, holder, lease_until_ms - {}, acquired_at FROM mailbox_leases \
             ORDER BY mailbox",
            self.db_now_ms()
        ))
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|r| LeaseRow {
                mailbox: r.get(0),
                holder: r.get(1),
                expires_in_ms: r.get(2),
                acquired_at: r.get(3),
            })
            .collect())
    }

    /// Every replica seen in the last day, most recently seen first.
    pub async fn replicas(&self) -> Result<Vec<ReplicaRow>> {
        let rows = sqlx::query(&format!(
            "SELECT replica_id, started_at, {} - seen_at_ms FROM replicas \
             ORDER BY seen_at_ms DESC, replica_id",
            self.db_now_ms()
        ))
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|r| ReplicaRow {
                replica_id: r.get(0),
                started_at: r.get(1),
                seen_ms_ago: r.get(2),
            })
            .collect())
    }
}
