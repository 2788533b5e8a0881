//! The fuzz targets' entry points (`clerk::fuzzing`, also run by cargo-fuzz from `fuzz/`) on a
//! few thousand seeded random inputs, as a bounded stand-in for a fuzzer in every test run:
//! random bytes, and mutations of every hostile fixture (bytes flipped, cut, duplicated,
//! spliced). Any panic fails the test and names the seed and case that caused it; such an
//! input belongs in tests/fixtures/fuzz as a regression file, which this test also replays.
//! `CLERK_FUZZ_CASES` and `CLERK_FUZZ_SEED` run more or other cases (docs/reliability.md).

use std::path::{Path, PathBuf};

use clerk::fuzzing::{document_extraction, mime_intake};

/// xorshift64*: small, seeded, the same on every machine.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }

    fn bytes(&mut self, len: usize) -> Vec<u8> {
        (0..len).map(|_| self.next() as u8).collect()
    }
}

fn files_in(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|d| d.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    files.retain(|p| p.is_file() && p.extension().is_none_or(|e| e != "md" && e != "py"));
    files.sort();
    files
}

fn fixtures() -> Vec<Vec<u8>> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/hostile");
    // The large ones (ZIP bombs) are read whole by their own tests; mutating them here costs
    // seconds per case.
    let seeds: Vec<Vec<u8>> = files_in(&dir)
        .iter()
        .map(|p| std::fs::read(p).unwrap())
        .filter(|b| b.len() <= 20_000)
        .collect();
    assert!(seeds.len() >= 10, "the hostile fixtures are missing");
    seeds
}

/// One input: random bytes, or a fixture with a few random edits.
fn input(rng: &mut Rng, seeds: &[Vec<u8>]) -> Vec<u8> {
    if rng.below(4) == 0 {
        let len = rng.below(2000);
        return rng.bytes(len);
    }
    let mut data = seeds[rng.below(seeds.len())].clone();
    for _ in 0..=rng.below(8) {
        if data.is_empty() {
            data = rng.bytes(16);
        }
        let at = rng.below(data.len());
        match rng.below(5) {
            0 => data[at] = rng.next() as u8,
            1 => data.truncate(at),
            2 => {
                let end = (at + rng.below(200)).min(data.len());
                let copy = data[at..end].to_vec();
                let to = rng.below(data.len());
                data.splice(to..to, copy);
            }
            3 => {
                let end = (at + rng.below(200)).min(data.len());
                data.drain(at..end);
            }
            _ => {
                let other = &seeds[rng.below(seeds.len())];
                let from = rng.below(other.len());
                let end = (from + rng.below(400)).min(other.len());
                data.splice(at..at, other[from..end].iter().copied());
            }
        }
    }
    data
}

fn run_case(label: &str, data: &[u8]) {
    let result = std::panic::catch_unwind(|| {
        mime_intake(data);
        document_extraction(data);
    });
    if result.is_err() {
        let path = std::env::temp_dir().join(format!("clerk-fuzz-crash-{label}"));
        let _ = std::fs::write(&path, data);
        panic!(
            "{label}: panicked; the input is in {} (add it to tests/fixtures/fuzz)",
            path.display()
        );
    }
}

#[test]
fn seeded_random_inputs_reach_the_fuzz_entry_points_without_a_panic() {
    let cases: usize = std::env::var("CLERK_FUZZ_CASES")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(3000);
    let seed: u64 = std::env::var("CLERK_FUZZ_SEED")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(0x00c1_e4c0_ffee);
    let seeds = fixtures();
    let mut rng = Rng(seed | 1);
    for case in 0..cases {
        let data = input(&mut rng, &seeds);
        run_case(&format!("seed-{seed}-case-{case}"), &data);
    }
}

#[test]
fn fuzz_regressions_and_fixtures_pass_the_entry_points() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let mut files = files_in(&dir.join("fuzz"));
    files.extend(files_in(&dir.join("hostile")));
    assert!(files.len() >= 10, "no fixtures found");
    for path in files {
        let data = std::fs::read(&path).unwrap();
        if data.len() > 20_000 {
            continue;
        }
        run_case(&path.display().to_string().replace('/', "_"), &data);
    }
}
