//! `.statebox/derived.yaml` is repository content: its commands run in the
//! hooks only for a content trusted in this clone (`statebox install
//! --trust-derived`), never because a merge, rebase or pull brought them.
//! Real clones, real `git merge`/`rebase`/`pull` with the hooks installed.

use crate::support::*;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

const RULES: &str = ".statebox/derived.yaml";

/// A contributor's repository and a user's clone of it with `statebox
/// install` in place (committed, so the clone has a commit of its own to
/// rebase). The marker lives outside both: a rule that ran leaves it.
struct Clone {
    upstream: tempfile::TempDir,
    _local: tempfile::TempDir,
    outside: tempfile::TempDir,
}

impl Clone {
    fn new() -> Clone {
        let upstream = new_repo();
        let local = tempfile::tempdir().unwrap();
        git(
            local.path(),
            &["clone", "-q", upstream.path().to_str().unwrap(), "c"],
        );
        let clone = Clone {
            upstream,
            _local: local,
            outside: tempfile::tempdir().unwrap(),
        };
        let c = clone.local();
        git(&c, &["config", "user.name", "User"]);
        git(&c, &["config", "user.email", "user@example.com"]);
        ok(&c, &["install"]);
        git(&c, &["add", ".gitattributes"]);
        git(&c, &["commit", "-q", "-m", "statebox install"]);
        clone
    }

    fn local(&self) -> PathBuf {
        self._local.path().join("c")
    }

    fn marker(&self, name: &str) -> PathBuf {
        self.outside.path().join(name)
    }

    /// The contributor commits a rules file whose rule appends to marker
    /// `name` and rewrites `data/gen.txt`, and changes a file it matches.
    fn contribute_rule(&self, name: &str, round: usize) {
        let u = self.upstream.path();
        std::fs::create_dir_all(u.join(".statebox")).unwrap();
        std::fs::create_dir_all(u.join("data")).unwrap();
        let rules = format!(
            "- path: data/*.txt\n  run: echo ran >> '{}' && printf 'generated {round}\\n' > data/gen.txt\n",
            self.marker(name).display()
        );
        std::fs::write(u.join(RULES), rules).unwrap();
        std::fs::write(u.join("data/input.txt"), format!("input {round}\n")).unwrap();
        let generated = u.join("data/gen.txt");
        std::fs::write(&generated, "stale\n").unwrap();
        // An executable output: the regenerated commit must keep the mode.
        std::fs::set_permissions(&generated, std::fs::Permissions::from_mode(0o755)).unwrap();
        git(u, &["add", "-A"]);
        git(u, &["commit", "-q", "-m", &format!("contribution {round}")]);
    }
}

/// Runs git in `dir`, requiring success; returns stderr (hook output).
fn git_stderr(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "git {args:?} failed: {stderr}");
    stderr
}

fn sha256_of(path: &Path) -> String {
    let out = Command::new("sha256sum").arg(path).output().unwrap();
    assert!(out.status.success());
    String::from_utf8(out.stdout).unwrap()[..64].to_owned()
}

fn assert_told_to_review(stderr: &str, sha256: &str) {
    for wanted in [
        "statebox: .statebox/derived.yaml is not trusted in this clone, so its commands did not run (rules for data/*.txt)",
        "git log -p -- .statebox/derived.yaml",
        "git diff ORIG_HEAD -- .statebox/derived.yaml",
        &format!("allow this content (sha256 {sha256})"),
        "statebox install --trust-derived",
    ] {
        assert!(stderr.contains(wanted), "{wanted:?} missing from: {stderr}");
    }
}

#[test]
fn a_rule_arriving_by_merge_rebase_or_pull_never_runs() {
    let ways: [&[&[&str]]; 4] = [
        &[&["fetch", "-q"], &["merge", "--no-edit", "origin/main"]],
        &[&["fetch", "-q"], &["rebase", "origin/main"]],
        &[&["pull", "--no-rebase", "--no-edit"]],
        &[&["pull", "--rebase"]],
    ];
    for commands in ways {
        let clone = Clone::new();
        let c = clone.local();
        clone.contribute_rule("marker", 1);
        let stderr: String = commands.iter().map(|args| git_stderr(&c, args)).collect();
        assert!(c.join(RULES).is_file(), "{commands:?}: the rule arrived");
        assert!(
            !clone.marker("marker").exists(),
            "{commands:?}: an untrusted rule ran"
        );
        assert_told_to_review(&stderr, &sha256_of(&c.join(RULES)));
        assert_eq!(
            std::fs::read_to_string(c.join("data/gen.txt")).unwrap(),
            "stale\n",
            "{commands:?}"
        );
        assert_eq!(
            git(&c, &["status", "--porcelain"]),
            "",
            "{commands:?}: nothing left half done"
        );
    }
}

