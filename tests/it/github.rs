//! The GitHub API backend against a local server that implements the
//! Contents API on a real bare repository (tests/support/github_server.rs):
//! two requests per uncontended write, the same history and file bytes as
//! the git store, no lost update with racing processes, clear errors for a
//! bad token, rate limits and a missing branch.

use crate::support::github_server::{GitHubServer, RateLimit};
use crate::support::*;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const REL: &str = "4.19.1";
const PATH: &str = "_releases/4.19/statebox/4.19.1.yaml";
const REPO: &str = "acme/releases";
const TOKEN: &str = "ghp_testtoken0123456789SECRET";

/// A bare repository whose `record` branch has one commit, served as
/// acme/releases.
struct Setup {
    root: tempfile::TempDir,
    server: GitHubServer,
    catalog: PathBuf,
}

impl Setup {
    fn new(catalog: &[String]) -> Self {
        let root = tempfile::tempdir().unwrap();
        let seed = new_repo();
        git(seed.path(), &["branch", "record"]);
        let bare = root.path().join("releases.git");
        git(
            root.path(),
            &[
                "clone",
                "-q",
                "--bare",
                seed.path().to_str().unwrap(),
                bare.to_str().unwrap(),
            ],
        );
        let catalog_path = root.path().join("catalog.txt");
        std::fs::write(&catalog_path, catalog.join("\n")).unwrap();
        let server = GitHubServer::start(&bare, REPO, TOKEN);
        Setup {
            root,
            server,
            catalog: catalog_path,
        }
    }

    fn bare(&self) -> PathBuf {
        self.root.path().join("releases.git")
    }

    fn command(&self, token: &str, args: &[&str]) -> Command {
        let mut command = Command::new(statebox_bin());
        command
            .args(["--github", REPO, "--catalog"])
            .arg(&self.catalog)
            .args(args)
            .env("GITHUB_TOKEN", token)
            .env("GITHUB_API_URL", self.server.url())
            .env_remove("STATEBOX_REPO")
            .env_remove("STATEBOX_BRANCH")
            .env_remove("STATEBOX_REMOTE")
            .env_remove("STATEBOX_GITHUB_RATE_WAIT");
        command
    }

    fn api(&self, args: &[&str]) -> Output {
        self.command(TOKEN, args).output().unwrap()
    }

    /// The same command through the git store on a local repository.
    fn local(&self, repo: &Path, args: &[&str]) -> Output {
        Command::new(statebox_bin())
            .arg("--repo")
            .arg(repo)
            .arg("--catalog")
            .arg(&self.catalog)
            .args(args)
            .env_remove("STATEBOX_BRANCH")
            .env_remove("STATEBOX_REMOTE")
            .env_remove("STATEBOX_GITHUB")
            .output()
            .unwrap()
    }
}

