//! `statebox issue add|resolve|reopen|edit|remove|list`.

use super::{CliError, Context, KeyArg, ReleaseArg, exit, print_json, report};
use clap::{Args, Subcommand};
use statebox::model::{Issue, Op, OpError};
use std::process::ExitCode;

#[derive(Debug, Subcommand)]
pub enum IssueCommand {
    /// Report an issue (not added twice while unresolved)
    Add(AddArgs),
    /// Resolve an issue by its exact text or a unique part of it
    Resolve(ResolveArgs),
    /// Open a resolved issue again (its resolution is cleared)
    Reopen(QueryArgs),
    /// Change an issue's text, blocker flag or related tasks
    Edit(EditArgs),
    /// Delete an issue from the release, open or resolved
    Remove(QueryArgs),
    /// List issues (unresolved ones unless --all)
    List(ListArgs),
}

#[derive(Debug, Args)]
pub struct AddArgs {
    #[command(flatten)]
    release: ReleaseArg,
    /// Issue text, 1 to 1000 characters
    text: String,
    /// The issue blocks the release
    #[arg(long)]
    blocker: bool,
    /// A task the issue relates to (repeatable); none means the whole release
    #[arg(long = "task", value_name = "TASK")]
    tasks: Vec<String>,
    /// Accept --task names that are not in the catalog (real files carry such names)
    #[arg(long)]
    allow_unknown_task: bool,
    #[command(flatten)]
    key: KeyArg,
}

#[derive(Debug, Args)]
pub struct ResolveArgs {
    #[command(flatten)]
    release: ReleaseArg,
    /// The issue's text, or a part of it that matches one unresolved issue
    query: String,
    /// How it was resolved
    #[arg(long)]
    resolution: Option<String>,
    #[command(flatten)]
    key: KeyArg,
}

#[derive(Debug, Args)]
pub struct QueryArgs {
    #[command(flatten)]
    release: ReleaseArg,
    /// The issue's text, or a part of it that matches one issue
    query: String,
    #[command(flatten)]
    key: KeyArg,
}

#[derive(Debug, Args)]
pub struct EditArgs {
    #[command(flatten)]
    release: ReleaseArg,
    /// The issue's text, or a part of it that matches one issue (an open one first)
    query: String,
    /// New text, 1 to 1000 characters
    #[arg(long)]
    text: Option<String>,
    /// The issue blocks the release
    #[arg(long, overrides_with = "no_blocker")]
    blocker: bool,
    /// The issue does not block the release
    #[arg(long)]
    no_blocker: bool,
    /// The tasks the issue relates to, replacing the ones it has (repeatable)
    #[arg(long = "task", value_name = "TASK", conflicts_with = "no_tasks")]
    tasks: Vec<String>,
    /// The issue relates to the whole release, no task
    #[arg(long)]
    no_tasks: bool,
    /// Accept --task names that are not in the catalog (real files carry such names)
    #[arg(long)]
    allow_unknown_task: bool,
    #[command(flatten)]
    key: KeyArg,
}

#[derive(Debug, Args)]
pub struct ListArgs {
    #[command(flatten)]
    release: ReleaseArg,
    /// Include resolved issues
    #[arg(long)]
    all: bool,
    /// Only blocking issues
    #[arg(long)]
    blockers: bool,
    /// Only issues related to this task
    #[arg(long, value_name = "TASK", conflicts_with = "general")]
    task: Option<String>,
    /// Only issues related to no task (about the whole release)
    #[arg(long)]
    general: bool,
    /// Print JSON instead of the human-readable form
    #[arg(long)]
    json: bool,
}

