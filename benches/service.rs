//! The daemon over the real mail stack: end-to-end latency and the cost of watching mailboxes.
//!
//! Needs the test servers (`scripts/mailstack.sh up`, then `source target/mailstack/env`), like
//! the end-to-end tests. `cargo bench --bench service` prints two Markdown tables:
//!
//! - Latency: minutes that announce a meeting are sent to Clerk through Postfix; the time from
//!   Postfix accepting them to Clerk's invitation arriving in the attendee's mailbox, beside the
//!   stack's own delivery latency (a plain mail to another account) measured in the same run,
//!   interleaved. Both are observed the same way, by asking Dovecot for the mailbox's message
//!   count every 10 ms. `CLERK_BENCH_SAMPLES` (default 20) pairs.
//! - Idle: CPU time and memory of a daemon watching 10 mailboxes for `CLERK_BENCH_IDLE_SECS`
//!   (default 60) seconds, beside one watching a single mailbox over the same minute.
//!
//! - Backlog: `CLERK_BENCH_BACKLOG` (default 5,000) minutes waiting in the INBOX when the daemon
//!   starts, on SQLite and on PostgreSQL: the time until every one is stored, read, processed
//!   and moved, documents per second, the daemon's peak memory, how many of the receipts had
//!   been sent by then (the outbox drains beside intake), and when the last one was sent.
//!
//! `CLERK_BENCH_ONLY=latency|idle|backlog` runs one of the three. `CLERK_BENCH_LOG=1` prints the daemon's log of the latency run: its timestamps show where the
//! time goes (IDLE wake-up, storing, processing, moving, sending).

use std::path::Path;
use std::time::{Duration, Instant};

#[path = "../tests/it/support.rs"]
#[allow(dead_code)]
mod support;

use support::{Account, Daemon, MailStack, mail_stack, new_account, smtp_send};

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// How many messages `account`'s INBOX holds, from an open session.
async fn count(session: &mut clerk::imap::ImapSession) -> u32 {
    session
        .status("INBOX", "(MESSAGES)")
        .await
        .expect("IMAP STATUS")
        .exists
}

async fn session_of(stack: &MailStack, account: &Account, dir: &Path) -> clerk::imap::ImapSession {
    let pw = dir.join(format!("{}.pw", account.address));
    std::fs::write(&pw, &account.password).unwrap();
    clerk::imap::connect(&support::imap_config(stack, account, &pw))
        .await
        .expect("IMAP login")
}

