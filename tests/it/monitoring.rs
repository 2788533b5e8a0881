//! Watching the daemon from outside: `clerk status --json` (another process, reading what the
//! daemon records), `/healthz` naming the mailbox that is not watched, and `/metrics` read by an
//! independent parser (Debian's python3-prometheus-client, both its OpenMetrics and its
//! Prometheus text parser) with the counters moved by a real mail.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::e2e::{agenda_mail, is_reply_to};
use crate::support::*;

/// A second mailbox whose IMAP server refuses connections, so it is never watched.
const BROKEN_MAILBOX: &str = r#"
[http]
listen = "127.0.0.1:0"

[[mailbox]]
name = "broken"
address = "broken@example.test"

[mailbox.imap]
host = "localhost"
port = 1
security = "plain"
username = "broken"
password_env = "CLERK_TEST_BROKEN_PASSWORD"

[mailbox.smtp]
host = "localhost"
port = 1
security = "plain"
"#;

/// (status code, body) of a GET.
fn get(addr: &str, path: &str) -> (u16, String) {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let (head, body) = response.split_once("\r\n\r\n").unwrap_or((&response, ""));
    let code = head
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or_else(|| panic!("no status line in {response:?}"));
    (code, body.to_string())
}

/// The address the daemon says it serves on (it was asked for port 0).
fn served_addr(daemon: &Daemon) -> String {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let log = daemon.log();
        if let Some(addr) = log
            .lines()
            .find(|l| l.contains("serving /healthz and /metrics"))
            .and_then(|l| l.split("addr=").nth(1))
            .and_then(|rest| rest.split_whitespace().next())
        {
            return addr.to_string();
        }
        assert!(Instant::now() < deadline, "no listener in the log:\n{log}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Every sample as `[name, labels, value]`, parsed by python3-prometheus-client: the
/// OpenMetrics parser (strict: types, suffixes, `# EOF`) and the Prometheus text parser must
/// both accept the exposition and agree.
fn parse_metrics(text: &str) -> Vec<(String, serde_json::Value, f64)> {
    const SCRIPT: &str = r#"
import json, sys
from prometheus_client.openmetrics.parser import text_string_to_metric_families as openmetrics
from prometheus_client.parser import text_string_to_metric_families as prometheus
text = sys.stdin.read()
def samples(parse):
    return sorted(([s.name, s.labels, s.value] for f in parse(text) for s in f.samples), key=json.dumps)
strict = samples(openmetrics)
print(json.dumps({"openmetrics": strict, "prometheus": samples(prometheus)}))
"#;
    let mut child = Command::new("/usr/bin/python3")
        .args(["-c", SCRIPT])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python3 (Debian's python3-prometheus-client; scripts/test.sh installs it)");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "the exposition does not parse: {}\n{text}",
        String::from_utf8_lossy(&out.stderr)
    );
    let parsed: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let strict = &parsed["openmetrics"];
    let samples: Vec<(String, serde_json::Value, f64)> = strict
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s[0].as_str().unwrap().to_string(),
                s[1].clone(),
                s[2].as_f64().unwrap(),
            )
        })
        .collect();
    // The Prometheus parser names counters' samples the same and reads the same values.
    let loose: Vec<(String, f64)> = parsed["prometheus"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s[0].as_str().unwrap().to_string(), s[2].as_f64().unwrap()))
        .collect();
    for (name, _, value) in &samples {
        assert!(
            loose.iter().any(|(n, v)| n == name && v == value),
            "the Prometheus parser reads {name} differently: {loose:?}"
        );
    }
    samples
}

