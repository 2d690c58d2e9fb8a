//! Reading what is on the store, whatever is there: branch names checked as
//! git checks them.

use crate::support::*;
use std::process::Command;

/// Names git itself takes as branch names that statebox refuses, because
/// git reads them as something else (`@` is HEAD) or they are full refs.
const STRICTER_THAN_GIT: &[&str] = &["@", "refs/heads/x", "refs/x", "refs/heads/record"];

/// Every name is judged as `git check-ref-format --branch` judges it, except
/// the few above, which git accepts and statebox refuses: usage error, exit
/// 2, naming the branch; nothing is written.
#[test]
fn branch_names_are_checked_as_git_checks_them() {
    let names = [
        "record",
        "a/b",
        "release/4.19",
        "ä",
        "x@",
        "@x",
        "a/@/b",
        "a.lock.b",
        "HEAD/x",
        "x/HEAD",
        "refs",
        "a..b",
        "x.lock",
        "foo.lock/bar",
        ".x",
        "x/.y",
        "a b",
        "a~b",
        "a^b",
        "a:b",
        "a?b",
        "a*b",
        "a[b",
        "a\\b",
        "a@{b",
        "@{-1}",
        "-x",
        "-",
        "HEAD",
        "x/",
        "x//y",
        "/x",
        "x.",
        "x/..",
        "..",
        ".",
        "",
        "a\tb",
        "a\u{7f}b",
        "@",
        "refs/heads/x",
        "refs/x",
        "refs/heads/record",
    ];
    let outside_any_repo = tempfile::tempdir().unwrap();
    let repo = new_repo();
    for name in names {
        let git_accepts = Command::new("git")
            .args(["check-ref-format", "--branch", name])
            .current_dir(outside_any_repo.path())
            .output()
            .unwrap()
            .status
            .success();
        let branch = format!("--branch={name}");
        let out = statebox(
            repo.path(),
            &[
                &branch,
                "task",
                "set",
                "-r",
                "4.19.1",
                "create-test-report",
                "--status",
                "Pass",
            ],
        );
        let stderr = String::from_utf8_lossy(&out.stderr);
        let refused = out.status.code() == Some(2);
        let stricter = STRICTER_THAN_GIT.contains(&name);
        assert_eq!(
            refused,
            !git_accepts || stricter,
            "{name:?}: git accepts: {git_accepts}, statebox: {:?} {stderr}",
            out.status.code()
        );
        if refused {
            assert!(
                stderr.contains(&format!("invalid branch name '{}'", shown(name))),
                "{name:?}: {stderr}"
            );
        }
        if stricter {
            assert!(git_accepts, "{name:?} is refused by git too: not stricter");
        }
    }
    let refs = git(repo.path(), &["for-each-ref", "--format=%(refname)"]);
    let valid: Vec<&str> = names
        .iter()
        .copied()
        .filter(|n| statebox::branch::validate(n).is_ok())
        .collect();
    let written: Vec<&str> = refs
        .lines()
        .filter_map(|r| r.strip_prefix("refs/heads/"))
        .filter(|b| *b != "main")
        .collect();
    let mut expected = valid.clone();
    expected.sort();
    let mut written = written;
    written.sort();
    assert_eq!(written, expected, "only valid branches were written");
}

/// A name as error messages show it: control characters escaped.
fn shown(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_control() {
                c.escape_unicode().to_string()
            } else {
                c.to_string()
            }
        })
        .collect()
}
