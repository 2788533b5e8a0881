//! Faults on the real mail stack: a crash (abort, as kill -9 leaves things) at each failure
//! point between fetch, store, processing, move and send loses and doubles nothing; a
//! UIDVALIDITY change while mail waits is recovered by Message-ID, with a warning, without loss
//! or replay. The submodules hold the longer runs: a burst of mail under random kills
//! (`kill_burst`), a live watch through server faults (`live_watch`), and outgoing mail through
//! a misbehaving SMTP server (`outgoing`).

mod kill_burst;
mod live_watch;
mod outgoing;

use crate::e2e::{agenda_mail, is_reply_to};
use crate::support::*;

fn doveadm(args: &[&str]) {
    let dir = std::env::var("CLERK_STACK_DIR").expect("CLERK_STACK_DIR (scripts/mailstack.sh env)");
    let out = std::process::Command::new("doveadm")
        .arg("-c")
        .arg(format!("{dir}/dovecot/dovecot.conf"))
        .args(args)
        .output()
        .expect("run doveadm");
    assert!(
        out.status.success(),
        "doveadm {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_uidvalidity_change_loses_and_replays_nothing() {
    let stack = mail_stack();
    let clerk = new_account("clerk", "example.test");
    let secretary = new_account("secretary", "example.org");
    let mut daemon = Daemon::start(&stack, &clerk);
    let first_id = format!("first-{}@example.org", rand::random::<u32>());
    let first = agenda_mail(&secretary.address, &clerk.address, &first_id);
    smtp_send(&stack, &secretary.address, &[&clerk.address], &first).await;
    wait_for(
        &stack,
        &secretary,
        "INBOX",
        60,
        &daemon,
        "the first receipt",
        |m| m.iter().any(|r| is_reply_to(r, &first_id)),
    )
    .await;

    // While the daemon is down: a new mail arrives, a copy of the first is put back, and the
    // server renumbers the folder.
    daemon.stop();
    let second_id = format!("second-{}@example.org", rand::random::<u32>());
    let second = agenda_mail(&secretary.address, &clerk.address, &second_id);
    smtp_send(&stack, &secretary.address, &[&clerk.address], &second).await;
    append(&stack, &clerk, "INBOX", &first).await;
    wait_for(
        &stack,
        &clerk,
        "INBOX",
        30,
        &daemon,
        "both mails waiting",
        |m| m.len() == 2,
    )
    .await;
    let new_validity =
        (chrono::Utc::now().timestamp() as u32).wrapping_add(rand::random::<u16>() as u32);
    doveadm(&[
        "mailbox",
        "update",
        "-u",
        &clerk.address,
        "--uid-validity",
        &new_validity.to_string(),
        "INBOX",
    ]);

    daemon.restart();
    let inbox = wait_for(
        &stack,
        &secretary,
        "INBOX",
        60,
        &daemon,
        "the second receipt",
        |m| m.iter().any(|r| is_reply_to(r, &second_id)),
    )
    .await;
    wait_for(
        &stack,
        &clerk,
        "INBOX",
        30,
        &daemon,
        "an empty INBOX",
        |m| m.is_empty(),
    )
    .await;
    assert_eq!(
        inbox.iter().filter(|r| is_reply_to(r, &first_id)).count(),
        1,
        "no replay"
    );
    assert_eq!(
        inbox.iter().filter(|r| is_reply_to(r, &second_id)).count(),
        1,
        "no loss"
    );
    let status = daemon.status();
    assert_eq!(
        status["mailboxes"][0]["uid_validity"], new_validity as i64,
        "{status}"
    );
    assert!(
        status["recent_problems"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["message"]
                .as_str()
                .unwrap_or("")
                .contains("UIDVALIDITY changed")),
        "the change is recorded as a warning: {status}"
    );
    daemon.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_at_any_failure_point_loses_and_doubles_nothing() {
    let stack = mail_stack();
    for point in [
        "before-store",
        "after-store",
        "before-commit",
        "after-commit",
        "after-move",
        "after-send",
    ] {
        let clerk = new_account("clerk", "example.test");
        let secretary = new_account("secretary", "example.org");
        let mut daemon = Daemon::start_with(&stack, &clerk, "", &[("CLERK_FAIL_AT", point)]);
        let id = format!("{point}-{}@example.org", rand::random::<u32>());
        let mail = agenda_mail(&secretary.address, &clerk.address, &id);
        smtp_send(&stack, &secretary.address, &[&clerk.address], &mail).await;
        assert!(
            daemon.exited_within(std::time::Duration::from_secs(60)),
            "{point}: the failure point was not reached\n{}",
            daemon.log()
        );
        daemon.set_env("CLERK_FAIL_AT", "");
        daemon.restart();
        let inbox = wait_for(
            &stack,
            &secretary,
            "INBOX",
            60,
            &daemon,
            "the receipt",
            |m| m.iter().any(|r| is_reply_to(r, &id)),
        )
        .await;
        wait_for(
            &stack,
            &clerk,
            "INBOX",
            30,
            &daemon,
            "an empty INBOX",
            |m| m.is_empty(),
        )
        .await;
        let processed = wait_for(
            &stack,
            &clerk,
            "Clerk/Processed",
            30,
            &daemon,
            "the processed copy",
            |m| !m.is_empty(),
        )
        .await;
        assert_eq!(processed.len(), 1, "{point}: moved once");
        // A resend after a crash between the server's 250 and marking the row sent repeats the
        // same bytes (same Message-ID); never a second, different mail.
        let mut ids: Vec<String> = inbox
            .iter()
            .filter(|r| is_reply_to(r, &id))
            .map(|r| header(r, "Message-ID").unwrap())
            .collect();
        ids.dedup();
        assert_eq!(ids.len(), 1, "{point}: one receipt");
        let store = clerk::store::Store::open(&daemon.db_url()).await.unwrap();
        assert_eq!(
            store.count_messages_with_id(&id).await.unwrap(),
            1,
            "{point}"
        );
        let status = daemon.status();
        assert_eq!(status["mailboxes"][0]["processed"], 1, "{point}: {status}");
        assert_eq!(status["outbox"]["failed"], 0, "{point}: {status}");
        daemon.stop();
    }
}
