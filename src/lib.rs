//! Clerk: a meeting clerk that lives in a mailbox.
//!
//! Secretaries mail it agendas and draft minutes; Clerk reads them, answers with what it
//! understood, and (as it grows) sends invitations, approval requests and reminders.
//!
//! # Layout
//! - [`config`]: the TOML configuration, validated once; secrets from files or the environment.
//! - [`daemon`]: starts one [`outbox`] loop per mailbox and the [`replicas`] keeper, which runs
//!   an [`inbox`] loop for each mailbox this replica holds the lease on; stops them.
//! - [`replicas`]: several replicas on one database: mailbox leases, outbox claims.
//! - [`imap`]: connecting and logging in (TLS, STARTTLS, verified certificates).
//! - [`inbox`]: watching a folder (IDLE), storing each message, then moving it.
//! - [`intake`]: reading a stored message and deciding what mail it causes.
//! - [`document`]: the text out of a mail body or attachment of any format, within limits.
//! - [`extract`]: a meeting (people, agenda, actions, next meetings) out of a document's text.
//! - [`understanding`]: both, for a whole mail or file.
//! - [`receipt`]: the text of the reply every sender gets.
//! - [`outgoing`]: rendering outgoing mail to the exact bytes the outbox keeps.
//! - [`outbox`]: sending the outbox over SMTP, with retries.
//! - [`store`]: the database (SQLite or PostgreSQL), the source of truth.
//! - [`actions`]: actions from minutes, closed by replies and later minutes.
//! - [`reminders`]: reminders to owners of open actions and digests to secretaries (a
//!   [`scheduler`] job).
//! - [`status`]: what `clerk status` prints.
//! - [`service`], [`metrics`], [`http`]: sd_notify for systemd; counters; `/healthz` and
//!   `/metrics` on loopback.
//! - [`clock`]: the daemon's notion of now (fixed for demos and tests).
//! - [`fuzzing`]: the entry points the fuzz targets (`fuzz/`) and the randomized test share.

pub mod actions;
pub mod approval;
pub mod calendar;
pub mod clock;
pub mod config;
pub mod corrections;
pub mod daemon;
pub mod directory;
pub mod document;
pub mod extract;
pub mod failure_notice;
pub mod faults;
pub mod fuzzing;
pub mod http;
pub mod imap;
pub mod inbox;
pub mod intake;
pub mod invitations;
pub mod listing;
pub mod metrics;
pub mod names;
pub mod outbox;
pub mod outgoing;
pub mod people;
pub mod receipt;
pub mod registry;
pub mod reminders;
pub mod replicas;
pub mod scheduler;
pub mod senders;
pub mod series;
pub mod service;
pub mod status;
pub mod store;
pub mod understanding;
