//! Throughput and peak memory of reading and understanding documents, per input format.
//!
//! `cargo bench --bench extraction` prints a Markdown table (the one in docs/benchmarks.md).
//! `CLERK_BENCH_MS` sets the time per format (default 2000 ms), `CLERK_BENCH_ONLY=txt,html`
//! limits the run to the groups holding those extensions and `CLERK_BENCH_ROUNDS=n` reads every
//! file exactly n times (both for profiling, e.g. under valgrind).
//! Peak memory is measured by a counting allocator: the most bytes live at once while one
//! document is read and understood, so it is exact and independent of other processes.

use std::path::Path;
use std::time::{Duration, Instant};

use clerk::document::{Limits, read_file};
use clerk::extract::{Context, extract};

#[path = "support/counting.rs"]
mod counting;

/// Reads and understands one file; returns how many documents it held.
fn understand(name: &str, bytes: &[u8], limits: &Limits) -> usize {
    let documents = read_file(name, bytes, limits).expect("fixture is readable");
    for doc in &documents {
        std::hint::black_box(extract(&doc.text, &Context::default()));
    }
    documents.len()
}

fn main() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/formats");
    let limits = Limits::default();
    let budget = Duration::from_millis(
        std::env::var("CLERK_BENCH_MS")
            .ok()
            .and_then(|v| v.parse().ok())
            // A smoke run under `cargo test` only checks that every format still reads.
            .unwrap_or(if counting::measuring() { 2000 } else { 20 }),
    );
    // CLERK_BENCH_ONLY=txt,html measures only the groups holding one of those extensions.
    let only: Option<Vec<String>> = std::env::var("CLERK_BENCH_ONLY")
        .ok()
        .map(|v| v.split(',').map(|e| e.trim().to_string()).collect());
    // CLERK_BENCH_ROUNDS=n reads every file exactly n times instead (for instruction counts).
    let rounds: Option<usize> = std::env::var("CLERK_BENCH_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok());
    println!("| input | files | documents/s (one core) | MB/s | peak memory per document |");
    println!("| --- | --- | --- | --- | --- |");
    for group in [&["txt", "md"][..], &["html"], &["docx"], &["odt"], &["pdf"]] {
        if only
            .as_ref()
            .is_some_and(|only| !group.iter().any(|e| only.iter().any(|o| o == e)))
        {
            continue;
        }
        let mut files: Vec<(String, Vec<u8>)> = std::fs::read_dir(&dir)
            .expect("tests/fixtures/formats")
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| {
                p.extension()
                    .and_then(|e| e.to_str())
                    .is_some_and(|e| group.contains(&e))
            })
            .map(|p| {
                let name = p.file_name().unwrap().to_string_lossy().into_owned();
                (name, std::fs::read(&p).unwrap())
            })
            .collect();
        files.sort();
        if files.is_empty() {
            continue;
        }
        let mut peak = 0;
        for (name, bytes) in &files {
            let before = counting::start();
            understand(name, bytes, &limits);
            peak = peak.max(counting::peak_since(before));
        }
        let started = Instant::now();
        let (mut docs, mut bytes_read) = (0usize, 0usize);
        let mut round = 0;
        while match rounds {
            Some(n) => round < n,
            None => started.elapsed() < budget,
        } {
            round += 1;
            for (name, bytes) in &files {
                docs += understand(name, bytes, &limits);
                bytes_read += bytes.len();
            }
        }
        let secs = started.elapsed().as_secs_f64();
        println!(
            "| {} | {} | {:.0} | {:.1} | {:.1} MB |",
            group.join(", "),
            files.len(),
            docs as f64 / secs,
            bytes_read as f64 / secs / 1e6,
            peak as f64 / 1e6
        );
    }
}
