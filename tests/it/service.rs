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
