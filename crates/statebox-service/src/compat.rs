//! The original server's StateBox tools: same names, parameters, defaults
//! and JSON text (Python `json.dumps`), errors inside the JSON with
//! `isError` false, because the original dashboard's collector raises on
//! `isError`.

use crate::access::{Change, ErrorKind, Failure, StateAccess};
use crate::pyjson::dumps;
use crate::views;
use serde::Deserialize;
use serde_json::{Map, Value, json};

/// The statuses the original's `oar_update_task_status` accepts, in its order.
const SETTABLE: [&str; 3] = ["Pass", "Fail", "In Progress"];

#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub struct ReleaseParams {
    /// Z-stream release version (e.g., "4.19.1")
    pub release: String,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub struct UpdateTaskParams {
    /// Z-stream release version (e.g., "4.19.1")
    pub release: String,
    /// Task name (e.g., "analyze-candidate-build", "image-consistency-check")
    pub task_name: String,
    /// Task status - must be one of: "Pass", "Fail", "In Progress"
    pub status: String,
    /// Optional task execution result summary (AI-readable text)
    #[serde(default)]
    pub result: Option<String>,
    /// statebox only: a retry with the same key returns the first result instead of writing again
    #[serde(default)]
    pub idempotency_key: Option<String>,
}

fn default_true() -> bool {
    true
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub struct AddIssueParams {
    /// Z-stream release version (e.g., "4.19.1")
    pub release: String,
    /// Issue description (human-readable root cause)
    pub issue: String,
    /// Is this a blocking issue? (default: True)
    #[serde(default = "default_true")]
    #[schemars(default = "default_true")]
    pub blocker: bool,
    /// Comma-separated task names (e.g., "check-cve-tracker-bug,take-ownership"); none for a general issue
    #[serde(default)]
    pub related_tasks: Option<String>,
    /// statebox only: a retry with the same key returns the first result instead of writing again
    #[serde(default)]
    pub idempotency_key: Option<String>,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub struct ResolveIssueParams {
    /// Z-stream release version (e.g., "4.19.1")
    pub release: String,
    /// Issue description (can be partial, case-insensitive)
    pub issue: String,
    /// Resolution description (how the problem was fixed)
    pub resolution: String,
    /// statebox only: a retry with the same key returns the first result instead of writing again
    #[serde(default)]
    pub idempotency_key: Option<String>,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub struct CreateReportParams {
    /// Z-stream release version (e.g., "4.19.1")
    pub release: String,
    /// statebox only: a retry with the same key returns the first result instead of writing again
    #[serde(default)]
    pub idempotency_key: Option<String>,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub struct GetIssuesParams {
    /// Z-stream release version (e.g., "4.19.1")
    pub release: String,
    /// Only return unresolved issues (default: False)
    #[serde(default)]
    pub unresolved_only: bool,
    /// Only return blocking issues (default: False)
    #[serde(default)]
    pub blockers_only: bool,
    /// Only return issues related to specific task (default: None)
    #[serde(default)]
    pub task_name: Option<String>,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub struct TaskBlockerParams {
    /// Z-stream release version (e.g., "4.19.1")
    pub release: String,
    /// Task name (e.g., "check-cve-tracker-bug", "image-consistency-check")
    pub task_name: String,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub struct NoParams {}

/// A JSON object from `(key, value)` pairs, keys in the given order.
fn object(pairs: Vec<(&str, Value)>) -> Value {
    Value::Object(pairs.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())
}

/// A missing state reads as the original's default state: no tasks, no issues.
fn state_or_default(access: &dyn StateAccess, release: &str) -> Result<Value, Failure> {
    Ok(access
        .load(release)?
        .map_or_else(|| json!({"tasks": [], "issues": []}), |l| l.json))
}

pub fn get_release_status(access: &dyn StateAccess, p: ReleaseParams) -> String {
    let error = |message: String| {
        object(vec![
            ("source", json!("error")),
            ("error", json!(message)),
            ("release", json!(p.release)),
            ("overall_status", json!("Unknown")),
            ("tasks", json!({})),
        ])
    };
    dumps(&match access.load(&p.release) {
        Ok(Some(loaded)) => loaded.json,
        Ok(None) => error(format!(
            "release {} has no state on {}",
            p.release,
            access.describe()
        )),
        Err(e) => error(e.message),
    })
}

pub fn update_task_status(access: &dyn StateAccess, p: UpdateTaskParams) -> String {
    if !SETTABLE.contains(&p.status.as_str()) {
        return dumps(&object(vec![
            ("success", json!(false)),
            (
                "error",
                json!(format!(
                    "Invalid status: {}. Must be one of: {}",
                    p.status,
                    SETTABLE.join(", ")
                )),
            ),
        ]));
    }
    let names: Vec<String> = access.catalog().into_iter().map(|t| t.name).collect();
    if !names.contains(&p.task_name) {
        return dumps(&object(vec![
            ("success", json!(false)),
            (
                "error",
                json!(format!(
                    "Invalid task name: {}. Must be one of: {}",
                    p.task_name,
                    names.join(", ")
                )),
            ),
        ]));
    }
    let result = p.result.filter(|r| !r.trim().is_empty());
    let failed = |message: String| {
        dumps(&object(vec![
            ("success", json!(false)),
            ("error", json!(message)),
            ("release", json!(p.release)),
            ("task", json!(p.task_name)),
            ("status", json!(p.status)),
        ]))
    };
    // The original updates only a StateBox that exists.
    match access.load(&p.release) {
        Ok(Some(_)) => {}
        Ok(None) => {
            return failed(format!(
                "release {} has no state on {}; create it with oar_create_test_report",
                p.release,
                access.describe()
            ));
        }
        Err(e) => return failed(e.message),
    }
    let change = Change::SetTask {
        task: p.task_name.clone(),
        status: p.status.clone(),
        result: result.clone(),
    };
    if let Err(e) = access.apply(&p.release, &change, p.idempotency_key.as_deref()) {
        return failed(e.message);
    }
    let mut answer = vec![
        ("success", json!(true)),
        ("release", json!(p.release)),
        ("task", json!(p.task_name)),
        ("status", json!(p.status)),
        ("updated_systems", json!(["statebox"])),
        (
            "message",
            json!(format!(
                "Successfully updated task '{}' to '{}' in statebox",
                p.task_name, p.status
            )),
        ),
    ];
    if let Some(result) = &result {
        let chars = result.chars().count();
        let preview = if chars > 200 {
            format!("{}...", result.chars().take(200).collect::<String>())
        } else {
            result.clone()
        };
        answer.push(("result_length", json!(chars)));
        answer.push(("result_preview", json!(preview)));
    }
    dumps(&object(answer))
}

/// The issue entry as the original returned it: without `resolved_at`
/// while open.
fn issue_entry(issue: &Value) -> Value {
    let mut entry: Map<String, Value> = issue.as_object().cloned().unwrap_or_default();
    if entry.get("resolved_at").is_some_and(Value::is_null) {
        entry.remove("resolved_at");
    }
    Value::Object(entry)
}

pub fn add_issue(access: &dyn StateAccess, p: AddIssueParams) -> String {
    let related: Vec<String> = p
        .related_tasks
        .as_deref()
        .unwrap_or("")
        .split(',')
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(str::to_owned)
        .collect();
    let change = Change::AddIssue {
        text: p.issue.clone(),
        blocker: p.blocker,
        related_tasks: related,
    };
    let failed = |message: String| {
        dumps(&object(vec![
            ("success", json!(false)),
            ("error", json!(message)),
            ("release", json!(p.release)),
        ]))
    };
    match access.apply(&p.release, &change, p.idempotency_key.as_deref()) {
        Ok(written) => {
            let key = p.issue.trim().to_lowercase();
            let entry = views::issues(&written.state)
                .iter()
                .find(|i| {
                    views::is_open(i)
                        && i["issue"].as_str().map(|t| t.trim().to_lowercase()) == Some(key.clone())
                })
                .map(issue_entry)
                .unwrap_or(Value::Null);
            let kind = if p.blocker {
                "blocking"
            } else {
                "non-blocking"
            };
            dumps(&object(vec![
                ("success", json!(true)),
                ("message", json!(format!("Added {kind} issue"))),
                ("issue", entry),
                ("release", json!(p.release)),
            ]))
        }
        Err(e) => failed(e.message),
    }
}

/// The issue a resolve just resolved: matching the query as the library
/// does (exact text, else substring), the most recently resolved.
pub fn resolved_match<'a>(state: &'a Value, query: &str) -> Option<&'a Value> {
    let wanted = query.trim();
    let needle = wanted.to_lowercase();
    views::issues(state)
        .iter()
        .filter(|i| i["resolved"] == true)
        .filter(|i| {
            let text = i["issue"].as_str().unwrap_or("");
            text.trim() == wanted || text.trim().to_lowercase().contains(&needle)
        })
        .max_by(|a, b| {
            a["resolved_at"]
                .as_str()
                .unwrap_or("")
                .cmp(b["resolved_at"].as_str().unwrap_or(""))
        })
}

pub fn resolve_issue(access: &dyn StateAccess, p: ResolveIssueParams) -> String {
    let change = Change::ResolveIssue {
        query: p.issue.clone(),
        resolution: Some(p.resolution.clone()),
    };
    match access.apply(&p.release, &change, p.idempotency_key.as_deref()) {
        Ok(written) => dumps(&object(vec![
            ("success", json!(true)),
            ("message", json!("Issue resolved successfully")),
            (
                "issue",
                resolved_match(&written.state, &p.issue)
                    .cloned()
                    .unwrap_or(Value::Null),
            ),
            ("release", json!(p.release)),
        ])),
        Err(e) => dumps(&object(vec![
            ("success", json!(false)),
            ("error", json!(e.message)),
            ("release", json!(p.release)),
        ])),
    }
}

pub fn get_issues(access: &dyn StateAccess, p: GetIssuesParams) -> String {
    match state_or_default(access, &p.release) {
        Ok(state) => {
            let found = views::filter_issues(
                &state,
                p.unresolved_only,
                p.blockers_only,
                p.task_name.as_deref(),
            );
            dumps(&object(vec![
                ("success", json!(true)),
                ("count", json!(found.len())),
                ("issues", Value::Array(found)),
                (
                    "filters",
                    object(vec![
                        ("unresolved_only", json!(p.unresolved_only)),
                        ("blockers_only", json!(p.blockers_only)),
                        ("task_name", json!(p.task_name)),
                    ]),
                ),
                ("release", json!(p.release)),
            ]))
        }
        Err(e) => dumps(&object(vec![
            ("success", json!(false)),
            ("error", json!(e.message)),
            ("release", json!(p.release)),
            ("count", json!(0)),
            ("issues", json!([])),
        ])),
    }
}

pub fn get_task_blocker(access: &dyn StateAccess, p: TaskBlockerParams) -> String {
    match state_or_default(access, &p.release) {
        Ok(state) => {
            let blocker = views::task_blocker(&state, &p.task_name).cloned();
            dumps(&object(vec![
                ("success", json!(true)),
                ("blocked", json!(blocker.is_some())),
                ("blocker", blocker.unwrap_or(Value::Null)),
                ("task_name", json!(p.task_name)),
                ("release", json!(p.release)),
            ]))
        }
        Err(e) => dumps(&object(vec![
            ("success", json!(false)),
            ("error", json!(e.message)),
            ("release", json!(p.release)),
            ("task_name", json!(p.task_name)),
            ("blocked", json!(false)),
            ("blocker", Value::Null),
        ])),
    }
}

/// The release's metadata: the config store's entry if there is one, else
/// the state's `metadata`.
pub fn release_metadata(access: &dyn StateAccess, release: &str) -> Result<Value, Failure> {
    if let Some(entry) = access.config_metadata(release)? {
        return Ok(entry);
    }
    match access.load(release)? {
        Some(loaded) => Ok(loaded.json["metadata"].clone()),
        None => Err(Failure::new(
            ErrorKind::NotFound,
            format!(
                "release {release} has no config store entry and no state on {}",
                access.describe()
            ),
        )),
    }
}

pub fn get_release_metadata(access: &dyn StateAccess, p: ReleaseParams) -> String {
    match release_metadata(access, &p.release) {
        Ok(meta) => {
            let or = |key: &str, empty: Value| match &meta[key] {
                Value::Null => empty,
                v => v.clone(),
            };
            dumps(&object(vec![
                ("release", json!(p.release)),
                ("advisories", or("advisory_ids", json!({}))),
                ("jira_ticket", or("jira_ticket", json!(""))),
                ("candidate_builds", or("candidate_builds", json!({}))),
                ("shipment_mr", or("shipment_mr", json!(""))),
                ("release_date", or("release_date", json!(""))),
            ]))
        }
        Err(e) => dumps(&object(vec![
            ("error", json!(e.message)),
            ("release", json!(p.release)),
        ])),
    }
}

pub fn discover_active_releases(access: &dyn StateAccess) -> String {
    dumps(&match access.active_releases() {
        Ok(releases) => object(vec![("releases", json!(releases))]),
        Err(e) => object(vec![("error", json!(e.message)), ("releases", json!([]))]),
    })
}

/// `oar create-test-report` as the original's `format_result` printed it.
pub fn create_test_report(access: &dyn StateAccess, p: CreateReportParams) -> String {
    match access.apply(&p.release, &Change::Init, p.idempotency_key.as_deref()) {
        Ok(written) if written.changed => format!("✓ Command succeeded\n\n{}", written.message),
        Ok(_) => format!(
            "✓ Command succeeded\n\nStateBox for release {} already exists",
            p.release
        ),
        Err(e) => format!("✗ Command failed (exit code 1)\n\n{}", e.message),
    }
}
