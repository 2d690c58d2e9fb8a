//! The tool set: the original's compatibility tools and the `statebox_*`
//! tools beside them, one table for both transports.

use crate::access::{Change, ErrorKind, Failure, StateAccess};
use crate::compat;
use crate::service::Service;
use crate::views;
use rmcp::ErrorData as McpError;
use rmcp::handler::server::common::{schema_for_output, schema_for_type};
use rmcp::model::{CallToolResult, ContentBlock, JsonObject, Tool, ToolAnnotations};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub struct ReleaseArgs {
    /// Release version, X.Y.Z
    pub release: String,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub struct InitArgs {
    /// Release version, X.Y.Z
    pub release: String,
    /// A retry with the same key returns the first result instead of writing again
    #[serde(default)]
    pub idempotency_key: Option<String>,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub struct SetTaskArgs {
    /// Release version, X.Y.Z
    pub release: String,
    /// Task name or display name (`take-ownership`, "Take Ownership")
    pub task: String,
    /// Not Started, In Progress, Pass or Fail
    pub status: String,
    /// The task's output; masked before it is stored
    #[serde(default)]
    pub result: Option<String>,
    /// A retry with the same key returns the first result instead of writing again
    #[serde(default)]
    pub idempotency_key: Option<String>,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub struct AddIssueArgs {
    /// Release version, X.Y.Z
    pub release: String,
    /// Issue text, 1 to 1000 characters; not added twice while unresolved
    pub issue: String,
    /// The issue blocks the release (a task has at most one unresolved blocker)
    #[serde(default)]
    pub blocker: bool,
    /// Tasks the issue relates to; none means the whole release
    #[serde(default)]
    pub related_tasks: Vec<String>,
    /// A retry with the same key returns the first result instead of writing again
    #[serde(default)]
    pub idempotency_key: Option<String>,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub struct ResolveIssueArgs {
    /// Release version, X.Y.Z
    pub release: String,
    /// The issue's exact text, or a part of it that matches one unresolved issue
    pub issue: String,
    /// How it was resolved
    #[serde(default)]
    pub resolution: Option<String>,
    /// A retry with the same key returns the first result instead of writing again
    #[serde(default)]
    pub idempotency_key: Option<String>,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub struct ListIssuesArgs {
    /// Release version, X.Y.Z
    pub release: String,
    /// Only unresolved issues
    #[serde(default)]
    pub unresolved_only: bool,
    /// Only blockers
    #[serde(default)]
    pub blockers_only: bool,
    /// Only issues related to this task
    #[serde(default)]
    pub task: Option<String>,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub struct IngestArgs {
    /// Release version, X.Y.Z
    pub release: String,
    /// A chunk of command output; its status lines
    /// (`...: INFO: task [Take Ownership] status is changed to [Pass]`) drive task state
    pub output: String,
    /// The task the whole output belongs to, when it has no status line of its own
    #[serde(default)]
    pub task: Option<String>,
    /// A retry with the same key returns the first result instead of writing again
    #[serde(default)]
    pub idempotency_key: Option<String>,
}

/// Every release's health and counts.
#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct StatusOutput {
    /// One summary per release, oldest version first
    pub releases: Vec<Value>,
}

#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct ReleaseOutput {
    pub release: String,
    /// Green, or Red when a task failed or an unresolved blocker is open
    pub health: String,
    /// The whole state: schema_version, release, created_at, updated_at, metadata, tasks, issues
    pub state: Value,
}

#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct IssuesOutput {
    pub release: String,
    pub count: u32,
    pub issues: Vec<Value>,
}

#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct LogOutput {
    pub release: String,
    /// Commits that changed the release's file, newest first
    pub commits: Vec<Value>,
}

#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct ActiveOutput {
    /// Per y-stream the latest release, while today is at most a day past its release_date
    pub releases: Vec<String>,
}

#[derive(Debug, Serialize, schemars::JsonSchema)]
pub struct WriteOutput {
    pub release: String,
    /// False when the change was already in effect: nothing was written
    pub changed: bool,
    /// The commit written, when the store makes commits
    pub commit: Option<String>,
    pub message: String,
    /// The state after the write
    pub state: Value,
    /// A retry: the idempotency key's write was already on the branch and
    /// this is its result; nothing was written now
    pub repeated: bool,
}

fn read_only() -> ToolAnnotations {
    ToolAnnotations::new()
        .read_only(true)
        .destructive(false)
        .idempotent(true)
        .open_world(false)
}

fn write(idempotent: bool) -> ToolAnnotations {
    ToolAnnotations::new()
        .read_only(false)
        .destructive(false)
        .idempotent(idempotent)
        .open_world(false)
}

struct Def {
    tool: Tool,
    writes: bool,
}

fn def<P: schemars::JsonSchema + 'static>(
    name: &'static str,
    description: &'static str,
    annotations: ToolAnnotations,
) -> Def {
    let writes = annotations.read_only_hint != Some(true);
    Def {
        tool: Tool::new(name, description, schema_for_type::<P>()).with_annotations(annotations),
        writes,
    }
}

