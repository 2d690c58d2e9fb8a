//! Differential test against PyYAML: random state-shaped values, with
//! strings built from the characters and look-alikes that decide YAML
//! quoting and folding, must be written byte for byte as PyYAML writes them
//! and read back as PyYAML's `safe_load` reads them.
//!
//! All cases go to one Python process (tests/oracle/pyyaml_oracle.py
//! --batch); a process per case would take minutes.

use std::io::Write;
use std::process::{Command, Stdio};

use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::TestRunner;
use serde_json::{Value as Json, json};
use statebox::yaml::{self, Mapping, Value};

// PyYAML's pure-Python dumper and loader take ~12 ms per state here.
const CASES: usize = 500;

/// Fragments that each trip a different rule of PyYAML's emitter.
const PIECES: &[&str] = &[
    "a",
    "word",
    "Release",
    "x",
    "'",
    "\"",
    ":",
    ": ",
    " #",
    "#",
    " ",
    "  ",
    "- ",
    "-",
    "? ",
    "?",
    "[",
    "]",
    "{",
    "}",
    ",",
    "&",
    "*",
    "!",
    "|",
    ">",
    "%",
    "@",
    "`",
    "\\",
    "é",
    "中",
    "😀",
    "\u{a0}",
    "\u{2028}",
    "\u{2029}",
    "\u{85}",
    "\u{feff}",
    "\u{7}",
    "\u{1b}",
    "\0",
    "\t",
    "\r",
    "\n",
    "\n\n",
    " \n",
    "\n ",
    "true",
    "yes",
    "No",
    "null",
    "~",
    "1.0",
    "4.19",
    "4.19.36",
    "0x1F",
    "012",
    "1_000",
    "1:30",
    "1e3",
    ".inf",
    "2026-06-25",
    "2026-06-25T13:00:13Z",
    "<<",
    "=",
    "---",
    "...",
    "\u{fffd}",
    "\u{e000}",
    "\u{10ffff}",
];

/// Whole strings that YAML 1.1 reads as something other than a string.
const LOOKALIKES: &[&str] = &[
    "",
    "true",
    "True",
    "TRUE",
    "yes",
    "Yes",
    "no",
    "No",
    "NO",
    "on",
    "Off",
    "y",
    "n",
    "null",
    "Null",
    "NULL",
    "~",
    "1.0",
    "4.19",
    "4.19.36",
    "0x1F",
    "012",
    "09",
    "0b101",
    "1_000",
    "1:30",
    "1e3",
    "1.5e+3",
    ".inf",
    "-.inf",
    ".NaN",
    "2026-06-25",
    "2026-06-25T13:00:13Z",
    "2026-06-25 13:00:13",
    "2026-Jul-01",
    "<<",
    "=",
    "---",
    "...",
    "-",
    "?",
    ":",
    "- x",
    "? x",
    "#x",
    "x #y",
    "x: y",
    "x:y",
    "1.0.0",
    "+1",
    "-0",
    "0",
    "0o7",
    "!",
    "&a",
    "*a",
];

fn piece_string() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(PIECES), 1..8).prop_map(|p| p.concat())
}

/// Prose long enough to be folded at column 80, sometimes with words
/// longer than a line and runs of spaces.
fn long_text() -> impl Strategy<Value = String> {
    let word = prop_oneof![
        6 => "[a-z]{1,9}",
        1 => "[a-z]{70,95}",
        1 => Just("  ".to_owned()),
        1 => piece_string(),
    ];
    prop::collection::vec(word, 10..40).prop_map(|w| w.join(" "))
}

/// Command-output-like text: lines, some with trailing or leading spaces,
/// sometimes starting with a newline or ending with several.
fn multiline_text() -> impl Strategy<Value = String> {
    let line = prop_oneof![
        4 => "[a-zA-Z0-9 :=/.-]{0,50}",
        1 => "[a-z ]{0,20} ",
        1 => " [a-z]{1,20}",
        1 => piece_string(),
        1 => long_text(),
    ];
    (
        prop::collection::vec(line, 1..6),
        prop::sample::select(&["", "\n", "\n\n", "\n\n\n", " \n"][..]),
        prop::sample::select(&["", "\n", " "][..]),
    )
        .prop_map(|(lines, end, start)| format!("{start}{}{end}", lines.join("\n")))
}

