//! The command line: argument definitions, and the mapping from library
//! results to output and exit codes. Each command group has its own file.

mod config;
mod files;
mod ingest;
mod issue;
mod merge;
mod meta;
mod read;
mod regen;
mod sync;
mod task;

use clap::{Args, Parser, Subcommand};
use statebox::backend::{Backend, BackendError, DirBackend, GitBackend};
use statebox::catalog::{Catalog, CatalogError};
use statebox::model::OpError;
use statebox::release::{InvalidRelease, Release};
use statebox::sync::SyncedGit;
use statebox::write::{self, LoadError, RetryPolicy, WriteError};
use std::path::PathBuf;
use std::process::ExitCode;

/// Exit codes, documented in the README.
pub mod exit {
    /// `fmt --check` or `validate` found files that need attention.
    pub const CHECK_FAILED: u8 = 1;
    /// The release, task or issue asked for does not exist.
    pub const NOT_FOUND: u8 = 3;
    /// Rejected input: release, task, status, issue text, metadata.
    pub const INVALID_INPUT: u8 = 4;
    /// A state file on the store is unreadable; nothing was written.
    pub const BAD_STATE: u8 = 5;
    /// Other writers kept winning; the write was not made.
    pub const CONTENTION: u8 = 6;
    /// Written locally, but the remote was unreachable; `statebox sync`
    /// delivers it.
    pub const REMOTE_UNREACHABLE: u8 = 7;
    /// The config store cannot be read, decrypted or written.
    pub const CONFIG_STORE: u8 = 8;
    /// git, file system or other environment failure.
    pub const ENVIRONMENT: u8 = 10;
}

#[derive(Debug, Parser)]
#[command(
    name = "statebox",
    version,
    about = "Release state on a git branch, safe for many writers"
)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Args)]
pub struct Global {
    /// Repository holding the record branch [default: the current directory]
    #[arg(long, global = true, env = "STATEBOX_REPO", value_name = "PATH")]
    pub repo: Option<PathBuf>,
    /// Branch that holds the state files
    #[arg(long, global = true, env = "STATEBOX_BRANCH", default_value = statebox::backend::DEFAULT_BRANCH)]
    pub branch: String,
    /// Use a plain folder laid out like the branch (`_releases/...`) instead of git
    #[arg(
        long,
        global = true,
        env = "STATEBOX_DIR",
        value_name = "PATH",
        conflicts_with = "repo"
    )]
    pub dir: Option<PathBuf>,
    /// git remote that every write is pushed to (the record branch only)
    #[arg(
        long,
        global = true,
        env = "STATEBOX_REMOTE",
        value_name = "NAME",
        conflicts_with = "dir"
    )]
    pub remote: Option<String>,
    /// Use the GitHub API on OWNER/REPO instead of a clone (token in GITHUB_TOKEN)
    #[arg(
        long,
        global = true,
        env = "STATEBOX_GITHUB",
        value_name = "OWNER/REPO",
        conflicts_with_all = ["dir", "repo", "remote"]
    )]
    pub github: Option<String>,
    /// Task catalog file: one display name per line [default: the release QE catalog]
    #[arg(long, global = true, env = "STATEBOX_CATALOG", value_name = "FILE")]
    pub catalog: Option<PathBuf>,
    /// More log output on stderr (-v info, -vv debug)
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create a release's state file
    Init(meta::InitArgs),
    /// Set or show a task
    #[command(subcommand)]
    Task(task::TaskCommand),
    /// Add, resolve or list issues
    #[command(subcommand)]
    Issue(issue::IssueCommand),
    /// Set or show release metadata
    #[command(subcommand)]
    Meta(meta::MetaCommand),
    /// Read command output from stdin; its status lines drive task state
    Ingest(ingest::IngestArgs),
    /// Run a command, tee its output, and let its status lines drive task state
    Run(ingest::RunArgs),
    /// Show one release's state
    Show(read::ShowArgs),
    /// Table of all releases: health and counts
    Status(read::StatusArgs),
    /// A release's history on the branch
    Log(read::LogArgs),
    /// Check state files against the schema
    Validate(files::ValidateArgs),
    /// Rewrite state files in canonical form
    Fmt(files::FmtArgs),
    /// Read and manage the encrypted config store
    Config(config::ConfigArgs),
    /// Merge a file as git's merge driver: %O %A %B %P
    MergeDriver(merge::DriverArgs),
    /// Set git up to merge state files with statebox
    Install(merge::InstallArgs),
    /// Regenerate derived files (.secrets.baseline, .statebox/derived.yaml rules) on the work tree
    Regen(regen::RegenArgs),
    /// Run by the git hooks `statebox install` writes
    #[command(hide = true)]
    Hook(regen::HookArgs),
    /// Fetch the record branch from the remote and integrate it
    Pull(sync::SyncArgs),
    /// Push local record commits to the remote
    Push(sync::SyncArgs),
    /// Pull, replay local commits the remote lacks, and push
    Sync(sync::SyncArgs),
    /// Print shell completions
    Completions { shell: clap_complete::Shell },
}