fn typed<P: schemars::JsonSchema + 'static, O: schemars::JsonSchema + 'static>(
    name: &'static str,
    description: &'static str,
    annotations: ToolAnnotations,
) -> Def {
    let mut d = def::<P>(name, description, annotations);
    d.tool = d.tool.with_raw_output_schema(schema_for_output::<O>());
    d
}

fn definitions() -> Vec<Def> {
    use compat::*;
    vec![
        def::<ReleaseParams>(
            "oar_get_release_status",
            "Get complete release state from StateBox: metadata, tasks with results, issues. JSON text; errors inside the JSON.",
            read_only(),
        ),
        def::<UpdateTaskParams>(
            "oar_update_task_status",
            "⚠️ WRITE OPERATION: Update a task's status (Pass, Fail, In Progress) and optional result in StateBox.",
            write(true),
        ),
        def::<AddIssueParams>(
            "oar_add_issue",
            "⚠️ WRITE OPERATION: Add an issue (blocker by default; related_tasks comma-separated). An open issue with the same text is returned, not added again.",
            write(true),
        ),
        def::<ResolveIssueParams>(
            "oar_resolve_issue",
            "⚠️ WRITE OPERATION: Resolve an issue by its exact text, else a unique case-insensitive part of it.",
            write(false),
        ),
        def::<GetIssuesParams>(
            "oar_get_issues",
            "Get issues from StateBox with optional filtering (unresolved_only, blockers_only, task_name).",
            read_only(),
        ),
        def::<TaskBlockerParams>(
            "oar_get_task_blocker",
            "Get the unresolved blocking issue of a task, or null.",
            read_only(),
        ),
        def::<ReleaseParams>(
            "oar_get_release_metadata",
            "Get release metadata (advisories, jira_ticket, candidate_builds, shipment_mr, release_date) from the config store, else from the state.",
            read_only(),
        ),
        def::<NoParams>(
            "discover_active_releases",
            "Discover active releases: per y-stream the latest release, while today is at most one day past its release_date.",
            read_only(),
        ),
        def::<CreateReportParams>(
            "oar_create_test_report",
            "⚠️ WRITE OPERATION: Create the StateBox (state file) of a new z-stream release.",
            write(true),
        ),
        typed::<NoParams, StatusOutput>(
            "statebox_status",
            "Every release's health, task counts and open issues.",
            read_only(),
        ),
        typed::<ReleaseArgs, ReleaseOutput>(
            "statebox_get_release",
            "One release's whole state, read at the branch tip.",
            read_only(),
        ),
        typed::<ListIssuesArgs, IssuesOutput>(
            "statebox_list_issues",
            "A release's issues, optionally only unresolved, only blockers, only those of one task.",
            read_only(),
        ),
        typed::<ReleaseArgs, LogOutput>(
            "statebox_log",
            "A release's history on the record branch, newest first.",
            read_only(),
        ),
        typed::<NoParams, ActiveOutput>(
            "statebox_active_releases",
            "The active releases, as discover_active_releases finds them.",
            read_only(),
        ),
        typed::<InitArgs, WriteOutput>(
            "statebox_init",
            "Create a release's state file (metadata from the config store when configured). Nothing changes if it exists.",
            write(true),
        ),
        typed::<SetTaskArgs, WriteOutput>(
            "statebox_set_task",
            "Set a task's status and result; timestamps follow the original's rules.",
            write(true),
        ),
        typed::<AddIssueArgs, WriteOutput>(
            "statebox_add_issue",
            "Report an issue; not added twice while unresolved; a task has at most one unresolved blocker.",
            write(true),
        ),
        typed::<ResolveIssueArgs, WriteOutput>(
            "statebox_resolve_issue",
            "Resolve an issue by its exact text or a unique part of it; ambiguous matches are listed.",
            write(false),
        ),
        typed::<IngestArgs, WriteOutput>(
            "statebox_ingest",
            "Record a chunk of command output for a release, as `statebox ingest` reads it: its status lines drive task state.",
            write(false),
        ),
    ]
}

