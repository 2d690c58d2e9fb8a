//! detect-secrets baselines, checked against the real detect-secrets 1.5.0:
//! byte-exact writing, merge-time merging, regeneration and relocation.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use statebox::merge::baseline::{Baseline, BaselineConflict, FindingKey, merge_at_merge_time};
use statebox::worktree::regen::{self, Method, RegenError};

const INSTALL: &str = "detect-secrets 1.5.0 is required for these differential tests: \
                       pip install detect-secrets==1.5.0";

fn detect_secrets() -> PathBuf {
    let program = regen::find_detect_secrets().unwrap_or_else(|| panic!("{INSTALL}"));
    let out = Command::new(&program)
        .arg("--version")
        .output()
        .expect(INSTALL);
    let version = String::from_utf8_lossy(&out.stdout);
    assert_eq!(version.trim(), "1.5.0", "{INSTALL} (found {version})");
    program
}

const GITHUB: &str = "ghp_aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789";
const AWS_ID: &str = "AKIAIOSFODNN7EXAMPLQ";
const AWS_SECRET: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
const B64: &str = "eUK98iEG8IR3YvDzy012TccHIFEVmg+J8sbayuNE";
const HEX: &str = "b314f68d9dcbd7a085a368932ff2b2d409dd311c";
const SLACK: &str = "xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx";
const JWT: &str = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U";

/// A git work tree in a temp dir; detect-secrets only scans tracked files.
struct Tree {
    dir: tempfile::TempDir,
}

impl Tree {
    fn new(files: &[(&str, String)]) -> Tree {
        let tree = Tree {
            dir: tempfile::tempdir().unwrap(),
        };
        tree.git(&["init", "-q", "."]);
        for (name, content) in files {
            tree.write(name, content);
        }
        tree
    }

    fn root(&self) -> &Path {
        self.dir.path()
    }

    fn git(&self, args: &[&str]) {
        let status = Command::new("git")
            .args(args)
            .current_dir(self.root())
            .status()
            .unwrap();
        assert!(status.success(), "git {args:?}");
    }

    /// Writes and stages a file.
    fn write(&self, name: &str, content: &str) {
        let path = self.root().join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, content).unwrap();
        self.git(&["add", name]);
    }

    fn read(&self, name: &str) -> String {
        std::fs::read_to_string(self.root().join(name)).unwrap()
    }

    fn detect_secrets(&self, args: &[&str]) -> String {
        let out = Command::new(detect_secrets())
            .args(args)
            .current_dir(self.root())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "detect-secrets {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    /// `detect-secrets scan` output, as a user would commit it.
    fn scan(&self) -> String {
        self.detect_secrets(&["scan"])
    }

    /// What `detect-secrets scan --baseline .secrets.baseline` leaves in the tree.
    fn scan_baseline(&self, baseline: &Baseline) -> String {
        std::fs::write(self.root().join(".secrets.baseline"), baseline.to_string()).unwrap();
        self.detect_secrets(&["scan", "--baseline", ".secrets.baseline"]);
        self.read(".secrets.baseline")
    }
}

fn sample_files() -> Vec<(&'static str, String)> {
    vec![
        (
            "config/app.yaml",
            format!(
                "# service settings\nname: demo\ngithub_token: {GITHUB}\naws_access_key_id: {AWS_ID}\nblob: \"{B64}\"\nport: 8080\n"
            ),
        ),
        (
            "src/app.py",
            format!(
                "import os\n\nSLACK = \"{SLACK}\"\nCHECKSUM = \"{HEX}\"\nJWT = \"{JWT}\"\naws_secret_key = \"{AWS_SECRET}\"\n"
            ),
        ),
        (
            "keys/deploy.pem",
            "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA\n-----END RSA PRIVATE KEY-----\n"
                .to_owned(),
        ),
        ("README.md", format!("Token for CI: `{GITHUB}`\n")),
    ]
}

fn without_time(mut baseline: Baseline) -> Baseline {
    baseline.generated_at = None;
    baseline
}

fn key(filename: &str, secret_type: &str, hashed_secret: &str) -> FindingKey {
    FindingKey {
        filename: filename.into(),
        secret_type: secret_type.into(),
        hashed_secret: hashed_secret.into(),
    }
}

