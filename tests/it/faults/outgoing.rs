//! Promise 4: outgoing mail exactly once as far as people can see. The daemon sends through
//! Postfix's `smtp-sink` on a spare loopback port, restarted with different behaviour for each
//! fault: 4xx on RCPT, the connection dropped after the message's final dot, answers slower than
//! the daemon's timeout, then slow but in time; a kill between the server's 250 and marking the
//! row sent; and 5xx. Afterwards no recipient has two mails with different Message-IDs for one
//! incoming mail, temporary failures were retried with growing waits, and 5xx was not retried
//! but recorded for `clerk status`.
//!
//! The daemon runs with `CLERK_TEST_RETRY_BASE_SECS=1` (first wait 1 s instead of 5 minutes,
//! doubling to 12 s) and `smtp.timeout_secs = 2` (a whole send may take 4 s), so the retries happen within
//! the test.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use crate::e2e::agenda_mail;
use clerk::store::OutboxAttempt;

use crate::support::*;

/// Every accepted mail as (its Message-ID, what it answers (In-Reply-To), recipients).
fn received(sink: &SmtpSink) -> Vec<(String, String, String)> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(sink.dumps()).unwrap() {
        let raw = std::fs::read(entry.unwrap().path()).unwrap();
        // A dump of a transaction cut off before its end holds no complete message.
        let (Some(id), Some(reply_to)) = (header(&raw, "Message-ID"), header(&raw, "In-Reply-To"))
        else {
            continue;
        };
        out.push((
            id,
            reply_to.trim_matches(['<', '>', ' ']).to_string(),
            header(&raw, "X-Rcpt-Args").unwrap_or_default(),
        ));
    }
    out
}

/// The receipt row answering `incoming`, if it is queued yet.
async fn receipt_row(store: &clerk::store::Store, incoming: &str) -> Option<OutboxAttempt> {
    store
        .outbox_attempts()
        .await
        .unwrap()
        .into_iter()
        .find(|row| header(&row.raw, "In-Reply-To").is_some_and(|v| v.contains(incoming)))
}

/// The waits the daemon logged between attempts of one mail, in seconds.
fn logged_waits(daemon: &Daemon, message_id: &str) -> Vec<i64> {
    daemon
        .log()
        .lines()
        .filter(|l| l.contains("temporary failure, will retry") && l.contains(message_id))
        .filter_map(|l| {
            let (_, rest) = l.split_once("retry_in_secs=")?;
            rest.split(|c: char| !c.is_ascii_digit())
                .next()?
                .parse()
                .ok()
        })
        .collect()
}

struct Run {
    stack: MailStack,
    secretary: Account,
    clerk: Account,
    daemon: Daemon,
    store: clerk::store::Store,
}

impl Run {
    /// Mails an agenda to Clerk through the shared Postfix; returns its Message-ID.
    async fn mail(&self, label: &str) -> String {
        let id = format!("{label}-{}@example.org", rand::random::<u32>());
        let raw = agenda_mail(&self.secretary.address, &self.clerk.address, &id);
        smtp_send(
            &self.stack,
            &self.secretary.address,
            &[&self.clerk.address],
            &raw,
        )
        .await;
        id
    }

