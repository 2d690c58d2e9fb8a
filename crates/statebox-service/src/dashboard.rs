//! The dashboard: a releases x tasks heatmap and a page per release,
//! rendered on the server by askama (HTML-escaped by default), with no
//! external asset. Served live by `statebox serve` (server-sent events
//! swap in the new page when the record branch moves) and written as one
//! static file by `statebox report --html`.

use crate::access::{ErrorKind, Failure, StateAccess};
use crate::service::{LinkBases, Selection, Service};
use crate::views;
use askama::Template;
use serde_json::Value;

pub struct Column {
    pub name: String,
    pub display: String,
}

pub struct Cell {
    pub task: String,
    pub display: String,
    pub status: String,
    pub class: &'static str,
    pub symbol: &'static str,
    pub blocker: Option<String>,
    pub started: String,
    pub completed: String,
    pub duration: String,
}

pub struct IssueView {
    pub text: String,
    pub blocker: bool,
    pub resolution: String,
    pub reported_at: String,
    pub resolved_at: String,
    pub tasks: Vec<String>,
}

pub struct Link {
    pub text: String,
    pub href: Option<String>,
}

pub struct MetaRow {
    pub key: String,
    pub values: Vec<(String, Link)>,
}

pub struct TaskView {
    pub cell: Cell,
    pub result: Option<String>,
}

pub struct ReleaseView {
    pub release: String,
    pub health: &'static str,
    pub created_at: String,
    pub updated_at: String,
    pub cells: Vec<Cell>,
    pub pass: usize,
    pub fail: usize,
    pub running: usize,
    pub total: usize,
    pub percent: usize,
    pub open_blockers: usize,
    pub open_issues: Vec<IssueView>,
    pub resolved_issues: Vec<IssueView>,
    pub metadata: Vec<MetaRow>,
    pub tasks: Vec<TaskView>,
    pub href: String,
}

#[derive(Template)]
#[template(path = "index.html")]
struct IndexPage<'a> {
    title: String,
    store: String,
    live: bool,
    columns: &'a [Column],
    rows: &'a [ReleaseView],
    selection: String,
}

#[derive(Template)]
#[template(path = "release.html")]
struct ReleasePage<'a> {
    title: String,
    store: String,
    live: bool,
    r: &'a ReleaseView,
}

#[derive(Template)]
#[template(path = "report.html")]
struct ReportPage<'a> {
    title: String,
    store: String,
    live: bool,
    columns: &'a [Column],
    rows: &'a [ReleaseView],
    selection: String,
    generated: String,
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    title: String,
    store: String,
    live: bool,
    message: &'a str,
}

fn symbol(status: &str) -> (&'static str, &'static str) {
    match status {
        "Pass" => ("pass", "✓"),
        "In Progress" => ("running", "▶"),
        "Fail" => ("fail", "✗"),
        _ => ("idle", "○"),
    }
}

fn text(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn parse_time(s: &str) -> Option<chrono::DateTime<chrono::Utc>> {
    chrono::DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&chrono::Utc))
        .ok()
        .or_else(|| {
            chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f")
                .ok()
                .map(|t| t.and_utc())
        })
}

/// `1h 05m`, `4m 09s`, `12s`.
fn duration(started: &str, completed: &str) -> String {
    let (Some(a), Some(b)) = (parse_time(started), parse_time(completed)) else {
        return String::new();
    };
    let secs = (b - a).num_seconds().max(0);
    match (secs / 3600, secs % 3600 / 60, secs % 60) {
        (0, 0, s) => format!("{s}s"),
        (0, m, s) => format!("{m}m {s:02}s"),
        (h, m, _) if h < 48 => format!("{h}h {m:02}m"),
        (h, _, _) => format!("{}d {}h", h / 24, h % 24),
    }
}

fn cell(task: &str, display: &str, entry: Option<&Value>, state: &Value) -> Cell {
    let status = entry.map_or("Not Started".to_owned(), |t| text(&t["status"]));
    let (class, symbol) = symbol(&status);
    let started = entry.map(|t| text(&t["started_at"])).unwrap_or_default();
    let completed = entry.map(|t| text(&t["completed_at"])).unwrap_or_default();
    Cell {
        task: task.to_owned(),
        display: display.to_owned(),
        status,
        class,
        symbol,
        blocker: views::task_blocker(state, task).map(|i| text(&i["issue"])),
        duration: duration(&started, &completed),
        started,
        completed,
    }
}

