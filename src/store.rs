//! The store: the only place that runs SQL, and the source of truth for everything Clerk does.
//!
//! One code path serves SQLite (the embedded default) and PostgreSQL (several replicas) through
//! sqlx's `Any` driver; the schema lives in `migrations/sqlite` and `migrations/postgres`, kept in
//! step. Queries are runtime-checked (`sqlx::query(..).bind(..)`) with `$N` placeholders, which
//! both backends accept. The API is made of domain verbs, not generic CRUD.
//!
//! **Invariant:** writing transactions start with `BEGIN IMMEDIATE` on SQLite (a deferred one that
//! upgrades to a write fails at once with SQLITE_BUSY) and never wait on the network.

use anyhow::{Context, Result};
use chrono::{DateTime, Utc};
use sqlx::any::{AnyPoolOptions, install_default_drivers};
use sqlx::{Any, AnyPool, Executor, Row, Transaction};

pub mod actions;
pub mod approvals;
pub mod meetings;
pub mod people;
pub mod replicas;
pub mod series;

/// A writing transaction (begun by [`Store::begin_write`]).
pub type Tx = Transaction<'static, Any>;

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("migrations/postgres");

/// Which database is behind the pool.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A handle to the database; cheap to clone.
#[derive(Debug, Clone)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
}

/// A message as fetched from IMAP, about to be stored.
#[derive(Debug, Clone)]
pub struct IncomingMessage<'a> {
    pub mailbox: &'a str,
    pub uid_validity: u32,
    pub uid: u32,
    pub message_id: Option<String>,
    pub sender: Option<String>,
    pub subject: Option<String>,
    pub raw: &'a [u8],
}

/// What storing a fetched message did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recorded {
    /// A new row: the message will be processed.
    New(i64),
    /// The same message (by Message-ID, or by bytes when it has none) was already stored; its
    /// UID was brought up to date so it can still be moved.
    Duplicate(i64),
}

/// A stored message that still needs processing.
#[derive(Debug, Clone)]
pub struct StoredMessage {
    pub id: i64,
    pub mailbox: String,
    pub message_id: Option<String>,
    pub raw: Vec<u8>,
}

/// A processed message still waiting in the watched folder.
#[derive(Debug, Clone)]
pub struct PendingMove {
    pub id: i64,
    pub uid_validity: u32,
    pub uid: u32,
    pub quarantined: bool,
    pub message_id: Option<String>,
}

/// An outgoing mail, fully rendered.
#[derive(Debug, Clone)]
pub struct OutgoingMail {
    /// What the mail is about, e.g. `receipt:<message key>:<address>`. One row per key, ever.
    pub dedupe_key: String,
    pub kind: String,
    pub mailbox: String,
    pub envelope_from: String,
    pub recipients: Vec<String>,
    pub message_id: String,
    pub raw: Vec<u8>,
    /// Whom to tell should the mail be given up; see [`crate::failure_notice`].
    pub tell_on_failure: Option<FailureContact>,
}

/// The person told when a mail sent on their behalf cannot be delivered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailureContact {
    pub address: String,
    pub english: bool,
}

impl OutgoingMail {
    /// The same mail, naming `address` as the one to tell should it be given up.
    pub fn telling_on_failure(mut self, address: Option<&str>, english: bool) -> OutgoingMail {
        self.tell_on_failure = address.map(|address| FailureContact {
            address: address.to_string(),
            english,
        });
        self
    }
}

/// An outbox row ready to be sent.
#[derive(Debug, Clone)]
pub struct QueuedMail {
    pub id: i64,
    pub envelope_from: String,
    pub recipients: Vec<String>,
    pub message_id: String,
    pub raw: Vec<u8>,
    pub attempts: i64,
    pub created_at: DateTime<Utc>,
    pub tell_on_failure: Option<FailureContact>,
}

/// An outbox row as `clerk status` and the fault tests audit it.
#[derive(Debug, Clone)]
pub struct OutboxAttempt {
    /// receipt | invitation | approval | failure-notice | ...
    pub kind: String,
    /// Comma-separated, as stored.
    pub recipients: String,
    pub message_id: String,
    /// pending | sent | failed
    pub state: String,
    pub attempts: i64,
    pub last_error: Option<String>,
    pub raw: Vec<u8>,
}

