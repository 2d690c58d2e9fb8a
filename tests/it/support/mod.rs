//! Shared helpers for the end-to-end tests: real git repositories in temp
//! dirs and the real `statebox` binary.
#![allow(dead_code)] // each test binary uses a different subset

pub mod git_daemon;
pub mod github_server;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub fn statebox_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_statebox"))
}

/// Runs git in `dir`, panicking with its stderr on failure.
pub fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("git runs");
    assert!(
        out.status.success(),
        "git {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim_end().to_owned()
}

/// A fresh repository with one commit on `main` and an identity configured.
pub fn new_repo() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    git(dir.path(), &["init", "-q", "-b", "main"]);
    git(dir.path(), &["config", "user.name", "Test"]);
    git(dir.path(), &["config", "user.email", "test@example.com"]);
    std::fs::write(dir.path().join("README"), "work tree file\n").unwrap();
    git(dir.path(), &["add", "README"]);
    git(dir.path(), &["commit", "-q", "-m", "initial"]);
    dir
}

/// `statebox args...` run in the repository `repo` (its default store),
/// returning the raw output.
pub fn statebox(repo: &Path, args: &[&str]) -> Output {
    statebox_env(repo, args, &[])
}

/// `statebox`, with `env` set on top of the test environment.
pub fn statebox_env(repo: &Path, args: &[&str], env: &[(&str, &std::ffi::OsStr)]) -> Output {
    Command::new(statebox_bin())
        .current_dir(repo)
        .args(args)
        .envs(env.iter().copied())
        .env_remove("STATEBOX_BRANCH")
        .env_remove("STATEBOX_DIR")
        .env_remove("STATEBOX_CATALOG")
        .env_remove("STATEBOX_REMOTE")
        .env_remove("STATEBOX_GITHUB")
        .output()
        .expect("statebox runs")
}

/// Runs statebox and requires success; returns stdout.
pub fn ok(repo: &Path, args: &[&str]) -> String {
    let out = statebox(repo, args);
    assert!(
        out.status.success(),
        "statebox {args:?} failed ({:?}):\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Runs statebox, requires exit `code`, returns stderr.
pub fn fails(repo: &Path, args: &[&str], code: i32) -> String {
    let out = statebox(repo, args);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(
        out.status.code(),
        Some(code),
        "statebox {args:?}: stdout {} stderr {stderr}",
        String::from_utf8_lossy(&out.stdout)
    );
    stderr
}

/// The record branch tip, or None.
pub fn tip(repo: &Path, branch: &str) -> Option<String> {
    let out = Command::new("git")
        .args([
            "rev-parse",
            "--verify",
            "-q",
            &format!("refs/heads/{branch}"),
        ])
        .current_dir(repo)
        .output()
        .unwrap();
    out.status
        .success()
        .then(|| String::from_utf8(out.stdout).unwrap().trim().to_owned())
}

/// A file's content on a branch.
pub fn show(repo: &Path, spec: &str) -> String {
    git(repo, &["show", spec])
}

/// Commits `content` at `path` on the record branch with git's plumbing,
/// bypassing statebox: how a hand edit, another tool or a damaged branch
/// puts there what statebox would never write. A `path` inside another
/// (`X.yaml/note`) makes `X.yaml` a folder.
pub fn commit_raw(repo: &Path, path: &str, content: &[u8]) {
    let blob_path = repo.join("raw.yaml");
    std::fs::write(&blob_path, content).unwrap();
    let blob = git(repo, &["hash-object", "-w", "raw.yaml"]);
    std::fs::remove_file(&blob_path).unwrap();
    let index = repo.join("raw-index");
    let run = |args: &[&str]| {
        let out = Command::new("git")
            .args(args)
            .current_dir(repo)
            .env("GIT_INDEX_FILE", &index)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap().trim().to_owned()
    };
    run(&["read-tree", "record"]);
    run(&[
        "update-index",
        "--add",
        "--cacheinfo",
        &format!("100644,{blob},{path}"),
    ]);
    let tree = run(&["write-tree"]);
    let commit = run(&["commit-tree", &tree, "-p", "record", "-m", "hand edit"]);
    run(&["update-ref", "refs/heads/record", &commit]);
}

/// `../shared` next to the project, where the fixtures live; None (with a
/// message) in a user's clone that has no ../shared.
pub fn shared_dir() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared");
    if dir.join("fixtures").is_dir() {
        Some(dir)
    } else {
        eprintln!(
            "skipping: {} not found (fixtures live beside the project, not in it)",
            dir.display()
        );
        None
    }
}

/// Every fixture state file, as (path, bytes).
pub fn fixture_files() -> Vec<(PathBuf, Vec<u8>)> {
    let Some(shared) = shared_dir() else {
        return Vec::new();
    };
    let mut found = Vec::new();
    let mut stack = vec![shared.join("fixtures/statebox/_releases")];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "yaml") {
                let bytes = std::fs::read(&path).unwrap();
                found.push((path, bytes));
            }
        }
    }
    found.sort();
    assert!(
        !found.is_empty(),
        "no fixtures found under {}",
        shared.display()
    );
    found
}

/// Runs the calling test again in a process of its own and returns false
/// there is nothing left to do; returns true in that process. For tests that
/// measure the whole process (peak RSS), which other tests of this one test
/// binary would otherwise share.
pub fn in_own_process(test: &str) -> bool {
    const MARK: &str = "STATEBOX_TEST_ISOLATED";
    if std::env::var_os(MARK).is_some() {
        return true;
    }
    let out = Command::new(std::env::current_exe().expect("the test binary"))
        .args([test, "--exact", "--test-threads=1", "--nocapture"])
        .env(MARK, "1")
        .output()
        .expect("the test binary runs");
    assert!(
        out.status.success() && String::from_utf8_lossy(&out.stdout).contains("1 passed"),
        "{test} failed in its own process:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    false
}

/// Whether every one of `tools` is on PATH. Where one is missing, a test
/// that needs it is skipped with a message on a user's machine, but fails
/// under CI (CI=true), whose `.ci/run` installs them.
pub fn tools_present(test: &str, tools: &[&str]) -> bool {
    let missing: Vec<&str> = tools
        .iter()
        .copied()
        .filter(|tool| {
            !std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())
                .any(|dir| dir.join(tool).is_file())
        })
        .collect();
    if missing.is_empty() {
        return true;
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "{test}: {missing:?} missing under CI; .ci/run installs them"
    );
    eprintln!("skipping {test}: {missing:?} not installed (.ci/run installs them)");
    false
}

/// A small deterministic generator; the seed is printed so a failure can be replayed.
pub struct Lcg(pub u64);

impl Lcg {
    pub fn next(&mut self, below: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) % below
    }
}

/// An empty bare repository `remote.git` in `root`, for clones to push to
/// by its path.
pub fn bare_remote(root: &Path) -> PathBuf {
    let bare = root.join("remote.git");
    git(
        root,
        &["init", "-q", "--bare", "-b", "main", bare.to_str().unwrap()],
    );
    bare
}

/// A repository of its own (see [`new_repo`]) whose `origin` is the
/// repository at `bare`, by path.
pub fn clone_of(bare: &Path) -> tempfile::TempDir {
    let clone = new_repo();
    git(
        clone.path(),
        &["remote", "add", "origin", bare.to_str().unwrap()],
    );
    clone
}
