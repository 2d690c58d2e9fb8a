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