/// The release a command works on.
#[derive(Debug, Args)]
pub struct ReleaseArg {
    /// Release version, X.Y.Z
    #[arg(short, long, value_name = "X.Y.Z")]
    pub release: String,
}

impl ReleaseArg {
    fn parse(&self) -> Result<Release, CliError> {
        Ok(self.release.parse::<Release>()?)
    }
}

/// A failure as the user sees it: a message and an exit code.
#[derive(Debug)]
pub struct CliError {
    pub code: u8,
    pub message: String,
}

impl CliError {
    pub fn new(code: u8, message: impl Into<String>) -> Self {
        CliError {
            code,
            message: message.into(),
        }
    }
}

impl From<InvalidRelease> for CliError {
    fn from(e: InvalidRelease) -> Self {
        CliError::new(exit::INVALID_INPUT, e.to_string())
    }
}

impl From<CatalogError> for CliError {
    fn from(e: CatalogError) -> Self {
        CliError::new(exit::INVALID_INPUT, e.to_string())
    }
}

impl From<BackendError> for CliError {
    fn from(e: BackendError) -> Self {
        let code = match e {
            BackendError::RemoteUnreachable { .. } => exit::REMOTE_UNREACHABLE,
            _ => exit::ENVIRONMENT,
        };
        CliError::new(code, e.to_string())
    }
}

impl From<LoadError> for CliError {
    fn from(e: LoadError) -> Self {
        CliError::new(exit::BAD_STATE, format!("{e}\nnothing was written"))
    }
}

impl From<OpError> for CliError {
    fn from(e: OpError) -> Self {
        CliError::new(exit::INVALID_INPUT, e.to_string())
    }
}

impl From<WriteError> for CliError {
    fn from(e: WriteError) -> Self {
        match e {
            WriteError::Op(e) => e.into(),
            WriteError::Load(e) => e.into(),
            WriteError::Backend(e) => e.into(),
            e @ WriteError::Contention { .. } => CliError::new(exit::CONTENTION, e.to_string()),
        }
    }
}

impl Global {
    /// `--repo`, else the current directory.
    fn repo_path(&self) -> PathBuf {
        self.repo.clone().unwrap_or_else(|| PathBuf::from("."))
    }

    /// The work tree of the repository at [`Global::repo_path`].
    fn work_tree(&self) -> Result<PathBuf, CliError> {
        let at = self.repo_path();
        git2::Repository::discover(&at)
            .ok()
            .and_then(|repo| repo.workdir().map(|w| w.to_owned()))
            .ok_or_else(|| {
                CliError::new(
                    exit::ENVIRONMENT,
                    format!("{} is not inside a git work tree", at.display()),
                )
            })
    }

    fn catalog(&self) -> Result<Catalog, CliError> {
        Ok(match &self.catalog {
            Some(path) => Catalog::from_file(path)?,
            None => Catalog::default(),
        })
    }
}

/// What commands that touch the store need.
pub struct Context {
    pub store: Box<dyn Backend>,
    pub catalog: Catalog,
    pub retry: RetryPolicy,
}

