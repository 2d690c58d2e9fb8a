//! `statebox issue add|resolve|list`.

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
pub struct ListArgs {
    #[command(flatten)]
    release: ReleaseArg,
    /// Include resolved issues
    #[arg(long)]
    all: bool,
    /// Print JSON instead of the human-readable form
    #[arg(long)]
    json: bool,
}

pub fn run(ctx: &Context, command: IssueCommand) -> Result<ExitCode, CliError> {
    match command {
        IssueCommand::Add(args) => {
            let release = args.release.parse()?;
            if !args.allow_unknown_task {
                // A typo would otherwise file a blocker against no real task.
                if let Some(unknown) = args.tasks.iter().find(|t| ctx.catalog.resolve(t).is_none())
                {
                    let err = OpError::unknown_task(&ctx.catalog, unknown);
                    return Err(CliError::new(
                        exit::INVALID_INPUT,
                        format!("{err}\n(--allow-unknown-task keeps it as given)"),
                    ));
                }
            }
            let op = Op::AddIssue {
                text: args.text,
                blocker: args.blocker,
                related_tasks: args.tasks,
            };
            report(&ctx.write(&release, &op, &args.key)?);
        }
        IssueCommand::Resolve(args) => {
            let release = args.release.parse()?;
            let op = Op::ResolveIssue {
                query: args.query,
                resolution: args.resolution,
            };
            report(&ctx.write(&release, &op, &args.key)?);
        }
        IssueCommand::List(args) => list(ctx, args)?,
    }
    Ok(ExitCode::SUCCESS)
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
    let shown: Vec<&Issue> = state
        .issues
        .iter()
        .filter(|i| args.all || !i.resolved)
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