fn flags_of(baseline: &Baseline) -> BTreeMap<FindingKey, (Option<bool>, bool)> {
    baseline
        .findings()
        .map(|(k, f)| (k, (f.is_secret, f.is_verified)))
        .collect()
}

fn set_flag(baseline: &mut Baseline, filename: &str, secret_type: &str, is_secret: Option<bool>) {
    let finding = baseline
        .results
        .get_mut(filename)
        .and_then(|l| l.iter_mut().find(|f| f.secret_type == secret_type))
        .unwrap_or_else(|| panic!("no {secret_type} finding in {filename}"));
    finding.is_secret = is_secret;
}

// ---------------------------------------------------------------- writer

#[test]
fn writer_reproduces_detect_secrets_output_byte_for_byte() {
    let tree = Tree::new(&sample_files());
    let plain = tree.scan();
    assert!(
        plain.contains("GitHub Token"),
        "scan found nothing:\n{plain}"
    );
    assert_eq!(Baseline::parse(&plain).unwrap().to_string(), plain);

    let slim = tree.detect_secrets(&["scan", "--slim"]);
    assert!(!slim.contains("line_number"));
    assert_eq!(Baseline::parse(&slim).unwrap().to_string(), slim);

    let excluded = tree.detect_secrets(&[
        "scan",
        "--exclude-files",
        "^keys/",
        "--exclude-lines",
        "CHECKSUM",
    ]);
    assert_eq!(Baseline::parse(&excluded).unwrap().to_string(), excluded);

    // After an audit and a `scan --baseline`: flags, the baseline-file filter.
    let mut audited = Baseline::parse(&plain).unwrap();
    set_flag(&mut audited, "src/app.py", "Slack Token", Some(true));
    set_flag(&mut audited, "README.md", "GitHub Token", Some(false));
    let rescanned = tree.scan_baseline(&audited);
    assert!(rescanned.contains("\"is_secret\": true") && rescanned.contains("is_baseline_file"));
    assert_eq!(Baseline::parse(&rescanned).unwrap().to_string(), rescanned);
}

#[test]
fn writer_sorts_and_escapes_like_python_json() {
    let text = r#"{
  "version": "1.5.0",
  "plugins_used": [{"name": "KeywordDetector", "keyword_exclude": ""}, {"name": "AWSKeyDetector"}, {"name": "HexHighEntropyString", "limit": 3.0}],
  "filters_used": [],
  "results": {
    "b.txt": [
      {"type": "T", "filename": "b.txt", "hashed_secret": "bb", "is_verified": false, "line_number": 10},
      {"type": "T", "filename": "b.txt", "hashed_secret": "aa", "is_verified": false, "line_number": 9, "is_secret": null}
    ],
    "a\u00f6\ud83d\ude00.txt": [],
    "B.txt": [{"type": "T", "filename": "B.txt", "hashed_secret": "cc", "is_verified": true, "line_number": 1, "is_secret": false}]
  }
}"#;
    let expected = "{\n  \"version\": \"1.5.0\",\n  \"plugins_used\": [\n    {\n      \"name\": \"AWSKeyDetector\"\n    },\n    {\n      \"name\": \"HexHighEntropyString\",\n      \"limit\": 3.0\n    },\n    {\n      \"name\": \"KeywordDetector\",\n      \"keyword_exclude\": \"\"\n    }\n  ],\n  \"filters_used\": [],\n  \"results\": {\n    \"B.txt\": [\n      {\n        \"type\": \"T\",\n        \"filename\": \"B.txt\",\n        \"hashed_secret\": \"cc\",\n        \"is_verified\": true,\n        \"line_number\": 1,\n        \"is_secret\": false\n      }\n    ],\n    \"b.txt\": [\n      {\n        \"type\": \"T\",\n        \"filename\": \"b.txt\",\n        \"hashed_secret\": \"aa\",\n        \"is_verified\": false,\n        \"line_number\": 9\n      },\n      {\n        \"type\": \"T\",\n        \"filename\": \"b.txt\",\n        \"hashed_secret\": \"bb\",\n        \"is_verified\": false,\n        \"line_number\": 10\n      }\n    ]\n  }\n}\n";
    let mut parsed = Baseline::parse(text).unwrap();
    assert!(parsed.to_string().starts_with("{\n  \"version\": \"1.5.0\",\n  \"plugins_used\": [\n    {\n      \"name\": \"KeywordDetector\""));
    parsed.sort();
    assert_eq!(parsed.to_string(), expected);

    let mut named = Baseline::parse(text).unwrap();
    let findings = named.results.remove("b.txt").unwrap();
    named
        .results
        .insert("dir/\u{f6}\u{1f600}\"x\".txt".into(), findings);
    let written = named.to_string();
    assert!(
        written.contains(r#""dir/\u00f6\ud83d\ude00\"x\".txt": ["#),
        "{written}"
    );
}

