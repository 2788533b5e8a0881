//! The daemon's counters for `/metrics` (Prometheus/OpenMetrics text, `src/http.rs`).
//!
//! One set per process, kept in a static: the loops that count (inbox, intake, outbox) then
//! need no extra handle passed down, and a counter costs an atomic add. Counters count what
//! this process did since it started, as Prometheus expects; what the store knows (outbox
//! depth, connected mailboxes) is read from the store at scrape time instead, so it is true
//! across restarts and replicas.

use std::sync::LazyLock;
use std::time::Duration;

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::{Registry, Unit};

/// Labels of a per-mailbox series: `mailbox="<name>"`.
type ByMailbox = Family<Vec<(String, String)>, Counter>;

pub struct Metrics {
    registry: Registry,
    messages_in: ByMailbox,
    documents_parsed: Counter,
    mails_sent: ByMailbox,
    mails_failed: ByMailbox,
    mails_retried: ByMailbox,
    imap_reconnects: ByMailbox,
    processing: Histogram,
    outbox_depth: Gauge,
    mailbox_connected: Family<Vec<(String, String)>, Gauge>,
}

fn mailbox(name: &str) -> Vec<(String, String)> {
    vec![("mailbox".to_string(), name.to_string())]
}

impl Metrics {
    fn new() -> Metrics {
        let mut registry = Registry::with_prefix("clerk");
        let messages_in = ByMailbox::default();
        registry.register(
            "messages_in",
            "Messages fetched from IMAP and stored (each once)",
            messages_in.clone(),
        );
        let documents_parsed = Counter::default();
        registry.register(
            "documents_parsed",
            "Documents read out of processed messages",
            documents_parsed.clone(),
        );
        let mails_sent = ByMailbox::default();
        registry.register(
            "mails_sent",
            "Outgoing mails accepted by the SMTP server",
            mails_sent.clone(),
        );
        let mails_failed = ByMailbox::default();
        registry.register(
            "mails_failed",
            "Outgoing mails given up on (permanent failure or retries exhausted)",
            mails_failed.clone(),
        );
        let mails_retried = ByMailbox::default();
        registry.register(
            "mails_retried",
            "Temporary SMTP failures, each scheduled for a retry",
            mails_retried.clone(),
        );
        let imap_reconnects = ByMailbox::default();
        registry.register(
            "imap_reconnects",
            "IMAP connections lost and started again",
            imap_reconnects.clone(),
        );
        // From a text mail (milliseconds) to a large PDF near the time limit (tens of seconds).
        let processing = Histogram::new([0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0]);
        registry.register_with_unit(
            "message_processing",
            "Time to read one stored message and commit what it causes",
            Unit::Seconds,
            processing.clone(),
        );
        let outbox_depth = Gauge::default();
        registry.register(
            "outbox_depth",
            "Outgoing mails waiting to be sent (read from the store)",
            outbox_depth.clone(),
        );
        let mailbox_connected = Family::<Vec<(String, String)>, Gauge>::default();
        registry.register(
            "mailbox_connected",
            "1 while the mailbox's IMAP folder is watched (read from the store)",
            mailbox_connected.clone(),
        );
        Metrics {
            registry,
            messages_in,
            documents_parsed,
            mails_sent,
            mails_failed,
            mails_retried,
            imap_reconnects,
            processing,
            outbox_depth,
            mailbox_connected,
        }
    }

    pub fn message_in(&self, mailbox_name: &str) {
        self.messages_in.get_or_create(&mailbox(mailbox_name)).inc();
    }

    pub fn documents_parsed(&self, count: usize) {
        self.documents_parsed
            .inc_by(u64::try_from(count).unwrap_or(u64::MAX));
    }

    pub fn mail_sent(&self, mailbox_name: &str) {
        self.mails_sent.get_or_create(&mailbox(mailbox_name)).inc();
    }

    pub fn mail_failed(&self, mailbox_name: &str) {
        self.mails_failed
            .get_or_create(&mailbox(mailbox_name))
            .inc();
    }

    pub fn mail_retried(&self, mailbox_name: &str) {
        self.mails_retried
            .get_or_create(&mailbox(mailbox_name))
            .inc();
    }

    pub fn imap_reconnect(&self, mailbox_name: &str) {
        self.imap_reconnects
            .get_or_create(&mailbox(mailbox_name))
            .inc();
    }

    pub fn message_processed(&self, took: Duration) {
        self.processing.observe(took.as_secs_f64());
    }

    /// The text exposition, with the store's figures as of now.
    pub fn encode(&self, outbox_depth: i64, connected: &[(String, bool)]) -> String {
        self.outbox_depth.set(outbox_depth);
        for (name, is_connected) in connected {
            self.mailbox_connected
                .get_or_create(&mailbox(name))
                .set(i64::from(*is_connected));
        }
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = encode(&mut out, &self.registry);
        out
    }
}

/// This process's metrics.
pub fn metrics() -> &'static Metrics {
    static METRICS: LazyLock<Metrics> = LazyLock::new(Metrics::new);
    &METRICS
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_appear_in_the_exposition() {
        let m = Metrics::new();
        m.message_in("main");
        m.message_in("main");
        m.documents_parsed(3);
        m.message_processed(Duration::from_millis(30));
        let text = m.encode(4, &[("main".into(), true)]);
        assert!(
            text.contains("clerk_messages_in_total{mailbox=\"main\"} 2"),
            "{text}"
        );
        assert!(text.contains("clerk_documents_parsed_total 3"), "{text}");
        assert!(text.contains("clerk_outbox_depth 4"), "{text}");
        assert!(
            text.contains("clerk_message_processing_seconds_bucket{le=\"0.05\"} 1"),
            "{text}"
        );
        assert!(text.ends_with("# EOF\n"), "{text}");
    }
}
