//! Every corpus document as .docx, .odt, .pdf and .html (tests/fixtures/formats, made once with
//! LibreOffice and pandoc) must be understood as its text original is, and each fixture's
//! output is pinned by a snapshot (tests/snapshots; `UPDATE_SNAPSHOTS=1` rewrites them).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use clerk::document::{Limits, read_file};
use clerk::extract::{Context, extract};
use serde_json::Value;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/formats")
}

/// What Clerk understood of a fixture file, as `clerk ingest --json` prints it.
fn understood(path: &Path) -> Value {
    let bytes = std::fs::read(path).unwrap();
    let name = path.file_name().unwrap().to_string_lossy();
    let documents = read_file(&name, &bytes, &Limits::default())
        .unwrap_or_else(|refused| panic!("{name} refused: {}", refused.reason));
    assert_eq!(documents.len(), 1, "{name} is one document");
    let ctx = Context {
        fallback_date: None,
    };
    serde_json::to_value(extract(&documents[0].text, &ctx)).unwrap()
}

fn norm(v: &Value) -> String {
    let s = match v {
        Value::String(s) => s.clone(),
        Value::Object(o) => o
            .get("name")
            .or_else(|| o.get("title"))
            .or_else(|| o.get("text"))
            .map(norm)
            .unwrap_or_default(),
        Value::Null => String::new(),
        other => other.to_string(),
    };
    s.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

/// F1 of two lists compared by normalised text (1.0 when both are empty).
fn list_f1(a: &Value, b: &Value, key: impl Fn(&Value) -> String) -> f64 {
    let set = |v: &Value| -> BTreeSet<String> {
        v.as_array()
            .map(|items| items.iter().map(&key).collect())
            .unwrap_or_default()
    };
    let (a, b) = (set(a), set(b));
    if a.is_empty() && b.is_empty() {
        return 1.0;
    }
    let common = a.intersection(&b).count() as f64;
    if common == 0.0 {
        return 0.0;
    }
    let (p, r) = (common / b.len() as f64, common / a.len() as f64);
    2.0 * p * r / (p + r)
}

/// How far `other` agrees with `text`, field by field as the extraction scorer weighs them.
fn agreement(text: &Value, other: &Value) -> (f64, Vec<String>) {
    let mut scores = Vec::new();
    let mut differing = Vec::new();
    for field in [
        "title",
        "date",
        "start",
        "end",
        "place",
        "secretary",
        "approval_due",
    ] {
        let same = norm(&text[field]) == norm(&other[field]);
        scores.push(if same { 1.0 } else { 0.0 });
        if !same {
            differing.push(format!("{field}: {} vs {}", text[field], other[field]));
        }
    }
    for field in ["attendees", "absent", "approvers", "agenda_items"] {
        let f1 = list_f1(&text[field], &other[field], norm);
        scores.push(f1);
        if f1 < 1.0 {
            differing.push(format!("{field}: F1 {f1:.2}"));
        }
    }
    let action = |v: &Value| {
        format!(
            "{}|{}|{}",
            norm(&v["owner"]),
            norm(&v["text"]),
            norm(&v["due"])
        )
    };
    let meeting = |v: &Value| {
        format!(
            "{}|{}|{}",
            norm(&v["date"]),
            norm(&v["start"]),
            norm(&v["place"])
        )
    };
    for (field, f1) in [
        (
            "actions",
            list_f1(&text["actions"], &other["actions"], action),
        ),
        (
            "next_meetings",
            list_f1(&text["next_meetings"], &other["next_meetings"], meeting),
        ),
    ] {
        scores.push(f1);
        if f1 < 1.0 {
            differing.push(format!("{field}: F1 {f1:.2}"));
        }
    }
    (scores.iter().sum::<f64>() / scores.len() as f64, differing)
}

fn originals() -> Vec<PathBuf> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(fixtures())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| matches!(p.extension().and_then(|e| e.to_str()), Some("txt" | "md")))
        .filter(|p| p.file_name().is_some_and(|n| n != "README.md"))
        .collect();
    paths.sort();
    assert!(
        paths.len() >= 5,
        "the corpus originals are in tests/fixtures/formats"
    );
    paths
}

#[test]
fn every_format_reads_as_its_text_original() {
    let mut failures = Vec::new();
    for original in originals() {
        let expected = understood(&original);
        for ext in ["docx", "odt", "html", "pdf"] {
            let converted = original.with_extension(ext);
            let (score, differing) = agreement(&expected, &understood(&converted));
            if score < 0.97 {
                failures.push(format!(
                    "{}: agreement {score:.3} < 0.97; {differing:?}",
                    converted.display()
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn snapshots_of_every_fixture() {
    let snapshots = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/snapshots");
    let update = std::env::var_os("UPDATE_SNAPSHOTS").is_some();
    let mut paths: Vec<PathBuf> = std::fs::read_dir(fixtures())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            let ext = p.extension().and_then(|e| e.to_str()).unwrap_or("");
            ["txt", "md", "docx", "odt", "pdf", "html"].contains(&ext)
                && p.file_name().is_some_and(|n| n != "README.md")
        })
        .collect();
    paths.sort();
    let mut stale = Vec::new();
    for path in paths {
        let actual = serde_json::to_string_pretty(&understood(&path)).unwrap() + "\n";
        let snapshot = snapshots.join(format!(
            "{}.json",
            path.file_name().unwrap().to_string_lossy()
        ));
        if update {
            std::fs::create_dir_all(&snapshots).unwrap();
            std::fs::write(&snapshot, &actual).unwrap();
        } else if std::fs::read_to_string(&snapshot).ok().as_deref() != Some(actual.as_str()) {
            stale.push(snapshot.display().to_string());
        }
    }
    assert!(
        stale.is_empty(),
        "output differs from the snapshots (review, then UPDATE_SNAPSHOTS=1): {stale:?}"
    );
}
