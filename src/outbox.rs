//! The outbox loop: drains the `outbox` table of one mailbox over SMTP.
//!
//! Rows are rendered by whoever caused them (see [`crate::outgoing`]); this loop only sends the
//! stored bytes. Outcomes: sent; retry later (4xx, connection trouble), backing off from 5
//! minutes doubling to an hour with jitter, for up to 5 days as Postfix does; failed (5xx, or too
//! old), logged and counted for `clerk status`, and the secretary the mail was sent for is told
//! ([`crate::failure_notice`]).
//!
//! Every replica drains every mailbox's outbox. A row is claimed for this replica before it is
//! sent (`Store::claim_outgoing`, a transaction that commits before any network I/O), and a send
//! is cut off before its claim runs out, so no other replica sends it meanwhile.
//!
//! For tests only, `CLERK_TEST_RETRY_BASE_SECS` replaces the 5-minute first wait (the cap stays
//! twelve times the first wait), so a fault test sees several retries within seconds.

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use lettre::address::Envelope;
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{Address, AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use rand::Rng;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::clock::Clock;
use crate::config::{MailboxConfig, Security};
use crate::store::{QueuedMail, Store};

/// How long a mail may keep failing temporarily before Clerk gives up on it.
const GIVE_UP_AFTER: chrono::Duration = chrono::Duration::days(5);

/// Builds the SMTP transport a mailbox sends through.
pub fn transport(config: &MailboxConfig) -> Result<AsyncSmtpTransport<Tokio1Executor>> {
    let smtp = &config.smtp;
    let tls_parameters = || -> Result<TlsParameters> {
        let mut builder = TlsParameters::builder(smtp.host.clone());
        if let Some(ca) = &smtp.ca_file {
            let pem = std::fs::read(ca)
                .with_context(|| format!("smtp.ca_file: cannot read {}", ca.display()))?;
            builder = builder.add_root_certificate(
                Certificate::from_pem(&pem).context("smtp.ca_file: not a PEM certificate")?,
            );
        }
        Ok(builder.build_rustls()?)
    };
    let builder = match smtp.security {
        Security::Plain => AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&smtp.host),
        Security::Starttls => AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&smtp.host)
            .tls(Tls::Required(tls_parameters()?)),
        Security::Tls => AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&smtp.host)
            .tls(Tls::Wrapper(tls_parameters()?)),
    };
    let mut builder = builder
        .port(smtp.port)
        .timeout(Some(Duration::from_secs(smtp.timeout_secs)));
    if let Some(user) = &smtp.username {
        let password = smtp
            .password
            .load("smtp")?
            .context("smtp: username is set but no password")?;
        builder = builder.credentials(Credentials::new(
            user.clone(),
            password.expose().to_string(),
        ));
    }
    Ok(builder.build())
}

/// The first wait after a temporary failure, in seconds: 300, unless a test shortens it.
fn retry_base_secs() -> i64 {
    static BASE: std::sync::OnceLock<i64> = std::sync::OnceLock::new();
    *BASE.get_or_init(|| {
        std::env::var("CLERK_TEST_RETRY_BASE_SECS")
            .ok()
            .and_then(|v| v.trim().parse::<i64>().ok())
            .filter(|secs| *secs > 0)
            .unwrap_or(300)
    })
}

/// The wait before attempt number `attempts + 1`: 5 minutes doubling to an hour, ±20 % jitter
/// so that a queue that failed together does not retry together.
pub fn retry_delay(attempts: i64, jitter: f64) -> chrono::Duration {
    retry_delay_from(retry_base_secs(), attempts, jitter)
}

/// [`retry_delay`] with the first wait given: `base` doubling to twelve times `base`, jittered,
/// never below a fifth of `base`.
fn retry_delay_from(base: i64, attempts: i64, jitter: f64) -> chrono::Duration {
    let plain = base
        .saturating_mul(1i64 << attempts.clamp(0, 4))
        .min(base.saturating_mul(12));
    let jittered = (plain as f64 * (1.0 + 0.2 * jitter.clamp(-1.0, 1.0))).round() as i64;
    chrono::Duration::seconds(jittered.max(base / 5).max(1))
}

/// How long an idle outbox loop waits before looking again: mail queued by another replica
/// (which then died before sending it) wakes no loop here.
const IDLE_POLL: Duration = Duration::from_secs(60);

