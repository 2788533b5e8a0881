//! Promise 1 under load: a burst of mail arrives while the daemon is killed with SIGKILL at
//! random moments and started again; afterwards every Message-ID is stored, processed and moved
//! exactly once, and every mail got exactly one receipt (a resend after a kill between the
//! server's 250 and marking the row sent repeats the same Message-ID, which is allowed).

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor, address::Envelope};
use rand::{Rng, SeedableRng, rngs::StdRng};

use crate::support::*;

const MAILS: usize = 200;
const KILLS: usize = 30;
const SENDERS: usize = 4;

fn short_mail(from: &str, to: &str, message_id: &str, n: usize) -> Vec<u8> {
    format!(
        "From: Avsändare {n} <{from}>\r\nTo: <{to}>\r\nSubject: Fråga {n}\r\n\
         Message-ID: <{message_id}>\r\nDate: Tue, 24 Nov 2026 10:00:00 +0100\r\n\
         MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\
         Content-Transfer-Encoding: 8bit\r\n\r\nHej! Kort fråga nummer {n}.\r\n"
    )
    .into_bytes()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_under_random_kills_is_stored_processed_and_answered_once() {
    let seed: u64 = std::env::var("CLERK_FAULTS_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(rand::random);
    println!("kill burst: seed {seed} (CLERK_FAULTS_SEED={seed} repeats the kill timing)");
    let mut rng = StdRng::seed_from_u64(seed);
    let started = Instant::now();
    let stack = mail_stack();
    let clerk = new_account("clerk", "example.test");
    let senders: Vec<Account> = (0..SENDERS)
        .map(|_| new_account("sender", "example.org"))
        .collect();
    let tag = rand::random::<u32>();
    let mails: Vec<(usize, String)> = (0..MAILS)
        .map(|n| (n % SENDERS, format!("burst-{n}-{tag:08x}@example.org")))
        .collect();
    let mut daemon = Daemon::start(&stack, &clerk);

    // The burst goes into the shared Postfix over one SMTP connection, as fast as it takes it.
    let sending = {
        let (host, port) = (stack.host.clone(), stack.smtp_port);
        let to = clerk.address.clone();
        let from: Vec<String> = senders.iter().map(|s| s.address.clone()).collect();
        let mails = mails.clone();
        tokio::spawn(async move {
            let transport = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&host)
                .port(port)
                .build();
            for (n, (sender, id)) in mails.iter().enumerate() {
                let envelope = Envelope::new(
                    Some(from[*sender].parse().unwrap()),
                    vec![to.parse().unwrap()],
                )
                .unwrap();
                let raw = short_mail(&from[*sender], &to, id, n);
                transport
                    .send_raw(&envelope, &raw)
                    .await
                    .expect("SMTP send");
            }
        })
    };

    // Kill at random moments until the burst is in and at least KILLS kills are done.
    let mut kills = 0;
    while kills < KILLS || !sending.is_finished() {
        tokio::time::sleep(Duration::from_millis(rng.gen_range(80..=600))).await;
        daemon.kill_hard();
        kills += 1;
        daemon.restart();
    }
    sending.await.expect("the burst was sent");
    let killing_ended = started.elapsed();

    // Left alone, the daemon catches up.
    let store = clerk::store::Store::open(&daemon.db_url()).await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let states = store.message_states().await.unwrap();
        let processed = states.iter().filter(|(_, s)| s == "processed").count();
        let outbox = store.outbox_attempts().await.unwrap();
        let pending = outbox.iter().filter(|row| row.state == "pending").count();
        if processed >= MAILS && pending == 0 && count_messages(&stack, &clerk, "INBOX").await == 0
        {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "not done 120 s after the last kill: {} stored, {processed} processed, {pending} \
             receipts pending\n--- clerk log (tail) ---\n{}",
            states.len(),
            log_tail(&daemon, 80)
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }

    // Receipts reach the senders' mailboxes through Postfix.
    let wanted: BTreeSet<&str> = mails.iter().map(|(_, id)| id.as_str()).collect();
    let deadline = Instant::now() + Duration::from_secs(60);
    let receipts: BTreeMap<String, Vec<String>> = loop {
        let mut receipts: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for sender in &senders {
            for (id, reply_to) in fetch_reply_ids(&stack, sender, "INBOX").await {
                let (Some(id), Some(reply_to)) = (id, reply_to) else {
                    continue;
                };
                let reply_to = reply_to.trim_matches(['<', '>', ' ']).to_string();
                receipts.entry(reply_to).or_default().push(id);
            }
        }
        if wanted.iter().all(|id| receipts.contains_key(*id)) || Instant::now() > deadline {
            break receipts;
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    };

    let mut lost = Vec::new();
    let mut duplicated = Vec::new();
    let mut resent_copies = 0;
    for id in &wanted {
        let stored = store.count_messages_with_id(id).await.unwrap();
        let ids: BTreeSet<&String> = receipts.get(*id).into_iter().flatten().collect();
        let copies = receipts.get(*id).map_or(0, Vec::len);
        resent_copies += copies.saturating_sub(1);
        if stored == 0 || ids.is_empty() {
            lost.push(format!("{id}: stored {stored}, receipts {}", ids.len()));
        } else if stored > 1 || ids.len() > 1 {
            duplicated.push(format!("{id}: stored {stored}, receipts {ids:?}"));
        }
    }
    let states = store.message_states().await.unwrap();
    let not_processed: Vec<_> = states.iter().filter(|(_, s)| s != "processed").collect();
    let moved = count_messages(&stack, &clerk, "Clerk/Processed").await;
    let left = count_messages(&stack, &clerk, "INBOX").await;
    println!(
        "kill burst: seed {seed}, mails {MAILS}, kills {kills}, lost {}, duplicated {}, \
         resent copies with the same Message-ID {resent_copies}, killing {:.1} s, total {:.1} s",
        lost.len(),
        duplicated.len(),
        killing_ended.as_secs_f64(),
        started.elapsed().as_secs_f64()
    );
    assert!(kills >= KILLS);
    assert!(lost.is_empty(), "lost (seed {seed}): {lost:#?}");
    assert!(
        duplicated.is_empty(),
        "duplicated (seed {seed}): {duplicated:#?}"
    );
    assert_eq!(states.len(), MAILS, "one stored row per mail (seed {seed})");
    assert!(not_processed.is_empty(), "all processed: {not_processed:?}");
    assert_eq!(moved as usize, MAILS, "each moved once (seed {seed})");
    assert_eq!(left, 0, "nothing left in INBOX (seed {seed})");
    let outbox = store.outbox_attempts().await.unwrap();
    assert_eq!(
        outbox.len(),
        MAILS,
        "one receipt row per mail (seed {seed})"
    );
    assert!(
        outbox.iter().all(|row| row.state == "sent"),
        "every receipt sent (seed {seed})"
    );
    daemon.stop();
}