#[test]
fn malformed_baselines_are_rejected_with_the_place_at_fault() {
    let cases = [
        ("{", "not valid JSON"),
        ("[]", "expected a JSON object"),
        (r#"{"plugins_used": []}"#, "missing `version`"),
        (
            r#"{"version": "1.5.0", "exclude": {}}"#,
            "unknown key `exclude`",
        ),
        (
            r#"{"version": "1.5.0", "plugins_used": [{"limit": 1}]}"#,
            "plugins_used[0]",
        ),
        (
            r#"{"version": "1.5.0", "results": {"a": [{"type": "T", "filename": "b", "hashed_secret": "h"}]}}"#,
            "results[\"a\"][0]",
        ),
        (
            r#"{"version": "1.5.0", "results": {"a": [{"type": "T", "filename": "a"}]}}"#,
            "needs `type` and `hashed_secret`",
        ),
        (
            r#"{"version": "1.5.0", "results": {"a": [{"type": "T", "filename": "a", "hashed_secret": "h", "line_number": -1}]}}"#,
            "`line_number` must be a line number",
        ),
        (
            r#"{"version": "1.5.0", "results": {"a": [{"type": "T", "filename": "a", "hashed_secret": "h", "is_secret": "yes"}]}}"#,
            "`is_secret` must be a boolean or null",
        ),
        (
            r#"{"version": "1.5.0", "results": {"a": [{"type": "T", "filename": "a", "hashed_secret": "h", "note": 1}]}}"#,
            "unknown key `note`",
        ),
    ];
    for (text, message) in cases {
        let err = Baseline::parse(text).expect_err(text).to_string();
        assert!(err.contains(message), "{text}: {err}");
    }
}

// ---------------------------------------------------------------- merge

fn base_baseline() -> Baseline {
    Baseline::parse(
        r#"{
  "version": "1.5.0",
  "plugins_used": [{"name": "AWSKeyDetector"}, {"name": "Base64HighEntropyString", "limit": 4.5}, {"name": "GitHubTokenDetector"}],
  "filters_used": [{"path": "detect_secrets.filters.heuristic.is_lock_file"}],
  "results": {
    "a.yaml": [
      {"type": "GitHub Token", "filename": "a.yaml", "hashed_secret": "e175c6f5f2a92e8623bd9a4820edb4e8c1b0fd10", "is_verified": false, "line_number": 3},
      {"type": "AWS Access Key", "filename": "a.yaml", "hashed_secret": "aaaa", "is_verified": false, "line_number": 7}
    ]
  },
  "generated_at": "2026-11-20T10:00:00Z"
}"#,
    )
    .unwrap()
}

fn merge_both_ways(
    base: &Baseline,
    x: &Baseline,
    y: &Baseline,
) -> Result<Baseline, BaselineConflict> {
    let xy = merge_at_merge_time(Some(base), x, y);
    let yx = merge_at_merge_time(Some(base), y, x);
    match (&xy, &yx) {
        (Ok(a), Ok(b)) => assert_eq!(a, b, "merge must not depend on which side is ours"),
        // The error names the sides' values as ours/theirs, so only the
        // finding and flag must agree.
        (
            Err(BaselineConflict::Flag {
                key: k1, flag: f1, ..
            }),
            Err(BaselineConflict::Flag {
                key: k2, flag: f2, ..
            }),
        ) => assert_eq!((k1, f1), (k2, f2)),
        _ => assert_eq!(xy, yx, "merge must not depend on which side is ours"),
    }
    xy
}

