//! Chaos: 16 writer processes writing without pause for 30 s while a
//! monkey SIGKILLs some and freezes others (SIGSTOP, then SIGCONT a moment
//! later), on one repository, on a `--dir` folder, and through a
//! local-path remote. Afterwards every write that exited 0 is on the
//! branch (or in the folder) exactly once, every other write is either
//! absent or was reported (a documented exit code and a message), no write
//! is there twice, and `git fsck --strict` is clean.
//!
//! `STATEBOX_CHAOS_SECS` sets the length of each run (30 s by default).

use crate::support::*;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const REL: &str = "4.19.1";
const WRITERS: usize = 16;

/// Where the writers write.
#[derive(Clone, Copy, Debug)]
enum Store {
    Repo,
    Dir,
    LocalRemote,
}

/// How one write ended.
#[derive(Debug)]
struct Outcome {
    /// The issue text or metadata key the write adds: unique to it.
    mark: String,
    /// Its exit code; `None` when a signal ended it (the monkey's SIGKILL).
    code: Option<i32>,
    stderr: String,
}

/// The running writer processes, by slot, and a lock under which a slot
/// reaps its child and the monkey signals one: so a pid is never signalled
/// after it was reaped (and perhaps reused).
type Live = Arc<Mutex<Vec<Option<u32>>>>;

fn seconds() -> u64 {
    std::env::var("STATEBOX_CHAOS_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(30)
}

/// The `n`-th write of slot `slot`: an issue or a metadata key, each
/// naming itself.
fn write_args(slot: usize, n: usize) -> (String, Vec<String>) {
    let rel = REL.to_owned();
    if n.is_multiple_of(2) {
        let text = format!("chaos issue {slot}-{n}");
        let args = vec!["issue".into(), "add".into(), "-r".into(), rel, text.clone()];
        (text, args)
    } else {
        let key = format!("chaos_{slot}_{n}");
        let args = vec![
            "meta".into(),
            "set".into(),
            "-r".into(),
            rel,
            format!("{key}=1"),
        ];
        (key, args)
    }
}

/// A statebox command that writes into `target` of `store`.
fn writer(store: Store, target: &Path) -> Command {
    let mut command = Command::new(statebox_bin());
    match store {
        Store::Repo => command.arg("--repo").arg(target),
        Store::Dir => command.arg("--dir").arg(target),
        Store::LocalRemote => command
            .arg("--repo")
            .arg(target)
            .args(["--remote", "origin"]),
    };
    command
        .env_remove("STATEBOX_REMOTE")
        .env_remove("STATEBOX_BRANCH");
    command
}

/// Runs writes from `slot` into `target` until `stop`, one at a time.
fn writer_slot(
    store: Store,
    target: &Path,
    slot: usize,
    live: &Live,
    stop: &AtomicBool,
) -> Vec<Outcome> {
    let mut outcomes = Vec::new();
    for n in 0.. {
        if stop.load(Ordering::Relaxed) {
            break;
        }
        let (mark, args) = write_args(slot, n);
        let child = writer(store, target)
            .args(&args)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        live.lock().unwrap()[slot] = Some(child.id());
        let (code, stderr) = reap(child, slot, live);
        outcomes.push(Outcome { mark, code, stderr });
    }
    outcomes
}

/// Waits for `child`, reaping it only under the `live` lock.
fn reap(mut child: Child, slot: usize, live: &Live) -> (Option<i32>, String) {
    let mut stderr = child.stderr.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut text = String::new();
        std::io::Read::read_to_string(&mut stderr, &mut text).ok();
        text
    });
    let status = loop {
        {
            let mut live = live.lock().unwrap();
            if let Some(status) = child.try_wait().unwrap() {
                live[slot] = None;
                break status;
            }
        }
        std::thread::sleep(Duration::from_millis(3));
    };
    (status.code(), reader.join().unwrap())
}