/// Waits until the INBOX holds more than `before` messages; the time it took from `since`.
async fn arrival(session: &mut clerk::imap::ImapSession, before: u32, since: Instant) -> Duration {
    let deadline = since + Duration::from_secs(120);
    loop {
        if count(session).await > before {
            return since.elapsed();
        }
        assert!(Instant::now() < deadline, "nothing arrived within 120 s");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

fn minutes(from: &str, to: &str, n: u64) -> Vec<u8> {
    // Each sample is its own series and meeting, so each leads to a new invitation.
    format!(
        "From: Sara Sekreterare <{from}>\r\nTo: <{to}>\r\nSubject: Protokoll {n}\r\n\
         Message-ID: <bench-{n}-{r}@example.org>\r\nDate: Wed, 09 Jan 2030 09:00:00 +0100\r\n\
         MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\
         Content-Transfer-Encoding: 8bit\r\n\r\n\
         Protokoll Arbetsgrupp {n}\r\nDatum: 2030-01-08\r\nTid: 13.00-15.00\r\nPlats: Rum Ängen\r\n\
         \r\nNärvarande:\r\nAlice Andersson, Region Kronoberg\r\n\r\n1. Mötets öppnande\r\n\
         Mötet öppnades.\r\n\r\n2. Nästa möte\r\n\
         Nästa möte är den {day} mars 2030 kl. 13.00-15.00.\r\n",
        r = rand::random::<u32>(),
        day = 1 + n % 28,
    )
    .into_bytes()
}

fn plain(from: &str, to: &str, n: u64) -> Vec<u8> {
    format!(
        "From: <{from}>\r\nTo: <{to}>\r\nSubject: Baseline {n}\r\n\
         Message-ID: <baseline-{n}-{r}@example.org>\r\nDate: Wed, 09 Jan 2030 09:00:00 +0100\r\n\
         \r\nHej.\r\n",
        r = rand::random::<u32>()
    )
    .into_bytes()
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn ms(d: Duration) -> String {
    format!("{:.0} ms", d.as_secs_f64() * 1000.0)
}

async fn latency(stack: &MailStack, samples: u64) {
    let clerk = new_account("bench-clerk", "example.test");
    let secretary = new_account("bench-secretary", "example.org");
    let alice = new_account("bench-alice", "example.org");
    let carol = new_account("bench-carol", "example.org");
    let dir = tempfile::tempdir().unwrap();
    let directory = dir.path().join("people.csv");
    std::fs::write(
        &directory,
        format!(
            "name,email,organisation\nAlice Andersson,{},Region Kronoberg\n",
            alice.address
        ),
    )
    .unwrap();
    let daemon = Daemon::start_with(
        stack,
        &clerk,
        &format!("[directory]\npath = \"{}\"\n", directory.display()),
        &[("CLERK_NOW", "2030-01-09T08:00:00Z")],
    );
    let mut alice_box = session_of(stack, &alice, dir.path()).await;
    let mut carol_box = session_of(stack, &carol, dir.path()).await;
    let (mut clerk_times, mut stack_times) = (Vec::new(), Vec::new());
    // One warm-up pair, not counted: the first mail opens Clerk's SMTP connection.
    for n in 0..=samples {
        let before = count(&mut carol_box).await;
        let raw = plain(&secretary.address, &carol.address, n);
        smtp_send(stack, &secretary.address, &[&carol.address], &raw).await;
        let stack_took = arrival(&mut carol_box, before, Instant::now()).await;

        let before = count(&mut alice_box).await;
        let raw = minutes(&secretary.address, &clerk.address, n);
        smtp_send(stack, &secretary.address, &[&clerk.address], &raw).await;
        let clerk_took = arrival(&mut alice_box, before, Instant::now()).await;
        if n > 0 {
            stack_times.push(stack_took);
            clerk_times.push(clerk_took);
        }
    }
    if std::env::var_os("CLERK_BENCH_LOG").is_some() {
        eprintln!("{}", daemon.log());
    }
    drop(daemon);
    clerk_times.sort();
    stack_times.sort();
    println!("| path | samples | p50 | p95 | p50 / stack p50 |");
    println!("| --- | --- | --- | --- | --- |");
    let base = percentile(&stack_times, 0.5).as_secs_f64();
    for (name, times) in [
        ("mail to an account (the stack alone)", &stack_times),
        (
            "minutes to Clerk -> invitation to the attendee",
            &clerk_times,
        ),
    ] {
        println!(
            "| {name} | {} | {} | {} | {:.1} |",
            times.len(),
            ms(percentile(times, 0.5)),
            ms(percentile(times, 0.95)),
            percentile(times, 0.5).as_secs_f64() / base
        );
    }
}

/// CPU seconds (user + system) a process has used, from /proc.
fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    // Fields after the command name, which is in parentheses and may hold spaces.
    let rest = &stat[stat.rfind(')').unwrap() + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: f64 = fields[11].parse::<f64>().unwrap() + fields[12].parse::<f64>().unwrap();
    ticks / 100.0
}

/// A memory figure (VmRSS, VmHWM) of a process, in MB.
fn memory_mb(pid: u32, key: &str) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status.lines().find(|l| l.starts_with(key)).unwrap();
    let kb: f64 = line.split_whitespace().nth(1).unwrap().parse().unwrap();
    kb / 1024.0
}

/// `[[mailbox]]` entries for more accounts, placed before the daemon's own.
fn more_mailboxes(stack: &MailStack, accounts: &[Account], dir: &Path) -> String {
    let mut out = String::new();
    for (i, a) in accounts.iter().enumerate() {
        let pw = dir.join(format!("extra-{i}.pw"));
        std::fs::write(&pw, &a.password).unwrap();
        out.push_str(&format!(
            "[[mailbox]]\nname = \"extra{i}\"\naddress = \"{addr}\"\n\
             [mailbox.imap]\nhost = \"localhost\"\nport = {imap}\nsecurity = \"starttls\"\n\
             username = \"{addr}\"\npassword_file = \"{pw}\"\nca_file = \"{ca}\"\n\
             [mailbox.smtp]\nhost = \"localhost\"\nport = {sub}\nsecurity = \"starttls\"\n\
             username = \"{addr}\"\npassword_file = \"{pw}\"\nca_file = \"{ca}\"\n\n",
            addr = a.address,
            imap = stack.imap_port,
            sub = stack.submission_port,
            pw = pw.display(),
            ca = stack.ca.display(),
        ));
    }
    out
}

/// Waits until `clerk status` shows every mailbox connected.
fn wait_connected(daemon: &Daemon, mailboxes: usize) {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let log = daemon.log();
        if log.matches("watching").count() >= mailboxes || Instant::now() > deadline {
            return;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn idle(stack: &MailStack, secs: u64) {
    let dir = tempfile::tempdir().unwrap();
    let one = Daemon::start(stack, &new_account("bench-idle1", "example.test"));
    let extra: Vec<Account> = (0..9)
        .map(|_| new_account("bench-idle", "example.test"))
        .collect();
    let ten = Daemon::start_with(
        stack,
        &new_account("bench-idle10", "example.test"),
        &more_mailboxes(stack, &extra, dir.path()),
        &[],
    );
    wait_connected(&one, 1);
    wait_connected(&ten, 10);
    // Let start-up work (migrations, first catch-up) finish before measuring.
    std::thread::sleep(Duration::from_secs(5));
    let daemons = [("1 mailbox", &one), ("10 mailboxes", &ten)];
    let pids: Vec<u32> = daemons.iter().map(|(_, d)| d.pid().unwrap()).collect();
    let cpu_before: Vec<f64> = pids.iter().map(|p| cpu_seconds(*p)).collect();
    std::thread::sleep(Duration::from_secs(secs));
    println!("| daemon | watched for | CPU used | CPU share | resident memory | peak resident |");
    println!("| --- | --- | --- | --- | --- | --- |");
    for (i, (name, _)) in daemons.iter().enumerate() {
        let used = cpu_seconds(pids[i]) - cpu_before[i];
        println!(
            "| {name} | {secs} s | {used:.2} s | {:.3} % | {:.1} MB | {:.1} MB |",
            100.0 * used / secs as f64,
            memory_mb(pids[i], "VmRSS"),
            memory_mb(pids[i], "VmHWM"),
        );
    }
}

/// Messages processed or quarantined so far, from the daemon's store.
async fn handled(store: &clerk::store::Store) -> i64 {
    store
        .mailbox_statuses()
        .await
        .map(|all| all.iter().map(|s| s.processed + s.quarantined).sum())
        .unwrap_or(0)
}

async fn backlog(stack: &MailStack, documents: u64) {
    println!(
        "| store | documents waiting | drain time | documents/s | peak resident | receipts sent by then | every receipt sent after | receipts/s after the drain |"
    );
    println!("| --- | --- | --- | --- | --- | --- | --- | --- |");
    for backend in ["SQLite", "PostgreSQL"] {
        let clerk = new_account("bench-backlog", "example.test");
        let secretary = new_account("bench-backlog-secretary", "example.org");
        let dir = tempfile::tempdir().unwrap();
        let mut session = session_of(stack, &clerk, dir.path()).await;
        for n in 0..documents {
            let raw = minutes(&secretary.address, &clerk.address, n);
            session
                .append("INBOX", None, None, &raw)
                .await
                .expect("IMAP APPEND");
        }
        let _ = session.logout().await;
        let url = match backend {
            "SQLite" => format!("sqlite:{}", dir.path().join("clerk.db").display()),
            _ => support::fresh_postgres_url().await,
        };
        let config = format!(
            "[store]\nurl = \"{url}\"\n\n{}",
            support::mailbox_config(stack, &clerk, "main", dir.path())
        );
        let started = Instant::now();
        let daemon = Daemon::start_config(dir, &config, &[]);
        let mut store = None;
        let deadline = started + Duration::from_secs(3600);
        loop {
            if store.is_none() {
                store = clerk::store::Store::open(&url).await.ok();
            }
            if let Some(store) = &store
                && handled(store).await >= documents as i64
            {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "the backlog did not drain within an hour"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        let drained = started.elapsed();
        let pid = daemon.pid().unwrap();
        let store = store.unwrap();
        let sent = store.outbox_status().await.map_or(0, |s| s.sent);
        // Then the outbox alone, until every receipt is out.
        while store.outbox_status().await.map_or(1, |s| s.pending) > 0 {
            assert!(
                Instant::now() < deadline,
                "the outbox did not drain within an hour"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        let answered = started.elapsed();
        println!(
            "| {backend} | {documents} | {:.1} s | {:.1} | {:.1} MB | {sent} | {:.1} s | {:.1} |",
            drained.as_secs_f64(),
            documents as f64 / drained.as_secs_f64(),
            memory_mb(pid, "VmHWM"),
            answered.as_secs_f64(),
            (documents as i64 - sent) as f64 / (answered - drained).as_secs_f64(),
        );
    }
}

fn main() {
    // `cargo test --all-targets` runs benches once without `--bench`: this one needs minutes and
    // the mail stack, which the end-to-end tests already exercise, so it measures only when asked.
    if !std::env::args().any(|a| a == "--bench") {
        println!("service bench: run it with `cargo bench --bench service`");
        return;
    }
    let stack = mail_stack();
    let samples = env_number("CLERK_BENCH_SAMPLES", 20);
    let secs = env_number("CLERK_BENCH_IDLE_SECS", 60);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    // CLERK_BENCH_ONLY=latency|idle|backlog runs one part.
    let only = std::env::var("CLERK_BENCH_ONLY").unwrap_or_default();
    let runs = |part: &str| only.is_empty() || only == part;
    if runs("latency") {
        runtime.block_on(latency(&stack, samples));
        println!();
    }
    if runs("idle") {
        idle(&stack, secs);
        println!();
    }
    if runs("backlog") {
        runtime.block_on(backlog(&stack, env_number("CLERK_BENCH_BACKLOG", 5000)));
    }
}