#[test]
fn merge_keeps_each_sides_audit_decisions_and_unions_findings() {
    let base = base_baseline();
    let mut ours = base.clone();
    set_flag(&mut ours, "a.yaml", "GitHub Token", Some(true));
    ours.results.get_mut("a.yaml").unwrap()[1].line_number = 9; // drifted
    ours.generated_at = Some("2026-11-21T09:00:00Z".into());
    let mut theirs = base.clone();
    set_flag(&mut theirs, "a.yaml", "AWS Access Key", Some(false));
    theirs.results.get_mut("a.yaml").unwrap()[1].is_verified = true;
    let mut added = theirs.results["a.yaml"][0].clone();
    added.hashed_secret = "bbbb".into();
    added.line_number = 1;
    theirs.results.insert("b.py".into(), vec![added]);
    theirs.generated_at = Some("2026-11-22T01:00:00Z".into());

    let merged = merge_both_ways(&base, &ours, &theirs).unwrap();
    let flags = flags_of(&merged);
    let gh = "e175c6f5f2a92e8623bd9a4820edb4e8c1b0fd10";
    assert_eq!(
        flags[&key("a.yaml", "GitHub Token", gh)],
        (Some(true), false)
    );
    assert_eq!(
        flags[&key("a.yaml", "AWS Access Key", "aaaa")],
        (Some(false), true)
    );
    assert_eq!(flags[&key("b.py", "GitHub Token", "bbbb")], (None, false));
    assert_eq!(flags.len(), 3);
    assert_eq!(
        merged.results["a.yaml"][1].line_number, 9,
        "the side that moved it wins"
    );
    assert_eq!(merged.generated_at.as_deref(), Some("2026-11-22T01:00:00Z"));
}

#[test]
fn merge_keeps_repeated_entries_of_one_key_by_occurrence() {
    let base = base_baseline();
    let mut ours = base.clone();
    let mut repeat = ours.results["a.yaml"][0].clone();
    repeat.line_number = 20;
    repeat.is_secret = Some(false);
    ours.results.get_mut("a.yaml").unwrap().push(repeat);
    let mut theirs = base.clone();
    set_flag(&mut theirs, "a.yaml", "GitHub Token", Some(true));
    let merged = merge_both_ways(&base, &ours, &theirs).unwrap();
    let tokens: Vec<(u64, Option<bool>)> = merged.results["a.yaml"]
        .iter()
        .filter(|f| f.secret_type == "GitHub Token")
        .map(|f| (f.line_number, f.is_secret))
        .collect();
    assert_eq!(tokens, [(3, Some(true)), (20, Some(false))]);
}

#[test]
fn merge_keeps_a_finding_one_side_no_longer_has() {
    let base = base_baseline();
    let mut ours = base.clone();
    set_flag(&mut ours, "a.yaml", "AWS Access Key", Some(true));
    let mut theirs = base.clone();
    theirs.results.get_mut("a.yaml").unwrap().remove(1);
    let merged = merge_both_ways(&base, &ours, &theirs).unwrap();
    // Whether it is really gone is for the regeneration on the final tree to say.
    assert_eq!(
        flags_of(&merged)[&key("a.yaml", "AWS Access Key", "aaaa")],
        (Some(true), false)
    );
}

#[test]
fn merge_reports_the_finding_whose_flag_both_sides_set_differently() {
    let base = base_baseline();
    let mut ours = base.clone();
    set_flag(&mut ours, "a.yaml", "AWS Access Key", Some(true));
    let mut theirs = base.clone();
    set_flag(&mut theirs, "a.yaml", "AWS Access Key", Some(false));
    let err = merge_at_merge_time(Some(&base), &ours, &theirs).unwrap_err();
    assert_eq!(
        err,
        BaselineConflict::Flag {
            key: Box::new(key("a.yaml", "AWS Access Key", "aaaa")),
            flag: "is_secret",
            ours: "true".into(),
            theirs: "false".into(),
        }
    );
    let message = err.to_string();
    assert!(
        message.contains("a.yaml (AWS Access Key, hashed_secret aaaa)")
            && message.contains("is_secret"),
        "{message}"
    );

    // Same decision on both sides is no conflict; neither is a finding both
    // sides added with one side auditing it.
    set_flag(&mut theirs, "a.yaml", "AWS Access Key", Some(true));
    assert!(merge_both_ways(&base, &ours, &theirs).is_ok());
    let mut no_base = base.clone();
    no_base.results.clear();
    assert_eq!(
        flags_of(&merge_both_ways(&no_base, &ours, &base).unwrap())
            [&key("a.yaml", "AWS Access Key", "aaaa")],
        (Some(true), false)
    );
}

