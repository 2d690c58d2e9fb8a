//! The command line: argument definitions, and the mapping from library
//! results to output and exit codes. Each command group has its own file.

mod audit;
mod config;
mod files;
mod ingest;
mod issue;
mod merge;
mod meta;
mod read;
mod regen;
mod serve;
mod sync;
mod task;

use clap::{Args, Parser, Subcommand};
pub use serve::init_tracing;
use statebox::backend::{Backend, BackendError, DirBackend, GitBackend};
use statebox::catalog::{Catalog, CatalogError};
use statebox::idempotency::{IdempotencyKey, InvalidKey};
use statebox::model::OpError;
use statebox::release::{InvalidRelease, Release};
use statebox::summary::SummaryCache;
use statebox::sync::SyncedGit;
use statebox::write::{self, LoadError, RetryPolicy, WriteError};
use std::path::PathBuf;
use std::process::ExitCode;

/// Exit codes, documented in the README.
pub mod exit {
    /// `fmt --check` or `validate` found files that need attention.
    pub const CHECK_FAILED: u8 = 1;
    /// Command-line usage error (clap's code).
    pub const USAGE: u8 = 2;
    /// The release, task or issue asked for does not exist.
    pub const NOT_FOUND: u8 = 3;
    /// Rejected input: release, task, status, issue text, metadata.
    pub const INVALID_INPUT: u8 = 4;
    /// A state file on the store is unreadable: a write writes nothing,
    /// `status` names it and shows every other release.
    pub const BAD_STATE: u8 = 5;
    /// Other writers kept winning; the write was not made.
    pub const CONTENTION: u8 = 6;
    /// Written locally, but the remote was unreachable; `statebox sync`
    /// delivers it.
    pub const REMOTE_UNREACHABLE: u8 = 7;
    /// The config store cannot be read, decrypted or written.
    pub const CONFIG_STORE: u8 = 8;
    /// `install --check` (or `install` beside someone else's hook) found
    /// part of the merge-driver setup missing.
    pub const SETUP_MISSING: u8 = 9;
    /// git, file system or other environment failure.
    pub const ENVIRONMENT: u8 = 10;
    /// A local write no longer applies on the remote's state: not
    /// delivered, kept under `refs/statebox/rejected/`.
    pub const REJECTED: u8 = 11;
    /// `serve`: the shutdown grace period ran out with requests in flight.
    pub const GRACE_ELAPSED: u8 = 12;
    /// `run`: the command could not be started (as a shell reports it).
    pub const CANNOT_RUN: u8 = 127;
}

#[derive(Debug, Parser)]
#[command(
    name = "statebox",
    version,
    about = "Release state on a git branch, safe for many writers"
)]
pub struct Cli {
    /// More log output on stderr (-v info, -vv debug)
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    #[command(subcommand)]
    pub command: Command,
}

/// Where the state lives. Flattened only into the commands that read or
/// write state, so `fmt`, `merge-driver`, `config` and `completions` do not
/// list options they would ignore.
#[derive(Debug, Clone, Args, Default)]
#[command(next_help_heading = "Store options")]
pub struct Global {
    /// Repository holding the record branch [default: the current directory]
    #[arg(long, global = true, env = "STATEBOX_REPO", value_name = "PATH")]
    pub repo: Option<PathBuf>,
    /// Branch that holds the state files
    #[arg(
        long,
        global = true,
        env = "STATEBOX_BRANCH",
        default_value = statebox::backend::DEFAULT_BRANCH,
        value_parser = branch_name
    )]
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
}

/// A command's own arguments with the store options beside them.
#[derive(Debug, Args)]
pub struct Stored<T: Args> {
    #[command(flatten)]
    pub args: T,
    #[command(flatten)]
    pub store: Global,
}

