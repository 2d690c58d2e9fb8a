//! Writes on a full disk: a real, small tmpfs (mounted in a private mount
//! namespace by `unshare`) filled to within a few KiB, so that the write
//! fails at every stage in turn: the blob, the trees and commit, the ref
//! lock, the reflog. Each failure says what it is ("No space left on
//! device") and names the folder; none says "no error"; the branch or
//! folder keeps its old state; `git fsck --strict` stays clean.

use crate::support::*;
use std::process::Command;

/// Runs inside the namespace: mounts the tmpfs at $2, seeds a repository
/// and a `--dir` folder, then for each amount of free space runs one
/// write of each store and prints what happened, block by block (its
/// stderr goes to $3, off the full disk).
const SCENARIO: &str = r#"
set -eu
statebox=$1 at=$2 err=$3/err
mount -t tmpfs -o size=1m tmpfs "$at"
cd "$at"
git init -q repo
git -C repo -c user.name=t -c user.email=t@x commit -q --allow-empty -m init
mkdir folder
"$statebox" --repo repo task set -r 4.19.1 stage-testing --status Pass >/dev/null 2>&1
"$statebox" --dir folder task set -r 4.19.1 stage-testing --status Pass >/dev/null 2>&1
result=$(head -c 6000 /dev/zero | tr '\0' 'r')
for free in 0 4 8 12 16 20 24 28 32 40 48 64; do
  for store in repo folder; do
    rm -f fill
    avail=$(df -k --output=avail . | tail -1)
    if [ "$avail" -gt "$free" ]; then
      dd if=/dev/zero of=fill bs=1k count=$((avail - free)) 2>/dev/null || true
    fi
    if [ "$store" = repo ]; then
      before=$(git -C repo rev-parse record)
      flag=--repo
    else
      before=$(sha1sum folder/_releases/4.19/statebox/4.19.1.yaml)
      flag=--dir
    fi
    set +e
    "$statebox" $flag $store task set -r 4.19.1 stage-testing --status Fail \
      --result "mark-$free $result" >/dev/null 2>"$err"
    code=$?
    set -e
    rm -f fill
    if [ "$store" = repo ]; then
      after=$(git -C repo rev-parse record)
      wrote=$(git -C repo show record:_releases/4.19/statebox/4.19.1.yaml | grep -c "mark-$free " || true)
    else
      after=$(sha1sum folder/_releases/4.19/statebox/4.19.1.yaml)
      wrote=$(grep -c "mark-$free " folder/_releases/4.19/statebox/4.19.1.yaml || true)
    fi
    echo "== $store free=$free code=$code moved=$([ "$before" = "$after" ] && echo no || echo yes) wrote=$wrote"
    cat "$err"
    # Put the state back, so that each amount of free space starts alike.
    "$statebox" $flag $store task set -r 4.19.1 stage-testing --status Pass >/dev/null 2>&1
  done
done
echo "== fsck"
git -C repo fsck --strict 2>&1
echo "== end"
"#;

/// `unshare` with the options that give this process a mount namespace
/// (as root, or as the root of a new user namespace); `None` where the
/// kernel allows neither.
fn unshare_options() -> Option<&'static [&'static str]> {
    [&["-m"][..], &["-Urm"][..]].into_iter().find(|options| {
        Command::new("unshare")
            .args(*options)
            .args(["sh", "-c", "mount -t tmpfs tmpfs /mnt"])
            .output()
            .is_ok_and(|out| out.status.success())
    })
}

#[test]
fn a_full_disk_fails_each_write_clearly_and_changes_nothing() {
    let Some(options) = unshare_options() else {
        assert!(
            std::env::var_os("CI").is_none(),
            "no mount namespace under CI"
        );
        eprintln!("skipping: this kernel lets no mount namespace be made here");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let mount = dir.path().join("disk");
    std::fs::create_dir(&mount).unwrap();
    let out = Command::new("unshare")
        .args(options)
        .args(["sh", "-c", SCENARIO, "scenario"])
        .arg(statebox_bin())
        .arg(&mount)
        .arg(dir.path())
        .output()
        .unwrap();
    let log = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success() && log.ends_with("== end\n"),
        "{log}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut failed = 0;
    let blocks: Vec<&str> = log.split("== ").skip(1).collect();
    for block in &blocks[..blocks.len() - 2] {
        let (head, err) = block.split_once('\n').unwrap();
        let field = |name: &str| {
            head.split(' ')
                .find_map(|f| f.strip_prefix(&format!("{name}=")))
                .unwrap()
                .to_owned()
        };
        match field("code").as_str() {
            "0" => assert_eq!(field("wrote"), "1", "{head}: exit 0 but not written"),
            "10" => {
                failed += 1;
                assert_eq!(field("moved"), "no", "{head}: failed, yet changed:\n{err}");
                assert!(err.contains("No space left on device"), "{head}:\n{err}");
                assert!(!err.contains("no error"), "{head}:\n{err}");
                let place = if head.starts_with("repo") {
                    mount.join("repo/.git").display().to_string()
                } else {
                    "folder/_releases/4.19/statebox/4.19.1.yaml".to_owned()
                };
                assert!(
                    err.contains(&place),
                    "{head}: does not name {place}:\n{err}"
                );
                assert!(err.contains("nothing was written"), "{head}:\n{err}");
            }
            code => panic!("{head}: exit {code}:\n{err}"),
        }
    }
    assert!(failed >= 4, "the disk was never full enough:\n{log}");
    let fsck = blocks[blocks.len() - 2];
    assert!(
        !fsck.contains("error") && !fsck.contains("missing") && !fsck.contains("broken"),
        "{fsck}"
    );
}
