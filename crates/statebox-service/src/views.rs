//! Facts computed from a state's JSON: summaries, issue filters. Shared by
//! the tools, the API and the dashboard.

use serde_json::{Value, json};

pub fn tasks(state: &Value) -> &[Value] {
    state["tasks"].as_array().map_or(&[], Vec::as_slice)
}

pub fn issues(state: &Value) -> &[Value] {
    state["issues"].as_array().map_or(&[], Vec::as_slice)
}

fn flag(issue: &Value, key: &str) -> bool {
    issue[key].as_bool().unwrap_or(false)
}

pub fn is_open(issue: &Value) -> bool {
    !flag(issue, "resolved")
}

pub fn is_blocker(issue: &Value) -> bool {
    flag(issue, "blocker")
}

pub fn relates_to(issue: &Value, task: &str) -> bool {
    issue["related_tasks"]
        .as_array()
        .is_some_and(|tasks| tasks.iter().any(|t| t.as_str() == Some(task)))
}

/// The original's `get_issues` filters, in its order.
pub fn filter_issues(
    state: &Value,
    unresolved_only: bool,
    blockers_only: bool,
    task: Option<&str>,
) -> Vec<Value> {
    issues(state)
        .iter()
        .filter(|i| !unresolved_only || is_open(i))
        .filter(|i| !blockers_only || is_blocker(i))
        .filter(|i| task.is_none_or(|t| t.is_empty() || relates_to(i, t)))
        .cloned()
        .collect()
}

/// The unresolved blocker of a task, as the original's `get_task_blocker`.
pub fn task_blocker<'a>(state: &'a Value, task: &str) -> Option<&'a Value> {
    issues(state)
        .iter()
        .find(|i| is_blocker(i) && is_open(i) && relates_to(i, task))
}

/// Red when a task failed or an unresolved blocker is open.
pub fn health(state: &Value) -> &'static str {
    let failed = tasks(state).iter().any(|t| t["status"] == "Fail");
    let blocked = issues(state).iter().any(|i| is_blocker(i) && is_open(i));
    if failed || blocked { "Red" } else { "Green" }
}

/// One line of `statebox status`, as JSON.
pub fn summary(release: &str, state: &Value) -> Value {
    let count = |status: &str| {
        tasks(state)
            .iter()
            .filter(|t| t["status"] == status)
            .count()
    };
    let open: Vec<&Value> = issues(state).iter().filter(|i| is_open(i)).collect();
    json!({
        "release": release,
        "health": health(state),
        "tasks": {
            "total": tasks(state).len(),
            "pass": count("Pass"),
            "fail": count("Fail"),
            "in_progress": count("In Progress"),
            "not_started": count("Not Started"),
        },
        "issues": {
            "open": open.len(),
            "open_blockers": open.iter().filter(|i| is_blocker(i)).count(),
            "total": issues(state).len(),
        },
        "updated_at": state["updated_at"],
    })
}