/// SIGKILLs or freezes a random running writer every few tens of
/// milliseconds until `stop`; thaws every writer it froze before it ends.
fn monkey(live: &Live, stop: &AtomicBool, seed: u64) -> (usize, usize) {
    let mut rng = Lcg(seed);
    let (mut kills, mut freezes) = (0, 0);
    let mut frozen: Vec<(u32, Instant)> = Vec::new();
    let signal = |pid: u32, signal: i32| {
        // SAFETY: plain kill(2) on a child that is not reaped yet (the
        // caller holds the lock under which children are reaped).
        unsafe { libc::kill(pid as libc::pid_t, signal) };
    };
    while !stop.load(Ordering::Relaxed) {
        std::thread::sleep(Duration::from_millis(10 + rng.next(60)));
        let live = live.lock().unwrap();
        frozen.retain(|&(pid, until)| {
            let thaw = Instant::now() >= until || !live.contains(&Some(pid));
            if thaw && live.contains(&Some(pid)) {
                signal(pid, libc::SIGCONT);
            }
            !thaw
        });
        let running: Vec<u32> = live.iter().flatten().copied().collect();
        if running.is_empty() {
            continue;
        }
        let pid = running[rng.next(running.len() as u64) as usize];
        if rng.next(3) == 0 {
            signal(pid, libc::SIGKILL);
            kills += 1;
        } else if !frozen.iter().any(|&(p, _)| p == pid) {
            signal(pid, libc::SIGSTOP);
            let pause = Duration::from_millis(rng.next(800));
            frozen.push((pid, Instant::now() + pause));
            freezes += 1;
        }
    }
    let live = live.lock().unwrap();
    for (pid, _) in frozen {
        if live.contains(&Some(pid)) {
            signal(pid, libc::SIGCONT);
        }
    }
    (kills, freezes)
}

/// Runs the writers and the monkey against `targets` (one per slot).
fn storm(store: Store, targets: &[PathBuf]) -> Vec<Outcome> {
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64;
    eprintln!("chaos {store:?}: seed {seed}");
    let live: Live = Arc::new(Mutex::new(vec![None; WRITERS]));
    let stop = AtomicBool::new(false);
    let monkey_stop = AtomicBool::new(false);
    std::thread::scope(|scope| {
        let slots: Vec<_> = (0..WRITERS)
            .map(|slot| {
                let (live, stop, target) = (&live, &stop, &targets[slot]);
                scope.spawn(move || writer_slot(store, target, slot, live, stop))
            })
            .collect();
        let monkey = scope.spawn(|| monkey(&live, &monkey_stop, seed));
        std::thread::sleep(Duration::from_secs(seconds()));
        // The writers stop starting writes; the monkey stops last, so no
        // writer stays frozen while the others finish.
        stop.store(true, Ordering::Relaxed);
        let outcomes: Vec<Outcome> = slots.into_iter().flat_map(|s| s.join().unwrap()).collect();
        monkey_stop.store(true, Ordering::Relaxed);
        let (kills, freezes) = monkey.join().unwrap();
        eprintln!(
            "chaos {store:?}: {} writes, {kills} kills, {freezes} freezes",
            outcomes.len()
        );
        assert!(kills > 0 && freezes > 0, "the monkey did nothing");
        outcomes
    })
}

/// One more write through each target once the storm is over: what the
/// killed writers left behind (a lock file, a half-written object, an
/// undelivered commit) blocks no one, so each must succeed.
fn after_the_storm(store: Store, targets: &[PathBuf]) -> Vec<Outcome> {
    targets
        .iter()
        .enumerate()
        .map(|(slot, target)| {
            let mark = format!("after the storm {slot}");
            let out = writer(store, target)
                .args(["issue", "add", "-r", REL, &mark])
                .output()
                .unwrap();
            let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
            assert!(out.status.success(), "{store:?} {mark}: {stderr}");
            Outcome {
                mark,
                code: out.status.code(),
                stderr,
            }
        })
        .collect()
}

/// How often each mark is in `state` (`show --json`).
fn marks_in(state: &serde_json::Value) -> HashMap<String, usize> {
    let mut found = HashMap::new();
    for issue in state["issues"].as_array().into_iter().flatten() {
        *found
            .entry(issue["issue"].as_str().unwrap().to_owned())
            .or_default() += 1;
    }
    for key in state["metadata"]
        .as_object()
        .into_iter()
        .flatten()
        .map(|(k, _)| k)
    {
        *found.entry(key.clone()).or_default() += 1;
    }
    found
}