#[test]
fn merge_combines_settings_three_way() {
    let base = base_baseline();
    let mut ours = base.clone();
    ours.plugins_used[1].insert("limit".into(), serde_json::json!(5.0));
    ours.plugins_used.remove(0); // AWSKeyDetector disabled
    let mut theirs = base.clone();
    theirs.filters_used.push(
        serde_json::json!({"path": "detect_secrets.filters.regex.should_exclude_file", "pattern": ["^vendor/"]})
            .as_object()
            .unwrap()
            .clone(),
    );
    let merged = merge_both_ways(&base, &ours, &theirs).unwrap();
    let text = merged.to_string();
    assert!(!text.contains("AWSKeyDetector"), "{text}");
    assert!(
        text.contains("\"limit\": 5.0") && text.contains("^vendor/"),
        "{text}"
    );

    let mut other = base.clone();
    other.plugins_used[1].insert("limit".into(), serde_json::json!(4.0));
    let err = merge_at_merge_time(Some(&base), &ours, &other).unwrap_err();
    assert_eq!(
        err,
        BaselineConflict::Setting {
            section: "plugins_used",
            name: "base64highentropystring".into(),
            option: "limit".into()
        }
    );
    let mut changed = base.clone();
    changed.plugins_used[0].insert("extra".into(), serde_json::json!(1));
    let err = merge_at_merge_time(Some(&base), &ours, &changed).unwrap_err();
    assert!(
        err.to_string()
            .contains("awskeydetector` removed on one side and changed"),
        "{err}"
    );
}

/// Every combination of `is_secret` on base, ours and theirs: the merge is
/// symmetric and conflicts exactly when both sides changed it differently.
#[test]
fn merge_of_is_secret_is_symmetric_and_conflicts_only_on_divergent_changes() {
    let values = [None, Some(true), Some(false)];
    for b in values {
        for o in values {
            for t in values {
                let mut base = base_baseline();
                set_flag(&mut base, "a.yaml", "GitHub Token", b);
                let (mut ours, mut theirs) = (base.clone(), base.clone());
                set_flag(&mut ours, "a.yaml", "GitHub Token", o);
                set_flag(&mut theirs, "a.yaml", "GitHub Token", t);
                let merged = merge_both_ways(&base, &ours, &theirs);
                let divergent = o != b && t != b && o != t;
                assert_eq!(
                    merged.is_err(),
                    divergent,
                    "base {b:?} ours {o:?} theirs {t:?}"
                );
                if let Ok(merged) = merged {
                    let expected = if o == b { t } else { o };
                    assert_eq!(
                        merged.results["a.yaml"]
                            .iter()
                            .find(|f| f.secret_type == "GitHub Token")
                            .unwrap()
                            .is_secret,
                        expected
                    );
                }
            }
        }
    }
}

// ---------------------------------------------------------------- regeneration

/// The sample tree after a typical rebase: lines inserted above findings,
/// content moved, a secret and a file removed, a new secret added.
fn edit_sample(tree: &Tree) {
    let yaml = tree.read("config/app.yaml");
    tree.write(
        "config/app.yaml",
        &format!("# owner: team-a\n# region: eu\n\n{yaml}"),
    );
    let py = tree.read("src/app.py");
    let mut lines: Vec<&str> = py.lines().filter(|l| !l.starts_with("SLACK")).collect();
    let jwt = lines.iter().position(|l| l.starts_with("JWT")).unwrap();
    let jwt_line = lines.remove(jwt);
    lines.insert(0, jwt_line);
    lines.insert(1, "# moved to the top");
    tree.write("src/app.py", &(lines.join("\n") + "\n"));
    tree.git(&["rm", "-q", "-f", "keys/deploy.pem"]);
    tree.write("src/new.py", &format!("NEW = \"{B64}\"\n"));
}