fn success(out: &Output, what: &str) -> String {
    assert!(
        out.status.success(),
        "{what} failed ({:?}): {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr_of(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn qe_catalog() -> Vec<String> {
    ["Take Ownership", "Image Consistency Check", "Stage Testing"]
        .map(String::from)
        .to_vec()
}

/// Drops the lines whose value is the time of the write itself.
fn without_write_times(file: &str) -> String {
    const WRITE_TIMES: [&str; 4] = ["created_at:", "updated_at:", "reported_at:", "resolved_at:"];
    file.lines()
        .filter(|l| {
            !WRITE_TIMES
                .iter()
                .any(|key| l.trim_start_matches([' ', '-']).starts_with(key))
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn writes() -> Vec<Vec<&'static str>> {
    vec![
        vec!["init", "-r", REL, "--jira-ticket", "ART-1"],
        vec![
            "task",
            "set",
            "-r",
            REL,
            "take-ownership",
            "--result",
            "2026-06-25T13:00:00Z: INFO: start\n2026-06-25T13:05:00Z: INFO: task [Take Ownership] status is changed to [Pass]",
        ],
        vec![
            "issue",
            "add",
            "-r",
            REL,
            "image check flakes on arm64",
            "--blocker",
            "--task",
            "image-consistency-check",
        ],
        vec!["meta", "set", "-r", REL, r#"advisory_ids:={"rpm": 169043}"#],
        vec![
            "issue",
            "resolve",
            "-r",
            REL,
            "flakes on arm64",
            "--resolution",
            "retried",
        ],
    ]
}

#[test]
fn uncontended_writes_cost_two_requests_and_match_the_git_store() {
    let setup = Setup::new(&qe_catalog());
    let local = new_repo();
    for args in writes() {
        let (before, gets_before, puts_before) = setup.server.counts();
        success(&setup.api(&args), &format!("api {args:?}"));
        let (after, gets, puts) = setup.server.counts();
        assert_eq!(after - before, 2, "{args:?}: one read and one write");
        assert_eq!((gets - gets_before, puts - puts_before), (1, 1), "{args:?}");
        success(&setup.local(local.path(), &args), &format!("git {args:?}"));
    }
    let via_api = show(&setup.bare(), &format!("record:{PATH}"));
    let via_git = show(local.path(), &format!("record:{PATH}"));
    assert_eq!(without_write_times(&via_api), without_write_times(&via_git));
    // Same commits, message for message (trailers included).
    let messages = |repo: &Path| git(repo, &["log", "--format=%B%x00", "record", "--", PATH]);
    assert_eq!(messages(&setup.bare()), messages(local.path()));
    // Reading back through either backend gives the same state and history.
    let api_show = success(&setup.api(&["show", "-r", REL, "--json"]), "api show");
    let git_show = success(
        &setup.local(&setup.bare(), &["show", "-r", REL, "--json"]),
        "git show",
    );
    assert_eq!(api_show, git_show);
    let summaries = |out: String| -> Vec<(String, String)> {
        let log: serde_json::Value = serde_json::from_str(&out).unwrap();
        log.as_array()
            .unwrap()
            .iter()
            .map(|e| (e["commit"].to_string(), e["message"].to_string()))
            .collect()
    };
    let api_log = summaries(success(
        &setup.api(&["log", "-r", REL, "--json"]),
        "api log",
    ));
    let git_log = summaries(success(
        &setup.local(&setup.bare(), &["log", "-r", REL, "--json"]),
        "git log",
    ));
    assert_eq!(api_log.len(), writes().len());
    assert_eq!(api_log, git_log);
    let api_status = success(&setup.api(&["status", "--json"]), "api status");
    let git_status = success(
        &setup.local(&setup.bare(), &["status", "--json"]),
        "git status",
    );
    assert_eq!(api_status, git_status);
    // An operation already in effect reads and writes nothing more.
    let (before, _, puts_before) = setup.server.counts();
    let again = success(&setup.api(&writes()[3]), "repeat");
    assert!(again.contains("already up to date"), "{again}");
    assert_eq!(setup.server.counts().0 - before, 1);
    assert_eq!(setup.server.counts().2, puts_before);
}

#[test]
fn four_processes_racing_through_the_api_lose_nothing() {
    const WRITERS: usize = 4;
    const WRITES: usize = 25;
    let names: Vec<String> = (0..WRITERS)
        .flat_map(|w| (0..WRITES).map(move |j| format!("w{w}-op{j}")))
        .collect();
    let setup = Setup::new(&names);
    let failures: Vec<String> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..WRITERS)
            .map(|w| {
                let setup = &setup;
                scope.spawn(move || {
                    let mut failures = Vec::new();
                    for j in 0..WRITES {
                        let task = format!("w{w}-op{j}");
                        let issue = format!("issue from writer {w} write {j}");
                        let args: Vec<&str> = if j % 2 == 0 {
                            vec!["task", "set", "-r", REL, &task, "--status", "Pass"]
                        } else {
                            vec!["issue", "add", "-r", REL, &issue]
                        };
                        let out = setup.api(&args);
                        if !out.status.success() {
                            failures.push(format!("{args:?}: {}", stderr_of(&out)));
                        }
                    }
                    failures
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect()
    });
    assert!(failures.is_empty(), "failed writes: {failures:#?}");
    let state: serde_json::Value = serde_json::from_str(&success(
        &setup.local(&setup.bare(), &["show", "-r", REL, "--json"]),
        "show",
    ))
    .unwrap();
    let mut missing = Vec::new();
    for w in 0..WRITERS {
        for j in 0..WRITES {
            let present = if j % 2 == 0 {
                let task = format!("w{w}-op{j}");
                state["tasks"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|t| t["name"] == task.as_str() && t["status"] == "Pass")
            } else {
                let issue = format!("issue from writer {w} write {j}");
                state["issues"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .filter(|i| i["issue"] == issue.as_str())
                    .count()
                    == 1
            };
            if !present {
                missing.push(format!("writer {w} write {j}"));
            }
        }
    }
    assert!(missing.is_empty(), "lost: {missing:?}");
    let bare = setup.bare();
    // The seed commit plus exactly one commit per write.
    assert_eq!(
        git(&bare, &["rev-list", "--count", "record"]),
        (1 + WRITERS * WRITES).to_string()
    );
    assert_eq!(git(&bare, &["rev-list", "--merges", "record"]), "");
    git(&bare, &["fsck", "--strict", "--no-dangling"]);
    let (_, gets, puts) = setup.server.counts();
    assert!(gets >= 100 && puts >= 100, "gets {gets} puts {puts}");
}

#[test]
fn a_rejected_token_is_reported_without_printing_it() {
    let setup = Setup::new(&qe_catalog());
    let wrong = "ghp_wrongtoken_DO_NOT_PRINT";
    for args in [
        vec![
            "task",
            "set",
            "-r",
            REL,
            "take-ownership",
            "--status",
            "Pass",
        ],
        vec!["show", "-r", REL],
    ] {
        let out = setup.command(wrong, &args).output().unwrap();
        assert_eq!(out.status.code(), Some(10));
        let stderr = stderr_of(&out);
        assert!(
            stderr.contains("GITHUB_TOKEN rejected") && stderr.contains("Bad credentials"),
            "{stderr}"
        );
        assert!(!stderr.contains(wrong) && !String::from_utf8_lossy(&out.stdout).contains(wrong));
    }
    // Also with -vv debug logging on.
    let out = setup
        .command(wrong, &["-vv", "show", "-r", REL])
        .output()
        .unwrap();
    assert!(!stderr_of(&out).contains(wrong) && !stderr_of(&out).contains(TOKEN));
    assert_eq!(git(&setup.bare(), &["rev-list", "--count", "record"]), "1");
}

#[test]
fn a_missing_token_or_malformed_repository_is_named() {
    let setup = Setup::new(&qe_catalog());
    let out = setup
        .command(TOKEN, &["show", "-r", REL])
        .env_remove("GITHUB_TOKEN")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(10));
    assert!(
        stderr_of(&out).contains("needs a token in GITHUB_TOKEN"),
        "{}",
        stderr_of(&out)
    );
    let out = Command::new(statebox_bin())
        .args(["--github", "no-slash", "show", "-r", REL])
        .env("GITHUB_TOKEN", TOKEN)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(10));
    assert!(
        stderr_of(&out).contains("GitHub no-slash: expected OWNER/REPO"),
        "{}",
        stderr_of(&out)
    );
}

#[test]
fn a_missing_branch_is_reported_on_write() {
    let setup = Setup::new(&qe_catalog());
    let out = setup.api(&[
        "--branch",
        "nope",
        "task",
        "set",
        "-r",
        REL,
        "take-ownership",
        "--status",
        "Pass",
    ]);
    assert_eq!(out.status.code(), Some(10));
    let stderr = stderr_of(&out);
    assert!(
        stderr.contains("Branch nope not found") && stderr.contains("does branch 'nope' exist?"),
        "{stderr}"
    );
    // Reading a release that is absent is a not-found, not a failure.
    let out = setup.api(&["show", "-r", REL]);
    assert_eq!(out.status.code(), Some(3), "{}", stderr_of(&out));
}

#[test]
fn rate_limits_are_waited_out_within_the_budget_then_reported() {
    let setup = Setup::new(&qe_catalog());
    setup.server.rate_limit(RateLimit::RetryAfter(1), 1);
    let out = setup.api(&[
        "task",
        "set",
        "-r",
        REL,
        "take-ownership",
        "--status",
        "Pass",
    ]);
    success(&out, "write after a short limit");
    assert!(
        stderr_of(&out).contains("rate limited"),
        "{}",
        stderr_of(&out)
    );
    setup.server.rate_limit(RateLimit::Exhausted(1), 1);
    success(
        &setup.api(&["show", "-r", REL]),
        "read after an exhausted limit resets",
    );
    setup.server.rate_limit(RateLimit::Exhausted(3600), 100);
    let out = setup
        .command(
            TOKEN,
            &[
                "task",
                "set",
                "-r",
                REL,
                "stage-testing",
                "--status",
                "Pass",
            ],
        )
        .env("STATEBOX_GITHUB_RATE_WAIT", "5")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(10));
    let stderr = stderr_of(&out);
    assert!(
        stderr.contains("rate limited") && stderr.contains("beyond the 5 s wait budget"),
        "{stderr}"
    );
    let out = setup
        .command(TOKEN, &["show", "-r", REL])
        .env("STATEBOX_GITHUB_RATE_WAIT", "soon")
        .output()
        .unwrap();
    assert!(
        stderr_of(&out).contains("must be whole seconds, got 'soon'"),
        "{}",
        stderr_of(&out)
    );
}

#[test]
fn files_over_one_megabyte_are_read_through_the_blob_endpoint() {
    let setup = Setup::new(&qe_catalog());
    success(&setup.api(&["init", "-r", REL]), "init");
    // Unknown keys are kept, so a big one makes a valid state over 1 MB.
    let file = show(&setup.bare(), &format!("record:{PATH}"));
    let big = format!("{file}\nnotes: {}\n", "x".repeat(1_100_000));
    let seed = tempfile::tempdir().unwrap();
    git(
        seed.path(),
        &[
            "clone",
            "-q",
            "-b",
            "record",
            setup.bare().to_str().unwrap(),
            ".",
        ],
    );
    git(seed.path(), &["config", "user.name", "T"]);
    git(seed.path(), &["config", "user.email", "t@example.com"]);
    std::fs::write(seed.path().join(PATH), &big).unwrap();
    git(seed.path(), &["commit", "-qam", "big"]);
    git(seed.path(), &["push", "-q", "origin", "record"]);
    let out = success(
        &setup.api(&[
            "task",
            "set",
            "-r",
            REL,
            "take-ownership",
            "--status",
            "Pass",
        ]),
        "write to a big file",
    );
    assert!(out.contains("Update task: take-ownership"), "{out}");
    let after = show(&setup.bare(), &format!("record:{PATH}"));
    assert!(after.contains(&"x".repeat(1_100_000)) && after.contains("take-ownership"));
}

#[test]
fn stale_sha_and_create_race_are_reported_as_stale_to_the_write_path() {
    use statebox::backend::{Backend, BackendError, CasToken, GitHubBackend};
    let setup = Setup::new(&qe_catalog());
    let store = GitHubBackend::new(REPO, "record", &setup.server.url(), TOKEN).unwrap();
    let path = "_releases/4.19/statebox/4.19.2.yaml";
    let absent = store.read(path).unwrap();
    assert_eq!(
        (absent.content, absent.version.clone()),
        (None, CasToken(None))
    );
    let first = store
        .write(path, b"one\n", &absent.version, "create")
        .unwrap();
    // Another writer created it after we read it as absent: 422, "sha" missing.
    assert!(matches!(
        store.write(path, b"two\n", &absent.version, "create again"),
        Err(BackendError::Stale)
    ));
    let second = store.write(path, b"two\n", &first, "update").unwrap();
    assert_ne!(first, second);
    // Writing from the older sha: 409.
    assert!(matches!(
        store.write(path, b"three\n", &first, "stale update"),
        Err(BackendError::Stale)
    ));
    let now = store.read(path).unwrap();
    assert_eq!(
        (now.content.as_deref(), now.version),
        (Some(&b"two\n"[..]), second.clone())
    );
    // The version is the blob sha git itself computes for the bytes.
    assert_eq!(
        second.0.unwrap(),
        git(&setup.bare(), &["rev-parse", &format!("record:{path}")])
    );
    assert_eq!(git(&setup.bare(), &["rev-list", "--count", "record"]), "3");
}

#[test]
fn status_through_the_api_names_misplaced_entries_as_the_git_store_does() {
    use crate::status_cli::{MISPLACED, NOT_OURS, check_misplaced_are_named};
    let setup = Setup::new(&qe_catalog());
    for release in ["4.19.1", "4.20.1"] {
        success(&setup.api(&["init", "-r", release]), "init");
    }
    for (path, content, _) in MISPLACED {
        commit_raw(&setup.bare(), path, content);
    }
    for path in NOT_OURS {
        commit_raw(&setup.bare(), path, b"other: tool\n");
    }
    check_misplaced_are_named(&setup.api(&["status"]), &setup.api(&["status", "--json"]));
}