/// A document found in a message and what was understood of it.
#[derive(Debug, Clone)]
pub struct NewDocument {
    pub name: String,
    pub format: String,
    pub kind: String,
    pub language: String,
    pub text: String,
    pub understood_json: String,
}

/// How a processed message ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessageOutcome {
    Processed,
    Quarantined,
}

impl MessageOutcome {
    fn as_str(self) -> &'static str {
        match self {
            MessageOutcome::Processed => "processed",
            MessageOutcome::Quarantined => "quarantined",
        }
    }
}

/// The per-mailbox figures `clerk status` shows.
#[derive(Debug, Clone, serde::Serialize)]
pub struct MailboxStatus {
    pub mailbox: String,
    pub folder: String,
    pub uid_validity: i64,
    pub last_uid: i64,
    /// Whether the daemon holds the folder open, as it last said (see `seen_at`).
    pub connected: bool,
    pub last_event: Option<String>,
    pub updated_at: String,
    /// What IMAP IDLE last did (started, new mail, timed out) and when (the daemon's clock).
    pub last_idle_event: Option<String>,
    pub last_idle_at: Option<String>,
    /// When the running daemon last vouched for this row (real wall time).
    pub seen_at: Option<String>,
    pub processed: i64,
    pub quarantined: i64,
    pub waiting: i64,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct OutboxStatus {
    pub pending: i64,
    pub sent: i64,
    pub failed: i64,
    /// The latest mails that failed or wait for a retry, with the server's reason.
    pub failures: Vec<OutboxFailure>,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct OutboxFailure {
    pub kind: String,
    pub recipients: String,
    /// `pending` (will be retried) or `failed` (given up).
    pub state: String,
    pub attempts: i64,
    pub error: String,
}

impl std::fmt::Display for OutboxFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let what = if self.state == "failed" {
            "failed".to_string()
        } else {
            format!("retrying after {} attempt(s)", self.attempts)
        };
        write!(
            f,
            "{} to {} {what}: {}",
            self.kind, self.recipients, self.error
        )
    }
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct EventRow {
    pub at: String,
    pub level: String,
    pub mailbox: Option<String>,
    pub message: String,
}

pub(crate) fn ts(now: DateTime<Utc>) -> String {
    now.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

impl Store {
    /// Connects to `url` (`sqlite:PATH` or `postgres://...`). A SQLite file is created when
    /// missing and opened in WAL mode with synchronous=FULL: with NORMAL a power loss could undo
    /// a commit made before the IMAP move, and lose that mail.
    pub async fn open(url: &str) -> Result<Store> {
        install_default_drivers();
        let (backend, url) = if let Some(path) = url.strip_prefix("sqlite:") {
            if let Some(dir) = std::path::Path::new(path.split('?').next().unwrap_or(path))
                .parent()
                .filter(|d| !d.as_os_str().is_empty())
            {
                std::fs::create_dir_all(dir).with_context(|| {
                    format!("store.url: cannot create the directory {}", dir.display())
                })?;
            }
            let url = if url.contains("mode=") {
                url.to_string()
            } else if url.contains('?') {
                format!("{url}&mode=rwc")
            } else {
                format!("{url}?mode=rwc")
            };
            (Backend::Sqlite, url)
        } else {
            (Backend::Postgres, url.to_string())
        };
        let options = AnyPoolOptions::new()
            .max_connections(if backend == Backend::Sqlite { 4 } else { 8 })
            .after_connect(move |conn, _meta| {
                Box::pin(async move {
                    if backend == Backend::Sqlite {
                        conn.execute(
                            "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; \
                             PRAGMA busy_timeout = 10000; PRAGMA foreign_keys = ON;",
                        )
                        .await?;
                    }
                    Ok(())
                })
            });
        let pool = options
            .connect(&url)
            .await
            .with_context(|| format!("cannot open the store at {}", redact_url(&url)))?;
        Ok(Store { pool, backend })
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Applies the embedded migrations of this backend.
    pub async fn migrate(&self) -> Result<()> {
        let migrator = match self.backend {
            Backend::Sqlite => &SQLITE_MIGRATIONS,
            Backend::Postgres => &POSTGRES_MIGRATIONS,
        };
        migrator
            .run(&self.pool)
            .await
            .context("applying database migrations")?;
        Ok(())
    }

    /// Starts a writing transaction (see the module's invariant).
    pub async fn begin_write(&self) -> Result<Transaction<'static, Any>> {
        let statement = match self.backend {
            Backend::Sqlite => "BEGIN IMMEDIATE",
            Backend::Postgres => "BEGIN",
        };
        Ok(self.pool.begin_with(statement).await?)
    }

    /// Starts a transaction that only reads (a consistent view across several queries).
    pub async fn begin_read(&self) -> Result<Transaction<'static, Any>> {
        Ok(self.pool.begin().await?)
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }

    // ---- mailbox state ----

    /// The UIDVALIDITY and last stored UID of a folder, if it was ever seen.
    pub async fn mailbox_state(&self, mailbox: &str, folder: &str) -> Result<Option<(u32, u32)>> {
        let row = sqlx::query(
            "SELECT uid_validity, last_uid FROM mailbox_state WHERE mailbox = $1 AND folder = $2",
        )
        .bind(mailbox)
        .bind(folder)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(|r| (r.get::<i64, _>(0) as u32, r.get::<i64, _>(1) as u32)))
    }

