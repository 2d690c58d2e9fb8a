//! Stores away from the local clone: `statebox pull|push|sync` exchange the
//! record branch with a git remote (writes with `--remote` do the same on
//! their own), and `--github` opens the GitHub API backend.

use super::{CliError, Global, exit, open_git, print_json, printable};
use clap::Args;
use statebox::backend::GitHubBackend;
use statebox::backend::github::DEFAULT_API_URL;
use statebox::sync::{self as remote_sync, Rejected, SyncReport, SyncedGit};
use std::process::ExitCode;

#[derive(Debug, Args)]
pub struct SyncArgs {
    /// Remote to exchange with [default: --remote / STATEBOX_REMOTE, else origin]
    #[arg(id = "remote_name", value_name = "REMOTE")]
    remote: Option<String>,
}

#[derive(Debug, Args)]
pub struct SyncCommandArgs {
    #[command(flatten)]
    remote: SyncArgs,
    /// List the local writes sync kept aside because the remote's state refuses them
    #[arg(long)]
    list_rejected: bool,
    /// With --list-rejected: print JSON instead of the human-readable form
    #[arg(long, requires = "list_rejected")]
    json: bool,
}

fn open(global: &Global, args: &SyncArgs) -> Result<SyncedGit, CliError> {
    if global.dir.is_some() || global.github.is_some() {
        return Err(CliError::new(
            exit::INVALID_INPUT,
            "pull, push and sync work on a git repository, not with --dir or --github",
        ));
    }
    let remote = args
        .remote
        .as_deref()
        .or(global.remote.as_deref())
        .unwrap_or("origin");
    Ok(SyncedGit::new(
        open_git(global)?,
        remote,
        global.catalog()?,
    )?)
}

fn print(report: &SyncReport) {
    println!(
        "received: {}, replayed: {}, delivered: {}, rejected: {}",
        if report.received {
            "yes"
        } else {
            "nothing new"
        },
        report.replayed,
        report.delivered,
        report.rejected.len()
    );
}

/// After the report: a write the remote's state refused fails the command,
/// naming each operation and where it is kept.
fn refused(global: &Global, rejected: &[Rejected]) -> Result<ExitCode, CliError> {
    if rejected.is_empty() {
        return Ok(ExitCode::SUCCESS);
    }
    Err(remote_sync::refused(&global.branch, rejected).into())
}

pub const REJECTED_HINT: &str = "\nhint: `statebox sync --list-rejected` lists them; redo each as the current state allows, then delete its ref (`git update-ref -d REF`)";

pub fn pull(global: &Global, args: SyncArgs) -> Result<ExitCode, CliError> {
    let store = open(global, &args)?;
    let report = store.pull()?;
    print(&report);
    let pending = store.pending()?;
    if pending > 0 {
        println!("{pending} local commit(s) not on the remote yet; `statebox push` sends them");
    }
    refused(global, &report.rejected)
}

pub fn push(global: &Global, args: SyncArgs) -> Result<ExitCode, CliError> {
    print(&open(global, &args)?.push()?);
    Ok(ExitCode::SUCCESS)
}

pub fn sync(global: &Global, args: SyncCommandArgs) -> Result<ExitCode, CliError> {
    if args.list_rejected {
        return list_rejected(global, args.json);
    }
    let report = open(global, &args.remote)?.sync()?;
    print(&report);
    refused(global, &report.rejected)
}

/// `sync --list-rejected`: needs no remote, only the local repository.
fn list_rejected(global: &Global, json: bool) -> Result<ExitCode, CliError> {
    let rejected = remote_sync::rejected(&open_git(global)?)?;
    if json {
        print_json(&serde_json::Value::Array(
            rejected
                .iter()
                .map(|r| {
                    serde_json::json!({
                        "commit": r.commit,
                        "ref": r.refname,
                        "release": r.release,
                        "summary": r.summary,
                        "reason": r.reason,
                        "time": r.time,
                    })
                })
                .collect(),
        ));
        return Ok(ExitCode::SUCCESS);
    }
    if rejected.is_empty() {
        println!("no rejected writes for branch '{}'", global.branch);
        return Ok(ExitCode::SUCCESS);
    }
    for r in &rejected {
        println!(
            "{} {} {} {}",
            &r.commit[..12],
            r.time,
            printable(&r.release),
            printable(&r.summary)
        );
        println!("    refused: {}", printable(&r.reason));
        println!("    kept as: {}", r.refname);
    }
    println!(
        "redo each as the current state allows (`git show REF` shows its operation), then `git update-ref -d REF`"
    );
    Ok(ExitCode::SUCCESS)
}

/// The GitHub backend for `--github OWNER/REPO`: token from `GITHUB_TOKEN`,
/// API root from `GITHUB_API_URL` (GitHub Enterprise).
pub fn github_store(owner_repo: &str, branch: &str) -> Result<GitHubBackend, CliError> {
    let token = std::env::var("GITHUB_TOKEN").map_err(|_| {
        CliError::new(
            exit::ENVIRONMENT,
            format!("--github {owner_repo} needs a token in GITHUB_TOKEN"),
        )
    })?;
    let api = std::env::var("GITHUB_API_URL").unwrap_or_else(|_| DEFAULT_API_URL.to_owned());
    Ok(GitHubBackend::new(owner_repo, branch, &api, &token)?)
}