pub fn run(ctx: &Context, command: IssueCommand) -> Result<ExitCode, CliError> {
    let (release, op, key) = match command {
        IssueCommand::Add(args) => {
            check_tasks(ctx, &args.tasks, args.allow_unknown_task)?;
            let op = Op::AddIssue {
                text: args.text,
                blocker: args.blocker,
                related_tasks: args.tasks,
            };
            (args.release, op, args.key)
        }
        IssueCommand::Resolve(args) => {
            let op = Op::ResolveIssue {
                query: args.query,
                resolution: args.resolution,
            };
            (args.release, op, args.key)
        }
        IssueCommand::Reopen(args) => (
            args.release,
            Op::ReopenIssue { query: args.query },
            args.key,
        ),
        IssueCommand::Remove(args) => (
            args.release,
            Op::RemoveIssue { query: args.query },
            args.key,
        ),
        IssueCommand::Edit(args) => {
            check_tasks(ctx, &args.tasks, args.allow_unknown_task)?;
            let related_tasks = match (args.no_tasks, args.tasks.is_empty()) {
                (true, _) => Some(Vec::new()),
                (false, true) => None,
                (false, false) => Some(args.tasks),
            };
            let op = Op::EditIssue {
                query: args.query,
                text: args.text,
                blocker: match (args.blocker, args.no_blocker) {
                    (true, _) => Some(true),
                    (_, true) => Some(false),
                    _ => None,
                },
                related_tasks,
            };
            (args.release, op, args.key)
        }
        IssueCommand::List(args) => {
            list(ctx, args)?;
            return Ok(ExitCode::SUCCESS);
        }
    };
    let release = release.parse()?;
    report(&ctx.write(&release, &op, &key)?);
    Ok(ExitCode::SUCCESS)
}

/// A typo in --task would otherwise file an issue (a blocker, even)
/// against no real task.
fn check_tasks(ctx: &Context, tasks: &[String], allow_unknown: bool) -> Result<(), CliError> {
    match tasks.iter().find(|t| ctx.catalog.resolve(t).is_none()) {
        Some(unknown) if !allow_unknown => {
            let err = OpError::unknown_task(&ctx.catalog, unknown);
            Err(CliError::new(
                exit::INVALID_INPUT,
                format!("{err}\n(--allow-unknown-task keeps it as given)"),
            ))
        }
        _ => Ok(()),
    }
}

pub fn issue_json(issue: &Issue) -> serde_json::Value {
    serde_json::json!({
        "issue": issue.issue,
        "reported_at": issue.reported_at,
        "resolved": issue.resolved,
        "resolution": issue.resolution,
        "blocker": issue.blocker,
        "related_tasks": issue.related_tasks,
        "resolved_at": issue.resolved_at,
    })
}

pub fn issue_line(issue: &Issue) -> String {
    let mut flags = vec![if issue.resolved { "resolved" } else { "open" }];
    if issue.blocker {
        flags.push("blocker");
    }
    let tasks = if issue.related_tasks.is_empty() {
        String::new()
    } else {
        format!(" (tasks: {})", issue.related_tasks.join(", "))
    };
    let line = format!("[{}] {}{tasks}", flags.join(", "), issue.issue);
    super::printable(&line).into_owned()
}

fn list(ctx: &Context, args: ListArgs) -> Result<(), CliError> {
    let release = args.release.parse()?;
    let state = ctx.require(&release)?;
    let task = args
        .task
        .as_deref()
        .map(|t| ctx.catalog.resolve(t).map_or(t, |e| e.name.as_str()));
    let shown: Vec<&Issue> = state
        .issues
        .iter()
        .filter(|i| args.all || !i.resolved)
        .filter(|i| !args.blockers || i.blocker)
        .filter(|i| task.is_none_or(|t| i.related_tasks.iter().any(|r| r == t)))
        .filter(|i| !args.general || i.related_tasks.is_empty())
        .collect();
    if args.json {
        print_json(&serde_json::Value::Array(
            shown.into_iter().map(issue_json).collect(),
        ));
    } else {
        for issue in shown {
            println!("{}", issue_line(issue));
        }
    }
    Ok(())
}