/// The tools this server offers: all, or only the read tools.
pub fn list(read_only: bool) -> Vec<Tool> {
    definitions()
        .into_iter()
        .filter(|d| !(read_only && d.writes))
        .map(|d| d.tool)
        .collect()
}

fn parse<P: for<'de> Deserialize<'de>>(args: JsonObject) -> Result<P, McpError> {
    serde_json::from_value(Value::Object(args))
        .map_err(|e| McpError::invalid_params(format!("invalid arguments: {e}"), None))
}

fn text(answer: String) -> CallToolResult {
    CallToolResult::success(vec![ContentBlock::text(answer)])
}

fn structured<O: Serialize>(result: Result<O, Failure>) -> CallToolResult {
    match result {
        Ok(output) => {
            CallToolResult::structured(serde_json::to_value(output).expect("outputs serialize"))
        }
        Err(e) => failure(&e),
    }
}

/// A tool error: `isError` true, the kind and message as JSON text.
pub fn failure(e: &Failure) -> CallToolResult {
    let body = json!({"error": {"kind": e.kind.as_str(), "message": e.message}});
    CallToolResult::error(vec![ContentBlock::text(body.to_string())])
}

pub fn written(
    release: String,
    result: Result<crate::access::Written, Failure>,
) -> Result<WriteOutput, Failure> {
    result.map(|w| WriteOutput {
        release,
        changed: w.changed,
        commit: w.commit,
        message: w.message,
        state: w.state,
        repeated: w.repeated,
    })
}

fn require(access: &dyn StateAccess, release: &str) -> Result<Value, Failure> {
    access.load(release)?.map(|l| l.json).ok_or_else(|| {
        Failure::new(
            ErrorKind::NotFound,
            format!("release {release} has no state on {}", access.describe()),
        )
    })
}

/// What a call is about, for the request log.
pub fn release_of(args: &JsonObject) -> Option<&str> {
    args.get("release").and_then(Value::as_str)
}