fn issue_view(issue: &Value) -> IssueView {
    IssueView {
        text: text(&issue["issue"]),
        blocker: views::is_blocker(issue),
        resolution: text(&issue["resolution"]),
        reported_at: text(&issue["reported_at"]),
        resolved_at: text(&issue["resolved_at"]),
        tasks: issue["related_tasks"]
            .as_array()
            .map(|a| a.iter().map(text).collect())
            .unwrap_or_default(),
    }
}

fn link(base: &str, id: &str) -> Option<String> {
    (!base.is_empty() && !id.is_empty()).then(|| format!("{base}{id}"))
}

fn is_url(s: &str) -> bool {
    s.starts_with("https://") || s.starts_with("http://")
}

fn metadata(meta: &Value, links: &LinkBases) -> Vec<MetaRow> {
    let Some(map) = meta.as_object() else {
        return Vec::new();
    };
    map.iter()
        .map(|(key, value)| {
            let one = |v: &Value| {
                let t = text(v);
                let href = match key.as_str() {
                    "advisory_ids" => link(&links.advisory, &t),
                    "jira_ticket" => link(&links.jira, &t),
                    _ if is_url(&t) => Some(t.clone()),
                    _ => None,
                };
                Link { text: t, href }
            };
            let values = match value {
                Value::Object(inner) => inner.iter().map(|(k, v)| (k.clone(), one(v))).collect(),
                Value::Array(items) => items.iter().map(|v| (String::new(), one(v))).collect(),
                Value::Null => Vec::new(),
                v => vec![(String::new(), one(v))],
            };
            MetaRow {
                key: key.clone(),
                values,
            }
        })
        .collect()
}

/// Catalog tasks first, in order; tasks found only in states after them.
fn columns(access: &dyn StateAccess, states: &[(String, Value)]) -> Vec<Column> {
    let mut columns: Vec<Column> = access
        .catalog()
        .into_iter()
        .map(|t| Column {
            name: t.name,
            display: t.display_name,
        })
        .collect();
    for (_, state) in states {
        for task in views::tasks(state) {
            let name = text(&task["name"]);
            if !columns.iter().any(|c| c.name == name) {
                columns.push(Column {
                    display: name.clone(),
                    name,
                });
            }
        }
    }
    columns
}

fn release_view(
    release: &str,
    state: &Value,
    columns: &[Column],
    links: &LinkBases,
    href: String,
) -> ReleaseView {
    let find = |name: &str| {
        views::tasks(state)
            .iter()
            .find(|t| t["name"].as_str() == Some(name))
    };
    let cells: Vec<Cell> = columns
        .iter()
        .map(|c| cell(&c.name, &c.display, find(&c.name), state))
        .collect();
    let count = |class: &str| cells.iter().filter(|c| c.class == class).count();
    let (pass, fail, running, total) =
        (count("pass"), count("fail"), count("running"), cells.len());
    let tasks = views::tasks(state)
        .iter()
        .map(|t| {
            let name = text(&t["name"]);
            let display = columns
                .iter()
                .find(|c| c.name == name)
                .map_or(name.clone(), |c| c.display.clone());
            TaskView {
                cell: cell(&name, &display, Some(t), state),
                result: t["result"].as_str().map(str::to_owned),
            }
        })
        .collect();
    let issues = views::issues(state);
    ReleaseView {
        release: release.to_owned(),
        health: views::health(state),
        created_at: text(&state["created_at"]),
        updated_at: text(&state["updated_at"]),
        pass,
        fail,
        running,
        total,
        percent: (pass * 100).checked_div(total).unwrap_or(0),
        open_blockers: issues
            .iter()
            .filter(|i| views::is_open(i) && views::is_blocker(i))
            .count(),
        open_issues: issues
            .iter()
            .filter(|i| views::is_open(i))
            .map(issue_view)
            .collect(),
        resolved_issues: issues
            .iter()
            .filter(|i| !views::is_open(i))
            .map(issue_view)
            .collect(),
        metadata: metadata(&state["metadata"], links),
        tasks,
        cells,
        href,
    }
}

