//! Running as a systemd service: the daemon tells a notify socket (as systemd provides one)
//! READY=1 only after its mailbox is watched, feeds the watchdog, and says STOPPING=1 on
//! SIGTERM; the unit passes `systemd-analyze verify` and rates 2.0 or lower on
//! `systemd-analyze security`; `check-config --connect` says which server refused.

use std::os::unix::net::UnixDatagram;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use crate::support::*;

/// The next notification, or None after `wait`.
fn next_message(socket: &UnixDatagram, wait: Duration) -> Option<String> {
    socket.set_read_timeout(Some(wait)).unwrap();
    let mut buf = [0u8; 4096];
    let n = socket.recv(&mut buf).ok()?;
    Some(String::from_utf8_lossy(&buf[..n]).into_owned())
}

#[test]
fn notifies_ready_watchdog_and_stopping() {
    let stack = mail_stack();
    let clerk = new_account("clerk", "example.test");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("notify.sock");
    let socket = UnixDatagram::bind(&path).unwrap();
    let notify_socket = path.display().to_string();
    let mut daemon = Daemon::start_with(
        &stack,
        &clerk,
        "",
        &[
            ("NOTIFY_SOCKET", &notify_socket),
            ("WATCHDOG_USEC", "400000"),
        ],
    );
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut messages = Vec::new();
    while !messages.iter().any(|m: &String| m.contains("READY=1")) {
        assert!(
            Instant::now() < deadline,
            "no READY=1: {messages:?}\n{}",
            daemon.log()
        );
        messages.extend(next_message(&socket, Duration::from_secs(1)));
    }
    assert!(
        daemon.log().contains("watching"),
        "READY=1 came before the mailbox was watched:\n{}",
        daemon.log()
    );
    let ready = messages.iter().find(|m| m.contains("READY=1")).unwrap();
    assert!(ready.contains("STATUS=watching 1 mailbox(es)"), "{ready}");
    // The watchdog is fed at half the interval, with a status line.
    let mut fed = 0;
    while fed < 2 {
        assert!(Instant::now() < deadline, "watchdog not fed: {messages:?}");
        if let Some(m) = next_message(&socket, Duration::from_secs(2)) {
            if m.contains("WATCHDOG=1") {
                assert!(m.contains("1/1 mailbox(es) connected"), "{m}");
                fed += 1;
            }
            messages.push(m);
        }
    }
    daemon.stop();
    let mut stopping = false;
    while let Some(m) = next_message(&socket, Duration::from_millis(500)) {
        stopping |= m.contains("STOPPING=1");
    }
    assert!(stopping, "no STOPPING=1 on SIGTERM: {messages:?}");

    // check-config --connect logs in to both servers, and says which one failed and why.
    let check = |config: &Path| {
        let out = Command::new(env!("CARGO_BIN_EXE_clerk"))
            .arg("--config")
            .arg(config)
            .args(["check-config", "--connect"])
            .output()
            .unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
        )
    };
    let (ok, text) = check(&daemon.config_path);
    assert!(ok, "{text}");
    assert!(
        text.contains("IMAP localhost:") && text.contains("login ok"),
        "{text}"
    );
    assert!(
        text.contains("SMTP localhost:") && text.contains(" ok"),
        "{text}"
    );
    std::fs::write(daemon.dir.path().join("password"), "wrong-password\n").unwrap();
    let (ok, text) = check(&daemon.config_path);
    assert!(!ok, "{text}");
    assert!(
        text.contains("IMAP localhost:") && text.contains("failed"),
        "{text}"
    );
    assert!(
        text.contains("SMTP localhost:") && text.contains("failed"),
        "{text}"
    );
}

fn unit() -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("deploy/clerk.service")
        .display()
        .to_string()
}