#[test]
fn trusting_a_content_lets_it_run_until_the_file_changes() {
    let clone = Clone::new();
    let c = clone.local();
    clone.contribute_rule("first", 1);
    git_stderr(&c, &["pull", "--no-rebase", "--no-edit"]);
    assert!(!clone.marker("first").exists());
    let installed = ok(&c, &["install"]);
    assert!(
        installed.contains("untrusted: .statebox/derived.yaml"),
        "{installed}"
    );

    let sha256 = sha256_of(&c.join(RULES));
    let trusted = ok(&c, &["install", "--trust-derived"]);
    assert!(
        trusted.contains(&format!(
            "trusted:   .statebox/derived.yaml (sha256 {sha256})"
        )) && trusted.contains("data/*.txt: echo ran >>"),
        "shows what it trusts: {trusted}"
    );
    let list = std::fs::read_to_string(c.join(".git/statebox/trusted-derived")).unwrap();
    assert_eq!(list, format!("{sha256}\n"));

    // The same merge again, now trusted: the rule runs in the hook and its
    // output is committed with its mode.
    git(&c, &["reset", "-q", "--hard", "ORIG_HEAD"]);
    let stderr = git_stderr(&c, &["merge", "--no-edit", "origin/main"]);
    assert!(!stderr.contains("not trusted"), "{stderr}");
    assert_eq!(
        std::fs::read_to_string(clone.marker("first")).unwrap(),
        "ran\n"
    );
    assert_eq!(
        git(&c, &["log", "-1", "--format=%s"]),
        "Regenerate derived files: data/gen.txt"
    );
    assert_eq!(
        git(&c, &["ls-tree", "HEAD", "data/gen.txt"])[..6].to_owned(),
        "100755"
    );
    let mode = std::fs::metadata(c.join("data/gen.txt"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o755);

    // The contributor changes the rule: untrusted again, by merge and by hand.
    clone.contribute_rule("second", 2);
    let stderr = git_stderr(&c, &["pull", "--no-rebase", "--no-edit"]);
    let changed = sha256_of(&c.join(RULES));
    assert_ne!(changed, sha256);
    assert_told_to_review(&stderr, &changed);
    assert!(!clone.marker("second").exists(), "a changed rule ran");
    let err = fails(&c, &["regen"], 9);
    assert!(err.contains(&format!("(sha256 {changed})")), "{err}");
    assert!(!clone.marker("second").exists(), "regen ran a changed rule");

    ok(&c, &["install", "--trust-derived"]);
    ok(&c, &["regen"]);
    assert_eq!(
        std::fs::read_to_string(clone.marker("second")).unwrap(),
        "ran\n"
    );
}

#[test]
fn trusting_without_a_rules_file_or_beyond_one_repository_is_refused() {
    let repo = new_repo();
    let r = repo.path();
    let err = fails(r, &["install", "--trust-derived"], 3);
    assert!(
        err.contains(".statebox/derived.yaml: no such file, nothing to trust"),
        "{err}"
    );
    assert!(!r.join(".git/statebox/trusted-derived").exists());
    let err = fails(r, &["install", "--global", "--trust-derived"], 2);
    assert!(err.contains("--global"), "{err}");
    let err = fails(r, &["install", "--check", "--trust-derived"], 2);
    assert!(err.contains("--check"), "{err}");
}

/// A trusted rule still never runs while a tracked symlink leading out of
/// the work tree sits where it writes (the link arrives by merge like any
/// file); a link that stays inside is no obstacle.
#[test]
fn a_trusted_rule_never_writes_through_a_symlink_leading_out() {
    let repo = new_repo();
    let r = repo.path();
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(outside.path().join("victim"), "precious\n").unwrap();
    std::fs::create_dir_all(r.join(".statebox")).unwrap();
    std::fs::write(
        r.join(RULES),
        "- path: gen/*.txt\n  run: mkdir -p gen && printf 'generated\\n' > gen/out.txt\n",
    )
    .unwrap();
    ok(r, &["install", "--trust-derived"]);
    let out_file = r.join("gen/out.txt");
    type Plant = fn(&Path, &Path);
    let cases: [(&str, Plant); 2] = [
        ("gen", |repo, outside| {
            std::os::unix::fs::symlink(outside, repo.join("gen")).unwrap()
        }),
        ("gen/out.txt", |repo, outside| {
            std::fs::create_dir_all(repo.join("gen")).unwrap();
            std::os::unix::fs::symlink(outside.join("victim"), repo.join("gen/out.txt")).unwrap();
        }),
    ];
    for (link, plant) in cases {
        plant(r, outside.path());
        git(r, &["add", "-A"]);
        git(r, &["commit", "-q", "-m", &format!("link {link}")]);
        let err = fails(r, &["regen"], 10);
        assert!(
            err.contains(&format!(
                "{link} is a symbolic link leading out of the work tree"
            )),
            "{err}"
        );
        assert_eq!(
            std::fs::read_to_string(outside.path().join("victim")).unwrap(),
            "precious\n"
        );
        assert!(
            !outside.path().join("out.txt").exists(),
            "wrote through {link}"
        );
        git(r, &["rm", "-q", "-r", "gen"]);
        git(r, &["commit", "-q", "-m", "unlink"]);
    }

    std::fs::create_dir_all(r.join("gen")).unwrap();
    std::fs::write(r.join("real.txt"), "old\n").unwrap();
    std::os::unix::fs::symlink("../real.txt", &out_file).unwrap();
    git(r, &["add", "-A"]);
    git(r, &["commit", "-q", "-m", "link inside"]);
    ok(r, &["regen"]);
    assert_eq!(
        std::fs::read_to_string(r.join("real.txt")).unwrap(),
        "generated\n"
    );
}