/// The releases the selection names, newest first, with their states.
fn selected(service: &Service, access: &dyn StateAccess) -> Result<Vec<(String, Value)>, Failure> {
    let order = access.releases()?;
    let mut releases = match &service.options().selection {
        Selection::All => order.clone(),
        Selection::Active => access.active_releases()?,
        Selection::Chosen(chosen) => chosen.clone(),
    };
    // Newest first in the store's version order, where a pre-release comes
    // before its release: the service does no version arithmetic of its own.
    releases.sort_by_key(|r| std::cmp::Reverse(order.iter().position(|o| o == r)));
    let mut states = Vec::new();
    for release in releases {
        if let Some(loaded) = access.load(&release)? {
            states.push((release, loaded.json));
        }
    }
    Ok(states)
}

fn selection_label(selection: &Selection) -> String {
    match selection {
        Selection::All => "all releases".into(),
        Selection::Active => "active releases".into(),
        Selection::Chosen(r) => r.join(", "),
    }
}

fn render(template: &impl Template) -> Result<String, Failure> {
    template
        .render()
        .map_err(|e| Failure::new(ErrorKind::Environment, format!("rendering a page: {e}")))
}

fn views_of(
    service: &Service,
    access: &dyn StateAccess,
    href: impl Fn(&str) -> String,
) -> Result<(Vec<Column>, Vec<ReleaseView>), Failure> {
    let states = selected(service, access)?;
    let columns = columns(access, &states);
    let links = &service.options().links;
    let rows = states
        .iter()
        .map(|(r, s)| release_view(r, s, &columns, links, href(r)))
        .collect();
    Ok((columns, rows))
}

pub fn index(service: &Service, access: &dyn StateAccess) -> Result<String, Failure> {
    let (columns, rows) = views_of(service, access, |r| format!("/release/{r}"))?;
    render(&IndexPage {
        title: "Release progress".into(),
        store: access.describe(),
        live: true,
        columns: &columns,
        rows: &rows,
        selection: selection_label(&service.options().selection),
    })
}

pub fn release(
    service: &Service,
    access: &dyn StateAccess,
    version: &str,
) -> Result<String, Failure> {
    let loaded = access.load(version)?.ok_or_else(|| {
        Failure::new(
            ErrorKind::NotFound,
            format!("release {version} has no state on {}", access.describe()),
        )
    })?;
    let states = [(version.to_owned(), loaded.json)];
    let columns = columns(access, &states);
    let view = release_view(
        version,
        &states[0].1,
        &columns,
        &service.options().links,
        format!("/release/{version}"),
    );
    render(&ReleasePage {
        title: format!("Release {version}"),
        store: access.describe(),
        live: true,
        r: &view,
    })
}

pub fn report(service: &Service, access: &dyn StateAccess) -> Result<String, Failure> {
    let (columns, rows) = views_of(service, access, |r| format!("#release-{r}"))?;
    render(&ReportPage {
        title: "Release progress report".into(),
        store: access.describe(),
        live: false,
        columns: &columns,
        rows: &rows,
        selection: selection_label(&service.options().selection),
        generated: chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string(),
    })
}

pub fn error_page(message: &str) -> String {
    ErrorPage {
        title: "Not available".into(),
        store: String::new(),
        live: false,
        message,
    }
    .render()
    .unwrap_or_else(|_| "statebox: the page cannot be rendered".into())
}

#[cfg(test)]
mod tests {
    use super::duration;

    #[test]
    fn durations_read_like_a_person_writes_them() {
        assert_eq!(
            duration("2026-06-25T13:00:00Z", "2026-06-25T13:00:12Z"),
            "12s"
        );
        assert_eq!(
            duration("2026-06-25T13:00:00Z", "2026-06-25T13:04:09Z"),
            "4m 09s"
        );
        assert_eq!(
            duration("2026-06-25T13:00:00+00:00", "2026-06-25T14:05:00Z"),
            "1h 05m"
        );
        assert_eq!(
            duration("2026-06-25T13:00:00.123456", "2026-06-27T15:00:00Z"),
            "2d 1h"
        );
        assert_eq!(duration("", "2026-06-25T13:00:00Z"), "");
    }
}
