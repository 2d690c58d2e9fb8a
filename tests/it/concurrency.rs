//! Many writer processes at once against one repository: no update lost,
//! history linear, repository consistent; and writers killed mid-write never
//! leave the branch pointing at anything but a valid state.

use crate::support::*;
use std::path::Path;
use std::process::{Command, Stdio};

const REL: &str = "4.19.1";
const PATH: &str = "_releases/4.19/statebox/4.19.1.yaml";
const WRITERS: usize = 8;
const WRITES: usize = 50;

fn run_writer(repo: &Path, catalog: &Path, writer: usize) -> Vec<String> {
    let mut failures = Vec::new();
    for j in 0..WRITES {
        let task = format!("w{writer}-op{j}");
        let issue = format!("issue from writer {writer} write {j}");
        let meta = format!("w{writer}_op{j}:={j}");
        let args: Vec<&str> = match j % 3 {
            0 => vec!["task", "set", "-r", REL, &task, "--status", "Pass"],
            1 => vec!["issue", "add", "-r", REL, &issue],
            _ => vec!["meta", "set", "-r", REL, &meta],
        };
        let out = Command::new(statebox_bin())
            .arg("--repo")
            .arg(repo)
            .arg("--catalog")
            .arg(catalog)
            .args(&args)
            .output()
            .unwrap();
        if !out.status.success() {
            failures.push(format!(
                "{args:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            ));
        }
    }
    failures
}

#[test]
fn eight_processes_fifty_writes_each_lose_nothing() {
    let repo = new_repo();
    let r = repo.path().to_owned();
    let catalog = r.join("catalog.txt");
    let names: Vec<String> = (0..WRITERS)
        .flat_map(|w| (0..WRITES).map(move |j| format!("w{w}-op{j}")))
        .collect();
    std::fs::write(&catalog, names.join("\n")).unwrap();

    let handles: Vec<_> = (0..WRITERS)
        .map(|w| {
            let (r, catalog) = (r.clone(), catalog.clone());
            std::thread::spawn(move || run_writer(&r, &catalog, w))
        })
        .collect();
    let failures: Vec<String> = handles
        .into_iter()
        .flat_map(|h| h.join().unwrap())
        .collect();
    assert!(failures.is_empty(), "failed writes: {failures:#?}");

    let state: serde_json::Value = serde_json::from_str(&ok(
        &r,
        &[
            "--catalog",
            catalog.to_str().unwrap(),
            "show",
            "-r",
            REL,
            "--json",
        ],
    ))
    .unwrap();
    let mut missing = Vec::new();
    for w in 0..WRITERS {
        for j in 0..WRITES {
            let present = match j % 3 {
                0 => state["tasks"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|t| t["name"] == format!("w{w}-op{j}") && t["status"] == "Pass"),
                1 => state["issues"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|i| i["issue"] == format!("issue from writer {w} write {j}")),
                _ => state["metadata"][format!("w{w}_op{j}")] == j,
            };
            if !present {
                missing.push((w, j));
            }
        }
    }
    assert!(missing.is_empty(), "lost updates: {missing:?}");
    assert_eq!(
        git(&r, &["rev-list", "--count", "record"]),
        (WRITERS * WRITES).to_string(),
        "one commit per write"
    );
    assert_eq!(
        git(&r, &["rev-list", "--merges", "record"]),
        "",
        "history is linear"
    );
    git(&r, &["fsck", "--strict", "--no-progress"]);
}

#[test]
fn writers_killed_at_random_moments_leave_a_valid_branch() {
    let repo = new_repo();
    let r = repo.path();
    ok(
        r,
        &[
            "task",
            "set",
            "-r",
            REL,
            "take-ownership",
            "--status",
            "Pass",
        ],
    );
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64;
    eprintln!("crash test seed: {seed}");
    let mut rng = Lcg(seed);
    let big = r.join("big.log");
    std::fs::write(
        &big,
        "2026-06-25T10:00:00Z: INFO: line of output\n".repeat(20_000),
    )
    .unwrap();
    let mut killed = 0;
    for round in 0..30 {
        let children: Vec<_> = (0..4)
            .map(|k| {
                let mut cmd = Command::new(statebox_bin());
                cmd.arg("--repo").arg(r);
                match k % 3 {
                    0 => cmd
                        .args([
                            "task",
                            "set",
                            "-r",
                            REL,
                            "stage-testing",
                            "--status",
                            "Pass",
                            "--result-file",
                        ])
                        .arg(&big),
                    1 => cmd.args([
                        "issue",
                        "add",
                        "-r",
                        REL,
                        &format!("round {round} writer {k}"),
                    ]),
                    _ => cmd.args(["meta", "set", "-r", REL, &format!("round_{round}_{k}=1")]),
                };
                cmd.stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .spawn()
                    .unwrap()
            })
            .collect();
        std::thread::sleep(std::time::Duration::from_micros(rng.next(40_000)));
        for mut child in children {
            if child.try_wait().unwrap().is_none() {
                killed += 1;
            }
            child.kill().ok();
            child.wait().unwrap();
        }
        // The branch is a commit whose state file parses and validates.
        assert_eq!(
            git(r, &["cat-file", "-t", "record"]),
            "commit",
            "round {round}"
        );
        let file = r.join("check.yaml");
        std::fs::write(&file, show(r, &format!("record:{PATH}"))).unwrap();
        ok(r, &["validate", file.to_str().unwrap()]);
    }
    eprintln!("killed {killed} writers mid-run");
    // Writes after the crashes still work, and the object store is sound.
    ok(r, &["issue", "add", "-r", REL, "after the storm"]);
    git(r, &["fsck", "--no-progress"]);
}

/// A process holding statebox's ref lock (an flock, as statebox takes it)
/// with its holder's note written, and git's own `record.lock` beside it:
/// a writer in the middle of moving the branch.
fn writer_inside_the_lock(repo: &Path) -> std::process::Child {
    let lock = repo.join(".git/statebox/locks/refs/heads/record");
    std::fs::create_dir_all(lock.parent().unwrap()).unwrap();
    let script = "import fcntl, os, sys, time\n\
        lock = open(sys.argv[1], 'a+')\n\
        fcntl.flock(lock, fcntl.LOCK_EX)\n\
        lock.truncate(0)\n\
        lock.write(f'pid {os.getpid()} since then')\n\
        lock.flush()\n\
        open(sys.argv[2], 'w').close()\n\
        print('in', flush=True)\n\
        time.sleep(600)\n";
    Command::new("python3")
        .args(["-c", script])
        .arg(&lock)
        .arg(repo.join(".git/refs/heads/record.lock"))
        .stdout(Stdio::piped())
        .spawn()
        .unwrap()
}

/// A process holding an flock on `path` until it is killed.
fn holding_flock(path: &Path) -> std::process::Child {
    let script = "import fcntl, os, sys, time\n\
        fd = os.open(sys.argv[1], os.O_RDONLY)\n\
        fcntl.flock(fd, fcntl.LOCK_EX)\n\
        print('in', flush=True)\n\
        time.sleep(600)\n";
    Command::new("python3")
        .args(["-c", script])
        .arg(path)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap()
}

fn wait_until_inside(child: &mut std::process::Child) {
    let mut line = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(child.stdout.as_mut().unwrap()),
        &mut line,
    )
    .unwrap();
    assert_eq!(line.trim(), "in", "the holder took the lock");
}

/// A lock whose holder is alive (stalled, say) is never broken: the write
/// waits out its retry budget, names the lock and its holder, exits 6 and
/// changes nothing; once the holder is gone (killed inside the lock, its
/// git lock file left behind), the next write clears that file and lands.
#[test]
fn a_ref_lock_is_broken_only_when_its_holder_is_dead() {
    let repo = new_repo();
    let r = repo.path();
    ok(r, &["issue", "add", "-r", REL, "first"]);
    let before = tip(r, "record");
    let mut holder = writer_inside_the_lock(r);
    wait_until_inside(&mut holder);
    let err = fails(r, &["issue", "add", "-r", REL, "second"], 6);
    assert!(
        err.contains(".git/statebox/locks/refs/heads/record")
            && err.contains(&format!("pid {}", holder.id())),
        "names the lock and its holder: {err}"
    );
    assert_eq!(tip(r, "record"), before, "nothing was written");
    let git_lock = r.join(".git/refs/heads/record.lock");
    assert!(git_lock.exists(), "a live holder's git lock stays");

    holder.kill().unwrap();
    holder.wait().unwrap();
    ok(r, &["issue", "add", "-r", REL, "second"]);
    assert!(!git_lock.exists(), "the dead holder's git lock was cleared");
    assert!(show(r, &format!("record:{PATH}")).contains("second"));
    git(r, &["fsck", "--strict", "--no-progress"]);
}

/// git's own `record.lock`, however old, belongs to a git process statebox
/// cannot see: it is waited for and named, never deleted.
#[test]
fn a_git_ref_lock_is_respected_however_old() {
    let repo = new_repo();
    let r = repo.path();
    ok(r, &["issue", "add", "-r", REL, "first"]);
    let lock = r.join(".git/refs/heads/record.lock");
    std::fs::write(&lock, "0000000000000000000000000000000000000000\n").unwrap();
    let status = Command::new("touch")
        .args(["-d", "1 hour ago"])
        .arg(&lock)
        .status()
        .unwrap();
    assert!(status.success());
    let err = fails(r, &["issue", "add", "-r", REL, "second"], 6);
    assert!(
        err.contains("refs/heads/record.lock") && err.contains("a git process"),
        "{err}"
    );
    assert!(lock.exists(), "git's lock is not ours to delete");
    std::fs::remove_file(&lock).unwrap();
    ok(r, &["issue", "add", "-r", REL, "second"]);
}

#[test]
fn writers_racing_to_create_the_branch_all_land() {
    // The first write creates the branch; creation must be compare-and-swap
    // too, or two creators can both "succeed" and one commit is lost.
    for round in 0..10 {
        let repo = new_repo();
        let r = repo.path();
        let children: Vec<_> = (0..6)
            .map(|k| {
                Command::new(statebox_bin())
                    .arg("--repo")
                    .arg(r)
                    .args(["issue", "add", "-r", REL, &format!("creator {k}")])
                    .stdout(Stdio::null())
                    .stderr(Stdio::piped())
                    .spawn()
                    .unwrap()
            })
            .collect();
        for child in children {
            let out = child.wait_with_output().unwrap();
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        let file = show(r, &format!("record:{PATH}"));
        for k in 0..6 {
            assert!(
                file.contains(&format!("creator {k}")),
                "round {round}: creator {k} lost:\n{file}"
            );
        }
        assert_eq!(
            git(r, &["rev-list", "--count", "record"]),
            "6",
            "round {round}"
        );
    }
}

#[test]
fn only_one_of_many_simultaneous_branch_creations_succeeds() {
    use statebox::backend::{Backend, BackendError, CasToken, GitBackend};
    use std::sync::{Arc, Barrier};
    for round in 0..20 {
        let repo = new_repo();
        let barrier = Arc::new(Barrier::new(8));
        let handles: Vec<_> = (0..8)
            .map(|k| {
                let (path, barrier) = (repo.path().to_owned(), barrier.clone());
                std::thread::spawn(move || {
                    let store = GitBackend::open(&path, "record").unwrap();
                    let content = format!("writer {k}\n");
                    barrier.wait();
                    store.write(PATH, content.as_bytes(), &CasToken(None), "create")
                })
            })
            .collect();
        let results: Vec<_> = handles.into_iter().map(|h| h.join().unwrap()).collect();
        let won = results.iter().filter(|r| r.is_ok()).count();
        assert_eq!(
            won, 1,
            "round {round}: {won} writers all created the branch"
        );
        assert!(
            results.iter().all(|r| matches!(
                r,
                Ok(_) | Err(BackendError::Stale | BackendError::Locked { .. })
            )),
            "round {round}: the others lost the race or found the winner moving the ref"
        );
    }
}

/// `--dir`: a writer holding a release folder's lock makes others wait and
/// then exit 6 naming the folder; killed, it blocks no one (its lock dies
/// with it), where a lock file it left would have failed every later write.
#[test]
fn a_dir_writer_killed_inside_its_lock_blocks_no_one() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();
    let write = |text: &str| statebox(dir.path(), &["--dir", d, "issue", "add", "-r", REL, text]);
    assert!(write("first").status.success());
    let folder = dir.path().join(PATH).parent().unwrap().to_owned();
    let mut holder = holding_flock(&folder);
    wait_until_inside(&mut holder);
    let blocked = write("second");
    let stderr = String::from_utf8_lossy(&blocked.stderr);
    assert_eq!(blocked.status.code(), Some(6), "{stderr}");
    assert!(
        stderr.contains(folder.to_str().unwrap()),
        "names the lock: {stderr}"
    );
    assert!(
        !std::fs::read_to_string(dir.path().join(PATH))
            .unwrap()
            .contains("second")
    );

    holder.kill().unwrap();
    holder.wait().unwrap();
    for k in 0..3 {
        let out = write(&format!("after the kill {k}"));
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}