/// The checks every store shares, given the state after the storm.
fn check(store: Store, outcomes: &[Outcome], state: &serde_json::Value) {
    let found = marks_in(state);
    let mut problems = Vec::new();
    for twice in found.iter().filter(|(_, n)| **n > 1) {
        problems.push(format!("there more than once: {twice:?}"));
    }
    let (mut acknowledged, mut reported) = (0, 0);
    for outcome in outcomes {
        let present = found.contains_key(&outcome.mark);
        match outcome.code {
            Some(0) => {
                acknowledged += 1;
                if !present {
                    problems.push(format!("{}: exited 0 but is not there", outcome.mark));
                }
            }
            // Killed by the monkey: either way is right.
            None => {}
            // Contention (6); with a remote, kept locally (7).
            Some(code @ (6 | 7)) => {
                reported += 1;
                if outcome.stderr.trim().is_empty() {
                    problems.push(format!("{}: exit {code} without a word", outcome.mark));
                }
            }
            Some(code) => problems.push(format!(
                "{}: exit {code}: {}",
                outcome.mark,
                outcome.stderr.trim()
            )),
        }
    }
    eprintln!("chaos {store:?}: {acknowledged} acknowledged, {reported} reported");
    assert!(acknowledged > 0, "no write got through");
    assert!(problems.is_empty(), "{store:?}:\n{}", problems.join("\n"));
}

fn state_of(store_args: &[&str], cwd: &Path) -> serde_json::Value {
    let shown = ok(cwd, &[store_args, &["show", "-r", REL, "--json"]].concat());
    serde_json::from_str(&shown).unwrap()
}

fn fsck(repo: &Path) {
    git(
        repo,
        &["fsck", "--strict", "--no-progress", "--no-dangling"],
    );
}

#[test]
fn chaos_on_one_repository_loses_no_acknowledged_write() {
    let repo = new_repo();
    let targets = vec![repo.path().to_owned(); WRITERS];
    let mut outcomes = storm(Store::Repo, &targets);
    outcomes.extend(after_the_storm(Store::Repo, &targets[..1]));
    let state = state_of(&["--repo", repo.path().to_str().unwrap()], repo.path());
    check(Store::Repo, &outcomes, &state);
    fsck(repo.path());
    // The branch is linear: a write never forks it.
    assert_eq!(git(repo.path(), &["rev-list", "--merges", "record"]), "");
}

#[test]
fn chaos_on_a_dir_folder_loses_no_acknowledged_write() {
    let dir = tempfile::tempdir().unwrap();
    let targets = vec![dir.path().to_owned(); WRITERS];
    let mut outcomes = storm(Store::Dir, &targets);
    outcomes.extend(after_the_storm(Store::Dir, &targets[..1]));
    let state = state_of(&["--dir", dir.path().to_str().unwrap()], dir.path());
    check(Store::Dir, &outcomes, &state);
    // No temporary file of a killed writer is taken for state.
    ok(
        dir.path(),
        &["--dir", dir.path().to_str().unwrap(), "validate"],
    );
}

#[test]
fn chaos_through_a_local_path_remote_loses_no_acknowledged_write() {
    let root = tempfile::tempdir().unwrap();
    let bare = bare_remote(root.path());
    let clones: Vec<tempfile::TempDir> = (0..WRITERS).map(|_| clone_of(&bare)).collect();
    let targets: Vec<PathBuf> = clones.iter().map(|c| c.path().to_owned()).collect();
    let mut outcomes = storm(Store::LocalRemote, &targets);
    outcomes.extend(after_the_storm(Store::LocalRemote, &targets));
    let state = state_of(&["--repo", bare.to_str().unwrap()], root.path());
    check(Store::LocalRemote, &outcomes, &state);
    fsck(&bare);
    assert_eq!(git(&bare, &["rev-list", "--merges", "record"]), "");
    for clone in &clones {
        fsck(clone.path());
    }
}