fn audited_sample(tree: &Tree) -> Baseline {
    let mut baseline = Baseline::parse(&tree.scan()).unwrap();
    set_flag(
        &mut baseline,
        "config/app.yaml",
        "AWS Access Key",
        Some(false),
    );
    set_flag(&mut baseline, "src/app.py", "JSON Web Token", Some(true));
    set_flag(
        &mut baseline,
        "src/app.py",
        "Hex High Entropy String",
        Some(false),
    );
    set_flag(&mut baseline, "keys/deploy.pem", "Private Key", Some(true));
    baseline
}

#[test]
fn regenerate_gives_what_detect_secrets_scan_baseline_gives() {
    detect_secrets();
    let tree = Tree::new(&sample_files());
    let merged = audited_sample(&tree);
    edit_sample(&tree);

    let ours = regen::regenerate(tree.root(), ".secrets.baseline", &merged).unwrap();
    assert_eq!(ours.method, Method::DetectSecrets);
    assert!(ours.not_relocated.is_empty());
    let expected = Baseline::parse(&tree.scan_baseline(&merged)).unwrap();
    assert_eq!(without_time(ours.baseline.clone()), without_time(expected));

    let flags = flags_of(&ours.baseline);
    assert_eq!(
        flags[&key(
            "config/app.yaml",
            "AWS Access Key",
            "cd32de16c90473e475b05e0c5f0281449a69db79"
        )]
            .0,
        Some(false)
    );
    assert!(
        !flags.keys().any(|k| k.filename == "keys/deploy.pem"),
        "removed file dropped"
    );
    assert!(
        flags.keys().any(|k| k.filename == "src/new.py"),
        "new secret found"
    );
    // Lines really moved: the token is 3 lines lower, the JWT is now first.
    let yaml = &ours.baseline.results["config/app.yaml"];
    assert!(
        yaml.iter()
            .any(|f| f.secret_type == "GitHub Token" && f.line_number == 6),
        "{yaml:?}"
    );
    let py = &ours.baseline.results["src/app.py"];
    assert!(
        py.iter().any(|f| f.secret_type == "JSON Web Token"
            && f.line_number == 1
            && f.is_secret == Some(true)),
        "{py:?}"
    );
}

#[test]
fn regenerate_keeps_verification_off_when_the_baseline_has_it_off() {
    let tree = Tree::new(&sample_files());
    let merged = Baseline::parse(&tree.detect_secrets(&["scan", "--no-verify"])).unwrap();
    edit_sample(&tree);
    let ours = regen::regenerate(tree.root(), ".secrets.baseline", &merged).unwrap();
    assert!(
        !ours
            .baseline
            .to_string()
            .contains("is_ignored_due_to_verification_policies")
    );
    std::fs::write(tree.root().join(".secrets.baseline"), merged.to_string()).unwrap();
    tree.detect_secrets(&["scan", "--no-verify", "--baseline", ".secrets.baseline"]);
    let expected = Baseline::parse(&tree.read(".secrets.baseline")).unwrap();
    assert_eq!(without_time(ours.baseline), without_time(expected));
}

/// Relocation must agree with detect-secrets on every finding it can relocate.
fn assert_relocation_agrees(tree: &Tree, merged: &Baseline) -> Vec<FindingKey> {
    let (relocated, not_relocated) =
        regen::relocate(tree.root(), ".secrets.baseline", merged).unwrap();
    let expected = Baseline::parse(&tree.scan_baseline(merged)).unwrap();
    let known: BTreeMap<FindingKey, _> = flags_of(merged);
    let supported =
        |k: &FindingKey| statebox::worktree::relocate::relocatable_type(&k.secret_type).is_some();
    let lines = |b: &Baseline| -> BTreeMap<FindingKey, (u64, Option<bool>, bool)> {
        b.findings()
            .filter(|(k, _)| known.contains_key(k) && supported(k))
            .map(|(k, f)| (k, (f.line_number, f.is_secret, f.is_verified)))
            .collect()
    };
    let expected_lines = lines(&expected);
    assert!(
        !expected_lines.is_empty(),
        "nothing to compare:\n{expected}"
    );
    assert_eq!(lines(&relocated), expected_lines);
    assert_eq!(relocated.plugins_used, expected.plugins_used);
    assert_eq!(relocated.filters_used, expected.filters_used);
    not_relocated
}

