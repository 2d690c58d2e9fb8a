//! `--dir` folders are untrusted content too: a write never follows a
//! symlink out of the folder, and a rewritten state file keeps its mode.

use crate::support::*;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Output};

const REL: &str = "4.19.1";
const STATE: &str = "_releases/4.19/statebox/4.19.1.yaml";

/// `statebox --dir DIR args...` under umask 022, so new files' modes are known.
fn in_dir(dir: &Path, args: &[&str]) -> Output {
    Command::new("sh")
        .arg("-c")
        .arg(r#"umask 022; exec "$@""#)
        .arg("sh")
        .arg(statebox_bin())
        .arg("--dir")
        .arg(dir)
        .args(args)
        .output()
        .unwrap()
}

fn set_task(dir: &Path, status: &str) -> Output {
    in_dir(
        dir,
        &[
            "task",
            "set",
            "-r",
            REL,
            "take-ownership",
            "--status",
            status,
        ],
    )
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

/// Every file under `dir` with its content: what "nothing written" compares.
fn files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(at) = stack.pop() {
        for entry in std::fs::read_dir(&at).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                found.push((path.display().to_string(), std::fs::read(&path).unwrap()));
            }
        }
    }
    found.sort();
    found
}

#[test]
fn a_write_never_follows_a_symlink_out_of_the_folder() {
    let outside = tempfile::tempdir().unwrap();
    // A state file outside, to be linked in (made by a write elsewhere).
    let elsewhere = tempfile::tempdir().unwrap();
    assert!(set_task(elsewhere.path(), "Pass").status.success());
    std::fs::copy(
        elsewhere.path().join(STATE),
        outside.path().join("state.yaml"),
    )
    .unwrap();

    type Plant = fn(&Path, &Path);
    let cases: [(&str, Plant); 3] = [
        ("_releases/4.19", |dir, outside| {
            std::fs::create_dir_all(dir.join("_releases")).unwrap();
            std::os::unix::fs::symlink(outside, dir.join("_releases/4.19")).unwrap();
        }),
        ("_releases", |dir, outside| {
            std::os::unix::fs::symlink(outside, dir.join("_releases")).unwrap();
        }),
        (STATE, |dir, outside| {
            std::fs::create_dir_all(dir.join(STATE).parent().unwrap()).unwrap();
            std::os::unix::fs::symlink(outside.join("state.yaml"), dir.join(STATE)).unwrap();
        }),
    ];
    for (link, plant) in cases {
        let dir = tempfile::tempdir().unwrap();
        plant(dir.path(), outside.path());
        let before = files(outside.path());
        let out = set_task(dir.path(), "Fail");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(10), "{link}: {stderr}");
        assert!(
            stderr.contains(&format!(
                "{}: is a symbolic link to {}",
                dir.path().join(link).display(),
                outside.path().display()
            )) && stderr.contains("statebox does not write through it"),
            "{link}: {stderr}"
        );
        assert_eq!(files(outside.path()), before, "{link}: written outside");
        assert!(
            std::fs::symlink_metadata(dir.path().join(link))
                .unwrap()
                .file_type()
                .is_symlink()
        );
    }

    // A link that stays inside the folder is followed as before.
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("shared/4.19")).unwrap();
    std::fs::create_dir_all(dir.path().join("_releases")).unwrap();
    std::os::unix::fs::symlink("../shared/4.19", dir.path().join("_releases/4.19")).unwrap();
    let out = set_task(dir.path(), "Pass");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        dir.path()
            .join("shared/4.19/statebox/4.19.1.yaml")
            .is_file()
    );
}

#[test]
fn a_rewritten_state_file_keeps_its_mode() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    assert!(set_task(d, "In Progress").status.success());
    let state = d.join(STATE);
    assert_eq!(mode(&state), 0o644, "a new file gets the umask's mode");
    for wanted in [0o644, 0o664, 0o640] {
        std::fs::set_permissions(&state, std::fs::Permissions::from_mode(wanted)).unwrap();
        let before = std::fs::read(&state).unwrap();
        let status = if wanted == 0o664 { "Pass" } else { "Fail" };
        let out = set_task(d, status);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_ne!(std::fs::read(&state).unwrap(), before, "rewritten");
        assert_eq!(mode(&state), wanted);
    }
}