/// Who claims rows, and for how long.
#[derive(Debug, Clone)]
pub struct Claim {
    /// This replica's id.
    pub holder: String,
    /// How long a claim lasts; a send is cut off at three quarters of it.
    pub lasts: Duration,
}

/// What became of one send.
#[derive(Debug, PartialEq, Eq)]
enum Outcome {
    Sent,
    Retry(String),
    Failed(String),
}

/// Sends whatever is due for one mailbox, until cancelled. `wake` is notified when new rows
/// are queued; the database stays the source of truth.
pub async fn outbox_loop(
    mailbox: MailboxConfig,
    store: Store,
    clock: Clock,
    claim: Claim,
    wake: Arc<Notify>,
    cancel: CancellationToken,
) {
    let transport = match transport(&mailbox) {
        Ok(t) => t,
        Err(err) => {
            tracing::error!(mailbox = %mailbox.name, error = %format!("{err:#}"), "cannot set up SMTP; outgoing mail waits in the outbox");
            let _ = store
                .record_event(
                    "error",
                    Some(&mailbox.name),
                    &format!("SMTP setup: {err:#}"),
                    clock.now(),
                )
                .await;
            cancel.cancelled().await;
            return;
        }
    };
    loop {
        if cancel.is_cancelled() {
            return;
        }
        let sleep_for = match drain_once(&mailbox, &store, &clock, &claim, &transport, &cancel)
            .await
        {
            Ok(()) => match store.next_outgoing_wait(&mailbox.name, clock.now()).await {
                Ok(Some(wait)) => wait.min(IDLE_POLL),
                Ok(None) => IDLE_POLL,
                Err(err) => {
                    tracing::warn!(mailbox = %mailbox.name, error = %format!("{err:#}"), "cannot read the outbox");
                    Duration::from_secs(5)
                }
            },
            Err(err) => {
                tracing::warn!(mailbox = %mailbox.name, error = %format!("{err:#}"), "outbox pass failed");
                Duration::from_secs(5)
            }
        };
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = wake.notified() => {}
            _ = tokio::time::sleep(sleep_for) => {}
        }
    }
}

/// Sends every row that is due now. Stops between sends when cancelled.
async fn drain_once(
    mailbox: &MailboxConfig,
    store: &Store,
    clock: &Clock,
    claim: &Claim,
    transport: &AsyncSmtpTransport<Tokio1Executor>,
    cancel: &CancellationToken,
) -> Result<()> {
    let claim_ms = claim.lasts.as_millis() as i64;
    // Within twice the SMTP timeout, and before the claim runs out.
    let send_limit = (claim.lasts * 3 / 4).min(whole_send_limit(mailbox));
    loop {
        if cancel.is_cancelled() {
            return Ok(());
        }
        let Some(mail) = store
            .claim_outgoing(&mailbox.name, clock.now(), &claim.holder, claim_ms)
            .await?
        else {
            return Ok(());
        };
        let outcome = send_one(transport, &mail, send_limit).await;
        let now = clock.now();
        match outcome {
            Outcome::Sent => {
                tracing::info!(mailbox = %mailbox.name, message_id = %mail.message_id, to = %mail.recipients.join(","), "sent");
                crate::faults::point("after-send");
                store.mark_sent(mail.id, now).await?;
                crate::metrics::metrics().mail_sent(&mailbox.name);
            }
            Outcome::Retry(error) if now - mail.created_at < GIVE_UP_AFTER => {
                let jitter = rand::thread_rng().gen_range(-1.0..=1.0);
                let delay = retry_delay(mail.attempts, jitter);
                let next = now + delay;
                tracing::warn!(mailbox = %mailbox.name, message_id = %mail.message_id, %error, attempts = mail.attempts + 1, retry_in_secs = delay.num_seconds(), next_attempt = %next, "temporary failure, will retry");
                store.mark_retry(mail.id, next, &error).await?;
                crate::metrics::metrics().mail_retried(&mailbox.name);
            }
            Outcome::Retry(error) | Outcome::Failed(error) => {
                tracing::error!(mailbox = %mailbox.name, message_id = %mail.message_id, %error, "giving up on a mail");
                let notice = match crate::failure_notice::render(mailbox, &mail, &error, now) {
                    Ok(notice) => notice,
                    Err(err) => {
                        tracing::warn!(mailbox = %mailbox.name, message_id = %mail.message_id, error = %format!("{err:#}"), "cannot write the failure notice");
                        None
                    }
                };
                if let Some(notice) = &notice {
                    tracing::info!(mailbox = %mailbox.name, message_id = %mail.message_id, to = %notice.recipients.join(","), "telling the secretary");
                }
                store
                    .mark_failed(mail.id, &error, notice.as_ref(), now)
                    .await?;
                crate::metrics::metrics().mail_failed(&mailbox.name);
                store
                    .record_event(
                        "error",
                        Some(&mailbox.name),
                        &format!(
                            "mail {} to {} failed: {error}",
                            mail.message_id,
                            mail.recipients.join(",")
                        ),
                        now,
                    )
                    .await?;
            }
        }
    }
}

