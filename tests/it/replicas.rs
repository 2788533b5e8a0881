//! Several replicas on one database: outbox rows claimed once, mailbox leases taken over when
//! their holder dies, scheduled work queued once when replicas tick together, and three real
//! daemons on one PostgreSQL database, one killed with SIGKILL in the middle of a burst.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use clerk::scheduler::Context;
use clerk::store::Store;

use crate::e2e::{agenda_mail, is_reply_to};
use crate::store::{mail, now, sqlite_store};
use crate::support::*;

/// A fresh PostgreSQL database, migrated; its URL.
async fn fresh_pg_url() -> String {
    let url = fresh_postgres_url().await;
    Store::open(&url).await.unwrap().migrate().await.unwrap();
    url
}

/// Two replicas (two pools) claim a queue of rows: each row goes to one of them; a claim whose
/// holder died runs out and the row is claimed again, with its bytes unchanged.
async fn outbox_rows_are_claimed_once(a: &Store, b: &Store) {
    for i in 0..6 {
        a.enqueue_outgoing(&mail(&format!("k{i}")), now())
            .await
            .unwrap();
    }
    let mut claimed = Vec::new();
    loop {
        let (x, y) = tokio::join!(
            a.claim_outgoing("main", now(), "replica-a", 60_000),
            b.claim_outgoing("main", now(), "replica-b", 60_000)
        );
        let (x, y) = (x.unwrap(), y.unwrap());
        if x.is_none() && y.is_none() {
            break;
        }
        claimed.extend(x.into_iter().chain(y).map(|m| m.id));
    }
    claimed.sort();
    let before = claimed.len();
    claimed.dedup();
    assert_eq!((before, claimed.len()), (6, 6), "every row claimed once");
    let wait = a.next_outgoing_wait("main", now()).await.unwrap().unwrap();
    assert!(
        wait > Duration::from_secs(30),
        "claimed rows are waited for until their claims end: {wait:?}"
    );

    // A holder that dies mid-send: its short claim runs out, another replica sends the same bytes.
    a.enqueue_outgoing(&mail("dies"), now()).await.unwrap();
    let first = a
        .claim_outgoing("main", now(), "replica-a", 300)
        .await
        .unwrap()
        .expect("the new row");
    assert!(
        b.claim_outgoing("main", now(), "replica-b", 300)
            .await
            .unwrap()
            .is_none()
    );
    tokio::time::sleep(Duration::from_millis(400)).await;
    let again = b
        .claim_outgoing("main", now(), "replica-b", 60_000)
        .await
        .unwrap()
        .expect("claimable again");
    assert_eq!((again.id, &again.raw), (first.id, &first.raw));
    b.mark_sent(again.id, now()).await.unwrap();
    for id in claimed {
        a.mark_sent(id, now()).await.unwrap();
    }
    assert!(
        a.claim_outgoing("main", now(), "replica-a", 60_000)
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(a.outbox_status().await.unwrap().sent, 7);
}

/// A mailbox lease has one holder; it is renewed by that holder, refused to others while it
/// runs, taken over once it ran out, and free at once when given back.
async fn mailbox_leases_have_one_holder(a: &Store, b: &Store) {
    assert!(a.take_mailbox_lease("m", "ra", 400, now()).await.unwrap());
    assert!(!b.take_mailbox_lease("m", "rb", 400, now()).await.unwrap());
    assert!(a.take_mailbox_lease("m", "ra", 400, now()).await.unwrap());
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(
        b.take_mailbox_lease("m", "rb", 60_000, now())
            .await
            .unwrap()
    );
    assert!(!a.take_mailbox_lease("m", "ra", 400, now()).await.unwrap());
    let leases = a.mailbox_leases().await.unwrap();
    assert_eq!(leases.len(), 1);
    assert_eq!(leases[0].holder, "rb");
    assert!(leases[0].expires_in_ms > 30_000, "{leases:?}");
    b.release_mailbox_lease("m", "rb").await.unwrap();
    assert!(
        a.take_mailbox_lease("m", "ra", 60_000, now())
            .await
            .unwrap()
    );

    a.replica_heartbeat("ra", now()).await.unwrap();
    b.replica_heartbeat("rb", now()).await.unwrap();
    assert_eq!(a.live_replicas(60_000).await.unwrap(), 2);
    b.replica_stopped("rb").await.unwrap();
    assert_eq!(a.live_replicas(60_000).await.unwrap(), 1);
}

#[tokio::test]
async fn outbox_rows_are_claimed_once_postgres() {
    let url = fresh_pg_url().await;
    let (a, b) = (
        Store::open(&url).await.unwrap(),
        Store::open(&url).await.unwrap(),
    );
    outbox_rows_are_claimed_once(&a, &b).await;
}

#[tokio::test]
async fn outbox_rows_are_claimed_once_sqlite() {
    let (a, _dir) = sqlite_store().await;
    outbox_rows_are_claimed_once(&a, &a.clone()).await;
}

#[tokio::test]
async fn mailbox_leases_have_one_holder_postgres() {
    let url = fresh_pg_url().await;
    let (a, b) = (
        Store::open(&url).await.unwrap(),
        Store::open(&url).await.unwrap(),
    );
    mailbox_leases_have_one_holder(&a, &b).await;
}

#[tokio::test]
async fn mailbox_leases_have_one_holder_sqlite() {
    let (a, _dir) = sqlite_store().await;
    mailbox_leases_have_one_holder(&a, &a.clone()).await;
}

/// Two replicas running the scheduled jobs at the same moment, again and again, queue each
/// reminder and digest once: the dedupe keys are unique in the store.
#[tokio::test]
async fn replicas_ticking_together_queue_each_reminder_once() {
    let url = fresh_pg_url().await;
    let first = Store::open(&url).await.unwrap();
    let second = Store::open(&url).await.unwrap();
    let setup = crate::people::setup(first.clone(), "");
    let minutes = crate::people::mail(
        "replicas-minutes",
        crate::people::SENDER,
        "",
        "Hej, här är protokollet.",
        Some(("protokoll.txt", crate::actions::MINUTES)),
    );
    crate::actions::process(&setup, 1, &minutes).await;
    let config = setup.intake.config.clone();
    let tick = crate::actions::tick_time();
    for _ in 0..4 {
        let a = Context {
            config: &config,
            store: &first,
            now: tick,
            dry_run: false,
        };
        let b = Context {
            config: &config,
            store: &second,
            now: tick,
            dry_run: false,
        };
        let (x, y) = tokio::join!(
            clerk::scheduler::run_once(&a),
            clerk::scheduler::run_once(&b)
        );
        x.unwrap();
        y.unwrap();
    }
    let rows = first.outbox_rows().await.unwrap();
    let count = |kind: &str| rows.iter().filter(|r| r.0 == kind).count();
    assert_eq!(
        (count("reminder"), count("digest")),
        (2, 1),
        "two owners reminded once, one digest: {rows:?}"
    );
}

/// Receipts in the secretaries' inboxes, per answered Message-ID: the Message-IDs of the copies.
fn receipts_by_mail(inboxes: &[Vec<Vec<u8>>], ids: &[String]) -> BTreeMap<String, Vec<String>> {
    let mut by = BTreeMap::new();
    for id in ids {
        let copies: Vec<String> = inboxes
            .iter()
            .flatten()
            .filter(|r| is_reply_to(r, id))
            .map(|r| header(r, "Message-ID").unwrap_or_default())
            .collect();
        by.insert(id.clone(), copies);
    }
    by
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_replicas_share_a_burst_and_survive_a_kill() {
    const MAILBOXES: usize = 3;
    const PER_MAILBOX: usize = 20;
    let stack = mail_stack();
    let url = fresh_pg_url().await;
    let store = Store::open(&url).await.unwrap();
    let clerks: Vec<Account> = (0..MAILBOXES)
        .map(|_| new_account("clerk", "example.test"))
        .collect();
    let secretaries: Vec<Account> = (0..MAILBOXES)
        .map(|_| new_account("secretary", "example.org"))
        .collect();
    let mut replicas: Vec<Daemon> = (0..3)
        .map(|r| {
            let dir = tempfile::tempdir().unwrap();
            let mut config = format!(
                "[store]\nurl = \"{url}\"\n\n[daemon]\nreplica_id = \"r{r}\"\n\
                 mailbox_lease_secs = 3\noutbox_claim_secs = 10\nshutdown_grace_secs = 10\n"
            );
            for (i, clerk) in clerks.iter().enumerate() {
                config.push_str(&mailbox_config(&stack, clerk, &format!("m{i}"), dir.path()));
            }
            // A send cut off on a loaded machine is retried within seconds, not 5 minutes.
            Daemon::start_config(dir, &config, &[("CLERK_TEST_RETRY_BASE_SECS", "1")])
        })
        .collect();
    let logs = |replicas: &[Daemon]| {
        replicas
            .iter()
            .enumerate()
            .map(|(i, d)| format!("--- replica r{i} ---\n{}", d.log()))
            .collect::<Vec<_>>()
            .join("\n")
    };

    // The burst goes on while a replica dies.
    let mut ids = Vec::new();
    let mut burst = Vec::new();
    for round in 0..PER_MAILBOX {
        for (clerk, secretary) in clerks.iter().zip(&secretaries) {
            let id = format!("burst-{round}-{}@example.org", rand::random::<u32>());
            burst.push((
                secretary.address.clone(),
                clerk.address.clone(),
                agenda_mail(&secretary.address, &clerk.address, &id),
            ));
            ids.push(id);
        }
    }
    let sender = tokio::spawn(async move {
        let stack = mail_stack();
        for (from, to, raw) in burst {
            smtp_send(&stack, &from, &[&to], &raw).await;
        }
    });

    // Mid-way (some receipts sent, many not): kill the replica that watches the most mailboxes.
    let deadline = Instant::now() + Duration::from_secs(90);
    let victim = loop {
        let sent = store.outbox_status().await.unwrap().sent;
        let leases = store.mailbox_leases().await.unwrap();
        let mut held: BTreeMap<String, usize> = BTreeMap::new();
        for l in leases.iter().filter(|l| l.expires_in_ms > 0) {
            *held.entry(l.holder.clone()).or_default() += 1;
        }
        if sent >= 10
            && let Some((holder, _)) = held.iter().max_by_key(|(_, n)| **n)
        {
            break holder.clone();
        }
        assert!(
            Instant::now() < deadline,
            "no receipt was sent\n{}",
            logs(&replicas)
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let victim_index: usize = victim.trim_start_matches('r').parse().unwrap();
    let victim_mailboxes: Vec<String> = store
        .mailbox_leases()
        .await
        .unwrap()
        .into_iter()
        .filter(|l| l.holder == victim)
        .map(|l| l.mailbox)
        .collect();
    let sent_at_kill = store.outbox_status().await.unwrap().sent;
    replicas[victim_index].kill_hard();
    assert!(
        sent_at_kill < (MAILBOXES * PER_MAILBOX) as i64,
        "the kill came before the end"
    );

    sender.await.unwrap();

    // Every mail answered, by the replicas left.
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let mut inboxes = Vec::new();
        for s in &secretaries {
            inboxes.push(fetch_all(&stack, s, "INBOX").await);
        }
        let by = receipts_by_mail(&inboxes, &ids);
        if by.values().all(|copies| !copies.is_empty()) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{} of {} mails unanswered after the kill\n{}",
            by.values().filter(|c| c.is_empty()).count(),
            ids.len(),
            logs(&replicas)
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    // The killed replica's mailboxes are watched by a live replica.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let leases = store.mailbox_leases().await.unwrap();
        let taken_over = victim_mailboxes.iter().all(|m| {
            leases
                .iter()
                .any(|l| &l.mailbox == m && l.holder != victim && l.expires_in_ms > 0)
        });
        if taken_over && leases.len() == MAILBOXES {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{victim}'s mailboxes {victim_mailboxes:?} not taken over: {leases:?}\n{}",
            logs(&replicas)
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // Each watched folder is emptied (processed mail moved), by whoever holds it now.
    for clerk in &clerks {
        let deadline = Instant::now() + Duration::from_secs(30);
        while !fetch_all(&stack, clerk, "INBOX").await.is_empty() {
            assert!(
                Instant::now() < deadline,
                "{}: INBOX not emptied\n{}",
                clerk.address,
                logs(&replicas)
            );
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
    }

    // A receipt the killed replica had claimed is sent by another once the claim ran out.
    let deadline = Instant::now() + Duration::from_secs(60);
    while store.outbox_status().await.unwrap().pending > 0 {
        assert!(
            Instant::now() < deadline,
            "the outbox does not drain\n{}",
            logs(&replicas)
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    let mut inboxes = Vec::new();
    for s in &secretaries {
        inboxes.push(fetch_all(&stack, s, "INBOX").await);
    }

    // Every mail processed once, every receipt queued once and sent under one Message-ID.
    for id in &ids {
        assert_eq!(store.count_messages_with_id(id).await.unwrap(), 1, "{id}");
    }
    let rows = store.outbox_rows().await.unwrap();
    let receipts: Vec<_> = rows.iter().filter(|r| r.0 == "receipt").collect();
    assert_eq!(receipts.len(), ids.len(), "one receipt row per mail");
    assert!(receipts.iter().all(|r| r.3 == "sent"), "{receipts:?}");
    let by = receipts_by_mail(&inboxes, &ids);
    let mut resent = 0;
    for (id, copies) in &by {
        let mut distinct = copies.clone();
        distinct.sort();
        distinct.dedup();
        assert_eq!(
            distinct.len(),
            1,
            "{id}: one receipt, one Message-ID: {copies:?}"
        );
        // A second copy (the same bytes) only for a send cut by the kill between the server's
        // 250 and the row marked sent: at most one per outbox loop of the killed replica.
        resent += copies.len() - 1;
        if copies.len() > 1 {
            for (i, r) in replicas.iter().enumerate() {
                for line in r.log().lines().filter(|l| l.contains(&distinct[0])) {
                    eprintln!("resent {id}: r{i}: {line}");
                }
            }
        }
    }
    // A send cut off by its time limit may have been delivered before it was retried.
    let cut_off: usize = replicas
        .iter()
        .map(|r| r.log().matches("temporary failure, will retry").count())
        .sum();
    assert!(
        resent <= MAILBOXES + cut_off,
        "{resent} receipts delivered twice ({cut_off} sends retried)\n{}",
        logs(&replicas)
    );
    let status: Vec<i64> = store
        .mailbox_statuses()
        .await
        .unwrap()
        .iter()
        .map(|m| m.processed)
        .collect();
    assert_eq!(status, vec![PER_MAILBOX as i64; MAILBOXES]);
    eprintln!(
        "three replicas: killed {victim} holding {victim_mailboxes:?} after {sent_at_kill} receipts; \
         {resent} resent"
    );

    // `clerk status` names the replicas and who watches what.
    let survivor = (0..3).find(|i| *i != victim_index).unwrap();
    let text = std::process::Command::new(env!("CARGO_BIN_EXE_clerk"))
        .arg("--config")
        .arg(&replicas[survivor].config_path)
        .arg("status")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(
        text.contains(&format!("replica r{survivor}: ")),
        "status names the replicas:\n{text}"
    );
    for r in replicas.iter_mut() {
        r.stop();
    }
    let json = replicas[survivor].status();
    assert!(
        json["mailbox_leases"].as_array().unwrap().len() == MAILBOXES,
        "{json}"
    );
}
