//! Read-only views: `show`, `status`, `log`.

use super::issue::issue_line;
use super::printable;
use super::{CliError, Context, ReleaseArg, exit, print_json};
use clap::Args;
use statebox::backend::BackendError;
use statebox::model::{State, Status};
use statebox::release::Release;
use statebox::schema::to_json;
use statebox::write::{self, WriteError};
use std::io::ErrorKind;
use std::process::ExitCode;

#[derive(Debug, Args)]
pub struct ShowArgs {
    #[command(flatten)]
    release: ReleaseArg,
    /// The state as JSON
    #[arg(long, conflicts_with = "yaml")]
    json: bool,
    /// The state file itself, in canonical form
    #[arg(long)]
    yaml: bool,
}

#[derive(Debug, Args)]
pub struct StatusArgs {
    /// Print JSON instead of the human-readable form
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Args)]
pub struct LogArgs {
    #[command(flatten)]
    release: ReleaseArg,
    /// Print JSON instead of the human-readable form
    #[arg(long)]
    json: bool,
}

pub fn show(ctx: &Context, args: ShowArgs) -> Result<ExitCode, CliError> {
    let release = args.release.parse()?;
    let state = ctx.require(&release)?;
    if args.json {
        print_json(&to_json(&state.to_value()));
    } else if args.yaml {
        print!("{}", state.to_yaml());
    } else {
        println!(
            "release {}  {}  (updated {})",
            state.release,
            state.health(),
            state.updated_at
        );
        println!("metadata:");
        for (key, value) in state.metadata.iter() {
            let shown = match to_json(value) {
                serde_json::Value::String(s) => s,
                other => other.to_string(),
            };
            let key = key.as_str().unwrap_or_default();
            println!("  {}: {}", printable(key), printable(&shown));
        }
        println!("tasks:");
        for task in &state.tasks {
            let span = format!(
                "{} -> {}",
                task.started_at.as_deref().unwrap_or("-"),
                task.completed_at.as_deref().unwrap_or("-")
            );
            println!(
                "  {:<28} {:<12} {}",
                printable(&task.name),
                task.status.as_str(),
                printable(&span)
            );
        }
        println!("issues:");
        for issue in &state.issues {
            println!("  {}", issue_line(issue));
        }
    }
    Ok(ExitCode::SUCCESS)
}

struct Summary {
    release: Release,
    state: State,
}

impl Summary {
    fn count(&self, status: Status) -> usize {
        self.state
            .tasks
            .iter()
            .filter(|t| t.status == status)
            .count()
    }

    fn open_issues(&self) -> (usize, usize) {
        let open: Vec<_> = self.state.issues.iter().filter(|i| !i.resolved).collect();
        (open.len(), open.iter().filter(|i| i.blocker).count())
    }

    fn json(&self) -> serde_json::Value {
        let (open, blockers) = self.open_issues();
        serde_json::json!({
            "release": self.release.to_string(),
            "health": self.state.health().to_string(),
            "tasks": {
                "total": self.state.tasks.len(),
                "pass": self.count(Status::Pass),
                "fail": self.count(Status::Fail),
                "in_progress": self.count(Status::InProgress),
                "not_started": self.count(Status::NotStarted),
            },
            "issues": { "open": open, "open_blockers": blockers, "total": self.state.issues.len() },
            "updated_at": self.state.updated_at,
        })
    }
}

/// A listed state file that `status` cannot show: where, and why.
struct Unreadable {
    path: String,
    reason: String,
}