fn nasty_string() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => piece_string(),
        2 => prop::sample::select(LOOKALIKES).prop_map(str::to_owned),
        2 => "[a-zA-Z0-9 ._-]{0,30}",
        2 => long_text(),
        2 => multiline_text(),
        1 => ".{0,20}",
    ]
}

/// Timestamps in the form PyYAML writes a `datetime` back, so the oracle's
/// load -> dump of the same text yields the same text.
fn timestamp() -> impl Strategy<Value = Value> {
    (
        1990u32..2100,
        1u32..13,
        1u32..29,
        0u32..24,
        0u32..60,
        0u32..60,
        prop_oneof![
            Just(String::new()),
            (1u32..1_000_000).prop_map(|us| format!(".{us:06}"))
        ],
        prop::sample::select(&["", "+00:00", "-05:00", "+05:30"][..]),
        any::<bool>(),
    )
        .prop_map(|(y, mo, d, h, mi, s, frac, tz, date_only)| {
            Value::Timestamp(if date_only {
                format!("{y:04}-{mo:02}-{d:02}")
            } else {
                format!("{y:04}-{mo:02}-{d:02} {h:02}:{mi:02}:{s:02}{frac}{tz}")
            })
        })
}

fn float() -> impl Strategy<Value = f64> {
    prop_oneof![
        any::<f64>(),
        prop::sample::select(
            &[
                0.0,
                -0.0,
                1.0,
                4.19,
                1e-5,
                1e16,
                1e15,
                0.0001,
                1.5e300,
                f64::INFINITY,
                f64::NEG_INFINITY,
                f64::NAN,
            ][..]
        ),
        (-1000i32..1000).prop_map(|i| f64::from(i) / 8.0),
    ]
}

fn scalar() -> impl Strategy<Value = Value> {
    prop_oneof![
        4 => nasty_string().prop_map(Value::Str),
        1 => Just(Value::Null),
        1 => any::<bool>().prop_map(Value::Bool),
        1 => any::<i64>().prop_map(Value::Int),
        1 => float().prop_map(Value::Float),
        1 => timestamp(),
    ]
}

fn opt_string() -> impl Strategy<Value = Value> {
    prop_oneof![1 => Just(Value::Null), 3 => nasty_string().prop_map(Value::Str)]
}

fn map<const N: usize>(entries: [(&str, Value); N]) -> Value {
    let mut map = Mapping::new();
    for (k, v) in entries {
        map.insert(k, v);
    }
    Value::Map(map)
}

/// A mapping with arbitrary keys: nasty strings (including ones over the
/// 128-char simple-key limit and multi-line ones) and a few non-strings.
fn extras() -> impl Strategy<Value = Value> {
    let key = prop_oneof![
        8 => nasty_string().prop_map(Value::Str),
        1 => Just(Value::Int(7)),
        1 => Just(Value::Null),
        1 => Just(Value::Float(2.5)),
        1 => timestamp(),
    ];
    let value = prop_oneof![
        4 => scalar(),
        1 => prop::collection::vec(scalar(), 0..3).prop_map(Value::Seq),
        1 => Just(Value::Map(Mapping::new())),
    ];
    prop::collection::vec((key, value), 0..5).prop_map(|entries| {
        let mut map = Mapping::new();
        for (k, v) in entries {
            map.insert(k, v);
        }
        Value::Map(map)
    })
}

fn task() -> impl Strategy<Value = Value> {
    (
        nasty_string(),
        nasty_string(),
        opt_string(),
        opt_string(),
        nasty_string(),
    )
        .prop_map(|(name, status, started, completed, result)| {
            map([
                ("name", Value::Str(name)),
                ("status", Value::Str(status)),
                ("started_at", started),
                ("completed_at", completed),
                ("result", Value::Str(result)),
            ])
        })
}

fn issue() -> impl Strategy<Value = Value> {
    (
        nasty_string(),
        opt_string(),
        any::<bool>(),
        opt_string(),
        any::<bool>(),
        prop::collection::vec(nasty_string().prop_map(Value::Str), 0..4),
    )
        .prop_map(|(text, reported, resolved, resolution, blocker, related)| {
            map([
                ("issue", Value::Str(text)),
                ("reported_at", reported),
                ("resolved", Value::Bool(resolved)),
                ("resolution", resolution),
                ("blocker", Value::Bool(blocker)),
                ("related_tasks", Value::Seq(related)),
            ])
        })
}

