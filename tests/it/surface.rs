//! The command line as a user meets it: pipes that close early, option
//! positions, help.

use crate::support::*;
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::Command;

fn sample() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// `statebox status | head -1`, `statebox show ... | :`: the reader is gone
/// before statebox writes. It must end quietly (0, or killed by SIGPIPE as
/// Unix tools are: the shell shows 141), never panic (101).
#[test]
fn a_closed_stdout_ends_quietly() {
    for args in [
        vec!["status"],
        vec!["show", "-r", "4.19.40", "--yaml"],
        vec!["show", "-r", "4.19.40", "--json"],
        vec!["issue", "list", "-r", "4.19.40", "--all"],
    ] {
        let (reader, writer) = std::io::pipe().unwrap();
        drop(reader);
        let out = Command::new(statebox_bin())
            .args(&args)
            .arg("--dir")
            .arg(sample())
            .stdout(writer)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        let quiet = out.status.code() == Some(0) || out.status.signal() == Some(libc_sigpipe());
        assert!(quiet, "{args:?}: {:?}, stderr: {stderr}", out.status);
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
    }
}

/// SIGPIPE is 13 on every Linux architecture.
fn libc_sigpipe() -> i32 {
    13
}

/// Scripts put the store options before the command; the help lists them
/// after it. Both positions mean the same.
#[test]
fn store_options_work_before_and_after_the_command() {
    let repo = new_repo();
    let dir = sample().to_str().unwrap();
    let before = ok(repo.path(), &["--dir", dir, "status", "--json"]);
    let after = ok(repo.path(), &["status", "--json", "--dir", dir]);
    assert_eq!(before, after);
    assert!(before.contains("4.19.40"));
    let refused = fails(repo.path(), &["--dir", dir, "fmt", "x.yaml"], 2);
    assert!(refused.contains("--dir"), "{refused}");
}

/// A state file that arrived on the branch may hold terminal control
/// sequences (the write path cleans what statebox writes, not what others
/// wrote). Human output shows them escaped; --json keeps them exactly.
#[test]
fn human_output_escapes_terminal_controls() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("_releases/4.19/statebox/4.19.1.yaml");
    std::fs::create_dir_all(file.parent().unwrap()).unwrap();
    std::fs::write(
        &file,
        "schema_version: '1.0'\nrelease: 4.19.1\ncreated_at: '2026-06-25T13:00:13Z'\n\
         updated_at: '2026-06-25T13:00:13Z'\nmetadata:\n  note: \"a\\e]0;pwned\\ab\"\n\
         tasks:\n- name: drop-bugs\n  status: Pass\n  started_at: null\n  completed_at: null\n\
         \x20 result: \"ok\\e[2Jgone\\x07\\nnext\\tline\"\nissues:\n\
         - issue: \"flaky\\e[8m hidden\"\n  reported_at: '2026-06-25T13:00:13Z'\n  resolved: false\n\
         \x20 resolution: null\n  blocker: false\n  related_tasks: []\n",
    )
    .unwrap();
    let d = dir.path().to_str().unwrap();
    for args in [
        vec!["task", "get", "-r", "4.19.1", "drop-bugs"],
        vec!["show", "-r", "4.19.1"],
        vec!["issue", "list", "-r", "4.19.1"],
        vec!["meta", "get", "-r", "4.19.1", "note"],
    ] {
        let out = ok(dir.path(), &[&args[..], &["--dir", d]].concat());
        assert!(
            !out.contains(['\u{1b}', '\u{7}']),
            "{args:?} passed a control through: {out:?}"
        );
        assert!(out.contains("\\u{1b}"), "{args:?}: {out:?}");
    }
    let task = ok(
        dir.path(),
        &[
            "task",
            "get",
            "-r",
            "4.19.1",
            "drop-bugs",
            "--json",
            "--dir",
            d,
        ],
    );
    assert!(
        task.contains("ok\\u001b[2Jgone\\u0007\\nnext\\tline"),
        "{task}"
    );
    let shown = ok(
        dir.path(),
        &["task", "get", "-r", "4.19.1", "drop-bugs", "--dir", d],
    );
    assert!(
        shown.contains("next\tline"),
        "newline and tab stay: {shown:?}"
    );
}