/// A command group whose subcommands all use the store.
#[derive(Debug, Args)]
pub struct StoredGroup<T: Subcommand> {
    #[command(flatten)]
    pub store: Global,
    #[command(subcommand)]
    pub command: T,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create a release's state file
    Init(Stored<meta::InitArgs>),
    /// Set, show or reset a task
    Task(StoredGroup<task::TaskCommand>),
    /// Add, resolve, reopen, edit, remove or list issues
    Issue(StoredGroup<issue::IssueCommand>),
    /// Set, unset or show release metadata
    Meta(StoredGroup<meta::MetaCommand>),
    /// Read command output from stdin; its status lines drive task state
    Ingest(Stored<ingest::IngestArgs>),
    /// Run a command, tee its output, and let its status lines drive task state
    Run(Stored<ingest::RunArgs>),
    /// Show one release's state
    Show(Stored<read::ShowArgs>),
    /// Table of all releases: health and counts
    ///
    /// Health: Red when a task failed (status Fail) or an unresolved blocker
    /// issue is open; Green otherwise.
    ///
    /// Filters combine: a release is shown when it passes every one given.
    /// --active keeps, per y-stream, only the latest release that has a state
    /// file, and only while today (UTC) is at most one day past its metadata
    /// release_date (2026-Mar-25, as the original writes it, or 2026-03-25);
    /// without a readable date it is not active.
    ///
    /// A state file that cannot be read (invalid YAML, a folder in its place)
    /// is named on stderr with why, every other release is still shown, and
    /// the exit code is 5. A release named with -r that has no state file is
    /// named too (exit 3).
    Status(Stored<read::StatusArgs>),
    /// A release's history on the branch
    Log(Stored<read::LogArgs>),
    /// Find updates that later commits reverted without saying so; --repair puts them back
    Audit(Stored<audit::AuditArgs>),
    /// Check state files against the schema
    Validate(Stored<files::ValidateArgs>),
    /// Rewrite state files in canonical form
    Fmt(files::FmtArgs),
    /// Read and manage the encrypted config store
    Config(config::ConfigArgs),
    /// Merge a file as git's merge driver: %O %A %B %P
    MergeDriver(merge::DriverArgs),
    /// Set git up to merge state files with statebox
    Install(Stored<merge::InstallArgs>),
    /// Regenerate derived files (.secrets.baseline, .statebox/derived.yaml rules) on the work tree
    Regen(Stored<regen::RegenArgs>),
    /// Run by the git hooks `statebox install` writes
    #[command(hide = true)]
    Hook(Stored<regen::HookArgs>),
    /// Fetch the record branch from the remote and integrate it
    Pull(Stored<sync::SyncArgs>),
    /// Push local record commits to the remote
    Push(Stored<sync::SyncArgs>),
    /// Pull, replay local commits the remote lacks, and push
    Sync(Stored<sync::SyncCommandArgs>),
    /// MCP server on stdio, for agent clients to spawn
    Mcp(Stored<serve::McpArgs>),
    /// HTTP server: MCP at /mcp, JSON API at /api/, live dashboard at /
    Serve(Stored<serve::ServeArgs>),
    /// The dashboard as one self-contained HTML file
    Report(Stored<serve::ReportArgs>),
    /// Print shell completions
    Completions {
        /// The shell to write completions for
        shell: clap_complete::Shell,
    },
}

impl Command {
    /// Commands that copy their input to stdout and must outlive its reader.
    pub fn tees_output(&self) -> bool {
        matches!(self, Command::Ingest(_) | Command::Run(_))
    }
}

/// Store options (`--repo`, `--dir`, ...) belong to the commands that use a
/// store, but scripts and habits put them first (`statebox --repo R status`).
/// Moves the options given before the command to just after it, where clap
/// reads them; a command that takes no store options then refuses them.
pub fn store_options_after_command(
    args: impl IntoIterator<Item = std::ffi::OsString>,
) -> Vec<std::ffi::OsString> {
    let command = <Cli as clap::CommandFactory>::command();
    let store = <Global as Args>::augment_args(clap::Command::new("store"));
    let takes_value = |flag: &str| {
        store
            .get_arguments()
            .any(|a| a.get_long() == Some(flag) && a.get_action().takes_values())
    };
    let is_store_flag = |flag: &str| store.get_arguments().any(|a| a.get_long() == Some(flag));
    let mut args: Vec<std::ffi::OsString> = args.into_iter().collect();
    let mut leading = Vec::new();
    let mut i = 1;
    while i < args.len() {
        let arg = args[i].to_string_lossy().into_owned();
        let Some(long) = arg.strip_prefix("--") else {
            if arg.starts_with('-') {
                i += 1; // -v, -vv: top-level flags stay where they are
                continue;
            }
            break; // the command
        };
        let (name, inline_value) = match long.split_once('=') {
            Some((name, _)) => (name, true),
            None => (long, false),
        };
        if !is_store_flag(name) {
            i += 1;
            continue;
        }
        let end = if !inline_value && takes_value(name) {
            i + 2
        } else {
            i + 1
        };
        leading.extend(args.drain(i..end.min(args.len())));
    }
    let is_command = i < args.len()
        && command
            .find_subcommand(args[i].to_string_lossy().as_ref())
            .is_some();
    if is_command {
        args.splice(i + 1..i + 1, leading);
    } else {
        args.extend(leading);
    }
    args
}