/// One listed state file, read: its summary, or why there is none. A
/// failure that is not this file's own (git, the remote) ends the command.
fn read_listed(
    ctx: &Context,
    path: String,
    release: Release,
) -> Result<Result<Summary, Unreadable>, CliError> {
    let reason = match write::load(ctx.store.as_ref(), &release) {
        Ok(Some(state)) => return Ok(Ok(Summary { release, state })),
        // The git store lists every entry of `statebox/` that is named like
        // a state file, and reads only files: a folder there reads as none.
        Ok(None) => "is not a file (a folder or other entry stands where the state file should be)"
            .to_owned(),
        Err(WriteError::Load(e)) => {
            // The error names the path itself; the line shows it once.
            let text = e.to_string();
            let reason = text.strip_prefix(&format!("{path}: ")).unwrap_or(&text);
            reason.to_owned()
        }
        Err(WriteError::Backend(BackendError::Io { source, .. })) => {
            if source.kind() == ErrorKind::IsADirectory {
                "is a folder, not a file".to_owned()
            } else {
                format!("cannot be read: {source}")
            }
        }
        Err(other) => return Err(other.into()),
    };
    Ok(Err(Unreadable { path, reason }))
}

pub fn status(ctx: &Context, args: StatusArgs) -> Result<ExitCode, CliError> {
    ctx.ready_to_read()?;
    let mut summaries = Vec::new();
    let mut unreadable = Vec::new();
    for path in ctx.store.list()? {
        let Some(release) = Release::from_path(&path) else {
            continue;
        };
        match read_listed(ctx, path, release)? {
            Ok(summary) => summaries.push(summary),
            Err(bad) => unreadable.push(bad),
        }
    }
    summaries.sort_by(|a, b| a.release.cmp(&b.release));
    unreadable.sort_by(|a, b| a.path.cmp(&b.path));
    // Named before the table, so that a reader of a terminal sees what is
    // missing from it; scripts get the good releases on stdout regardless.
    for bad in &unreadable {
        eprintln!("statebox: {}: {}", printable(&bad.path), bad.reason);
    }
    print_summaries(ctx, &summaries, &args, unreadable.is_empty());
    if unreadable.is_empty() {
        return Ok(ExitCode::SUCCESS);
    }
    Err(CliError::new(
        exit::BAD_STATE,
        format!(
            "{} state file(s) on {} could not be read (named above); every other release is shown",
            unreadable.len(),
            ctx.store.describe()
        ),
    ))
}

fn print_summaries(
    ctx: &Context,
    summaries: &[Summary],
    args: &StatusArgs,
    nothing_unreadable: bool,
) {
    if args.json {
        print_json(&serde_json::Value::Array(
            summaries.iter().map(Summary::json).collect(),
        ));
        return;
    }
    if summaries.is_empty() {
        // With unreadable files the store is not empty: stderr says what it holds.
        if nothing_unreadable {
            println!("no releases on {}", ctx.store.describe());
        }
        return;
    }
    // Pre-releases (4.21.0-rc.1) are longer than X.Y.Z: the column fits
    // the longest.
    let width = summaries
        .iter()
        .map(|s| s.release.to_string().len())
        .max()
        .unwrap_or(0)
        .max(10);
    println!(
        "{:<width$} {:<6} {:>5} {:>5} {:>5} {:>6}  {:>6} {:>8}  UPDATED",
        "RELEASE", "HEALTH", "TASKS", "PASS", "FAIL", "ACTIVE", "ISSUES", "BLOCKERS"
    );
    for s in summaries {
        let (open, blockers) = s.open_issues();
        println!(
            "{:<width$} {:<6} {:>5} {:>5} {:>5} {:>6}  {:>6} {:>8}  {}",
            s.release.to_string(),
            s.state.health().to_string(),
            s.state.tasks.len(),
            s.count(Status::Pass),
            s.count(Status::Fail),
            s.count(Status::InProgress),
            open,
            blockers,
            s.state.updated_at
        );
    }
}

pub fn log(ctx: &Context, args: LogArgs) -> Result<ExitCode, CliError> {
    let release = args.release.parse()?;
    ctx.ready_to_read()?;
    let entries = ctx.store.history(&release.path())?;
    if entries.is_empty() {
        return Err(CliError::new(
            exit::NOT_FOUND,
            format!(
                "release {release} has no history on {}",
                ctx.store.describe()
            ),
        ));
    }
    if args.json {
        print_json(&serde_json::to_value(&entries).expect("history serializes"));
    } else {
        for e in &entries {
            println!(
                "{} {} {:<16} {}",
                &e.commit[..12],
                e.time,
                printable(&e.author),
                printable(&e.message)
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}