fn value(samples: &[(String, serde_json::Value, f64)], name: &str, mailbox: Option<&str>) -> f64 {
    samples
        .iter()
        .find(|(n, labels, _)| {
            n == name && mailbox.is_none_or(|m| labels["mailbox"].as_str() == Some(m))
        })
        .map(|(_, _, v)| *v)
        .unwrap_or_else(|| panic!("no sample {name} {mailbox:?} in {samples:?}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_healthz_and_metrics_of_the_running_daemon() {
    let stack = mail_stack();
    let clerk = new_account("clerk", "example.test");
    let secretary = new_account("secretary", "example.org");
    let mut daemon = Daemon::start_with(
        &stack,
        &clerk,
        BROKEN_MAILBOX,
        &[("CLERK_TEST_BROKEN_PASSWORD", "unused")],
    );
    let addr = served_addr(&daemon);

    // Not healthy while a mailbox is not watched, and the answer says which and why.
    let deadline = Instant::now() + Duration::from_secs(30);
    let reason = loop {
        let (code, body) = get(&addr, "/healthz");
        assert_eq!(code, 503, "{body}");
        if !body.contains("main") && body.contains("broken (IMAP") {
            break body;
        }
        assert!(Instant::now() < deadline, "{body}\n{}", daemon.log());
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert!(reason.contains("mailbox not watched"), "{reason}");
    assert_eq!(get(&addr, "/nothing").0, 404);

    let id = format!("metrics-{}@example.org", rand::random::<u32>());
    smtp_send(
        &stack,
        &secretary.address,
        &[&clerk.address],
        &agenda_mail(&secretary.address, &clerk.address, &id),
    )
    .await;
    wait_for(
        &stack,
        &secretary,
        "INBOX",
        60,
        &daemon,
        "the receipt",
        |m| m.iter().any(|r| is_reply_to(r, &id)),
    )
    .await;

    // The outbox marks the mail sent just after the server took it.
    let deadline = Instant::now() + Duration::from_secs(20);
    let samples = loop {
        let (code, body) = get(&addr, "/metrics");
        assert_eq!(code, 200, "{body}");
        let samples = parse_metrics(&body);
        if value(&samples, "clerk_mails_sent_total", Some("main")) >= 1.0 {
            break samples;
        }
        assert!(Instant::now() < deadline, "{body}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(
        value(&samples, "clerk_messages_in_total", Some("main")),
        1.0
    );
    assert!(value(&samples, "clerk_documents_parsed_total", None) >= 1.0);
    assert_eq!(
        value(&samples, "clerk_message_processing_seconds_count", None),
        1.0
    );
    assert!(value(&samples, "clerk_message_processing_seconds_sum", None) > 0.0);
    assert!(value(&samples, "clerk_imap_reconnects_total", Some("broken")) >= 1.0);
    assert_eq!(value(&samples, "clerk_outbox_depth", None), 0.0);
    assert_eq!(
        value(&samples, "clerk_mailbox_connected", Some("main")),
        1.0
    );
    assert_eq!(
        value(&samples, "clerk_mailbox_connected", Some("broken")),
        0.0
    );

    // `clerk status --json` is another process; it sees what the daemon recorded.
    let status = daemon.status();
    let main = &status["mailboxes"][0];
    assert_eq!(main["mailbox"], "main", "{status}");
    assert_eq!(main["connected"], true, "{status}");
    assert_eq!(main["processed"], 1, "{status}");
    assert_eq!(main["quarantined"], 0, "{status}");
    assert!(main["last_uid"].as_i64().unwrap() >= 1, "{status}");
    assert!(main["last_idle_at"].is_string(), "{status}");
    assert!(
        ["started", "new data", "timed out; re-issued", "ended"]
            .contains(&main["last_idle_event"].as_str().unwrap_or("")),
        "{status}"
    );
    assert!(main["seen_at"].is_string(), "{status}");
    assert_eq!(status["outbox"]["pending"], 0, "{status}");
    assert_eq!(status["outbox"]["sent"], 1, "{status}");
    assert!(status["next_reminder"].is_null(), "{status}");
    let text = Command::new(env!("CARGO_BIN_EXE_clerk"))
        .arg("--config")
        .arg(&daemon.config_path)
        .arg("status")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(text.contains("mailbox main (INBOX): connected"), "{text}");
    assert!(text.contains("last IDLE event: "), "{text}");
    assert!(text.contains("next reminder: none scheduled"), "{text}");

    // Without the broken mailbox the daemon is healthy; stopped, it is no longer connected.
    let config = std::fs::read_to_string(&daemon.config_path).unwrap();
    let healthy = config.replace(BROKEN_MAILBOX, "\n[http]\nlisten = \"127.0.0.1:0\"\n");
    assert_ne!(config, healthy);
    std::fs::write(&daemon.config_path, healthy).unwrap();
    daemon.restart();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        // The log is appended to: the second listener line is this run's.
        let log = daemon.log();
        let addr = log
            .lines()
            .filter(|l| l.contains("serving /healthz and /metrics"))
            .nth(1)
            .and_then(|l| l.split("addr=").nth(1))
            .and_then(|rest| rest.split_whitespace().next())
            .map(str::to_string);
        if let Some(addr) = addr
            && let Ok(stream) = TcpStream::connect(&addr)
        {
            drop(stream);
            let (code, body) = get(&addr, "/healthz");
            if code == 200 {
                assert_eq!(body, "ok\n");
                break;
            }
        }
        assert!(Instant::now() < deadline, "never healthy:\n{log}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    daemon.stop();
    let status = daemon.status();
    assert_eq!(status["mailboxes"][0]["connected"], false, "{status}");
}