/// `--branch`: refused at parsing (usage error, exit 2) when git would not
/// take it as a branch name.
fn branch_name(name: &str) -> Result<String, statebox::branch::InvalidBranch> {
    statebox::branch::validate(name).map(|()| name.to_owned())
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

/// The idempotency key of a write command.
#[derive(Debug, Args)]
pub struct KeyArg {
    /// Name this write (a UUID, say): run again with the same key, it prints
    /// the first run's result and writes nothing, also from another machine
    #[arg(long = "idempotency-key", value_name = "KEY")]
    pub key: Option<String>,
}

impl KeyArg {
    /// Checked here rather than by clap, whose message would repeat the
    /// value, and a key that looks like a credential must not be echoed.
    fn parse(&self) -> Result<Option<IdempotencyKey>, CliError> {
        self.key
            .as_deref()
            .map(str::parse)
            .transpose()
            .map_err(|e: InvalidKey| CliError::new(exit::USAGE, e.to_string()))
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
        let (code, hint) = match e {
            BackendError::RemoteUnreachable { .. } => (
                exit::REMOTE_UNREACHABLE,
                "\nhint: `statebox sync` delivers them later",
            ),
            BackendError::CheckedOut { .. } => (
                exit::ENVIRONMENT,
                "\nhint: commit or stash those changes there (git status shows them), then write again",
            ),
            BackendError::RemoteBusy { .. } => (
                exit::CONTENTION,
                "\nhint: `statebox sync` delivers them when the remote is quieter",
            ),
            BackendError::RemoteAhead { .. } => (
                exit::ENVIRONMENT,
                "\nhint: `statebox sync` integrates the remote's commits and pushes",
            ),
            BackendError::Rejected { .. } => (exit::REJECTED, sync::REJECTED_HINT),
            _ => (exit::ENVIRONMENT, ""),
        };
        CliError::new(code, format!("{e}{hint}"))
    }
}

impl From<LoadError> for CliError {
    fn from(e: LoadError) -> Self {
        CliError::new(exit::BAD_STATE, format!("{e}\nnothing was written"))
    }
}

impl From<OpError> for CliError {
    fn from(e: OpError) -> Self {
        let (code, hint) = match e {
            OpError::NoSuchIssue { .. }
            | OpError::NoResolvedIssue { .. }
            | OpError::NoIssue { .. }
            | OpError::NoMetadataKey { .. } => (exit::NOT_FOUND, ""),
            OpError::NoState { .. } => (
                exit::NOT_FOUND,
                "\nhint: `statebox status` lists the releases there are",
            ),
            OpError::SecondBlocker { .. } => (
                exit::INVALID_INPUT,
                "\nhint: resolve it first, or add this issue without --blocker",
            ),
            _ => (exit::INVALID_INPUT, ""),
        };
        CliError::new(code, format!("{e}{hint}"))
    }
}

impl From<WriteError> for CliError {
    fn from(e: WriteError) -> Self {
        match e {
            WriteError::Op(e) => e.into(),
            WriteError::Load(e) => e.into(),
            WriteError::Backend(e) => e.into(),
            e @ (WriteError::Contention { .. } | WriteError::Locked { .. }) => {
                CliError::new(exit::CONTENTION, e.to_string())
            }
            WriteError::KeyReused(e) => CliError::new(exit::INVALID_INPUT, e.to_string()),
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
            (None, None, None) => Box::new(local_git(global)?),
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

    /// The cache of `status` summaries, holding those `wanted`:
    /// `$XDG_CACHE_HOME/statebox`, else `~/.cache/statebox` (relative
    /// paths are ignored, as XDG says); none when neither is set.
    pub fn summary_cache<'a>(
        &self,
        wanted: impl IntoIterator<Item = (&'a Release, &'a str)>,
    ) -> Option<SummaryCache> {
        let absolute = |name: &str| {
            std::env::var_os(name)
                .map(std::path::PathBuf::from)
                .filter(|path| path.is_absolute())
        };
        let folder = absolute("XDG_CACHE_HOME")
            .or_else(|| absolute("HOME").map(|home| home.join(".cache")))?;
        Some(SummaryCache::open(&folder.join("statebox"), wanted))
    }

    fn write(
        &self,
        release: &Release,
        op: &statebox::model::Op,
        key: &KeyArg,
    ) -> Result<write::Outcome, CliError> {
        Ok(write::apply(
            self.store.as_ref(),
            release,
            op,
            key.parse()?.as_ref(),
            &self.catalog,
            &self.retry,
        )?)
    }

    /// Before a read: what a remote has is brought in (if it cannot be
    /// reached, stderr says the local branch is shown), and a branch or
    /// folder that does not exist is an error, not an empty store.
    fn ready_to_read(&self) -> Result<(), CliError> {
        match self.store.refresh() {
            Err(BackendError::RemoteUnreachable { remote, reason, .. }) => tracing::warn!(
                "cannot fetch from remote '{remote}' ({reason}); showing the local branch, which may be behind it"
            ),
            other => other?,
        }
        if !self.store.exists()? {
            return Err(CliError::new(
                exit::NOT_FOUND,
                format!(
                    "{} does not exist\nhint: check --repo, --branch or --dir; the first write (statebox init -r RELEASE) creates it",
                    self.store.describe()
                ),
            ));
        }
        Ok(())
    }

    /// The release's state, or a not-found error naming where we looked.
    /// A file that cannot be read is named as a write names it, without
    /// "nothing was written": a read writes nothing anyway.
    fn require(&self, release: &Release) -> Result<statebox::model::State, CliError> {
        self.ready_to_read()?;
        let loaded = write::load(self.store.as_ref(), release).map_err(|e| match e {
            WriteError::Load(e) => CliError::new(exit::BAD_STATE, e.to_string()),
            other => other.into(),
        })?;
        loaded.ok_or_else(|| {
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

/// The record branch without a remote to sync with. In a fresh clone it
/// exists only as `origin/record`: that is what reads show, and the first
/// write creates the branch from it, as `git switch record` would.
fn local_git(global: &Global) -> Result<GitBackend, CliError> {
    let git = open_git(global)?.starting_from_remote_tracking()?;
    if let Some(start) = git.start_point() {
        tracing::info!(
            "branch '{}' exists only as '{start}': reading that; a write creates '{}' from it",
            global.branch,
            global.branch
        );
    }
    Ok(git)
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

/// Says on stderr that a write created `release`'s state file.
fn note_created(release: &str) {
    eprintln!(
        "statebox: release {release} had no state file; this write created it (`statebox init` sets its metadata)"
    );
}

/// Prints a write's outcome: what changed, or that nothing needed to. A
/// write to a release without a state file creates it, as the original's
/// did; stderr says so, so a mistyped release does not pass unnoticed.
fn report(outcome: &write::Outcome) {
    if outcome.repeated {
        // stdout stays what the first run printed, for scripts that retry.
        eprintln!(
            "statebox: this idempotency key's write is already on the branch; nothing written"
        );
    }
    if outcome.created_without_init {
        note_created(&outcome.state.release);
    }
    match &outcome.written {
        Some(version) => {
            let id = version.0.as_deref().unwrap_or_default();
            println!(
                "{} ({})",
                printable(&outcome.message),
                &id[..id.len().min(12)]
            );
        }
        None => println!(
            "{}: already up to date, nothing written",
            printable(&outcome.message)
        ),
    }
}

/// Text from the store as it may reach a terminal: control characters
/// other than newline and tab (C0, DEL, C1) are shown escaped (`\u{1b}`),
/// so a state file cannot move the cursor, retitle the window or hide text.
/// `--json` and `--yaml` print exactly what is stored instead.
pub fn printable(text: &str) -> std::borrow::Cow<'_, str> {
    let control = |c: char| c.is_control() && c != '\n' && c != '\t';
    if !text.chars().any(control) {
        return text.into();
    }
    text.chars()
        .map(|c| {
            if control(c) {
                c.escape_unicode().to_string()
            } else {
                c.to_string()
            }
        })
        .collect::<String>()
        .into()
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
    match cli.command {
        Command::Init(c) => meta::init(&Context::open(&c.store)?, &c.store, c.args),
        Command::Task(c) => task::run(&Context::open(&c.store)?, c.command),
        Command::Issue(c) => issue::run(&Context::open(&c.store)?, c.command),
        Command::Meta(c) => meta::run(&Context::open(&c.store)?, c.command),
        Command::Ingest(c) => ingest::ingest(&Context::open(&c.store)?, c.args),
        Command::Run(c) => ingest::run(&Context::open(&c.store)?, c.args),
        Command::Show(c) => read::show(&Context::open(&c.store)?, c.args),
        Command::Status(c) => read::status(&Context::open(&c.store)?, c.args),
        Command::Log(c) => read::log(&Context::open(&c.store)?, c.args),
        Command::Audit(c) => audit::run(&c.store, c.args),
        Command::Validate(c) => files::validate(&c.store, c.args),
        Command::Fmt(args) => files::fmt(args),
        // The config store is found from the current directory's repository.
        Command::Config(args) => config::run(&Global::default(), args),
        Command::MergeDriver(args) => merge::driver(args),
        Command::Install(c) => merge::install(&c.store, c.args),
        Command::Regen(c) => regen::regen(&c.store, c.args),
        Command::Hook(c) => regen::hook(&c.store, c.args),
        Command::Pull(c) => sync::pull(&c.store, c.args),
        Command::Push(c) => sync::push(&c.store, c.args),
        Command::Sync(c) => sync::sync(&c.store, c.args),
        Command::Mcp(c) => serve::mcp(&c.store, c.args),
        Command::Serve(c) => serve::serve(&c.store, c.args),
        Command::Report(c) => serve::report(&c.store, c.args),
        Command::Completions { shell } => {
            let mut command = <Cli as clap::CommandFactory>::command();
            clap_complete::generate(shell, &mut command, "statebox", &mut std::io::stdout());
            Ok(ExitCode::SUCCESS)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    /// clap's own consistency checks on every command (unique names, valid
    /// conflicts), which it otherwise runs only for the command being parsed.
    #[test]
    fn the_command_tree_is_consistent() {
        Cli::command().debug_assert();
    }

    /// Every flag, option and argument of every command says what it is for.
    #[test]
    fn every_argument_has_a_help_line() {
        fn walk(command: &clap::Command, path: &str, missing: &mut Vec<String>) {
            for arg in command.get_arguments() {
                let builtin = matches!(arg.get_id().as_str(), "help" | "version");
                if !builtin && arg.get_help().is_none() && !arg.is_hide_set() {
                    missing.push(format!("{path} {}", arg.get_id()));
                }
            }
            for sub in command.get_subcommands() {
                if sub.get_about().is_none() && !sub.is_hide_set() {
                    missing.push(format!("{path} {} (the command)", sub.get_name()));
                }
                walk(sub, &format!("{path} {}", sub.get_name()), missing);
            }
        }
        let mut missing = Vec::new();
        walk(&Cli::command(), "statebox", &mut missing);
        assert!(missing.is_empty(), "without a help line: {missing:#?}");
    }

    /// Every command's --help, as a snapshot: help is user interface, and a
    /// change to it is reviewed as a diff (`cargo insta review`).
    #[test]
    fn help_of_every_command() {
        fn walk(command: &mut clap::Command, path: String, out: &mut Vec<(String, String)>) {
            out.push((path.clone(), command.render_long_help().to_string()));
            for sub in command.get_subcommands_mut() {
                if !sub.is_hide_set() && sub.get_name() != "help" {
                    let name = format!("{path} {}", sub.get_name());
                    walk(sub, name, out);
                }
            }
        }
        let mut command = Cli::command();
        command.build();
        let mut helps = Vec::new();
        walk(&mut command, "statebox".into(), &mut helps);
        for (path, help) in helps {
            insta::assert_snapshot!(path.replace(' ', "__"), help, &path);
        }
    }

    #[test]
    fn store_options_only_on_commands_that_use_a_store() {
        let cli = Cli::command();
        let takes_repo = |name: &str| {
            cli.find_subcommand(name)
                .unwrap()
                .get_arguments()
                .any(|a| a.get_long() == Some("repo"))
        };
        for name in ["fmt", "merge-driver", "completions", "config"] {
            assert!(!takes_repo(name), "{name} lists --repo");
        }
        for name in ["show", "status", "init", "task", "sync"] {
            assert!(takes_repo(name), "{name} lacks --repo");
        }
    }

    #[test]
    fn store_options_before_the_command_move_after_it() {
        let moved = |args: &[&str]| -> Vec<String> {
            store_options_after_command(args.iter().map(Into::into))
                .into_iter()
                .map(|a| a.into_string().unwrap())
                .collect()
        };
        assert_eq!(
            moved(&[
                "statebox",
                "--repo",
                "r",
                "-v",
                "--branch=b",
                "task",
                "set",
                "x"
            ]),
            [
                "statebox",
                "-v",
                "task",
                "--repo",
                "r",
                "--branch=b",
                "set",
                "x"
            ]
        );
        assert_eq!(
            moved(&["statebox", "status", "--dir", "d"]),
            ["statebox", "status", "--dir", "d"]
        );
        // A command without store options then refuses them, as it should.
        let parsed = Cli::try_parse_from(moved(&["statebox", "--dir", "d", "fmt", "f"]));
        assert!(parsed.unwrap_err().to_string().contains("--dir"));
    }
}