#[test]
fn relocation_matches_detect_secrets_for_supported_plugins() {
    detect_secrets();
    let tree = Tree::new(&sample_files());
    let merged = audited_sample(&tree);
    edit_sample(&tree);
    let not_relocated = assert_relocation_agrees(&tree, &merged);
    let regenerated =
        regen::regenerate_with(None, tree.root(), ".secrets.baseline", &merged).unwrap();
    assert_eq!(regenerated.method, Method::Relocated);
    assert_eq!(regenerated.not_relocated, not_relocated);
    let flags = flags_of(&regenerated.baseline);
    assert_eq!(
        flags[&key(
            "src/app.py",
            "JSON Web Token",
            "34c659f4df06118f5bc39edc355b4542851ad3f6"
        )]
            .0,
        Some(true)
    );
    assert!(
        !flags
            .keys()
            .any(|k| k.filename == "keys/deploy.pem" || k.filename == "src/new.py")
    );
    // KeywordDetector findings cannot be relocated: kept and reported.
    assert!(!not_relocated.is_empty());
    assert!(
        not_relocated
            .iter()
            .all(|k| k.secret_type == "Secret Keyword"),
        "{not_relocated:?}"
    );
}

#[test]
fn relocation_honours_allowlist_pragmas_exclusions_and_removed_plugins() {
    detect_secrets();
    let tree = Tree::new(&[
        ("a.py", format!("X = \"{HEX}\"\nY = \"{GITHUB}\"\n")),
        ("vendor/b.py", format!("T = \"{GITHUB}\"\n")),
    ]);
    let mut merged =
        Baseline::parse(&tree.detect_secrets(&["scan", "--exclude-files", "^vendor/"])).unwrap();
    assert!(!merged.results.contains_key("vendor/b.py"));
    // The hex string now also appears earlier on an allowlisted line, the
    // token earlier inside an indirect reference: both stay where they were.
    tree.write(
        "a.py",
        &format!(
            "A = \"{HEX}\"  # pragma: allowlist secret\n# pragma: allowlist nextline secret\nB = \"{HEX}\"\nC = get(\"{GITHUB}\")\nX = \"{HEX}\"\nY = \"{GITHUB}\"\n"
        ),
    );
    assert_relocation_agrees(&tree, &merged);
    let (relocated, _) = regen::relocate(tree.root(), ".secrets.baseline", &merged).unwrap();
    let lines: Vec<u64> = relocated.results["a.py"]
        .iter()
        .map(|f| f.line_number)
        .collect();
    assert_eq!(lines, [5, 6, 6], "{relocated}");

    merged
        .plugins_used
        .retain(|p| p["name"] != "HexHighEntropyString");
    assert_relocation_agrees(&tree, &merged);

    // Paths that would leave the tree are never read.
    let outside = merged.results["a.py"].clone();
    merged.results.insert("../a.py".into(), outside);
    let (relocated, _) = regen::relocate(tree.root(), ".secrets.baseline", &merged).unwrap();
    assert!(!relocated.results.contains_key("../a.py"));
}

#[test]
fn relocation_matches_detect_secrets_on_a_generated_tree() {
    detect_secrets();
    let files: Vec<(String, String)> = (0..24).map(|i| generated_file(i, 0)).collect();
    let refs: Vec<(&str, String)> = files.iter().map(|(n, c)| (n.as_str(), c.clone())).collect();
    let tree = Tree::new(&refs);
    let merged = Baseline::parse(&tree.scan()).unwrap();
    assert!(merged.findings().count() > 40);
    for i in 0..24 {
        let (name, content) = generated_file(i, i % 5);
        let mut lines: Vec<&str> = content.lines().collect();
        // Move content around and drop some secrets, not only shift lines.
        if i % 3 == 1 {
            lines.reverse();
        }
        if i % 4 == 2 {
            lines.retain(|l| !l.contains("ghp_"));
        }
        if i % 6 == 5 {
            let copy = lines[lines.len() - 1];
            lines.insert(0, copy);
        }
        tree.write(&name, &(lines.join("\n") + "\n"));
    }
    let not_relocated = assert_relocation_agrees(&tree, &merged);
    assert!(not_relocated.is_empty(), "{not_relocated:?}");
}