impl Context {
    fn open(global: &Global) -> Result<Self, CliError> {
        let catalog = global.catalog()?;
        let store: Box<dyn Backend> = match (&global.dir, &global.github, &global.remote) {
            (Some(dir), _, _) => Box::new(DirBackend::new(dir)),
            (None, Some(repo), _) => Box::new(sync::github_store(repo, &global.branch)?),
            (None, None, None) => Box::new(open_git(global)?),
            (None, None, Some(remote)) => {
                Box::new(SyncedGit::new(open_git(global)?, remote, catalog.clone())?)
            }
        };
        Ok(Context {
            store,
            catalog,
            retry: RetryPolicy::default(),
        })
    }

    fn write(
        &self,
        release: &Release,
        op: &statebox::model::Op,
    ) -> Result<write::Outcome, CliError> {
        Ok(write::apply(
            self.store.as_ref(),
            release,
            op,
            &self.catalog,
            &self.retry,
        )?)
    }

    /// The release's state, or a not-found error naming where we looked.
    fn require(&self, release: &Release) -> Result<statebox::model::State, CliError> {
        write::load(self.store.as_ref(), release)?.ok_or_else(|| {
            CliError::new(
                exit::NOT_FOUND,
                format!(
                    "release {release} has no state on {}",
                    self.store.describe()
                ),
            )
        })
    }
}

fn open_git(global: &Global) -> Result<GitBackend, CliError> {
    let at = global.repo_path();
    GitBackend::open(&at, &global.branch).map_err(|e| {
        CliError::new(
            exit::ENVIRONMENT,
            format!("cannot open a git repository at {}: {e}", at.display()),
        )
    })
}

/// Prints a write's outcome: what changed, or that nothing needed to.
fn report(outcome: &write::Outcome) {
    match &outcome.written {
        Some(version) => {
            let id = version.0.as_deref().unwrap_or_default();
            println!("{} ({})", outcome.message, &id[..id.len().min(12)]);
        }
        None => println!("{}: already up to date, nothing written", outcome.message),
    }
}

fn print_json(value: &serde_json::Value) {
    println!(
        "{}",
        serde_json::to_string_pretty(value).expect("JSON values serialize")
    );
}

pub fn run(cli: Cli) -> Result<ExitCode, CliError> {
    // Commands that open repositories start libgit2 here, on the main thread
    // before any other exists, without its CA bundle; the merge driver (run
    // by git once per file) and the file-only commands skip it entirely.
    if !matches!(
        cli.command,
        Command::MergeDriver(_) | Command::Fmt(_) | Command::Completions { .. }
    ) {
        statebox::backend::init_without_ca_bundle();
    }
    let global = &cli.global;
    match cli.command {
        Command::Init(args) => meta::init(&Context::open(global)?, global, args),
        Command::Task(cmd) => task::run(&Context::open(global)?, cmd),
        Command::Issue(cmd) => issue::run(&Context::open(global)?, cmd),
        Command::Meta(cmd) => meta::run(&Context::open(global)?, cmd),
        Command::Ingest(args) => ingest::ingest(&Context::open(global)?, args),
        Command::Run(args) => ingest::run(&Context::open(global)?, args),
        Command::Show(args) => read::show(&Context::open(global)?, args),
        Command::Status(args) => read::status(&Context::open(global)?, args),
        Command::Log(args) => read::log(&Context::open(global)?, args),
        Command::Validate(args) => files::validate(global, args),
        Command::Fmt(args) => files::fmt(args),
        Command::Config(args) => config::run(global, args),
        Command::MergeDriver(args) => merge::driver(args),
        Command::Install(args) => merge::install(global, args),
        Command::Regen(args) => regen::regen(global, args),
        Command::Hook(args) => regen::hook(global, args),
        Command::Pull(args) => sync::pull(global, args),
        Command::Push(args) => sync::push(global, args),
        Command::Sync(args) => sync::sync(global, args),
        Command::Completions { shell } => {
            let mut command = <Cli as clap::CommandFactory>::command();
            clap_complete::generate(shell, &mut command, "statebox", &mut std::io::stdout());
            Ok(ExitCode::SUCCESS)
        }
    }
}
