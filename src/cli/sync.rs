//! `statebox pull|push|sync`: explicit exchange of the record branch with a
//! git remote (writes with `--remote` do the same on their own).

use super::{CliError, Global, exit, open_git};
use crate::catalog::Catalog;
use crate::store::SyncedGitStore;
use crate::store::remote::SyncReport;
use clap::Args;
use std::process::ExitCode;

#[derive(Debug, Args)]
pub struct SyncArgs {
    /// Remote to exchange with [default: --remote / STATEBOX_REMOTE, else origin]
    #[arg(value_name = "REMOTE")]
    remote: Option<String>,
}

fn open(global: &Global, args: &SyncArgs) -> Result<SyncedGitStore, CliError> {
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
    let catalog = match &global.catalog {
        Some(path) => Catalog::from_file(path)?,
        None => Catalog::default(),
    };
    Ok(SyncedGitStore::new(open_git(global)?, remote, catalog)?)
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