/// A file with secrets of every relocatable type, `shift` filler lines added
/// above them, in YAML or Python form.
fn generated_file(i: usize, shift: usize) -> (String, String) {
    let token = format!("ghp_{:0>36}", format!("{i}aBcDeFgHiJkLmNoPqRsTuV"));
    let hex: String = (0..40)
        .map(|k| char::from(b"0123456789abcdef"[(k * 7 + i * 3) % 16]))
        .collect();
    let b64: String = (0..40)
        .map(|k| {
            char::from(
                b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
                    [(k * 13 + i * 5) % 64],
            )
        })
        .collect();
    let filler = "# filler\n".repeat(shift);
    if i.is_multiple_of(2) {
        let name = format!("deploy/svc{i}.yaml");
        (
            name,
            format!(
                "{filler}service: svc{i}\ntoken: {token}\nchecksum: \"{hex}\"\nblob: {b64}\nkey_id: AKIA{:0>16}\n",
                i * 7919
            ),
        )
    } else {
        let name = format!("src/mod{i}.py");
        (
            name,
            format!(
                "{filler}import os\nT = \"{token}\"\nH = '{hex}'\nB = \"{b64}\"\nS = \"xoxp-{i}-99-abc{i}\"\nJ = \"{JWT}\"\n"
            ),
        )
    }
}

#[test]
fn relocation_matches_detect_secrets_on_awkward_files() {
    detect_secrets();
    let before = [
        (
            "crlf.py",
            format!("a = 1\r\nT = \"{GITHUB}\"\r\nH = \"{HEX}\"\r\n"),
        ),
        ("old_mac.txt", format!("x\rT = '{B64}'\r")),
        (
            "deploy.yaml",
            format!(
                "# top\n\"quoted key\": '{B64}'\nlist:\n  - {GITHUB}\n  - name: {HEX}\nflow: {{a: {AWS_ID}}}\ntoken: {GITHUB} # note\nblock: |\n  inner: \"{HEX}\"\n"
            ),
        ),
        (
            "multi.yml",
            format!("a: 1\n---\nkey: \"{HEX}\"\ngh: {GITHUB}\n"),
        ),
        (
            "twice.js",
            format!("const a = \"{B64}\";\nconst b = \"{B64}\";\nconst t = '{GITHUB}';\n"),
        ),
        (
            "ids.py",
            format!("user_id = \"{HEX}\"\nchecksum = \"{HEX}\"\n"),
        ),
    ];
    let tree = Tree::new(
        &before
            .iter()
            .map(|(n, c)| (*n, c.clone()))
            .collect::<Vec<_>>(),
    );
    let merged = Baseline::parse(&tree.scan()).unwrap();
    for (name, content) in &before {
        // Push everything down, and drop the first of repeated secrets.
        let mut edited = format!("# new header\n\n{content}");
        if *name == "twice.js" {
            edited = edited.replacen(&format!("const a = \"{B64}\";\n"), "", 1);
        }
        tree.write(name, &edited);
    }
    assert_relocation_agrees(&tree, &merged);
}

#[test]
fn relocation_rejects_an_exclude_pattern_rust_cannot_compile() {
    let tree = Tree::new(&[]);
    let mut merged = base_baseline();
    merged.filters_used.push(
        serde_json::json!({"path": "detect_secrets.filters.regex.should_exclude_line", "pattern": ["(?<=x)y"]})
            .as_object()
            .unwrap()
            .clone(),
    );
    let err = regen::relocate(tree.root(), ".secrets.baseline", &merged).unwrap_err();
    assert!(matches!(err, RegenError::Pattern { .. }));
    assert!(
        err.to_string().contains("should_exclude_line") && err.to_string().contains("(?<=x)y"),
        "{err}"
    );
}

#[test]
fn rescan_reports_a_failing_detect_secrets() {
    let tree = Tree::new(&[]);
    let err = regen::rescan(
        Path::new("false"),
        tree.root(),
        ".secrets.baseline",
        &base_baseline(),
    )
    .unwrap_err();
    assert!(matches!(err, RegenError::DetectSecrets { .. }), "{err}");
    let err = regen::rescan(
        Path::new("/nonexistent/detect-secrets"),
        tree.root(),
        ".secrets.baseline",
        &base_baseline(),
    )
    .unwrap_err();
    assert!(
        err.to_string()
            .contains("cannot run /nonexistent/detect-secrets"),
        "{err}"
    );
}
