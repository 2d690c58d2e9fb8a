//! `statebox ingest` and `statebox run` with real processes and pipes.

use crate::support::*;
use serde_json::Value as Json;
use sha1::{Digest, Sha1};
use std::io::Write;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const REL: &str = "4.19.1";

fn line(ts: &str, task: &str, status: &str) -> String {
    format!("{ts}: INFO: task [{task}] status is changed to [{status}]\n")
}

fn spawn(repo: &Path, args: &[&str]) -> Child {
    Command::new(statebox_bin())
        .arg("--repo")
        .arg(repo)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

fn task(repo: &Path, name: &str) -> Option<Json> {
    let out = statebox(repo, &["task", "get", "-r", REL, name, "--json"]);
    out.status
        .success()
        .then(|| serde_json::from_slice(&out.stdout).unwrap())
}

/// Polls until `check` holds (the state is written asynchronously).
fn eventually(what: &str, check: impl Fn() -> bool) {
    let start = Instant::now();
    while !check() {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "timed out waiting for: {what}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn commits(repo: &Path) -> usize {
    tip(repo, "record").map_or(0, |_| {
        git(repo, &["rev-list", "--count", "record"])
            .parse()
            .unwrap()
    })
}

#[test]
fn state_follows_the_stream_live_and_tasks_interleave() {
    let repo = new_repo();
    let r = repo.path();
    let mut child = spawn(r, &["ingest", "-r", REL]);
    let mut stdin = child.stdin.take().unwrap();
    write!(
        stdin,
        "{}",
        line("2026-06-25T13:00:00Z", "Take Ownership", "In Progress")
    )
    .unwrap();
    stdin.flush().unwrap();
    eventually("take-ownership In Progress before EOF", || {
        task(r, "take-ownership").is_some_and(|t| t["status"] == "In Progress")
    });
    write!(
        stdin,
        "{}",
        line("2026-06-25T13:00:01Z", "Stage Testing", "In Progress")
    )
    .unwrap();
    writeln!(stdin, "2026-06-25T13:00:02Z: INFO: shared line").unwrap();
    write!(
        stdin,
        "{}",
        line("2026-06-25T13:00:03Z", "Take Ownership", "Pass")
    )
    .unwrap();
    writeln!(stdin, "2026-06-25T13:00:04Z: ERROR: stage only").unwrap();
    write!(
        stdin,
        "{}",
        line("2026-06-25T13:00:05Z", "Stage Testing", "Fail")
    )
    .unwrap();
    drop(stdin);
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let take = task(r, "take-ownership").unwrap();
    assert_eq!(take["status"], "Pass");
    assert_eq!(take["started_at"], "2026-06-25T13:00:00Z");
    assert_eq!(take["completed_at"], "2026-06-25T13:00:03Z");
    let result = take["result"].as_str().unwrap();
    assert!(
        result.contains("shared line") && !result.contains("stage only"),
        "{result}"
    );
    let stage = task(r, "stage-testing").unwrap();
    assert_eq!(stage["status"], "Fail");
    assert!(stage["result"].as_str().unwrap().contains("stage only"));
}

#[test]
fn one_commit_per_transition_and_bursts_coalesce() {
    let repo = new_repo();
    let r = repo.path();
    let burst: String = [
        "Take Ownership",
        "Stage Testing",
        "Drop Bugs",
        "Update Bug List",
    ]
    .iter()
    .map(|t| line("2026-06-25T13:00:00Z", t, "Pass"))
    .collect();
    let mut child = spawn(r, &["ingest", "-r", REL]);
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(burst.as_bytes()).unwrap();
    for i in 0..200 {
        writeln!(stdin, "ordinary line {i}").unwrap();
    }
    stdin.flush().unwrap();
    eventually("the burst is written", || commits(r) == 1);
    write!(
        stdin,
        "{}",
        line("2026-06-25T13:00:09Z", "Image Signed Check", "In Progress")
    )
    .unwrap();
    drop(stdin);
    assert!(child.wait().unwrap().success());
    assert_eq!(
        commits(r),
        2,
        "one commit for the burst of four, one for the later transition"
    );
    let message = git(r, &["log", "-1", "--format=%B", "record~1"]);
    assert!(
        message.starts_with("Update task: take-ownership (+3 more)"),
        "{message}"
    );
}

#[test]
fn tee_passes_every_byte_through() {
    let repo = new_repo();
    let r = repo.path();
    let mut input: Vec<u8> = (0..=255u8).cycle().take(300_000).collect();
    input.extend_from_slice(b"\r\n\x1b[31mred\x1b[0m\xff\xfe\n");
    input.extend_from_slice(line("2026-06-25T13:00:00Z", "Drop Bugs", "Pass").as_bytes());
    input.extend_from_slice(b"no newline at the end \xc3");
    let mut child = spawn(r, &["ingest", "-r", REL, "--tee"]);
    let mut stdin = child.stdin.take().unwrap();
    let feed = input.clone();
    let writer = std::thread::spawn(move || stdin.write_all(&feed).unwrap());
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap();
    assert!(out.status.success());
    assert_eq!(
        Sha1::digest(&out.stdout),
        Sha1::digest(&input),
        "tee output differs from input"
    );
    assert_eq!(task(r, "drop-bugs").unwrap()["status"], "Pass");
}

#[test]
fn task_fallback_rules_at_end_of_input() {
    let cases: [(&str, &str); 3] = [
        (
            "2026-06-25T13:00:00Z: INFO: start\n2026-06-25T13:00:01Z: ERROR: boom\nmore\n",
            "Fail",
        ),
        ("", "Pass"),
        ("2026-06-25T13:00:00Z: INFO: still running\n", "In Progress"),
    ];
    for (input, expected) in cases {
        let repo = new_repo();
        let r = repo.path();
        let mut child = spawn(r, &["ingest", "-r", REL, "--task", "Push to CDN Staging"]);
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
        assert!(child.wait().unwrap().success());
        let t = task(r, "push-to-cdn-staging").unwrap();
        assert_eq!(t["status"], expected, "{input:?}");
        assert_eq!(t["result"], input.trim(), "the whole output is the result");
    }
}

#[test]
fn sigterm_mid_stream_still_writes_the_final_state() {
    let repo = new_repo();
    let r = repo.path();
    let mut child = spawn(r, &["ingest", "-r", REL, "--task", "stage-testing"]);
    let mut stdin = child.stdin.take().unwrap();
    writeln!(stdin, "2026-06-25T13:00:00Z: INFO: starting").unwrap();
    writeln!(
        stdin,
        "2026-06-25T13:00:01Z: ERROR: cannot reach the stage pipeline"
    )
    .unwrap();
    stdin.flush().unwrap();
    std::thread::sleep(Duration::from_millis(500));
    assert!(
        task(r, "stage-testing").is_none(),
        "nothing decided before the end"
    );
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(143));
    let t = task(r, "stage-testing").expect("final state written on SIGTERM");
    assert_eq!(t["status"], "Fail");
    assert!(
        t["result"]
            .as_str()
            .unwrap()
            .contains("cannot reach the stage pipeline")
    );
    drop(stdin);
}

#[test]
fn run_propagates_exit_codes_and_fails_unfinished_tasks() {
    let repo = new_repo();
    let r = repo.path();
    let out = statebox(
        r,
        &[
            "run",
            "-r",
            REL,
            "--task",
            "drop-bugs",
            "--",
            "sh",
            "-c",
            "echo working; echo oops >&2; exit 3",
        ],
    );
    assert_eq!(out.status.code(), Some(3));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "working\n",
        "stdout teed"
    );
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("oops"),
        "stderr teed"
    );
    let t = task(r, "drop-bugs").unwrap();
    assert_eq!(t["status"], "Fail");
    let result = t["result"].as_str().unwrap();
    assert!(
        result.contains("working") && result.contains("oops"),
        "{result}"
    );
    assert!(
        result.ends_with("[statebox: command exited with code 3]"),
        "{result}"
    );

    let out = statebox(
        r,
        &[
            "run",
            "-r",
            REL,
            "--task",
            "stage-testing",
            "--",
            "sh",
            "-c",
            "echo started; kill -9 $$",
        ],
    );
    assert_eq!(out.status.code(), Some(137));
    let t = task(r, "stage-testing").unwrap();
    assert_eq!(t["status"], "Fail");
    assert!(
        t["result"]
            .as_str()
            .unwrap()
            .ends_with("[statebox: command killed by signal 9]")
    );

    let script = format!(
        "printf '{}'; exit 0",
        line("2026-06-25T13:00:00Z", "Image Signed Check", "Pass").trim_end()
    );
    let out = statebox(r, &["run", "-r", REL, "--", "sh", "-c", &script]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(task(r, "image-signed-check").unwrap()["status"], "Pass");

    // As a shell reports a command it cannot start; nothing is written.
    let before = commits(r);
    let out = statebox(
        r,
        &[
            "run",
            "-r",
            REL,
            "--task",
            "drop-bugs",
            "--",
            "/no/such/program",
        ],
    );
    assert_eq!(out.status.code(), Some(127));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot run /no/such/program"));
    assert_eq!(commits(r), before);
}