    /// Waits until the receipt answering `incoming` satisfies `pred`.
    async fn wait_row(
        &self,
        incoming: &str,
        what: &str,
        pred: impl Fn(&OutboxAttempt) -> bool,
    ) -> OutboxAttempt {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let row = receipt_row(&self.store, incoming).await;
            if let Some(row) = &row
                && pred(row)
            {
                return row.clone();
            }
            assert!(
                Instant::now() < deadline,
                "{what}: the receipt for {incoming} is {:?}\n--- clerk log (tail) ---\n{}",
                row.map(|r| (r.state, r.attempts, r.last_error)),
                log_tail(&self.daemon, 60)
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outgoing_faults_never_give_one_recipient_two_different_mails() {
    let started = Instant::now();
    let stack = mail_stack();
    let clerk = new_account("clerk", "example.test");
    let secretary = new_account("secretary", "example.org");
    let mut sink = SmtpSink::new();
    // 1. Greylisting: every RCPT answered 450.
    sink.behave(&["-r", "RCPT"]);
    let smtp = format!(
        "host = \"127.0.0.1\"\nport = {}\nsecurity = \"plain\"\ntimeout_secs = 2\n",
        sink.port
    );
    let daemon = Daemon::start_custom(
        &clerk,
        &imap_section(&stack, &clerk, 120, 20),
        &smtp,
        "",
        &[("CLERK_TEST_RETRY_BASE_SECS", "1")],
    );
    let store = clerk::store::Store::open(&daemon.db_url()).await.unwrap();
    let mut run = Run {
        stack,
        secretary,
        clerk,
        daemon,
        store,
    };
    let mut faults = 0;
    let greylisted = run.mail("greylisted").await;
    let row = run
        .wait_row(&greylisted, "4xx retried", |r| r.attempts >= 3)
        .await;
    assert_eq!(row.state, "pending", "4xx is retried, not given up");
    assert!(
        row.last_error.as_deref().unwrap_or("").contains("450"),
        "{:?}",
        row.last_error
    );
    faults += 1;

    // 2. The connection drops after the message's final dot, before any answer.
    sink.behave(&["-q", "."]);
    let dropped = run.mail("dropped").await;
    let row = run
        .wait_row(&dropped, "a drop after DATA retried", |r| r.attempts >= 2)
        .await;
    assert_eq!(row.state, "pending");
    faults += 1;

    // 3. Answers slower than the daemon waits.
    sink.behave(&["-w", "6"]);
    let too_slow = run.mail("too-slow").await;
    let row = run
        .wait_row(&too_slow, "a timeout retried", |r| r.attempts >= 1)
        .await;
    assert_eq!(row.state, "pending");
    faults += 1;

    // 4. Slow but in time: everything queued goes out, each once.
    sink.behave(&["-w", "1"]);
    let slow = run.mail("slow").await;
    faults += 1;
    for id in [&greylisted, &dropped, &too_slow, &slow] {
        run.wait_row(id, "delivered after the faults", |r| r.state == "sent")
            .await;
    }

    // 5. A kill between the server's 250 and marking the row sent.
    sink.behave(&[]);
    run.daemon.set_env("CLERK_FAIL_AT", "after-send");
    run.daemon.restart();
    let killed = run.mail("killed-after-250").await;
    assert!(
        run.daemon.exited_within(Duration::from_secs(60)),
        "the after-send point was not reached\n{}",
        log_tail(&run.daemon, 40)
    );
    run.daemon.set_env("CLERK_FAIL_AT", "");
    run.daemon.restart();
    run.wait_row(&killed, "resent after the kill", |r| r.state == "sent")
        .await;
    faults += 1;

    // 6. A permanent refusal: not retried, recorded.
    sink.behave(&["-f", "RCPT"]);
    let refused = run.mail("refused").await;
    let row = run
        .wait_row(&refused, "5xx given up", |r| r.state == "failed")
        .await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let again = receipt_row(&run.store, &refused).await.unwrap();
    assert_eq!(
        (row.attempts, again.attempts),
        (1, 1),
        "5xx is not retried: {:?}",
        row.last_error
    );
    assert!(row.last_error.as_deref().unwrap_or("").contains("500"));
    let status = run.daemon.status();
    assert_eq!(status["outbox"]["failed"], 1, "{status}");
    assert!(
        status.to_string().contains(&row.message_id) || status.to_string().contains("500"),
        "the failure shows in clerk status: {status}"
    );
    faults += 1;
    sink.stop();
    run.daemon.stop();

    // What the recipients' server got: for each incoming mail, one Message-ID at most.
    let mut by_incoming: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut copies: BTreeMap<String, usize> = BTreeMap::new();
    for (id, reply_to, _) in received(&sink) {
        *copies.entry(reply_to.clone()).or_default() += 1;
        by_incoming.entry(reply_to).or_default().insert(id);
    }
    let sent = [&greylisted, &dropped, &too_slow, &slow, &killed];
    let mut duplicated = 0;
    let mut lost = 0;
    for id in sent {
        match by_incoming.get(id.as_str()).map(BTreeSet::len) {
            Some(1) => {}
            None => lost += 1,
            Some(_) => duplicated += 1,
        }
    }
    let waits = logged_waits(
        &run.daemon,
        &receipt_row(&run.store, &greylisted)
            .await
            .unwrap()
            .message_id,
    );
    println!(
        "outgoing: mails {}, faults injected {faults} (4xx, drop after DATA, too slow, slow, kill \
         after 250, 5xx), copies received per mail {copies:?}, waits after 4xx {waits:?} s, \
         lost {lost}, duplicated {duplicated}, total {:.1} s",
        sent.len() + 1,
        started.elapsed().as_secs_f64()
    );
    assert_eq!(lost, 0, "{by_incoming:?}");
    assert_eq!(duplicated, 0, "{by_incoming:?}");
    assert!(
        !by_incoming.contains_key(refused.as_str()),
        "the refused mail was not accepted"
    );
    assert!(
        copies.get(killed.as_str()).copied().unwrap_or(0) >= 2,
        "the kill after 250 leads to a resend of the same bytes: {copies:?}"
    );
    assert!(
        waits.len() >= 2 && waits.windows(2).all(|w| w[1] >= w[0]) && waits.last() > waits.first(),
        "temporary failures back off: {waits:?}"
    );
}