/// How long one whole send may take. lettre's own timeout bounds only the TCP connect, so a
/// server that stops answering mid-transaction would otherwise hold the queue for ever.
fn whole_send_limit(mailbox: &MailboxConfig) -> Duration {
    Duration::from_secs(mailbox.smtp.timeout_secs.saturating_mul(2))
}

async fn send_one(
    transport: &AsyncSmtpTransport<Tokio1Executor>,
    mail: &QueuedMail,
    limit: Duration,
) -> Outcome {
    let from: Address = match mail.envelope_from.parse() {
        Ok(a) => a,
        Err(e) => return Outcome::Failed(format!("bad envelope sender: {e}")),
    };
    let to: Result<Vec<Address>, _> = mail.recipients.iter().map(|r| r.parse()).collect();
    let envelope = match to
        .map_err(|e| e.to_string())
        .and_then(|to| Envelope::new(Some(from), to).map_err(|e| e.to_string()))
    {
        Ok(e) => e,
        Err(e) => return Outcome::Failed(format!("bad recipients: {e}")),
    };
    match tokio::time::timeout(limit, transport.send_raw(&envelope, &mail.raw)).await {
        Ok(Ok(_)) => Outcome::Sent,
        Ok(Err(err)) if err.is_permanent() => Outcome::Failed(err.to_string()),
        Ok(Err(err)) => Outcome::Retry(err.to_string()),
        // Possibly delivered; a retry sends the same bytes, so at worst a copy with the same
        // Message-ID, which mail clients show once.
        Err(_) => Outcome::Retry(format!("the SMTP exchange took longer than {limit:?}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_delay_doubles_from_five_minutes_to_an_hour() {
        assert_eq!(retry_delay_from(300, 0, 0.0).num_seconds(), 300);
        assert_eq!(retry_delay_from(300, 1, 0.0).num_seconds(), 600);
        assert_eq!(retry_delay_from(300, 2, 0.0).num_seconds(), 1200);
        assert_eq!(retry_delay_from(300, 3, 0.0).num_seconds(), 2400);
        assert_eq!(retry_delay_from(300, 4, 0.0).num_seconds(), 3600);
        assert_eq!(retry_delay_from(300, 40, 0.0).num_seconds(), 3600);
        assert_eq!(retry_delay_from(300, 0, 1.0).num_seconds(), 360);
        assert_eq!(retry_delay_from(300, 0, -1.0).num_seconds(), 240);
    }

    #[test]
    fn jitter_spreads_a_queue_that_failed_together() {
        let delays: std::collections::BTreeSet<i64> = (0..50)
            .map(|_| {
                retry_delay_from(300, 1, rand::thread_rng().gen_range(-1.0..=1.0)).num_seconds()
            })
            .collect();
        assert!(delays.len() > 5, "{delays:?}");
        assert!(delays.iter().all(|d| (480..=720).contains(d)), "{delays:?}");
    }

    #[test]
    fn a_shortened_base_keeps_the_shape() {
        assert_eq!(retry_delay_from(2, 0, 0.0).num_seconds(), 2);
        assert_eq!(retry_delay_from(2, 3, 0.0).num_seconds(), 16);
        assert_eq!(retry_delay_from(2, 9, 0.0).num_seconds(), 24);
        assert_eq!(retry_delay_from(1, 0, -1.0).num_seconds(), 1);
    }
}