/// Runs tool `name`. Unknown tools and, in read-only mode, write tools do
/// not exist.
pub async fn call(
    service: &Service,
    name: &str,
    args: JsonObject,
) -> Result<CallToolResult, McpError> {
    let unknown = || McpError::invalid_params(format!("no tool named '{name}'"), None);
    let hidden = definitions()
        .into_iter()
        .any(|d| d.tool.name == name && d.writes && service.options().read_only);
    if hidden {
        return Err(unknown());
    }
    let result = match name {
        "oar_get_release_status" => {
            let p = parse(args)?;
            text(
                service
                    .call(move |a| compat::get_release_status(a, p))
                    .await,
            )
        }
        "oar_update_task_status" => {
            let p = parse(args)?;
            text(
                service
                    .call(move |a| compat::update_task_status(a, p))
                    .await,
            )
        }
        "oar_add_issue" => {
            let p = parse(args)?;
            text(service.call(move |a| compat::add_issue(a, p)).await)
        }
        "oar_resolve_issue" => {
            let p = parse(args)?;
            text(service.call(move |a| compat::resolve_issue(a, p)).await)
        }
        "oar_get_issues" => {
            let p = parse(args)?;
            text(service.call(move |a| compat::get_issues(a, p)).await)
        }
        "oar_get_task_blocker" => {
            let p = parse(args)?;
            text(service.call(move |a| compat::get_task_blocker(a, p)).await)
        }
        "oar_get_release_metadata" => {
            let p = parse(args)?;
            text(
                service
                    .call(move |a| compat::get_release_metadata(a, p))
                    .await,
            )
        }
        "discover_active_releases" => text(service.call(compat::discover_active_releases).await),
        "oar_create_test_report" => {
            let p = parse(args)?;
            text(
                service
                    .call(move |a| compat::create_test_report(a, p))
                    .await,
            )
        }
        "statebox_status" => structured(service.call(status).await),
        "statebox_get_release" => {
            let p: ReleaseArgs = parse(args)?;
            structured(
                service
                    .call(move |a| {
                        let state = require(a, &p.release)?;
                        Ok(ReleaseOutput {
                            health: views::health(&state).to_owned(),
                            release: p.release,
                            state,
                        })
                    })
                    .await,
            )
        }
        "statebox_list_issues" => {
            let p: ListIssuesArgs = parse(args)?;
            structured(
                service
                    .call(move |a| {
                        let state = require(a, &p.release)?;
                        let issues = views::filter_issues(
                            &state,
                            p.unresolved_only,
                            p.blockers_only,
                            p.task.as_deref(),
                        );
                        Ok(IssuesOutput {
                            release: p.release,
                            count: issues.len() as u32,
                            issues,
                        })
                    })
                    .await,
            )
        }
        "statebox_log" => {
            let p: ReleaseArgs = parse(args)?;
            structured(
                service
                    .call(move |a| {
                        let commits = a.history(&p.release)?;
                        if commits.is_empty() {
                            return Err(Failure::new(
                                ErrorKind::NotFound,
                                format!("release {} has no history on {}", p.release, a.describe()),
                            ));
                        }
                        Ok(LogOutput {
                            release: p.release,
                            commits,
                        })
                    })
                    .await,
            )
        }
        "statebox_active_releases" => structured(
            service
                .call(|a| {
                    a.active_releases()
                        .map(|releases| ActiveOutput { releases })
                })
                .await,
        ),
        "statebox_init" => {
            let p: InitArgs = parse(args)?;
            apply(service, p.release, Change::Init, p.idempotency_key).await
        }
        "statebox_set_task" => {
            let p: SetTaskArgs = parse(args)?;
            let change = Change::SetTask {
                task: p.task,
                status: p.status,
                result: p.result,
            };
            apply(service, p.release, change, p.idempotency_key).await
        }
        "statebox_add_issue" => {
            let p: AddIssueArgs = parse(args)?;
            let change = Change::AddIssue {
                text: p.issue,
                blocker: p.blocker,
                related_tasks: p.related_tasks,
            };
            apply(service, p.release, change, p.idempotency_key).await
        }
        "statebox_resolve_issue" => {
            let p: ResolveIssueArgs = parse(args)?;
            let change = Change::ResolveIssue {
                query: p.issue,
                resolution: p.resolution,
            };
            apply(service, p.release, change, p.idempotency_key).await
        }
        "statebox_ingest" => {
            let p: IngestArgs = parse(args)?;
            let change = Change::Ingest {
                task: p.task,
                output: p.output,
            };
            apply(service, p.release, change, p.idempotency_key).await
        }
        _ => return Err(unknown()),
    };
    Ok(result)
}

async fn apply(
    service: &Service,
    release: String,
    change: Change,
    key: Option<String>,
) -> CallToolResult {
    structured(
        service
            .call(move |a| {
                let r = a.apply(&release, &change, key.as_deref());
                written(release, r)
            })
            .await,
    )
}

pub fn status(access: &dyn StateAccess) -> Result<StatusOutput, Failure> {
    let mut releases = Vec::new();
    for release in access.releases()? {
        if let Some(loaded) = access.load(&release)? {
            releases.push(views::summary(&release, &loaded.json));
        }
    }
    Ok(StatusOutput { releases })
}