#[test]
fn run_decides_a_silent_task_by_the_exit_code() {
    let repo = new_repo();
    let r = repo.path();
    for (task_name, script, status) in [
        ("drop-bugs", "echo all done", "Pass"),
        ("stage-testing", "true", "Pass"),
        ("image-signed-check", "echo step; exit 2", "Fail"),
    ] {
        let out = statebox(
            r,
            &[
                "run", "-r", REL, "--task", task_name, "--", "sh", "-c", script,
            ],
        );
        assert!(out.status.code().is_some());
        assert_eq!(task(r, task_name).unwrap()["status"], status, "{script}");
    }
    // Without a child, ingest keeps the original's fallback: output without
    // a status line leaves the task In Progress.
    let mut child = spawn(r, &["ingest", "-r", REL, "--task", "take-ownership"]);
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"all done\n")
        .unwrap();
    assert!(child.wait().unwrap().success());
    assert_eq!(task(r, "take-ownership").unwrap()["status"], "In Progress");
}

#[test]
fn legacy_labels_drive_their_tasks() {
    let repo = new_repo();
    let r = repo.path();
    let stream = [
        line(
            "2026-06-25T13:00:00Z",
            "Pushing to CDN staging",
            "In Progress",
        ),
        line("2026-06-25T13:00:01Z", "Pushing to CDN staging", "Pass"),
        line(
            "2026-06-25T13:00:02Z",
            "Payload image is well signed",
            "Fail",
        ),
    ]
    .concat();
    let mut child = spawn(r, &["ingest", "-r", REL]);
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stream.as_bytes())
        .unwrap();
    assert!(child.wait().unwrap().success());
    assert_eq!(task(r, "push-to-cdn-staging").unwrap()["status"], "Pass");
    assert_eq!(task(r, "image-signed-check").unwrap()["status"], "Fail");
    // A label two tasks shared means the one the command is known to run.
    let shared = line("2026-06-25T13:00:03Z", "Check CVE tracker bugs", "Pass");
    let mut child = spawn(
        r,
        &["ingest", "-r", REL, "--task", "check-greenwave-cvp-tests"],
    );
    child
        .stdin
        .take()
        .unwrap()
        .write_all(shared.as_bytes())
        .unwrap();
    assert!(child.wait().unwrap().success());
    assert_eq!(
        task(r, "check-greenwave-cvp-tests").unwrap()["status"],
        "Pass"
    );
    assert!(task(r, "check-cve-tracker-bug").is_none());
}