    /// Records the folder's UIDVALIDITY. When it changed, UIDs start again from 0; messages
    /// already stored are recognised by their Message-ID, so nothing is processed twice.
    pub async fn set_uid_validity(
        &self,
        mailbox: &str,
        folder: &str,
        uid_validity: u32,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let mut tx = self.begin_write().await?;
        sqlx::query(
            "INSERT INTO mailbox_state (mailbox, folder, uid_validity, last_uid, updated_at) \
             VALUES ($1, $2, $3, 0, $4) \
             ON CONFLICT (mailbox, folder) DO UPDATE SET uid_validity = excluded.uid_validity, \
             last_uid = CASE WHEN mailbox_state.uid_validity = excluded.uid_validity \
                             THEN mailbox_state.last_uid ELSE 0 END, \
             updated_at = excluded.updated_at",
        )
        .bind(mailbox)
        .bind(folder)
        .bind(i64::from(uid_validity))
        .bind(ts(now))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Notes whether the watcher is connected, and what it last saw.
    pub async fn set_connection_state(
        &self,
        mailbox: &str,
        folder: &str,
        connected: bool,
        event: &str,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let mut tx = self.begin_write().await?;
        sqlx::query(
            "UPDATE mailbox_state SET connected = $1, last_event = $2, updated_at = $3, seen_at = $6 \
             WHERE mailbox = $4 AND folder = $5",
        )
        .bind(i64::from(connected))
        .bind(event)
        .bind(ts(now))
        .bind(mailbox)
        .bind(folder)
        .bind(ts(Utc::now()))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Notes what IMAP IDLE last did on a watched folder (started, new mail, timed out).
    pub async fn record_idle_event(
        &self,
        mailbox: &str,
        folder: &str,
        event: &str,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let mut tx = self.begin_write().await?;
        sqlx::query(
            "UPDATE mailbox_state SET last_idle_event = $1, last_idle_at = $2, seen_at = $3 \
             WHERE mailbox = $4 AND folder = $5",
        )
        .bind(event)
        .bind(ts(now))
        .bind(ts(Utc::now()))
        .bind(mailbox)
        .bind(folder)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The running daemon vouches that its connected mailboxes still are (`seen_at`, real wall
    /// time: it is about this process being alive, not about the domain clock).
    pub async fn heartbeat(&self, mailboxes: &[String]) -> Result<()> {
        let mut tx = self.begin_write().await?;
        let now = ts(Utc::now());
        for mailbox in mailboxes {
            sqlx::query(
                "UPDATE mailbox_state SET seen_at = $1 WHERE mailbox = $2 AND connected = 1",
            )
            .bind(&now)
            .bind(mailbox)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    // ---- intake ----

    /// Stores a fetched message and advances the folder's last UID, in one transaction. Only
    /// after this returns may the message be flagged or moved on the server.
    pub async fn record_message(
        &self,
        folder: &str,
        message: &IncomingMessage<'_>,
        now: DateTime<Utc>,
    ) -> Result<Recorded> {
        let key = message_key(message.message_id.as_deref(), message.raw);
        let mut tx = self.begin_write().await?;
        let existing =
            sqlx::query("SELECT id FROM raw_messages WHERE mailbox = $1 AND message_key = $2")
                .bind(message.mailbox)
                .bind(&key)
                .fetch_optional(&mut *tx)
                .await?;
        let recorded = if let Some(row) = existing {
            let id: i64 = row.get(0);
            // The copy now in the folder is moved out too, like the first one was.
            sqlx::query(
                "UPDATE raw_messages SET uid_validity = $1, uid = $2, moved = 0 \
                 WHERE id = $3 AND (uid_validity <> $1 OR uid <> $2)",
            )
            .bind(i64::from(message.uid_validity))
            .bind(i64::from(message.uid))
            .bind(id)
            .execute(&mut *tx)
            .await?;
            Recorded::Duplicate(id)
        } else {
            let row = sqlx::query(
                "INSERT INTO raw_messages (mailbox, uid_validity, uid, message_key, message_id, \
                 sender, subject, raw, received_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
                 RETURNING id",
            )
            .bind(message.mailbox)
            .bind(i64::from(message.uid_validity))
            .bind(i64::from(message.uid))
            .bind(&key)
            .bind(message.message_id.as_deref())
            .bind(message.sender.as_deref())
            .bind(message.subject.as_deref())
            .bind(message.raw.to_vec())
            .bind(ts(now))
            .fetch_one(&mut *tx)
            .await?;
            Recorded::New(row.get(0))
        };
        sqlx::query(
            "UPDATE mailbox_state SET last_uid = $1, updated_at = $2 \
             WHERE mailbox = $3 AND folder = $4 AND uid_validity = $5 AND last_uid < $1",
        )
        .bind(i64::from(message.uid))
        .bind(ts(now))
        .bind(message.mailbox)
        .bind(folder)
        .bind(i64::from(message.uid_validity))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(recorded)
    }

    /// Stored messages not yet processed, oldest first.
    pub async fn messages_to_process(
        &self,
        mailbox: &str,
        limit: i64,
    ) -> Result<Vec<StoredMessage>> {
        let rows = sqlx::query(
            "SELECT id, mailbox, message_id, raw FROM raw_messages \
             WHERE mailbox = $1 AND state = 'new' ORDER BY id LIMIT $2",
        )
        .bind(mailbox)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|r| StoredMessage {
                id: r.get(0),
                mailbox: r.get(1),
                message_id: r.get(2),
                raw: r.get(3),
            })
            .collect())
    }

    /// Marks a message processed, together with its documents and every mail it causes, in one
    /// transaction: either all of it happened, or none of it and the message is processed again.
    pub async fn complete_message(
        &self,
        id: i64,
        outcome: MessageOutcome,
        summary: &str,
        documents: &[NewDocument],
        outgoing: &[OutgoingMail],
        now: DateTime<Utc>,
    ) -> Result<()> {
        let mut tx = self.begin_write().await?;
        if !claim_message(&mut tx, id, outcome, summary, now).await? {
            // Another worker finished it first; what it enqueued stands.
            tx.rollback().await?;
            return Ok(());
        }
        insert_documents(&mut tx, id, documents, now).await?;
        for mail in outgoing {
            enqueue(&mut tx, mail, now).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Processed or quarantined messages that are still in the watched folder.
    pub async fn messages_to_move(&self, mailbox: &str) -> Result<Vec<PendingMove>> {
        let rows = sqlx::query(
            "SELECT id, uid_validity, uid, state, message_id FROM raw_messages \
             WHERE mailbox = $1 AND state <> 'new' AND moved = 0 ORDER BY id",
        )
        .bind(mailbox)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|r| PendingMove {
                id: r.get(0),
                uid_validity: r.get::<i64, _>(1) as u32,
                uid: r.get::<i64, _>(2) as u32,
                quarantined: r.get::<String, _>(3) == "quarantined",
                message_id: r.get(4),
            })
            .collect())
    }

    pub async fn mark_moved(&self, ids: &[i64]) -> Result<()> {
        let mut tx = self.begin_write().await?;
        for id in ids {
            sqlx::query("UPDATE raw_messages SET moved = 1 WHERE id = $1")
                .bind(id)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    // ---- outbox ----

    /// Queues one mail on its own (mail not caused by an incoming message).
    pub async fn enqueue_outgoing(&self, mail: &OutgoingMail, now: DateTime<Utc>) -> Result<bool> {
        let mut tx = self.begin_write().await?;
        let added = enqueue(&mut tx, mail, now).await?;
        tx.commit().await?;
        Ok(added)
    }

    /// Outbox rows of a mailbox whose time has come, oldest first.
    pub async fn due_outgoing(
        &self,
        mailbox: &str,
        now: DateTime<Utc>,
        limit: i64,
    ) -> Result<Vec<QueuedMail>> {
        let rows = sqlx::query(&format!(
            "SELECT {QUEUED_MAIL_COLUMNS} FROM outbox \
             WHERE mailbox = $1 AND state = 'pending' AND next_attempt_at_epoch <= $2 \
             ORDER BY next_attempt_at_epoch, id LIMIT $3"
        ))
        .bind(mailbox)
        .bind(now.timestamp())
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.iter().map(queued_mail).collect())
    }

    /// Claims the next due, unclaimed row of a mailbox for `holder` until `claim_ms` from now,
    /// in a short transaction that commits before anything is sent: on PostgreSQL with
    /// `FOR UPDATE SKIP LOCKED`, so replicas draining one outbox never wait on or take each
    /// other's rows; on SQLite `BEGIN IMMEDIATE` makes the claimer the only writer. A row whose
    /// holder died is claimable again once its claim has run out. The row keeps the bytes
    /// rendered when it was queued, so a resend is the same message.
    pub async fn claim_outgoing(
        &self,
        mailbox: &str,
        now: DateTime<Utc>,
        holder: &str,
        claim_ms: i64,
    ) -> Result<Option<QueuedMail>> {
        let db_now = self.db_now_ms();
        let lock = match self.backend {
            Backend::Postgres => " FOR UPDATE SKIP LOCKED",
            Backend::Sqlite => "",
        };
        let mut tx = self.begin_write().await?;
        let row = sqlx::query(&format!(
            "SELECT {QUEUED_MAIL_COLUMNS} FROM outbox WHERE mailbox = $1 AND state = 'pending' \
             AND next_attempt_at_epoch <= $2 AND claim_until_ms < {db_now} \
             ORDER BY next_attempt_at_epoch, id LIMIT 1{lock}"
        ))
        .bind(mailbox)
        .bind(now.timestamp())
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row) = row else {
            tx.rollback().await?;
            return Ok(None);
        };
        let mail = queued_mail(&row);
        sqlx::query(&format!(
            "UPDATE outbox SET claimed_by = $1, claim_until_ms = {db_now} + $2 WHERE id = $3"
        ))
        .bind(holder)
        .bind(claim_ms)
        .bind(mail.id)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(Some(mail))
    }

    /// How long until a pending row of the mailbox may be claimed: the earliest of the next
    /// attempt time of an unclaimed row (on `now`'s clock) and the end of a running claim (on
    /// the database's clock). None when nothing is pending.
    pub async fn next_outgoing_wait(
        &self,
        mailbox: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<std::time::Duration>> {
        let db_now = self.db_now_ms();
        let row = sqlx::query(&format!(
            "SELECT MIN(CASE WHEN claim_until_ms < {db_now} THEN next_attempt_at_epoch END), \
                    MIN(CASE WHEN claim_until_ms >= {db_now} THEN claim_until_ms - {db_now} END) \
             FROM outbox WHERE mailbox = $1 AND state = 'pending'"
        ))
        .bind(mailbox)
        .fetch_one(&self.pool)
        .await?;
        let due = row
            .try_get::<Option<i64>, _>(0)
            .unwrap_or(None)
            .map(|epoch| std::time::Duration::from_secs((epoch - now.timestamp()).max(0) as u64));
        let claim_ends = row
            .try_get::<Option<i64>, _>(1)
            .unwrap_or(None)
            .map(|ms| std::time::Duration::from_millis(ms.max(0) as u64 + 1));
        Ok(match (due, claim_ends) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        })
    }

    /// When the next pending mail of a mailbox is due, if any.
    pub async fn next_outgoing_due(&self, mailbox: &str) -> Result<Option<i64>> {
        let row = sqlx::query(
            "SELECT MIN(next_attempt_at_epoch) FROM outbox WHERE mailbox = $1 AND state = 'pending'",
        )
        .bind(mailbox)
        .fetch_one(&self.pool)
        .await?;
        Ok(row.try_get::<Option<i64>, _>(0).unwrap_or(None))
    }

    pub async fn mark_sent(&self, id: i64, now: DateTime<Utc>) -> Result<()> {
        let mut tx = self.begin_write().await?;
        sqlx::query(
            "UPDATE outbox SET claimed_by = NULL, claim_until_ms = 0, state = 'sent', sent_at = $1, attempts = attempts + 1, last_error = NULL \
             WHERE id = $2",
        )
        .bind(ts(now))
        .bind(id)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn mark_retry(
        &self,
        id: i64,
        next_attempt: DateTime<Utc>,
        error: &str,
    ) -> Result<()> {
        let mut tx = self.begin_write().await?;
        sqlx::query(
            "UPDATE outbox SET claimed_by = NULL, claim_until_ms = 0, attempts = attempts + 1, next_attempt_at_epoch = $1, last_error = $2 \
             WHERE id = $3",
        )
        .bind(next_attempt.timestamp())
        .bind(error)
        .bind(id)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Gives a row up; `notice` (telling someone so) is queued in the same transaction, so it
    /// is queued exactly once however often the give-up is retried.
    pub async fn mark_failed(
        &self,
        id: i64,
        error: &str,
        notice: Option<&OutgoingMail>,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let mut tx = self.begin_write().await?;
        sqlx::query(
            "UPDATE outbox SET claimed_by = NULL, claim_until_ms = 0, state = 'failed', attempts = attempts + 1, last_error = $1 WHERE id = $2",
        )
        .bind(error)
        .bind(id)
        .execute(&mut *tx)
        .await?;
        if let Some(notice) = notice {
            enqueue(&mut tx, notice, now).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    // ---- events and status ----

    /// Remembers something that went wrong, for `clerk status`.
    pub async fn record_event(
        &self,
        level: &str,
        mailbox: Option<&str>,
        message: &str,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let mut tx = self.begin_write().await?;
        sqlx::query("INSERT INTO events (at, level, mailbox, message) VALUES ($1, $2, $3, $4)")
            .bind(ts(now))
            .bind(level)
            .bind(mailbox)
            .bind(message)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn mailbox_statuses(&self) -> Result<Vec<MailboxStatus>> {
        let rows = sqlx::query(
            "SELECT s.mailbox, s.folder, s.uid_validity, s.last_uid, s.connected, s.last_event, s.updated_at, \
               s.last_idle_event, s.last_idle_at, s.seen_at, \
               (SELECT COUNT(*) FROM raw_messages m WHERE m.mailbox = s.mailbox AND m.state = 'processed'), \
               (SELECT COUNT(*) FROM raw_messages m WHERE m.mailbox = s.mailbox AND m.state = 'quarantined'), \
               (SELECT COUNT(*) FROM raw_messages m WHERE m.mailbox = s.mailbox AND m.state = 'new') \
             FROM mailbox_state s ORDER BY s.mailbox, s.folder",
        )
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|r| MailboxStatus {
                mailbox: r.get(0),
                folder: r.get(1),
                uid_validity: r.get(2),
                last_uid: r.get(3),
                connected: r.get::<i64, _>(4) != 0,
                last_event: r.get(5),
                updated_at: r.get(6),
                last_idle_event: r.get(7),
                last_idle_at: r.get(8),
                seen_at: r.get(9),
                processed: r.get(10),
                quarantined: r.get(11),
                waiting: r.get(12),
            })
            .collect())
    }

    pub async fn outbox_status(&self) -> Result<OutboxStatus> {
        let count = |state: &'static str| {
            sqlx::query("SELECT COUNT(*) FROM outbox WHERE state = $1")
                .bind(state)
                .fetch_one(&self.pool)
        };
        let pending: i64 = count("pending").await?.get(0);
        let sent: i64 = count("sent").await?.get(0);
        let failed: i64 = count("failed").await?.get(0);
        let failures = sqlx::query(
            "SELECT recipients, kind, last_error, state, attempts FROM outbox \
             WHERE last_error IS NOT NULL AND state <> 'sent' ORDER BY id DESC LIMIT 10",
        )
        .fetch_all(&self.pool)
        .await?
        .into_iter()
        .map(|r| OutboxFailure {
            recipients: r.get(0),
            kind: r.get(1),
            error: r.get::<Option<String>, _>(2).unwrap_or_default(),
            state: r.get(3),
            attempts: r.get(4),
        })
        .collect();
        Ok(OutboxStatus {
            pending,
            sent,
            failed,
            failures,
        })
    }

    pub async fn recent_events(&self, limit: i64) -> Result<Vec<EventRow>> {
        let rows =
            sqlx::query("SELECT at, level, mailbox, message FROM events ORDER BY id DESC LIMIT $1")
                .bind(limit)
                .fetch_all(&self.pool)
                .await?;
        Ok(rows
            .into_iter()
            .map(|r| EventRow {
                at: r.get(0),
                level: r.get(1),
                mailbox: r.get(2),
                message: r.get(3),
            })
            .collect())
    }

    /// How many stored messages carry this Message-ID (tests and audits).
    pub async fn count_messages_with_id(&self, message_id: &str) -> Result<i64> {
        let row = sqlx::query("SELECT COUNT(*) FROM raw_messages WHERE message_id = $1")
            .bind(message_id)
            .fetch_one(&self.pool)
            .await?;
        Ok(row.get(0))
    }

    /// Every stored message as (Message-ID, state), oldest first (tests and audits).
    pub async fn message_states(&self) -> Result<Vec<(Option<String>, String)>> {
        let rows = sqlx::query("SELECT message_id, state FROM raw_messages ORDER BY id")
            .fetch_all(&self.pool)
            .await?;
        Ok(rows.into_iter().map(|r| (r.get(0), r.get(1))).collect())
    }

    /// Every outbox row with its attempts and bytes, oldest first (tests and audits).
    pub async fn outbox_attempts(&self) -> Result<Vec<OutboxAttempt>> {
        let rows = sqlx::query(
            "SELECT kind, recipients, message_id, state, attempts, last_error, raw \
             FROM outbox ORDER BY id",
        )
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|r| OutboxAttempt {
                kind: r.get(0),
                recipients: r.get(1),
                message_id: r.get(2),
                state: r.get(3),
                attempts: r.get(4),
                last_error: r.get(5),
                raw: r.get(6),
            })
            .collect())
    }

    /// [`Store::outbox_attempts`] as (kind, recipients, message_id, state).
    pub async fn outbox_rows(&self) -> Result<Vec<(String, String, String, String)>> {
        Ok(self
            .outbox_attempts()
            .await?
            .into_iter()
            .map(|a| (a.kind, a.recipients, a.message_id, a.state))
            .collect())
    }
}

/// The columns [`queued_mail`] reads, in its order.
const QUEUED_MAIL_COLUMNS: &str = "id, envelope_from, recipients, message_id, raw, attempts, \
     created_at, tell_on_failure, tell_language";

fn queued_mail(r: &sqlx::any::AnyRow) -> QueuedMail {
    QueuedMail {
        id: r.get(0),
        envelope_from: r.get(1),
        recipients: r
            .get::<String, _>(2)
            .split(',')
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect(),
        message_id: r.get(3),
        raw: r.get(4),
        attempts: r.get(5),
        created_at: DateTime::parse_from_rfc3339(&r.get::<String, _>(6))
            .map(|d| d.with_timezone(&Utc))
            .unwrap_or(DateTime::<Utc>::MIN_UTC),
        tell_on_failure: r.get::<Option<String>, _>(7).map(|address| FailureContact {
            address,
            english: r.get::<Option<String>, _>(8).as_deref() == Some("en"),
        }),
    }
}

/// Marks a new message processed or quarantined inside `tx`. False when it was no longer new
/// (another worker finished it first): the caller must then roll back.
pub async fn claim_message(
    tx: &mut Tx,
    id: i64,
    outcome: MessageOutcome,
    summary: &str,
    now: DateTime<Utc>,
) -> Result<bool> {
    let updated = sqlx::query(
        "UPDATE raw_messages SET state = $1, outcome = $2, processed_at = $3 \
         WHERE id = $4 AND state = 'new'",
    )
    .bind(outcome.as_str())
    .bind(summary)
    .bind(ts(now))
    .bind(id)
    .execute(&mut **tx)
    .await?;
    Ok(updated.rows_affected() > 0)
}

/// Stores the documents of message `id`; returns their ids in order.
pub async fn insert_documents(
    tx: &mut Tx,
    id: i64,
    documents: &[NewDocument],
    now: DateTime<Utc>,
) -> Result<Vec<i64>> {
    let mut ids = Vec::with_capacity(documents.len());
    for doc in documents {
        let row = sqlx::query(
            "INSERT INTO documents (raw_message_id, name, format, kind, language, text, \
             understood, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
        )
        .bind(id)
        .bind(&doc.name)
        .bind(&doc.format)
        .bind(&doc.kind)
        .bind(&doc.language)
        .bind(&doc.text)
        .bind(&doc.understood_json)
        .bind(ts(now))
        .fetch_one(&mut **tx)
        .await?;
        ids.push(row.get::<i64, _>(0));
    }
    Ok(ids)
}

/// Queues a rendered mail inside `tx`; false when a mail with its dedupe key exists already.
pub async fn enqueue(tx: &mut Tx, mail: &OutgoingMail, now: DateTime<Utc>) -> Result<bool> {
    let result = sqlx::query(
        "INSERT INTO outbox (dedupe_key, kind, mailbox, envelope_from, recipients, message_id, raw, \
         next_attempt_at_epoch, created_at, tell_on_failure, tell_language) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) \
         ON CONFLICT (dedupe_key) DO NOTHING",
    )
    .bind(&mail.dedupe_key)
    .bind(&mail.kind)
    .bind(&mail.mailbox)
    .bind(&mail.envelope_from)
    .bind(mail.recipients.join(","))
    .bind(&mail.message_id)
    .bind(mail.raw.clone())
    .bind(now.timestamp())
    .bind(ts(now))
    .bind(mail.tell_on_failure.as_ref().map(|c| c.address.clone()))
    .bind(
        mail.tell_on_failure
            .as_ref()
            .map(|c| if c.english { "en" } else { "sv" }),
    )
    .execute(&mut **tx)
    .await?;
    Ok(result.rows_affected() > 0)
}

/// Whether `err` is a transaction that lost a race with another worker's and may simply be
/// tried again: a unique key taken meanwhile (23505), a serialization failure (40001) or a
/// deadlock (40P01) on PostgreSQL; the database busy or locked (5, 6, 517) or a unique key
/// taken (2067) on SQLite.
pub fn is_write_conflict(err: &anyhow::Error) -> bool {
    err.chain()
        .filter_map(|e| e.downcast_ref::<sqlx::Error>())
        .any(|e| match e {
            sqlx::Error::Database(db) => {
                matches!(
                    db.code().as_deref(),
                    Some("23505" | "40001" | "40P01" | "5" | "6" | "517" | "2067")
                )
            }
            _ => false,
        })
}

/// The identity of a message across folders and UIDVALIDITY changes: its Message-ID, or its
/// bytes when it has none.
pub fn message_key(message_id: Option<&str>, raw: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    let mut hasher = Sha256::new();
    match message_id.map(str::trim).filter(|id| !id.is_empty()) {
        Some(id) => {
            hasher.update(b"mid:");
            hasher.update(id.trim_matches(['<', '>']).as_bytes());
        }
        None => {
            hasher.update(b"raw:");
            hasher.update(raw);
        }
    }
    hex::encode(hasher.finalize())
}

/// The URL without its password, for error messages.
fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let userinfo = &url[scheme + 3..at];
            let user = userinfo.split(':').next().unwrap_or("");
            format!("{}{}@{}", &url[..scheme + 3], user, &url[at + 1..])
        }
        _ => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_key_ignores_angle_brackets_and_falls_back_to_bytes() {
        assert_eq!(
            message_key(Some("<a@b>"), b"x"),
            message_key(Some("a@b"), b"y")
        );
        assert_ne!(message_key(None, b"x"), message_key(None, b"y"));
        assert_ne!(message_key(Some(""), b"x"), message_key(Some("x"), b"x"));
    }

    #[test]
    fn urls_lose_their_passwords() {
        assert_eq!(
            redact_url("postgres://clerk:s3cret@db/clerk"),
            "postgres://clerk@db/clerk"
        );
        assert_eq!(redact_url("sqlite:/tmp/x.db"), "sqlite:/tmp/x.db");
    }
}
