//! What the user typed is what the Python side reads back: `meta set
//! KEY=TEXT` stores TEXT as a string whatever it looks like, `KEY:=JSON`
//! stores the JSON value, and advisory ids are integers. Checked against
//! PyYAML, which is how the original and its tools load state files.

use crate::support::{fails, git, new_repo, ok};
use serde_json::{Value as Json, json};
use std::path::Path;
use std::process::Command;

const REL: &str = "4.19.1";
const PATH: &str = "_releases/4.19/statebox/4.19.1.yaml";

/// The state file's metadata as PyYAML's `safe_load` gives it, as JSON
/// with every non-JSON value (a `date`, a `datetime`) spelled
/// `{"python": "<type name>"}`, so a date never passes for its text.
fn metadata_as_pyyaml_loads(repo: &Path) -> Json {
    let file = repo.join("loaded.yaml");
    std::fs::write(&file, git(repo, &["show", &format!("record:{PATH}")])).unwrap();
    let script = "import sys, json, yaml\n\
        doc = yaml.safe_load(open(sys.argv[1], encoding='utf-8'))\n\
        print(json.dumps(doc['metadata'], default=lambda v: {'python': type(v).__name__}))";
    let out = Command::new("python3")
        .args(["-c", script])
        .arg(&file)
        .output()
        .expect("python3 runs: this test needs Python 3 with `pip install pyyaml`");
    assert!(
        out.status.success(),
        "PyYAML: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Texts that YAML 1.1 would read as something else, or that need quoting.
const TEXTS: [&str; 24] = [
    "2025-02-01",
    "2026-06-25T13:00:13Z",
    "4.20",
    "0123",
    "12:30",
    "no",
    "yes",
    "On",
    "~",
    "null",
    "",
    "1e3",
    "0x1F",
    "1_000",
    ".inf",
    "<<",
    "=",
    " leading space",
    "a: b",
    "#not a comment",
    "*alias",
    "!tag",
    "two\nlines",
    "[1, 2]",
];

#[test]
fn a_typed_text_is_the_string_pyyaml_loads() {
    let repo = new_repo();
    let r = repo.path();
    ok(r, &["init", "-r", REL]);
    let pairs: Vec<String> = TEXTS
        .iter()
        .enumerate()
        .map(|(i, text)| format!("k{i}={text}"))
        .collect();
    let mut args = vec!["meta", "set", "-r", REL];
    args.extend(pairs.iter().map(String::as_str));
    ok(r, &args);
    let loaded = metadata_as_pyyaml_loads(r);
    for (i, text) in TEXTS.iter().enumerate() {
        assert_eq!(loaded[format!("k{i}")], json!(text), "typed {text:?}");
    }
}

#[test]
fn typed_values_take_json_and_advisory_ids_are_integers() {
    let repo = new_repo();
    let r = repo.path();
    ok(r, &["init", "-r", REL]);
    ok(
        r,
        &[
            "meta",
            "set",
            "-r",
            REL,
            "count:=3",
            "ratio:=4.20",
            "flag:=false",
            "nothing:=null",
            "list:=[1, \"a\", true]",
            r#"nested:={"a": {"b": "2025-02-01"}}"#,
            "quoted:=\"no\"",
            "advisory_ids.rpm=169043",
            r#"advisory_ids:={"rhcos": 169044}"#,
            "candidate_builds.x86_64=4.19.0-0.nightly",
            "jira_ticket=0123",
        ],
    );
    let loaded = metadata_as_pyyaml_loads(r);
    let want = json!({
        "count": 3, "ratio": 4.2, "flag": false, "nothing": null,
        "list": [1, "a", true], "nested": {"a": {"b": "2025-02-01"}}, "quoted": "no",
    });
    for (key, value) in want.as_object().unwrap() {
        assert_eq!(&loaded[key], value, "{key}");
    }
    assert_eq!(
        loaded["advisory_ids"],
        json!({"rpm": 169043, "rhcos": 169044})
    );
    assert_eq!(loaded["candidate_builds"]["x86_64"], "4.19.0-0.nightly");
    assert_eq!(loaded["jira_ticket"], "0123");
}

#[test]
fn values_against_the_schema_of_known_keys_are_refused() {
    let repo = new_repo();
    let r = repo.path();
    ok(r, &["init", "-r", REL]);
    let before = git(r, &["rev-parse", "record"]);
    for (pair, says) in [
        (
            "advisory_ids.rpm=RHBA-1",
            "advisory_ids.rpm is an advisory id, an integer, not 'RHBA-1'",
        ),
        (
            "advisory_ids.rpm:=1.5",
            "advisory_ids.rpm is an advisory id",
        ),
        ("advisory_ids=169043", "advisory_ids is a map"),
        (
            "jira_ticket:=true",
            "jira_ticket is text, not the boolean true",
        ),
        (
            "candidate_builds.x86_64:=[1]",
            "candidate_builds.x86_64 is text, not a list",
        ),
        ("x:={unclosed", "value of x (after :=) is not JSON"),
        ("x:=9223372036854775808", "beyond a 64-bit integer"),
    ] {
        let err = fails(r, &["meta", "set", "-r", REL, pair], 4);
        assert!(err.contains(says), "{pair}: {err}");
    }
    // serde_json's nesting bound keeps a hostile value off the stack.
    let deep = format!("x:={}1{}", "[".repeat(50_000), "]".repeat(50_000));
    let err = fails(r, &["meta", "set", "-r", REL, &deep], 4);
    assert!(err.contains("value of x"), "{err}");
    assert_eq!(git(r, &["rev-parse", "record"]), before);
}