fn state() -> impl Strategy<Value = Value> {
    let metadata = (
        nasty_string(),
        prop::collection::vec(("[a-z_]{1,8}", any::<i64>()), 0..3),
        nasty_string(),
        prop::collection::vec(("[a-z0-9_]{1,8}", nasty_string()), 0..3),
        extras(),
    )
        .prop_map(|(jira, advisories, date, builds, nested)| {
            let mut advisory_ids = Mapping::new();
            for (k, v) in advisories {
                advisory_ids.insert(k, Value::Int(v));
            }
            let mut candidate_builds = Mapping::new();
            for (k, v) in builds {
                candidate_builds.insert(k, Value::Str(v));
            }
            map([
                ("jira_ticket", Value::Str(jira)),
                ("advisory_ids", Value::Map(advisory_ids)),
                ("release_date", Value::Str(date)),
                ("candidate_builds", Value::Map(candidate_builds)),
                ("nested", map([("deeper", nested)])),
            ])
        });
    (
        nasty_string(),
        prop_oneof![nasty_string().prop_map(Value::Str), timestamp()],
        opt_string(),
        metadata,
        prop::collection::vec(task(), 0..4),
        prop::collection::vec(issue(), 0..3),
        extras(),
    )
        .prop_map(
            |(release, created, updated, metadata, tasks, issues, extra)| {
                map([
                    ("schema_version", Value::Str("1.0".into())),
                    ("release", Value::Str(release)),
                    ("created_at", created),
                    ("updated_at", updated),
                    ("metadata", metadata),
                    ("tasks", Value::Seq(tasks)),
                    ("issues", Value::Seq(issues)),
                    ("extra", extra),
                ])
            },
        )
}

/// Mostly whole states, plus bare scalars and lists as the document root
/// (which PyYAML ends with `...`).
fn document() -> impl Strategy<Value = Value> {
    prop_oneof![
        8 => state(),
        1 => scalar(),
        1 => prop::collection::vec(scalar(), 0..4).prop_map(Value::Seq),
    ]
}

fn encode(value: &Value) -> Json {
    match value {
        Value::Null => Json::Null,
        Value::Bool(b) => json!(b),
        Value::Int(i) => json!(i),
        Value::Float(f) => json!({ "$float": format!("{f:?}") }),
        Value::Str(s) => json!(s),
        Value::Timestamp(t) => json!({ "$timestamp": t }),
        Value::Seq(items) => Json::Array(items.iter().map(encode).collect()),
        Value::Map(map) => json!({
            "$map": map.iter().map(|(k, v)| json!([encode(k), encode(v)])).collect::<Vec<_>>()
        }),
    }
}

fn decode(json: &Json) -> Value {
    match json {
        Json::Null => Value::Null,
        Json::Bool(b) => Value::Bool(*b),
        Json::Number(n) => Value::Int(n.as_i64().expect("PyYAML ints fit in i64 here")),
        Json::String(s) => Value::Str(s.clone()),
        Json::Array(items) => Value::Seq(items.iter().map(decode).collect()),
        Json::Object(obj) => {
            if let Some(Json::Array(pairs)) = obj.get("$map") {
                let mut map = Mapping::new();
                for pair in pairs {
                    map.push(decode(&pair[0]), decode(&pair[1]));
                }
                Value::Map(map)
            } else if let Some(Json::String(f)) = obj.get("$float") {
                Value::Float(f.parse().expect("Python float repr parses"))
            } else if let Some(Json::String(t)) = obj.get("$timestamp") {
                Value::Timestamp(t.clone())
            } else {
                panic!("oracle sent an unknown object {obj:?}")
            }
        }
    }
}

/// Equality where NaN equals NaN and -0.0 differs from 0.0, as both
/// matter for a byte-exact writer.
fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Float(x), Value::Float(y)) => {
            x.to_bits() == y.to_bits() || (x.is_nan() && y.is_nan())
        }
        (Value::Seq(x), Value::Seq(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| same(a, b))
        }
        (Value::Map(x), Value::Map(y)) => {
            x.len() == y.len()
                && x.iter()
                    .zip(y.iter())
                    .all(|((ka, va), (kb, vb))| same(ka, kb) && same(va, vb))
        }
        _ => a == b,
    }
}