#[test]
fn the_unit_verifies_and_is_hardened() {
    let out = Command::new("systemd-analyze")
        .args(["security", "--offline=true", &unit()])
        .output()
        .expect("systemd-analyze (Debian package systemd) is installed");
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    let score: f64 = text
        .lines()
        .find_map(|l| l.split("Overall exposure level for clerk.service: ").nth(1))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no exposure level in:\n{text}"));
    assert!(score <= 2.0, "exposure {score} > 2.0:\n{text}");

    // verify checks that ExecStart exists: point it at the binary under test.
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("clerk.service");
    let text = std::fs::read_to_string(unit())
        .unwrap()
        .replace("/usr/local/bin/clerk", env!("CARGO_BIN_EXE_clerk"));
    std::fs::write(&copy, text).unwrap();
    let out = Command::new("systemd-analyze")
        .args(["verify", "--man=no"])
        .arg(&copy)
        .output()
        .unwrap();
    assert!(
        out.status.success() && out.stderr.is_empty(),
        "systemd-analyze verify: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// SIGTERM while a backlog of mail is being worked through loses nothing and doubles nothing:
/// after a restart every mail is processed once, moved once, and answered by one receipt.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_during_a_burst_loses_nothing() {
    const MAILS: usize = 30;
    let stack = mail_stack();
    let clerk = new_account("clerk", "example.test");
    let secretary = new_account("secretary", "example.org");
    // The whole burst waits in the INBOX before the daemon starts, so it works through a
    // backlog when the signal comes.
    let tag = rand::random::<u32>();
    let ids: Vec<String> = (0..MAILS)
        .map(|i| format!("burst-{tag}-{i}@example.org"))
        .collect();
    for id in &ids {
        let raw = crate::e2e::agenda_mail(&secretary.address, &clerk.address, id);
        smtp_send(&stack, &secretary.address, &[&clerk.address], &raw).await;
    }
    let deadline = Instant::now() + Duration::from_secs(60);
    while fetch_all(&stack, &clerk, "INBOX").await.len() < MAILS {
        assert!(Instant::now() < deadline, "the burst was not delivered");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    let mut daemon = Daemon::start(&stack, &clerk);
    let deadline = Instant::now() + Duration::from_secs(60);
    while !daemon.log().contains("clerk::intake: processed") {
        assert!(
            Instant::now() < deadline,
            "nothing processed:\n{}",
            daemon.log()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    daemon.stop();
    let at_stop = daemon.status();
    let processed_at_stop = at_stop["mailboxes"][0]["processed"].as_i64().unwrap();
    assert!(
        processed_at_stop < MAILS as i64,
        "the daemon had finished before SIGTERM, so this tested nothing: {at_stop}"
    );
    assert_eq!(at_stop["mailboxes"][0]["connected"], false, "{at_stop}");

    daemon.restart();
    let receipts = wait_for(
        &stack,
        &secretary,
        "INBOX",
        90,
        &daemon,
        "a receipt for every mail of the burst",
        |m| m.len() >= MAILS,
    )
    .await;
    for id in &ids {
        let answers = receipts
            .iter()
            .filter(|r| crate::e2e::is_reply_to(r, id))
            .count();
        assert_eq!(answers, 1, "{id}: {answers} receipts\n{}", daemon.log());
    }
    assert_eq!(receipts.len(), MAILS, "{}", daemon.log());
    wait_for(
        &stack,
        &clerk,
        "Clerk/Processed",
        30,
        &daemon,
        "every mail moved",
        |m| m.len() == MAILS,
    )
    .await;
    assert!(fetch_all(&stack, &clerk, "INBOX").await.is_empty());
    daemon.stop();
    let status = daemon.status();
    let main = &status["mailboxes"][0];
    assert_eq!(main["processed"], MAILS, "{status}");
    assert_eq!(main["quarantined"], 0, "{status}");
    assert_eq!(main["waiting"], 0, "{status}");
    assert_eq!(status["outbox"]["sent"], MAILS, "{status}");
    assert_eq!(status["outbox"]["pending"], 0, "{status}");
    assert_eq!(status["outbox"]["failed"], 0, "{status}");
    let store = clerk::store::Store::open(&daemon.db_url()).await.unwrap();
    for id in &ids {
        assert_eq!(
            store.count_messages_with_id(id).await.unwrap(),
            1,
            "{id} stored more or less than once"
        );
    }
    store.close().await;
}