#[test]
fn ctrl_c_is_forwarded_to_the_child() {
    let repo = new_repo();
    let r = repo.path();
    let script = "trap 'echo got INT; exit 5' INT; echo ready; i=0; while [ $i -lt 200 ]; do sleep 0.1; i=$((i+1)); done";
    let mut child = Command::new(statebox_bin())
        .arg("--repo")
        .arg(r)
        .args([
            "run",
            "-r",
            REL,
            "--task",
            "stage-testing",
            "--",
            "sh",
            "-c",
            script,
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let mut first = [0u8; 6];
    std::io::Read::read_exact(&mut stdout, &mut first).unwrap();
    assert_eq!(&first, b"ready\n");
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let status = child.wait().unwrap();
    assert_eq!(
        status.code(),
        Some(5),
        "the child's own exit code after its INT trap"
    );
    let t = task(r, "stage-testing").unwrap();
    assert!(t["result"].as_str().unwrap().contains("got INT"), "{t}");
}

#[test]
fn unknown_tasks_warn_or_fail_when_strict() {
    let repo = new_repo();
    let r = repo.path();
    let input = format!(
        "{}{}",
        line("2026-06-25T13:00:00Z", "Mystery Task", "Pass"),
        line("2026-06-25T13:00:01Z", "Drop Bugs", "Skipped")
    );
    let input = format!(
        "{input}{}",
        line("2026-06-25T13:00:02Z", "Drop Bugs", "Pass")
    );
    let mut child = spawn(r, &["ingest", "-r", REL]);
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("[Mystery Task] is not in the task catalog"),
        "{stderr}"
    );
    assert!(stderr.contains("unknown status [Skipped]"), "{stderr}");
    assert_eq!(task(r, "drop-bugs").unwrap()["status"], "Pass");

    let repo = new_repo();
    let mut child = spawn(repo.path(), &["ingest", "-r", REL, "--strict"]);
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(4));
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("[Mystery Task], which is not in the task catalog")
    );

    let err = fails(
        repo.path(),
        &["ingest", "-r", REL, "--task", "no-such-task"],
        4,
    );
    assert!(err.contains("unknown task 'no-such-task'"), "{err}");
}

