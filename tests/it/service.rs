//! The service face end to end, on the real `statebox` binary: rmcp's own
//! client over stdio (`statebox mcp`) and streamable HTTP (`statebox
//! serve`), the JSON API, the guards, real third-party clients (Python
//! `mcp` 1.x and 2.x), a headless browser on the live dashboard, the HTML
//! report, and many writers at once.
//!
//! Tests that need Python `mcp` or chromium skip with a message when they
//! are missing, and fail instead when `CI` is set.

use crate::support::{git, new_repo, statebox_bin};
use rmcp::ServiceExt;
use rmcp::model::{CallToolRequestParams, CallToolResult, ReadResourceRequestParams};
use rmcp::service::{RoleClient, RunningService};
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use rmcp::transport::{StreamableHttpClientTransport, TokioChildProcess};
use serde_json::{Value, json};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

type Client = RunningService<RoleClient, ()>;

const TOKEN: &str = "test-token-0123456789abcdef";

const COMPAT_TOOLS: [&str; 9] = [
    "oar_get_release_status",
    "oar_update_task_status",
    "oar_add_issue",
    "oar_resolve_issue",
    "oar_get_issues",
    "oar_get_task_blocker",
    "oar_get_release_metadata",
    "discover_active_releases",
    "oar_create_test_report",
];
const STATEBOX_READ_TOOLS: [&str; 5] = [
    "statebox_status",
    "statebox_get_release",
    "statebox_list_issues",
    "statebox_log",
    "statebox_active_releases",
];
const STATEBOX_WRITE_TOOLS: [&str; 5] = [
    "statebox_init",
    "statebox_set_task",
    "statebox_add_issue",
    "statebox_resolve_issue",
    "statebox_ingest",
];

/// The sample `_releases/` bundled with the project, copied so tests can write.
fn sample_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let status = Command::new("cp")
        .arg("-r")
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("_releases"))
        .arg(dir.path())
        .status()
        .unwrap();
    assert!(status.success());
    dir
}

/// `statebox <store args> mcp`, spoken to by rmcp's client.
async fn stdio(store: &[&str], extra: &[&str]) -> Client {
    let mut command = tokio::process::Command::new(statebox_bin());
    command.args(store).arg("mcp").args(extra);
    command.env("STATEBOX_LOG", "warn");
    ().serve(TokioChildProcess::new(command).unwrap())
        .await
        .expect("the MCP handshake succeeds")
}

async fn http_client(port: u16, token: Option<&str>) -> Client {
    let mut config =
        StreamableHttpClientTransportConfig::with_uri(format!("http://127.0.0.1:{port}/mcp"));
    if let Some(token) = token {
        config = config.auth_header(token);
    }
    ().serve(StreamableHttpClientTransport::from_config(config))
        .await
        .expect("the MCP handshake succeeds over HTTP")
}

async fn call(client: &Client, tool: &str, args: Value) -> CallToolResult {
    let Value::Object(args) = args else {
        panic!("arguments are an object")
    };
    client
        .call_tool(CallToolRequestParams::new(tool.to_owned()).with_arguments(args))
        .await
        .unwrap_or_else(|e| panic!("{tool}: {e}"))
}

fn text_of(result: &CallToolResult) -> &str {
    result.content[0]
        .as_text()
        .expect("text content")
        .text
        .as_str()
}

/// A compatibility tool's answer: JSON text, `isError` false.
async fn compat(client: &Client, tool: &str, args: Value) -> Value {
    let result = call(client, tool, args).await;
    assert_eq!(result.is_error, Some(false), "{tool}: {}", text_of(&result));
    serde_json::from_str(text_of(&result)).unwrap_or_else(|e| panic!("{tool}: {e}"))
}

/// A `statebox_*` tool's structured answer.
async fn ok(client: &Client, tool: &str, args: Value) -> Value {
    let result = call(client, tool, args).await;
    assert_eq!(result.is_error, Some(false), "{tool}: {}", text_of(&result));
    let structured = result
        .structured_content
        .clone()
        .expect("structured content");
    assert_eq!(
        serde_json::from_str::<Value>(text_of(&result)).unwrap(),
        structured,
        "{tool}: the text content holds the same JSON"
    );
    structured
}

/// A `statebox_*` tool's error: `isError` true and its kind.
async fn error_kind(client: &Client, tool: &str, args: Value) -> String {
    let result = call(client, tool, args).await;
    assert_eq!(result.is_error, Some(true), "{tool}: {}", text_of(&result));
    let body: Value = serde_json::from_str(text_of(&result)).unwrap();
    body["error"]["kind"].as_str().unwrap().to_owned()
}

