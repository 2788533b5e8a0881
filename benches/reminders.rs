//! One reminder pass over many stored actions, of which few are due.
//!
//! `cargo bench --bench reminders` builds a SQLite database with `CLERK_BENCH_ACTIONS` actions
//! (default 1,000,000) of which `CLERK_BENCH_DUE` (default 10,000) are due for a reminder at the
//! moment of the pass, runs `reminders::run_due` once (for real: the reminders are rendered and
//! queued in the outbox), and prints the time, the reminders queued and the peak memory. The
//! baseline, measured in the same run, is a database holding only the due actions: the ratio
//! is what the actions that are not due cost. With `CLERK_TEST_PG_URL` set (as the test stack
//! sets it) the same is measured on PostgreSQL, in a database made for the run.
//!
//! The data: 100 series, each with one held meeting whose minutes record its actions; 20,000
//! people with addresses; action i belongs to series i mod 100 and person i mod 20,000. The
//! first `DUE` actions are open and due tomorrow; of the rest, as in a database that has kept
//! years of minutes, nine in ten are done and one in ten is still open (due in half a year, or
//! without a date). A reminder lists all of its owner's open actions, so those of the reminded
//! owners are read too. The pass runs at 08:00:30 local time on a Monday, just after the
//! default schedule fires.

use std::time::{Duration, Instant};

use chrono::{TimeZone, Utc};
use clerk::config::Config;
use clerk::scheduler::Context;
use clerk::store::Store;

#[path = "support/counting.rs"]
mod counting;

const SERIES: i64 = 100;
const PEOPLE: i64 = 20_000;

fn env_number(name: &str, default: i64) -> i64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.replace('_', "").parse().ok())
        .unwrap_or(default)
}

/// Rows from 1 to `n` for `INSERT … SELECT`, in SQL both backends speak.
fn numbers(n: i64) -> String {
    format!("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {n})")
}

async fn fill(store: &Store, actions: i64, due: i64) {
    let stamp = "'2026-02-01T10:00:00Z'";
    let statements = [
        format!(
            "{} INSERT INTO series (series_key, title, mailbox, created_at) \
             SELECT 'serie ' || i || '|main', 'Serie ' || i, 'main', {stamp} FROM n",
            numbers(SERIES)
        ),
        format!(
            "{} INSERT INTO meetings (series_id, meeting_date, start_time, status, ical_uid, \
             created_at, updated_at) SELECT i, '2026-02-01', '10:00', 'held', \
             'bench-' || i || '@clerk', {stamp}, {stamp} FROM n",
            numbers(SERIES)
        ),
        format!(
            "{} INSERT INTO people (name, normalized_name, created_at) \
             SELECT 'Person ' || i, 'person ' || i, {stamp} FROM n",
            numbers(PEOPLE)
        ),
        format!(
            "{} INSERT INTO addresses (person_id, address, source, created_at, updated_at) \
             SELECT i, 'person' || i || '@example.org', 'directory', {stamp}, {stamp} FROM n",
            numbers(PEOPLE)
        ),
        format!(
            "{} INSERT INTO actions (series_id, meeting_id, owner_text, owner_person_id, \
             owner_key, text, due, state, created_at, updated_at) \
             SELECT i % {SERIES} + 1, i % {SERIES} + 1, 'Person ' || (i % {PEOPLE} + 1), \
             i % {PEOPLE} + 1, i % {PEOPLE} + 1, 'Åtgärd nummer ' || i, \
             CASE WHEN i <= {due} THEN '2026-03-03' WHEN i % 20 = 1 THEN '2026-09-01' END, \
             CASE WHEN i <= {due} OR i % 10 = 1 THEN 'open' ELSE 'done' END, {stamp}, {stamp} \
             FROM n",
            numbers(actions)
        ),
    ];
    let mut tx = store.begin_write().await.unwrap();
    for sql in statements {
        sqlx::query(&sql).execute(&mut *tx).await.unwrap();
    }
    tx.commit().await.unwrap();
}

fn config(url: &str) -> Config {
    Config::parse(
        &format!(
            "[store]\nurl = \"{url}\"\n[[mailbox]]\nname = \"main\"\n\
             address = \"clerk@example.org\"\n[mailbox.imap]\nhost = \"127.0.0.1\"\n\
             security = \"plain\"\nusername = \"clerk\"\npassword_env = \"UNUSED\"\n\
             [mailbox.smtp]\nhost = \"127.0.0.1\"\nsecurity = \"plain\"\n"
        ),
        "bench.toml",
    )
    .unwrap()
}

struct Pass {
    queued: usize,
    took: Duration,
    peak: usize,
}

async fn pass(url: &str, actions: i64, due: i64) -> Pass {
    let store = Store::open(url).await.unwrap();
    store.migrate().await.unwrap();
    fill(&store, actions, due).await;
    let config = config(url);
    // Monday 2 March 2026, 08:00:30 in Stockholm: just after the default schedule fired.
    let now = Utc.with_ymd_and_hms(2026, 3, 2, 7, 0, 30).unwrap();
    let before = counting::start();
    let started = Instant::now();
    let done = clerk::reminders::run_due(&Context {
        config: &config,
        store: &store,
        now,
        dry_run: false,
    })
    .await
    .unwrap();
    let took = started.elapsed();
    let peak = counting::peak_since(before);
    store.close().await;
    Pass {
        queued: done.len(),
        took,
        peak,
    }
}

async fn postgres_database(admin_url: &str, name: &str) -> String {
    use sqlx::Connection;
    let mut conn = sqlx::postgres::PgConnection::connect(admin_url)
        .await
        .unwrap();
    sqlx::query(&format!("DROP DATABASE IF EXISTS {name}"))
        .execute(&mut conn)
        .await
        .unwrap();
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&mut conn)
        .await
        .unwrap();
    let base = admin_url.rsplit_once('/').map_or(admin_url, |(b, _)| b);
    format!("{base}/{name}")
}

fn main() {
    // A smoke run under `cargo test` uses a small database.
    let (actions, due) = if counting::measuring() {
        (1_000_000, 10_000)
    } else {
        (2_000, 100)
    };
    let actions = env_number("CLERK_BENCH_ACTIONS", actions);
    let due = env_number("CLERK_BENCH_DUE", due).min(actions);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut backends = vec![("SQLite", None)];
    if let Ok(url) = std::env::var("CLERK_TEST_PG_URL") {
        backends.push(("PostgreSQL", Some(url)));
    }
    println!(
        "| store | actions stored | due | reminders queued | pass | peak memory | \
         pass / baseline pass |"
    );
    println!("| --- | --- | --- | --- | --- | --- | --- |");
    for (name, pg) in backends {
        let url = |label: &str| match &pg {
            None => format!(
                "sqlite:{}",
                dir.path().join(format!("{label}.db")).display()
            ),
            Some(admin) => runtime.block_on(postgres_database(admin, &format!("bench_{label}"))),
        };
        let baseline = runtime.block_on(pass(&url("baseline"), due, due));
        let full = runtime.block_on(pass(&url("full"), actions, due));
        for (stored, p) in [(due, &baseline), (actions, &full)] {
            println!(
                "| {name} | {stored} | {due} | {} | {:.2} s | {:.1} MB | {:.1} |",
                p.queued,
                p.took.as_secs_f64(),
                p.peak as f64 / 1e6,
                p.took.as_secs_f64() / baseline.took.as_secs_f64()
            );
        }
    }
}