#[test]
fn secrets_in_output_never_reach_the_branch() {
    let repo = new_repo();
    let r = repo.path();
    // Built at run time so secret scanners do not flag this source file.
    let secrets = [
        format!("ghp_{}", "a1B2".repeat(9)),
        format!(
            "{}.{}.{}",
            "eyJhbGciOiJIUzI1NiJ9", "eyJzdWIiOiIxMjM0NTY3ODkwIn0", "c2lnbmF0dXJlLXNpZ25hdHVyZQ"
        ),
        format!("AKIA{}", "ABCDEFGHIJKLMNOP"),
        format!("xoxb-{}-{}", "123456789012", "abcdefABCDEF1234567890ab"),
        "hunter2secret".to_owned(),
        "alice@example.com".to_owned(),
        format!("{}sk{}", "MIIEv", "QIBADANBgkqhkiG9w0BAQEFAASC"),
    ];
    let output = format!(
        "{}token {}\nAuthorization: Bearer {}\nkey {}\nslack {}\nclone https://bot:{}@git.example.com/r.git\nmail {}\n\
         -----BEGIN RSA PRIVATE KEY-----\n{}\n-----END RSA PRIVATE KEY-----\n{}",
        line("2026-06-25T13:00:00Z", "Take Ownership", "In Progress"),
        secrets[0],
        secrets[1],
        secrets[2],
        secrets[3],
        secrets[4],
        secrets[5],
        secrets[6],
        line("2026-06-25T13:00:05Z", "Take Ownership", "Pass"),
    );
    let mut child = spawn(r, &["ingest", "-r", REL]);
    child
        .stdin
        .take()
        .unwrap()
        .write_all(output.as_bytes())
        .unwrap();
    assert!(child.wait().unwrap().success());
    let file = show(r, "record:_releases/4.19/statebox/4.19.1.yaml");
    for secret in &secrets {
        assert!(
            !file.contains(secret.as_str()),
            "{secret} reached the branch:\n{file}"
        );
    }
    assert!(
        file.contains("[EMAIL_REDACTED]") && file.contains("https://bot:"),
        "{file}"
    );
}
