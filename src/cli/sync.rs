//! Stores away from the local clone: `statebox pull|push|sync` exchange the
//! record branch with a git remote (writes with `--remote` do the same on
//! their own), and `--github` opens the GitHub API backend.

use super::{CliError, Global, exit, open_git};
use clap::Args;
use statebox::backend::GitHubBackend;
use statebox::backend::github::DEFAULT_API_URL;
use statebox::sync::SyncReport;
use statebox::sync::SyncedGit;
use std::process::ExitCode;

#[derive(Debug, Args)]
pub struct SyncArgs {
    /// Remote to exchange with [default: --remote / STATEBOX_REMOTE, else origin]
    #[arg(id = "remote_name", value_name = "REMOTE")]
    remote: Option<String>,
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
        "received: {}, replayed: {}, delivered: {}",
        if report.received {
            "yes"
        } else {
            "nothing new"
        },
        report.replayed,
        report.delivered
    );
}

pub fn pull(global: &Global, args: SyncArgs) -> Result<ExitCode, CliError> {
    let store = open(global, &args)?;
    print(&store.pull()?);
    let pending = store.pending()?;
    if pending > 0 {
        println!("{pending} local commit(s) not on the remote yet; `statebox push` sends them");
    }
    Ok(ExitCode::SUCCESS)
}

pub fn push(global: &Global, args: SyncArgs) -> Result<ExitCode, CliError> {
    print(&open(global, &args)?.push()?);
    Ok(ExitCode::SUCCESS)
}

pub fn sync(global: &Global, args: SyncArgs) -> Result<ExitCode, CliError> {
    print(&open(global, &args)?.sync()?);
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