/// Every tool, a write then a read, on `release` (which does not exist yet).
async fn exercise_every_tool(client: &Client, release: &str) {
    let tools = client.list_all_tools().await.unwrap();
    let names: Vec<&str> = tools.iter().map(|t| t.name.as_ref()).collect();
    let expected: Vec<&str> = COMPAT_TOOLS
        .iter()
        .chain(&STATEBOX_READ_TOOLS)
        .chain(&STATEBOX_WRITE_TOOLS)
        .copied()
        .collect();
    assert_eq!(names, expected);
    for tool in &tools {
        let annotations = tool.annotations.as_ref().expect("annotations");
        let reads = STATEBOX_READ_TOOLS.contains(&tool.name.as_ref())
            || [
                "oar_get_release_status",
                "oar_get_issues",
                "oar_get_task_blocker",
            ]
            .contains(&tool.name.as_ref());
        if reads {
            assert_eq!(annotations.read_only_hint, Some(true), "{}", tool.name);
        }
        if tool.name.starts_with("statebox_") {
            assert!(
                tool.output_schema.is_some(),
                "{} has an output schema",
                tool.name
            );
        }
    }

    // The compatibility tools, in the original's JSON text.
    let created = call(
        client,
        "oar_create_test_report",
        json!({"release": release}),
    )
    .await;
    assert!(
        text_of(&created).starts_with("✓ Command succeeded"),
        "{}",
        text_of(&created)
    );
    let raw = call(
        client,
        "oar_update_task_status",
        json!({"release": release, "task_name": "take-ownership", "status": "Pass", "result": "owner é"}),
    )
    .await;
    assert_eq!(
        text_of(&raw),
        format!(
            r#"{{"success": true, "release": "{release}", "task": "take-ownership", "status": "Pass", "updated_systems": ["statebox"], "message": "Successfully updated task 'take-ownership' to 'Pass' in statebox", "result_length": 7, "result_preview": "owner \u00e9"}}"#
        ),
        "Python json.dumps text, byte for byte"
    );
    let state = compat(
        client,
        "oar_get_release_status",
        json!({"release": release}),
    )
    .await;
    assert_eq!(state["tasks"][0]["name"], "take-ownership");
    assert_eq!(state["tasks"][0]["status"], "Pass");
    assert_eq!(state["schema_version"], "1.0");
    let added = compat(
        client,
        "oar_add_issue",
        json!({"release": release, "issue": "CVE-2026-1 not covered", "related_tasks": "check-cve-tracker-bug, stage-testing"}),
    )
    .await;
    assert_eq!(added["success"], true);
    assert_eq!(added["message"], "Added blocking issue");
    assert_eq!(
        added["issue"]["related_tasks"],
        json!(["check-cve-tracker-bug", "stage-testing"])
    );
    let again = compat(
        client,
        "oar_add_issue",
        json!({"release": release, "issue": "cve-2026-1 NOT covered", "blocker": false}),
    )
    .await;
    assert_eq!(
        again["issue"]["issue"], "CVE-2026-1 not covered",
        "not added twice"
    );
    let blocker = compat(
        client,
        "oar_get_task_blocker",
        json!({"release": release, "task_name": "stage-testing"}),
    )
    .await;
    assert_eq!(blocker["blocked"], true);
    let second = compat(
        client,
        "oar_add_issue",
        json!({"release": release, "issue": "another blocker", "related_tasks": "stage-testing"}),
    )
    .await;
    assert_eq!(second["success"], false, "one unresolved blocker per task");
    let resolved = compat(
        client,
        "oar_resolve_issue",
        json!({"release": release, "issue": "cve-2026", "resolution": "added to advisory"}),
    )
    .await;
    assert_eq!(resolved["issue"]["resolved"], true);
    assert_eq!(resolved["issue"]["resolution"], "added to advisory");
    let issues = compat(
        client,
        "oar_get_issues",
        json!({"release": release, "unresolved_only": true}),
    )
    .await;
    assert_eq!(issues["count"], 0);
    assert_eq!(
        issues["filters"],
        json!({"unresolved_only": true, "blockers_only": false, "task_name": null})
    );
    let meta = compat(
        client,
        "oar_get_release_metadata",
        json!({"release": release}),
    )
    .await;
    assert_eq!(meta["advisories"], json!({}));
    assert_eq!(meta["jira_ticket"], "");
    let active = compat(client, "discover_active_releases", json!({})).await;
    assert_eq!(active["releases"], json!([]), "no release_date: not active");
    // The original's errors: inside the JSON, isError false.
    let bad_status = compat(
        client,
        "oar_update_task_status",
        json!({"release": release, "task_name": "take-ownership", "status": "Done"}),
    )
    .await;
    assert_eq!(
        bad_status,
        json!({"success": false, "error": "Invalid status: Done. Must be one of: Pass, Fail, In Progress"})
    );
    let missing = compat(
        client,
        "oar_get_release_status",
        json!({"release": "4.1.99"}),
    )
    .await;
    assert_eq!(missing["source"], "error");
    assert_eq!(missing["overall_status"], "Unknown");
    assert_eq!(missing["tasks"], json!({}));

    // The statebox_* tools: structured output, a write then a read.
    let set = ok(
        client,
        "statebox_set_task",
        json!({"release": release, "task": "Stage Testing", "status": "in-progress",
               "result": "2026-06-25T13:22:17Z: INFO: started"}),
    )
    .await;
    assert_eq!(set["changed"], true);
    assert!(set["commit"].as_str().is_some_and(|c| c.len() == 40));
    let read = ok(client, "statebox_get_release", json!({"release": release})).await;
    let stage = read["state"]["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "stage-testing")
        .unwrap()
        .clone();
    assert_eq!(stage["status"], "In Progress");
    assert_eq!(stage["started_at"], "2026-06-25T13:22:17Z");
    let same = ok(
        client,
        "statebox_set_task",
        json!({"release": release, "task": "stage-testing", "status": "In Progress"}),
    )
    .await;
    assert_eq!(same["changed"], false, "already in effect: nothing written");
    let added = ok(
        client,
        "statebox_add_issue",
        json!({"release": release, "issue": "flaky push", "related_tasks": ["push-to-cdn-staging"]}),
    )
    .await;
    assert_eq!(added["changed"], true);
    let listed = ok(
        client,
        "statebox_list_issues",
        json!({"release": release, "unresolved_only": true}),
    )
    .await;
    assert_eq!(listed["count"], 1);
    assert_eq!(listed["issues"][0]["blocker"], false);
    ok(
        client,
        "statebox_resolve_issue",
        json!({"release": release, "issue": "flaky", "resolution": "retried"}),
    )
    .await;
    let ingested = ok(
        client,
        "statebox_ingest",
        json!({"release": release, "output":
            "2026-06-25T14:00:00Z: INFO: task [Image Signed Check] status is changed to [In Progress]\nchecking\n2026-06-25T14:05:00Z: INFO: task [Image Signed Check] status is changed to [Pass]\n"}),
    )
    .await;
    let signed = ingested["state"]["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "image-signed-check")
        .unwrap()
        .clone();
    assert_eq!(signed["status"], "Pass");
    assert_eq!(signed["completed_at"], "2026-06-25T14:05:00Z");
    let init = ok(client, "statebox_init", json!({"release": release})).await;
    assert_eq!(init["changed"], false, "exists already");
    let status = ok(client, "statebox_status", json!({})).await;
    let mine = status["releases"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["release"] == release)
        .unwrap()
        .clone();
    assert_eq!(mine["tasks"]["pass"], 2);
    let log = ok(client, "statebox_log", json!({"release": release})).await;
    assert!(log["commits"].as_array().unwrap().len() >= 6);
    assert_eq!(
        log["commits"][0]["message"],
        "Update task: image-signed-check"
    );
    ok(client, "statebox_active_releases", json!({})).await;

    // Resources.
    let resources = client.list_all_resources().await.unwrap();
    assert!(resources.iter().any(|r| r.uri == "statebox://releases"));
    let uri = format!("statebox://release/{release}");
    assert!(resources.iter().any(|r| r.uri == uri));
    let yaml = client
        .read_resource(ReadResourceRequestParams::new(uri.clone()))
        .await
        .unwrap();
    let rmcp::model::ResourceContents::TextResourceContents { text, .. } = &yaml.contents[0] else {
        panic!("text")
    };
    assert!(text.starts_with("schema_version: '1.0'\n"), "{text}");
    let as_json = client
        .read_resource(ReadResourceRequestParams::new(format!("{uri}?format=json")))
        .await
        .unwrap();
    let rmcp::model::ResourceContents::TextResourceContents { text, .. } = &as_json.contents[0]
    else {
        panic!("text")
    };
    assert_eq!(
        serde_json::from_str::<Value>(text).unwrap()["release"],
        release
    );

    // Error kinds the caller can act on.
    assert_eq!(
        error_kind(client, "statebox_get_release", json!({"release": "4.1.99"})).await,
        "not_found"
    );
    assert_eq!(
        error_kind(client, "statebox_log", json!({"release": "4.1.99"})).await,
        "not_found"
    );
    assert_eq!(
        error_kind(
            client,
            "statebox_set_task",
            json!({"release": release, "task": "no-such-task", "status": "Pass"})
        )
        .await,
        "rejected"
    );
    assert_eq!(
        error_kind(client, "statebox_init", json!({"release": "../../etc"})).await,
        "rejected"
    );
    assert_eq!(
        error_kind(
            client,
            "statebox_resolve_issue",
            json!({"release": release, "issue": "nothing like it"})
        )
        .await,
        "not_found"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn stdio_rmcp_client_calls_every_tool() {
    let repo = new_repo();
    let repo_arg = repo.path().to_str().unwrap();
    let client = stdio(&["--repo", repo_arg], &[]).await;
    exercise_every_tool(&client, "4.19.7").await;
    client.cancel().await.unwrap();
    let fsck = Command::new("git")
        .args(["fsck", "--strict"])
        .current_dir(repo.path())
        .output()
        .unwrap();
    assert!(
        fsck.status.success(),
        "{}",
        String::from_utf8_lossy(&fsck.stderr)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn read_only_registers_only_read_tools() {
    let dir = sample_dir();
    let dir_arg = dir.path().to_str().unwrap();
    let client = stdio(&["--dir", dir_arg], &["--read-only"]).await;
    let tools = client.list_all_tools().await.unwrap();
    for tool in &tools {
        assert_eq!(
            tool.annotations.as_ref().unwrap().read_only_hint,
            Some(true),
            "{} is listed in read-only mode",
            tool.name
        );
    }
    assert!(tools.iter().any(|t| t.name == "oar_get_release_status"));
    let refused = client
        .call_tool(
            CallToolRequestParams::new("oar_add_issue").with_arguments(
                json!({"release": "4.19.40", "issue": "x"})
                    .as_object()
                    .unwrap()
                    .clone(),
            ),
        )
        .await;
    assert!(
        refused.is_err(),
        "a write tool does not exist in read-only mode"
    );
    let state = compat(
        &client,
        "oar_get_release_status",
        json!({"release": "4.19.40"}),
    )
    .await;
    assert_eq!(state["metadata"]["jira_ticket"], "ART-30240");
    client.cancel().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_broken_state_file_is_bad_state() {
    let dir = sample_dir();
    let broken = dir.path().join("_releases/4.19/statebox/4.19.2.yaml");
    std::fs::write(&broken, "schema_version: '1.0'\ntasks: [unclosed\n").unwrap();
    let client = stdio(&["--dir", dir.path().to_str().unwrap()], &[]).await;
    assert_eq!(
        error_kind(
            &client,
            "statebox_get_release",
            json!({"release": "4.19.2"})
        )
        .await,
        "bad_state"
    );
    assert_eq!(
        error_kind(
            &client,
            "statebox_set_task",
            json!({"release": "4.19.2", "task": "take-ownership", "status": "Pass"})
        )
        .await,
        "bad_state"
    );
    assert_eq!(
        std::fs::read_to_string(&broken).unwrap(),
        "schema_version: '1.0'\ntasks: [unclosed\n",
        "nothing was written"
    );
    client.cancel().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unreachable_remote_is_kept_locally() {
    let repo = new_repo();
    // Port 9 on loopback refuses connections at once.
    git(
        repo.path(),
        &["remote", "add", "origin", "git://127.0.0.1:9/record.git"],
    );
    let repo_arg = repo.path().to_str().unwrap();
    let client = stdio(&["--repo", repo_arg, "--remote", "origin"], &[]).await;
    assert_eq!(
        error_kind(
            &client,
            "statebox_set_task",
            json!({"release": "4.19.3", "task": "take-ownership", "status": "Pass"})
        )
        .await,
        "kept_locally"
    );
    assert!(
        crate::support::tip(repo.path(), "record").is_some(),
        "the write is committed locally"
    );
    let compat_answer = compat(
        &client,
        "oar_update_task_status",
        json!({"release": "4.19.3", "task_name": "stage-testing", "status": "Fail"}),
    )
    .await;
    assert_eq!(compat_answer["success"], false);
    assert!(
        compat_answer["error"]
            .as_str()
            .unwrap()
            .contains("statebox sync")
    );
    client.cancel().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_write_that_keeps_losing_is_race_lost() {
    let repo = new_repo();
    let repo_arg = repo.path().to_str().unwrap();
    crate::support::ok(repo.path(), &["init", "-r", "4.19.4"]);
    let lock = RefLock::hold(repo.path());
    let client = stdio(&["--repo", repo_arg], &[]).await;
    let kind = error_kind(
        &client,
        "statebox_set_task",
        json!({"release": "4.19.4", "task": "take-ownership", "status": "Pass"}),
    )
    .await;
    lock.release();
    assert_eq!(kind, "race_lost");
    client.cancel().await.unwrap();
}

/// Another writer holding the record branch's ref lock, and holding it
/// fresh, so that a write in the library keeps losing the race until
/// [`RefLock::release`].
struct RefLock {
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    holder: std::thread::JoinHandle<()>,
}

impl RefLock {
    fn hold(repo: &Path) -> Self {
        let lock = repo.join(".git/refs/heads/record.lock");
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let holder = {
            let stop = stop.clone();
            std::thread::spawn(move || {
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    std::fs::write(&lock, "0000000000000000000000000000000000000000\n").unwrap();
                    std::thread::sleep(Duration::from_millis(500));
                }
                std::fs::remove_file(&lock).unwrap();
            })
        };
        RefLock { stop, holder }
    }

    fn release(self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        self.holder.join().unwrap();
    }
}

/// A `statebox serve` child on a free loopback port, killed on drop.
struct Server {
    child: Child,
    port: u16,
    _token_dir: tempfile::TempDir,
}

impl Server {
    fn signal(&self, signal: i32) {
        // SAFETY: kill(2) on our own child's pid; it has not been waited for.
        unsafe { libc::kill(self.child.id() as i32, signal) };
    }

    /// Its exit status, failing the test if it is still running `within`.
    fn exit_within(&mut self, within: Duration, after: &str) -> std::process::ExitStatus {
        let deadline = Instant::now() + within;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "serve still running {within:?} after {after}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// What it logged, once it has exited (started by [`serve_logged`]).
    fn log(&mut self) -> String {
        let mut log = String::new();
        self.child
            .stderr
            .take()
            .expect("stderr piped")
            .read_to_string(&mut log)
            .unwrap();
        log
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn serve(store: &[&str], extra: &[&str], token: Option<&str>) -> Server {
    serve_with(store, extra, token, |_| {})
}

/// [`serve`], with `configure` having the last word on the command.
fn serve_with(
    store: &[&str],
    extra: &[&str],
    token: Option<&str>,
    configure: impl FnOnce(&mut Command),
) -> Server {
    let token_dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let mut command = Command::new(statebox_bin());
    command
        .args(store)
        .arg("serve")
        .arg("--listen")
        .arg(format!("127.0.0.1:{port}"))
        .args(extra)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .env("STATEBOX_LOG", "warn");
    if let Some(token) = token {
        let file = token_dir.path().join("token");
        std::fs::write(&file, format!("{token}\n")).unwrap();
        command.arg("--token-file").arg(file);
    }
    configure(&mut command);
    let server = Server {
        child: command.spawn().unwrap(),
        port,
        _token_dir: token_dir,
    };
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        if TcpStream::connect(("127.0.0.1", port)).is_ok() && get(port, "/healthz").0 == 200 {
            return server;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("statebox serve did not come up on port {port}");
}

/// One HTTP/1.1 request; returns the status and the body.
fn request(
    port: u16,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> (u16, String) {
    let (status, _, body) = exchange(port, method, path, headers, body);
    (status, body)
}

/// [`request`], also returning the response's head (status line, headers).
fn exchange(
    port: u16,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> (u16, String, String) {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream
        .write_all(request_head(port, method, path, headers, body.len()).as_bytes())
        .unwrap();
    // The server may answer (413) before it reads the whole body.
    let _ = stream.write_all(body.as_bytes());
    answer(stream)
}

/// An HTTP/1.1 request's head, for a body of `length` bytes.
fn request_head(
    port: u16,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    length: usize,
) -> String {
    let mut head =
        format!("{method} {path} HTTP/1.1\r\nConnection: close\r\nContent-Length: {length}\r\n");
    if !headers.iter().any(|(k, _)| k.eq_ignore_ascii_case("host")) {
        head.push_str(&format!("Host: 127.0.0.1:{port}\r\n"));
    }
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    head
}

/// Everything the server sends until it closes: status, head, body.
fn answer(mut stream: TcpStream) -> (u16, String, String) {
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer);
    let answer = String::from_utf8_lossy(&answer).into_owned();
    let status = answer
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let (head, body) = answer.split_once("\r\n\r\n").unwrap_or((&answer, ""));
    (status, head.to_owned(), body.to_owned())
}

fn get(port: u16, path: &str) -> (u16, String) {
    request(port, "GET", path, &[], "")
}

#[tokio::test(flavor = "multi_thread")]
async fn http_rmcp_client_calls_every_tool_stateless_behind_a_token() {
    let repo = new_repo();
    let repo_arg = repo.path().to_str().unwrap();
    let server = serve(&["--repo", repo_arg], &[], Some(TOKEN));
    let port = server.port;
    let client = http_client(port, Some(TOKEN)).await;
    exercise_every_tool(&client, "4.20.1").await;
    client.cancel().await.unwrap();

    // Stateless: a tools/call with no session and no initialize works.
    let bearer = format!("Bearer {TOKEN}");
    let mcp_headers = [
        ("Authorization", bearer.as_str()),
        ("Content-Type", "application/json"),
        ("Accept", "application/json, text/event-stream"),
    ];
    let (status, body) = request(
        port,
        "POST",
        "/mcp",
        &mcp_headers,
        r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"oar_get_release_status","arguments":{"release":"4.20.1"}}}"#,
    );
    assert_eq!(status, 200, "{body}");
    assert!(body.contains(r#"\"release\": \"4.20.1\""#), "{body}");

    // The JSON API, behind the same token.
    let auth = [("Authorization", bearer.as_str())];
    let (status, body) = request(port, "GET", "/api/status", &auth, "");
    assert_eq!(status, 200);
    let status_json: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(status_json["releases"][0]["release"], "4.20.1");
    let (status, body) = request(port, "GET", "/api/releases/4.20.1", &auth, "");
    assert_eq!(status, 200);
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap()["release"],
        "4.20.1"
    );
    let (status, body) = request(port, "GET", "/api/releases/4.20.1/log", &auth, "");
    assert_eq!(status, 200);
    assert!(serde_json::from_str::<Value>(&body).unwrap()["commits"][0]["commit"].is_string());
    let (status, body) = request(port, "GET", "/api/releases/4.1.99", &auth, "");
    assert_eq!((status, body.contains("not_found")), (404, true), "{body}");

    // Guards: the token, the Host, the body size.
    assert_eq!(get(port, "/api/status").0, 401);
    assert_eq!(
        request(
            port,
            "POST",
            "/mcp",
            &[("Authorization", "Bearer wrong")],
            "{}"
        )
        .0,
        401
    );
    let (status, body) = request(port, "GET", "/", &[("Host", "evil.example")], "");
    assert_eq!(status, 403, "{body}");
    assert!(body.contains("--allowed-host evil.example"));
    let big = "x".repeat(2 << 20);
    assert_eq!(request(port, "POST", "/mcp", &mcp_headers, &big).0, 413);
    // Probes and pages need no token; the probes no Host either.
    assert_eq!(get(port, "/healthz").0, 200);
    assert_eq!(
        request(port, "GET", "/readyz", &[("Host", "10.1.2.3:8080")], "").0,
        200
    );
    assert_eq!(get(port, "/").0, 200);
    assert_eq!(get(port, "/release/4.20.1").0, 200);
    assert_eq!(get(port, "/release/4.1.99").0, 404);
}

#[test]
fn allowed_hosts_are_configurable() {
    let dir = sample_dir();
    let server = serve(
        &["--dir", dir.path().to_str().unwrap()],
        &["--allowed-host", "statebox.apps.example.com"],
        None,
    );
    let routed = [("Host", "statebox.apps.example.com")];
    assert_eq!(request(server.port, "GET", "/", &routed, "").0, 200);
    assert_eq!(
        request(server.port, "GET", "/api/status", &routed, "").0,
        200
    );
    assert_eq!(
        request(
            server.port,
            "GET",
            "/",
            &[("Host", "other.example.com")],
            ""
        )
        .0,
        403
    );
}

#[test]
fn readyz_says_why_it_is_not_ready_while_healthz_stays_up() {
    let missing = tempfile::tempdir().unwrap();
    let server = serve(
        &["--repo", missing.path().join("nowhere").to_str().unwrap()],
        &[],
        None,
    );
    let (status, body) = get(server.port, "/readyz");
    assert_eq!(status, 503, "{body}");
    let body: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(body["ready"], false);
    assert!(body["reason"].as_str().unwrap().contains("git"), "{body}");
    assert_eq!(get(server.port, "/healthz").0, 200);
}

#[test]
fn report_html_is_one_self_contained_page_that_escapes() {
    let dir = sample_dir();
    let dir_arg = dir.path().to_str().unwrap();
    cli(&[
        "--dir",
        dir_arg,
        "task",
        "set",
        "-r",
        "4.20.7",
        "drop-bugs",
        "--status",
        "Fail",
        "--result",
        "<script>alert('x')</script> & more",
    ]);
    let out = dir.path().join("report.html");
    cli(&[
        "--dir",
        dir_arg,
        "report",
        "--html",
        "-o",
        out.to_str().unwrap(),
    ]);
    let html = std::fs::read_to_string(&out).unwrap();
    for release in ["4.18.12", "4.19.40", "4.20.7"] {
        assert!(
            html.contains(&format!("id=\"release-{release}\"")),
            "{release}"
        );
        assert!(
            html.contains(&format!("href=\"#release-{release}\"")),
            "{release}"
        );
    }
    assert!(html.contains("data-status=\"Fail\""));
    assert!(html.contains("&#60;script&#62;alert(&#39;x&#39;)&#60;/script&#62; &#38; more"));
    assert!(!html.contains("<script>alert"), "task results are escaped");
    assert!(!html.contains("<script"), "a static report runs no script");
    assert!(
        !html.contains("src=\"http") && !html.contains("<link"),
        "no external asset"
    );
    let newest_first = html.find("release-4.20.7").unwrap() < html.find("release-4.18.12").unwrap();
    assert!(newest_first);

    let chosen = cli(&["--dir", dir_arg, "report", "--html", "-r", "4.19.40"]);
    assert!(
        chosen.contains("id=\"release-4.19.40\"") && !chosen.contains("id=\"release-4.18.12\"")
    );
}

/// `statebox ARGS` with no implied store option; its stdout.
fn cli(args: &[&str]) -> String {
    let out = Command::new(statebox_bin()).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "statebox {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// A test dependency outside cargo: present, else skip (fail under CI).
fn needed(path: &Path, what: &str) -> bool {
    if path.exists() {
        return true;
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "{what} is missing at {} (CI installs it: see .ci/run)",
        path.display()
    );
    eprintln!(
        "SKIP: {what} not found at {}; install it to run this test",
        path.display()
    );
    false
}

fn env_path(var: &str, default: &str) -> PathBuf {
    std::env::var_os(var).map_or_else(|| PathBuf::from(default), PathBuf::from)
}

fn script(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/it/service_clients")
        .join(name)
}

fn run_checked(command: &mut Command, what: &str) {
    let out = command.output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{what} failed:\n{stdout}\n{stderr}");
    eprintln!("{what}: {}", stdout.lines().last().unwrap_or(""));
}

#[test]
fn python_mcp_1x_and_2x_over_stdio_and_http() {
    for (var, default, what) in [
        (
            "STATEBOX_MCP1_PYTHON",
            "/opt/mcp1/bin/python",
            "Python mcp 1.x",
        ),
        (
            "STATEBOX_MCP2_PYTHON",
            "/opt/mcp2/bin/python",
            "Python mcp 2.x",
        ),
    ] {
        let python = env_path(var, default);
        if !needed(&python, what) {
            continue;
        }
        let repo = new_repo();
        run_checked(
            Command::new(&python)
                .arg(script("mcp_client.py"))
                .arg("stdio")
                .arg(statebox_bin())
                .arg(repo.path())
                .env("STATEBOX_LOG", "warn"),
            &format!("{what} over stdio"),
        );
        let repo = new_repo();
        let server = serve(&["--repo", repo.path().to_str().unwrap()], &[], Some(TOKEN));
        run_checked(
            Command::new(&python)
                .arg(script("mcp_client.py"))
                .arg("http")
                .arg(format!("http://127.0.0.1:{}/mcp", server.port))
                .arg(TOKEN),
            &format!("{what} over HTTP"),
        );
        if what.ends_with("2.x") {
            let repo = new_repo();
            cli_in(repo.path(), &["init", "-r", "4.21.7"]);
            let server = serve(&["--repo", repo.path().to_str().unwrap()], &[], Some(TOKEN));
            run_checked(
                Command::new(&python)
                    .arg(script("listen.py"))
                    .arg(format!("http://127.0.0.1:{}/mcp", server.port))
                    .arg(TOKEN)
                    .arg(statebox_bin())
                    .arg(repo.path()),
                &format!("{what} listening over HTTP"),
            );
        }
    }
}

#[test]
fn browser_sees_the_heatmap_and_a_cli_write_without_reload() {
    let chromium = env_path("STATEBOX_CHROMIUM", "/usr/bin/chromium");
    let playwright =
        env_path("STATEBOX_PLAYWRIGHT_DIR", "/opt/playwright").join("node_modules/playwright-core");
    if !needed(&chromium, "chromium") || !needed(&playwright, "npm playwright-core") {
        return;
    }
    let dir = sample_dir();
    let dir_arg = dir.path().to_str().unwrap().to_owned();
    let server = serve(&["--dir", &dir_arg], &[], None);
    let screenshot = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/service-dashboard.png");
    let mut node = Command::new("node")
        .arg(script("dashboard.cjs"))
        .arg(format!("http://127.0.0.1:{}", server.port))
        .arg(&screenshot)
        .env("NODE_PATH", playwright.parent().unwrap())
        .env("STATEBOX_CHROMIUM", &chromium)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    // The script says when the page is open; then the CLI writes.
    let mut stdout = node.stdout.take().unwrap();
    let mut seen = String::new();
    let mut byte = [0u8; 1];
    while !seen.contains("READY\n") {
        assert_eq!(
            stdout.read(&mut byte).unwrap(),
            1,
            "dashboard.cjs ended early: {seen}"
        );
        seen.push(byte[0] as char);
    }
    for args in [
        vec![
            "task",
            "set",
            "-r",
            "4.20.7",
            "take-ownership",
            "--status",
            "Pass",
        ],
        vec![
            "task",
            "set",
            "-r",
            "4.19.40",
            "image-signed-check",
            "--status",
            "Fail",
            "--result",
            "<script>window.__pwned = 1</script>",
        ],
    ] {
        let mut full = vec!["--dir", dir_arg.as_str()];
        full.extend(args);
        cli(&full);
    }
    node.stdin.take().unwrap().write_all(b"WRITTEN\n").unwrap();
    let mut rest = String::new();
    stdout.read_to_string(&mut rest).unwrap();
    let status = node.wait().unwrap();
    assert!(status.success(), "dashboard.cjs failed:\n{seen}{rest}");
    assert!(rest.contains("ALL CHECKS PASSED"), "{seen}{rest}");
    assert!(screenshot.exists());
}

#[tokio::test(flavor = "multi_thread")]
async fn sixteen_mcp_clients_and_four_cli_writers_lose_nothing() {
    const CLIENTS: usize = 16;
    const WRITES: usize = 50;
    const CLI_WRITERS: usize = 4;
    const CLI_WRITES: usize = 25;
    const RELEASES: [&str; 4] = ["4.19.11", "4.19.12", "4.20.11", "4.20.12"];
    let repo = new_repo();
    let repo_path = repo.path().to_owned();
    let server = serve(&["--repo", repo_path.to_str().unwrap()], &[], None);
    let port = server.port;
    let mut mcp_writers = Vec::new();
    for c in 0..CLIENTS {
        mcp_writers.push(tokio::spawn(async move {
            let client = http_client(port, None).await;
            for w in 0..WRITES {
                let release = RELEASES[(c + w) % RELEASES.len()];
                let result = call(
                    &client,
                    "statebox_add_issue",
                    json!({"release": release, "issue": format!("mcp {c} write {w}")}),
                )
                .await;
                assert_eq!(result.is_error, Some(false), "{}", text_of(&result));
            }
            client.cancel().await.unwrap();
        }));
    }
    let cli_writers: Vec<_> = (0..CLI_WRITERS)
        .map(|c| {
            let repo = repo_path.clone();
            std::thread::spawn(move || {
                for w in 0..CLI_WRITES {
                    let release = RELEASES[(c + w) % RELEASES.len()];
                    crate::support::ok(
                        &repo,
                        &["issue", "add", "-r", release, &format!("cli {c} write {w}")],
                    );
                }
            })
        })
        .collect();
    for writer in mcp_writers {
        writer.await.unwrap();
    }
    for writer in cli_writers {
        writer.join().unwrap();
    }
    let client = http_client(port, None).await;
    let mut found = std::collections::HashSet::new();
    for release in RELEASES {
        let issues = ok(&client, "statebox_list_issues", json!({"release": release})).await;
        for issue in issues["issues"].as_array().unwrap() {
            found.insert(issue["issue"].as_str().unwrap().to_owned());
        }
    }
    client.cancel().await.unwrap();
    let mut missing = Vec::new();
    for c in 0..CLIENTS {
        for w in 0..WRITES {
            if !found.contains(&format!("mcp {c} write {w}")) {
                missing.push(format!("mcp {c} write {w}"));
            }
        }
    }
    for c in 0..CLI_WRITERS {
        for w in 0..CLI_WRITES {
            if !found.contains(&format!("cli {c} write {w}")) {
                missing.push(format!("cli {c} write {w}"));
            }
        }
    }
    assert!(missing.is_empty(), "lost writes: {missing:?}");
    assert_eq!(found.len(), CLIENTS * WRITES + CLI_WRITERS * CLI_WRITES);
    let fsck = Command::new("git")
        .args(["fsck", "--strict"])
        .current_dir(&repo_path)
        .output()
        .unwrap();
    assert!(
        fsck.status.success(),
        "{}",
        String::from_utf8_lossy(&fsck.stderr)
    );
}

fn record_commits(repo: &Path) -> usize {
    git(repo, &["rev-list", "--count", "record"])
        .parse()
        .unwrap()
}

/// A client that lost the answer retries with the same key, over the JSON
/// API and over MCP (`statebox_*` and the `oar_*` tools, whose original
/// parameters stay as they were): one effect, the first answer again; a
/// new key writes; a bad key is refused naming it, and nothing changes.
#[tokio::test(flavor = "multi_thread")]
async fn retries_with_an_idempotency_key_take_effect_once() {
    let repo = new_repo();
    let server = serve(&["--repo", repo.path().to_str().unwrap()], &[], None);
    let port = server.port;
    let put = |key: &str, body: &str| {
        exchange(
            port,
            "PUT",
            "/api/releases/4.20.1/tasks/take-ownership",
            &[
                ("Content-Type", "application/json"),
                ("Idempotency-Key", key),
            ],
            body,
        )
    };
    let (status, _, _) = exchange(port, "PUT", "/api/releases/4.20.1", &[], "");
    assert_eq!(status, 200);
    let (status, head, first) = put("api-1", r#"{"status": "Pass", "result": "done"}"#);
    assert_eq!(status, 200, "{first}");
    assert!(
        !head.to_lowercase().contains("idempotent-replayed"),
        "{head}"
    );
    let commits = record_commits(repo.path());
    let (status, head, again) = put("api-1", r#"{"status": "Pass", "result": "done"}"#);
    assert_eq!(status, 200, "{again}");
    assert!(
        head.to_lowercase().contains("idempotent-replayed: true"),
        "{head}"
    );
    let (first, again): (Value, Value) = (
        serde_json::from_str(&first).unwrap(),
        serde_json::from_str(&again).unwrap(),
    );
    assert_eq!(first["repeated"], false);
    assert_eq!(again["repeated"], true);
    for field in ["commit", "message", "state", "changed"] {
        assert_eq!(first[field], again[field], "{field}");
    }
    assert_eq!(
        record_commits(repo.path()),
        commits,
        "the retry wrote nothing"
    );
    let (status, _, body) = put("api-1", r#"{"status": "Fail"}"#);
    assert_eq!(status, 400, "{body}");
    assert!(
        body.contains("idempotency key 'api-1' was already used"),
        "{body}"
    );
    let (status, _, body) = put("api 1", r#"{"status": "Fail"}"#);
    assert_eq!(status, 400, "{body}");
    assert!(body.contains(r#"idempotency key \"api 1\""#), "{body}");
    let (status, _, body) = put("api-2", r#"{"status": 3}"#);
    assert_eq!((status, body.contains("rejected")), (400, true), "{body}");
    assert_eq!(
        record_commits(repo.path()),
        commits,
        "refusals wrote nothing"
    );
    let (status, _, body) = put("api-2", r#"{"status": "Fail"}"#);
    assert_eq!(status, 200, "{body}");
    assert_eq!(record_commits(repo.path()), commits + 1, "a new key writes");

    let client = http_client(port, None).await;
    let tools = client.list_all_tools().await.unwrap();
    for (tool, required) in [
        (
            "oar_update_task_status",
            vec!["release", "task_name", "status"],
        ),
        ("oar_add_issue", vec!["release", "issue"]),
        ("oar_resolve_issue", vec!["release", "issue", "resolution"]),
        ("oar_create_test_report", vec!["release"]),
    ] {
        let schema = &tools.iter().find(|t| t.name == tool).unwrap().input_schema;
        let listed: Vec<&str> = schema["required"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        assert_eq!(listed, required, "{tool}: the original's parameters");
        assert!(
            schema["properties"]["idempotency_key"].is_object(),
            "{tool}"
        );
    }
    let add = json!({"release": "4.20.1", "issue": "flaky", "blocker": false, "idempotency_key": "mcp-1"});
    let first = ok(&client, "statebox_add_issue", add.clone()).await;
    let commits = record_commits(repo.path());
    let again = ok(&client, "statebox_add_issue", add).await;
    assert_eq!(
        (first["repeated"].clone(), again["repeated"].clone()),
        (json!(false), json!(true))
    );
    assert_eq!(first["commit"], again["commit"]);
    assert_eq!(first["state"], again["state"]);
    let update = json!({"release": "4.20.1", "task_name": "check-cve-tracker-bug", "status": "Pass", "idempotency_key": "oar-1"});
    let first = text_of(&call(&client, "oar_update_task_status", update.clone()).await).to_owned();
    let again = text_of(&call(&client, "oar_update_task_status", update).await).to_owned();
    assert!(first.contains(r#""success": true"#), "{first}");
    assert_eq!(first, again, "the original's JSON text, the same twice");
    assert_eq!(
        record_commits(repo.path()),
        commits + 1,
        "one effect per key"
    );
    let bad = json!({"release": "4.20.1", "task": "take-ownership", "status": "Pass", "idempotency_key": "x/y"});
    assert_eq!(
        error_kind(&client, "statebox_set_task", bad).await,
        "rejected"
    );
    let bad = json!({"release": "4.20.1", "task_name": "take-ownership", "status": "Pass", "idempotency_key": "x/y"});
    let answer = compat(&client, "oar_update_task_status", bad).await;
    assert_eq!(answer["success"], false);
    assert!(
        answer["error"]
            .as_str()
            .unwrap()
            .contains(r#"idempotency key "x/y""#)
    );
    assert_eq!(record_commits(repo.path()), commits + 1);
    client.cancel().await.unwrap();
}

/// What a client was told, in order: a resource's URI, or `list_changed`.
#[derive(Clone)]
struct Told(tokio::sync::mpsc::UnboundedSender<String>);

impl rmcp::ClientHandler for Told {
    async fn on_resource_updated(
        &self,
        params: rmcp::model::ResourceUpdatedNotificationParam,
        _context: rmcp::service::NotificationContext<RoleClient>,
    ) {
        let _ = self.0.send(params.uri);
    }

    async fn on_resource_list_changed(
        &self,
        _context: rmcp::service::NotificationContext<RoleClient>,
    ) {
        let _ = self.0.send("list_changed".to_owned());
    }
}

/// How long a notification may take: the server polls the tip every
/// 200 ms; the rest is slack for a loaded machine, not a measurement.
const NOTIFIED_WITHIN: Duration = Duration::from_secs(10);

async fn next_told(told: &mut tokio::sync::mpsc::UnboundedReceiver<String>, what: &str) -> String {
    tokio::time::timeout(NOTIFIED_WITHIN, told.recv())
        .await
        .unwrap_or_else(|_| panic!("no notification within {NOTIFIED_WITHIN:?} after {what}"))
        .expect("the client is still connected")
}

fn cli_in(repo: &Path, args: &[&str]) {
    let mut all = vec!["--repo", repo.to_str().unwrap()];
    all.extend_from_slice(args);
    cli(&all);
}

#[tokio::test(flavor = "multi_thread")]
async fn stdio_subscribers_hear_of_cli_writes_and_new_releases() {
    let repo = new_repo();
    cli_in(repo.path(), &["init", "-r", "4.19.1"]);
    let (sender, mut told) = tokio::sync::mpsc::unbounded_channel();
    let mut command = tokio::process::Command::new(statebox_bin());
    command.arg("--repo").arg(repo.path()).arg("mcp");
    command.env("STATEBOX_LOG", "warn");
    let client = Told(sender)
        .serve(TokioChildProcess::new(command).unwrap())
        .await
        .expect("the MCP handshake succeeds");
    let uri = "statebox://release/4.19.1";
    // Clients before protocol 2026-07-28 subscribe this way, and still exist.
    #[expect(deprecated)]
    client
        .subscribe(rmcp::model::SubscribeRequestParams::new(uri))
        .await
        .unwrap();

    cli_in(
        repo.path(),
        &[
            "task",
            "set",
            "-r",
            "4.19.1",
            "drop-bugs",
            "--status",
            "Pass",
        ],
    );
    assert_eq!(next_told(&mut told, "a CLI task set").await, uri);

    // Another release's write moves the tip but not this file: no update
    // for it, only the resource list changed.
    cli_in(repo.path(), &["init", "-r", "4.19.2"]);
    assert_eq!(next_told(&mut told, "a CLI init").await, "list_changed");
    cli_in(repo.path(), &["issue", "add", "-r", "4.19.1", "a blocker"]);
    assert_eq!(next_told(&mut told, "a CLI issue add").await, uri);
    client.cancel().await.unwrap();
}

/// Protocol 2026-07-28 over stateless HTTP: `subscriptions/listen` keeps
/// its response stream open and the notifications ride on it; the legacy
/// `resources/subscribe`, which would need a session, is refused saying so.
#[tokio::test(flavor = "multi_thread")]
async fn http_listeners_hear_of_cli_writes_and_new_releases() {
    use rmcp::model::{ServerNotification, SubscriptionFilter};
    let repo = new_repo();
    cli_in(repo.path(), &["init", "-r", "4.20.3"]);
    let mut server = serve(&["--repo", repo.path().to_str().unwrap()], &[], Some(TOKEN));
    let client = listen_client(server.port).await;
    let uri = "statebox://release/4.20.3";
    let filter = SubscriptionFilter::builder()
        .resource_subscription(uri)
        .resource_subscription("https://elsewhere/not-ours")
        .resources_list_changed()
        .build();
    let mut listening = client.peer().listen(filter).await.unwrap();
    assert_eq!(
        listening.acknowledged().resource_subscriptions.as_deref(),
        Some([uri.to_owned()].as_slice()),
        "only statebox's own resources are accepted"
    );
    let mut next = async |what: &str| {
        let told = tokio::time::timeout(NOTIFIED_WITHIN, listening.next())
            .await
            .unwrap_or_else(|_| panic!("no notification within {NOTIFIED_WITHIN:?} after {what}"))
            .unwrap()
            .expect("the stream stays open");
        match told {
            ServerNotification::ResourceUpdatedNotification(n) => n.params.uri,
            ServerNotification::ResourceListChangedNotification(_) => "list_changed".to_owned(),
            other => panic!("unexpected notification {other:?}"),
        }
    };
    cli_in(
        repo.path(),
        &[
            "task",
            "set",
            "-r",
            "4.20.3",
            "drop-bugs",
            "--status",
            "Fail",
        ],
    );
    assert_eq!(next("a CLI task set").await, uri);
    cli_in(repo.path(), &["init", "-r", "4.20.4"]);
    assert_eq!(next("a CLI init").await, "list_changed");
    cli_in(repo.path(), &["issue", "add", "-r", "4.20.3", "a blocker"]);
    assert_eq!(next("a CLI issue add").await, uri);
    listening.cancel().await.unwrap();
    client.cancel().await.unwrap();

    let legacy = http_client(server.port, Some(TOKEN)).await;
    #[expect(deprecated)]
    let refused = legacy
        .subscribe(rmcp::model::SubscribeRequestParams::new(uri))
        .await
        .expect_err("no session to push on later");
    assert!(
        refused.to_string().contains("subscriptions/listen"),
        "{refused}"
    );
    legacy.cancel().await.unwrap();

    // SIGTERM with a listener still open: its stream ends with the server,
    // which exits 0 rather than waiting on it.
    let listener = listen_client(server.port).await;
    let filter = SubscriptionFilter::builder()
        .resource_subscription(uri)
        .build();
    let mut open = listener.peer().listen(filter).await.unwrap();
    server.signal(libc::SIGTERM);
    let status = server.exit_within(Duration::from_secs(10), "SIGTERM with a listener open");
    assert_eq!(status.code(), Some(0), "SIGTERM is a clean stop");
    let ended = tokio::time::timeout(NOTIFIED_WITHIN, open.next()).await;
    assert!(
        matches!(ended, Ok(Ok(None) | Err(_))),
        "the listen stream ended: {ended:?}"
    );
}

/// An rmcp client over HTTP that speaks protocol 2026-07-28, whose
/// `subscriptions/listen` works without a session.
async fn listen_client(port: u16) -> rmcp::service::RunningService<rmcp::RoleClient, ()> {
    use rmcp::model::ProtocolVersion;
    use rmcp::service::{ClientLifecycleMode, ClientServiceExt};
    let transport = StreamableHttpClientTransport::from_config(
        StreamableHttpClientTransportConfig::with_uri(format!("http://127.0.0.1:{port}/mcp"))
            .auth_header(TOKEN),
    );
    ().serve_with_lifecycle(
        transport,
        ClientLifecycleMode::Discover {
            preferred_versions: vec![ProtocolVersion::V_2026_07_28],
        },
    )
    .await
    .expect("server/discover succeeds over HTTP")
}

// Graceful shutdown: what a kubelet's or systemd's SIGTERM does to writes
// in flight, on the real process.

/// `statebox serve` on `repo` behind [`TOKEN`], logging at info to a pipe.
fn serve_logged(repo: &Path, extra: &[&str]) -> Server {
    serve_with(
        &["--repo", repo.to_str().unwrap()],
        extra,
        Some(TOKEN),
        |command| {
            command.env("STATEBOX_LOG", "info").stderr(Stdio::piped());
        },
    )
}

/// A request that the server is reading: its head sent and taken up by a
/// handler (the server asked for the body with `100 Continue`), and part of
/// its body sent; the rest waits for [`Held::send_rest`].
struct Held {
    stream: TcpStream,
    rest: String,
}

impl Held {
    fn start(port: u16, method: &str, path: &str, headers: &[(&str, &str)], body: &str) -> Self {
        let bearer = format!("Bearer {TOKEN}");
        let mut all = vec![
            ("Authorization", bearer.as_str()),
            ("Expect", "100-continue"),
        ];
        all.extend_from_slice(headers);
        let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(20)))
            .unwrap();
        stream
            .write_all(request_head(port, method, path, &all, body.len()).as_bytes())
            .unwrap();
        let mut interim = Vec::new();
        while !interim.ends_with(b"\r\n\r\n") {
            let mut byte = [0];
            let read = stream.read(&mut byte).unwrap_or_else(|e| {
                panic!("no `100 Continue` for {method} {path} within 20 s: {e}")
            });
            assert_eq!(read, 1, "the server closed before asking for the body");
            interim.push(byte[0]);
        }
        let interim = String::from_utf8_lossy(&interim);
        assert!(interim.starts_with("HTTP/1.1 100"), "{interim}");
        let (sent, rest) = body.split_at(body.len() / 2);
        stream.write_all(sent.as_bytes()).unwrap();
        Held {
            stream,
            rest: rest.to_owned(),
        }
    }

    /// Sends the rest of the body; the stream to read the [`answer`] on.
    fn send_rest(mut self) -> TcpStream {
        self.stream.write_all(self.rest.as_bytes()).unwrap();
        self.stream
    }
}

/// Fails unless connecting to `port` is refused within 10 s: the server
/// stopped accepting (it may take a moment to act on the signal).
fn refused(port: u16) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match TcpStream::connect(("127.0.0.1", port)) {
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => return,
            Err(e) => panic!("connecting to a draining server: {e}"),
            Ok(_) => assert!(
                Instant::now() < deadline,
                "still accepting connections 10 s after SIGTERM"
            ),
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn fsck(repo: &Path) {
    git(repo, &["fsck", "--strict", "--no-dangling"]);
}

const ADD_ISSUE: &str = "/api/releases/4.19.4/issues";
const ISSUE_BODY: &str = r#"{"issue": "sent across a SIGTERM", "blocker": true}"#;
const JSON: (&str, &str) = ("Content-Type", "application/json");

#[test]
fn sigterm_lets_writes_in_flight_commit_then_exits_0() {
    let repo = new_repo();
    crate::support::ok(repo.path(), &["init", "-r", "4.19.4"]);
    let mut server = serve_logged(repo.path(), &[]);
    let port = server.port;
    // An MCP write inside the library when SIGTERM comes: it keeps losing
    // the race for the ref lock another writer holds.
    let lock = RefLock::hold(repo.path());
    let in_library = Held::start(
        port,
        "POST",
        "/mcp",
        &[JSON, ("Accept", "application/json, text/event-stream")],
        r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"statebox_set_task","arguments":{"release":"4.19.4","task":"take-ownership","status":"Pass"}}}"#,
    )
    .send_rest();
    // And a JSON API write whose body is still on its way.
    let arriving = Held::start(port, "POST", ADD_ISSUE, &[JSON], ISSUE_BODY);
    // A moment for the MCP write to reach the library (if it had not, it
    // would still be a request in flight, which the drain must finish too).
    std::thread::sleep(Duration::from_millis(300));

    server.signal(libc::SIGTERM);
    refused(port);
    assert!(
        server.child.try_wait().unwrap().is_none(),
        "serve exited with two requests in flight"
    );
    let arriving = arriving.send_rest();
    // The other writer lets go well inside the writes' retry budget.
    lock.release();
    let (status, _, body) = answer(in_library);
    assert_eq!(status, 200, "{body}");
    let told: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        told["result"]["structuredContent"]["changed"], true,
        "{body}"
    );
    let (status, _, body) = answer(arriving);
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap()["changed"],
        true
    );

    let status = server.exit_within(Duration::from_secs(20), "SIGTERM and both writes answered");
    assert_eq!(status.code(), Some(0), "a drained shutdown is a clean stop");
    let log = server.log();
    assert!(log.contains("shutting down: no new connections"), "{log}");
    assert!(
        log.contains("shut down: every in-flight request finished"),
        "{log}"
    );
    let state: Value = serde_json::from_str(&crate::support::ok(
        repo.path(),
        &["show", "-r", "4.19.4", "--json"],
    ))
    .unwrap();
    assert_eq!(state["tasks"][0]["name"], "take-ownership");
    assert_eq!(state["tasks"][0]["status"], "Pass");
    assert_eq!(state["issues"][0]["issue"], "sent across a SIGTERM");
    fsck(repo.path());
}

#[test]
fn a_second_signal_during_the_drain_exits_at_once() {
    let repo = new_repo();
    crate::support::ok(repo.path(), &["init", "-r", "4.19.4"]);
    let before = crate::support::tip(repo.path(), "record");
    let mut server = serve_logged(repo.path(), &[]);
    let held = Held::start(server.port, "POST", ADD_ISSUE, &[JSON], ISSUE_BODY);
    server.signal(libc::SIGTERM);
    // Draining now: the second signal is not merged into the first.
    refused(server.port);
    server.signal(libc::SIGTERM);
    // Well inside the 25 s grace period the drain would otherwise wait.
    let status = server.exit_within(Duration::from_secs(10), "a second SIGTERM");
    assert_eq!(status.code(), Some(128 + libc::SIGTERM));
    assert!(
        server
            .log()
            .contains("second signal during shutdown: exiting at once"),
    );
    drop(held);
    assert_eq!(crate::support::tip(repo.path(), "record"), before);
    fsck(repo.path());
}

#[test]
fn a_grace_period_that_runs_out_exits_12_saying_what_was_in_flight() {
    let repo = new_repo();
    crate::support::ok(repo.path(), &["init", "-r", "4.19.4"]);
    let before = crate::support::tip(repo.path(), "record");
    let mut server = serve_logged(repo.path(), &["--shutdown-grace", "1"]);
    let held = Held::start(server.port, "POST", ADD_ISSUE, &[JSON], ISSUE_BODY);
    server.signal(libc::SIGINT);
    let status = server.exit_within(Duration::from_secs(10), "SIGINT with --shutdown-grace 1");
    assert_eq!(status.code(), Some(12), "12: the grace period ran out");
    let log = server.log();
    assert!(
        log.contains("with 1 request(s) and 0 store call(s) still in flight"),
        "{log}"
    );
    drop(held);
    assert_eq!(crate::support::tip(repo.path(), "record"), before);
    fsck(repo.path());
}