/// The two texts around their first difference, for readable failures.
fn difference(want: &str, got: &str) -> String {
    let at = want
        .char_indices()
        .zip(got.chars())
        .find(|((_, a), b)| a != b)
        .map_or(want.len().min(got.len()), |((i, _), _)| i);
    let around = |s: &str| {
        let start = s.floor_char_boundary(at.saturating_sub(120));
        let end = s.ceil_char_boundary((at + 80).min(s.len()));
        format!("{:?}", &s[start..end])
    };
    format!(
        "at byte {at}:\n  pyyaml: {}\n  ours:   {}",
        around(want),
        around(got)
    )
}

fn run_oracle(values: &[Value]) -> Vec<(String, Value)> {
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/it/oracle/pyyaml_oracle.py"
    );
    let mut child = Command::new("python3")
        .args([script, "--batch"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| {
            panic!("cannot run python3 ({e}): this test needs Python 3 with `pip install pyyaml`")
        });
    let input = Json::Array(values.iter().map(encode).collect()).to_string();
    let mut stdin = child.stdin.take().expect("stdin is piped");
    // Write from a thread: the oracle starts answering before it has read
    // everything only if the pipe buffers allow, so don't rely on it.
    let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()));
    let output = child.wait_with_output().expect("oracle runs");
    writer.join().unwrap().expect("oracle reads its input");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "PyYAML oracle failed ({}); it needs `pip install pyyaml`:\n{stderr}",
        output.status
    );
    let results: Vec<Json> = serde_json::from_slice(&output.stdout).expect("oracle prints JSON");
    results
        .iter()
        .map(|r| {
            let yaml = r["yaml"].as_str().expect("yaml is a string").to_owned();
            (yaml, decode(&r["load"]))
        })
        .collect()
}

#[test]
fn writer_and_reader_match_pyyaml() {
    let mut runner = TestRunner::default();
    let strategy = document();
    let values: Vec<Value> = (0..CASES)
        .map(|_| {
            strategy
                .new_tree(&mut runner)
                .expect("strategy generates")
                .current()
        })
        .collect();
    let expected = run_oracle(&values);
    assert_eq!(expected.len(), values.len());

    let mut failures = Vec::new();
    let mut pyyaml_lossy = 0;
    for (value, (pyyaml_text, pyyaml_load)) in values.iter().zip(&expected) {
        let ours = yaml::to_string(value);
        if ours != *pyyaml_text {
            failures.push(format!(
                "writer differs for {value:?}\n{}",
                difference(pyyaml_text, &ours)
            ));
            continue;
        }
        match yaml::parse(&ours) {
            Ok(read) if same(&read, pyyaml_load) => {}
            Ok(read) => failures.push(format!(
                "reader differs on {ours:?}\n{}",
                difference(&format!("{pyyaml_load:?}"), &format!("{read:?}"))
            )),
            Err(e) => {
                let near: Vec<&str> = ours
                    .lines()
                    .skip(e.line.saturating_sub(3))
                    .take(3)
                    .collect();
                failures.push(format!("reader fails ({e}) near {near:?} in {ours:?}"));
            }
        }
        if !same(pyyaml_load, value) {
            // PyYAML writes NEL raw in single quotes and reads it back as a
            // line break folded into a space; nothing else should change.
            if !format!("{value:?}").contains("\\u{85}") {
                failures.push(format!(
                    "PyYAML does not round-trip {value:?}\n{}",
                    difference(&format!("{value:?}"), &format!("{pyyaml_load:?}"))
                ));
            }
            pyyaml_lossy += 1;
        }
    }
    // Writer differences first: they are the ones that would churn files.
    failures.sort_by_key(|f| !f.starts_with("writer"));
    let writer_failures = failures.iter().filter(|f| f.starts_with("writer")).count();
    println!(
        "{CASES} cases, {writer_failures} writer and {} reader failures; \
         PyYAML itself changed {pyyaml_lossy} (NEL folding)",
        failures.len() - writer_failures
    );
    assert!(
        failures.is_empty(),
        "{} of {CASES} cases differ from PyYAML; first ones:\n{}",
        failures.len(),
        failures[..failures.len().min(5)].join("\n\n")
    );
}
