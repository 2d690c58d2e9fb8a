//! `merge-driver` (called by git) and `install` (sets git up to call it).

use super::{CliError, Global, exit, printable};
use clap::Args;
use statebox::merge::driver::{CONFLICT, run_driver};
use statebox::worktree::derived::{self, RULES_FILE};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

#[derive(Debug, Args)]
pub struct DriverArgs {
    /// Common ancestor version (%O); empty when both sides added the file
    pub base: PathBuf,
    /// Our version (%A); receives the result
    pub ours: PathBuf,
    /// Their version (%B)
    pub theirs: PathBuf,
    /// The file's path in the repository (%P)
    pub path: String,
}

pub fn driver(args: DriverArgs) -> Result<ExitCode, CliError> {
    match run_driver(&args.base, &args.ours, &args.theirs, &args.path) {
        Ok(outcome) => Ok(ExitCode::from(outcome.exit_code())),
        Err(e) => Err(CliError::new(CONFLICT, format!("{}: {e}", args.path))),
    }
}

#[derive(Debug, Args)]
pub struct InstallArgs {
    /// Install for the user (global git config and attributes file) instead of this repository
    #[arg(long)]
    pub global: bool,
    /// Only report what is installed and what is missing; exit 9 if anything is missing
    #[arg(long)]
    pub check: bool,
    /// Trust .statebox/derived.yaml as it is now (review it first): the hooks run its commands until it changes
    #[arg(long, conflicts_with_all = ["global", "check"])]
    pub trust_derived: bool,
}

/// Files git routes to the driver.
const ATTRIBUTE_LINES: [&str; 2] = [
    "_releases/**/statebox/*.yaml merge=statebox",
    ".secrets.baseline merge=statebox",
];

/// One thing the driver needs in place.
enum Piece {
    /// A line in the attributes file.
    Attribute(&'static str),
    /// A git config entry at the install's level.
    Config { key: &'static str, value: String },
    /// A hook script that hands over to `statebox hook NAME` (repository
    /// installs only: hooks live in the repository).
    Hook { path: PathBuf, script: String },
}

/// Hooks after which derived files are regenerated on the final tree:
/// merges, rebases, and (post-commit, filtered to cherry-picks) picks.
const HOOKS: [&str; 3] = ["post-merge", "post-rewrite", "post-commit"];
/// Marks hook scripts statebox wrote, so it never overwrites anyone else's.
const HOOK_MARKER: &str = "# installed by statebox install";

/// Where an install goes: one repository, or the user's git setup.
enum Scope {
    Repo { top: PathBuf },
    Global,
}

impl Scope {
    fn config_flag(&self) -> &'static str {
        match self {
            Scope::Repo { .. } => "--local",
            Scope::Global => "--global",
        }
    }

    fn git(&self) -> Command {
        let mut git = Command::new("git");
        if let Scope::Repo { top } = self {
            git.current_dir(top);
        }
        git
    }

    fn config_get(&self, key: &str) -> Result<Option<String>, CliError> {
        let out = run(self
            .git()
            .args(["config", self.config_flag(), "--get", key]))?;
        Ok(out.status.success().then(|| {
            String::from_utf8_lossy(&out.stdout)
                .trim_end_matches('\n')
                .to_owned()
        }))
    }

    fn config_set(&self, key: &str, value: &str) -> Result<(), CliError> {
        let out = run(self.git().args(["config", self.config_flag(), key, value]))?;
        if out.status.success() {
            Ok(())
        } else {
            Err(CliError::new(
                exit::ENVIRONMENT,
                format!(
                    "git config {key} failed: {}",
                    String::from_utf8_lossy(&out.stderr).trim()
                ),
            ))
        }
    }
}

fn write_hook(path: &Path, script: &str) -> Result<(), CliError> {
    use std::os::unix::fs::PermissionsExt;
    let failed =
        |e: std::io::Error| CliError::new(exit::ENVIRONMENT, format!("{}: {e}", path.display()));
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(failed)?;
    }
    std::fs::write(path, script).map_err(failed)?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).map_err(failed)
}

fn run(command: &mut Command) -> Result<std::process::Output, CliError> {
    command
        .output()
        .map_err(|e| CliError::new(exit::ENVIRONMENT, format!("cannot run git: {e}")))
}

/// Everything an install sets up, in the order it is done. Post-merge and
/// post-rewrite hooks (baseline regeneration) belong in this list too.
fn pieces(
    scope: &Scope,
    attributes: &Path,
    attributes_configured: bool,
) -> Result<Vec<Piece>, CliError> {
    let mut pieces: Vec<Piece> = ATTRIBUTE_LINES.into_iter().map(Piece::Attribute).collect();
    if matches!(scope, Scope::Global) && !attributes_configured {
        pieces.push(Piece::Config {
            key: "core.attributesFile",
            value: attributes.display().to_string(),
        });
    }
    pieces.push(Piece::Config {
        key: "merge.statebox.name",
        value: "statebox semantic merge".to_owned(),
    });
    let statebox = program()?;
    pieces.push(Piece::Config {
        key: "merge.statebox.driver",
        value: driver_command(&statebox),
    });
    let program = invocation(&statebox);
    if let Scope::Repo { top } = scope {
        let hooks = hooks_dir(top)?;
        for name in HOOKS {
            pieces.push(Piece::Hook {
                path: hooks.join(name),
                script: format!("#!/bin/sh\n{HOOK_MARKER}\nexec {program} hook {name} \"$@\"\n"),
            });
        }
    }
    Ok(pieces)
}

/// The hooks folder git uses for the repository (honours core.hooksPath).
fn hooks_dir(top: &Path) -> Result<PathBuf, CliError> {
    let out = run(Command::new("git")
        .args(["rev-parse", "--git-path", "hooks"])
        .current_dir(top))?;
    if !out.status.success() {
        return Err(CliError::new(
            exit::ENVIRONMENT,
            "cannot find the repository's hooks folder",
        ));
    }
    Ok(top.join(String::from_utf8_lossy(&out.stdout).trim_end()))
}

/// This program's canonical path.
fn program() -> Result<PathBuf, CliError> {
    std::env::current_exe()
        .and_then(std::fs::canonicalize)
        .map_err(|e| CliError::new(exit::ENVIRONMENT, format!("cannot locate statebox: {e}")))
}

/// How git should call one of statebox's programs: its plain name when that
/// name on PATH is this very file (so upgrades in place keep working), else
/// its absolute path (tests, and users who run it from a build folder),
/// quoted because git runs it through the shell.
fn invocation(exe: &Path) -> String {
    let name = exe.file_name().unwrap_or_default();
    let on_path = std::env::var_os("PATH").is_some_and(|path| {
        std::env::split_paths(&path)
            .filter_map(|dir| std::fs::canonicalize(dir.join(name)).ok())
            .next()
            .is_some_and(|found| found == exe)
    });
    if on_path {
        return name.to_string_lossy().into_owned();
    }
    format!("'{}'", exe.display().to_string().replace('\'', r"'\''"))
}

/// The driver command: the small `statebox-merge-driver` program installed
/// beside this one (git starts a driver once per file, so start-up counts),
/// else this program's `merge-driver` command.
fn driver_command(statebox: &Path) -> String {
    let dedicated = statebox.with_file_name("statebox-merge-driver");
    if dedicated.is_file() {
        format!("{} %O %A %B %P", invocation(&dedicated))
    } else {
        format!("{} merge-driver %O %A %B %P", invocation(statebox))
    }
}

/// The attributes file for the scope, and whether git config already names it.
fn attributes_file(scope: &Scope) -> Result<(PathBuf, bool), CliError> {
    match scope {
        Scope::Repo { top } => Ok((top.join(".gitattributes"), true)),
        Scope::Global => {
            let out = run(Command::new("git").args([
                "config",
                "--global",
                "--path",
                "--get",
                "core.attributesFile",
            ]))?;
            if out.status.success() {
                let path = String::from_utf8_lossy(&out.stdout).trim_end().to_owned();
                return Ok((PathBuf::from(path), true));
            }
            // Git's own default location when core.attributesFile is unset.
            let config_home = std::env::var_os("XDG_CONFIG_HOME")
                .filter(|v| !v.is_empty())
                .map(PathBuf::from)
                .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".config")))
                .ok_or_else(|| {
                    CliError::new(
                        exit::ENVIRONMENT,
                        "neither HOME nor XDG_CONFIG_HOME is set: no place for a global attributes file",
                    )
                })?;
            Ok((config_home.join("git/attributes"), false))
        }
    }
}

pub fn install(global: &Global, args: InstallArgs) -> Result<ExitCode, CliError> {
    let scope = if args.global {
        Scope::Global
    } else {
        Scope::Repo {
            top: global.work_tree().map_err(|e| {
                CliError::new(
                    e.code,
                    format!("{} (use --global to install for the user)", e.message),
                )
            })?,
        }
    };
    let (attributes, configured) = attributes_file(&scope)?;
    let io_error = |e: std::io::Error| {
        CliError::new(exit::ENVIRONMENT, format!("{}: {e}", attributes.display()))
    };
    let mut existing = match std::fs::read_to_string(&attributes) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(io_error(e)),
    };
    let mut missing = 0;
    for piece in pieces(&scope, &attributes, configured)? {
        let (present, what) = match &piece {
            Piece::Attribute(line) => (
                existing.lines().any(|l| l.trim() == *line),
                format!("{}: {line}", attributes.display()),
            ),
            Piece::Config { key, value } => (
                scope.config_get(key)?.as_deref() == Some(value.as_str()),
                format!("git config {} {key} = {value}", scope.config_flag()),
            ),
            Piece::Hook { path, script } => {
                let current = std::fs::read_to_string(path).ok();
                if current.as_ref().is_some_and(|c| !c.contains(HOOK_MARKER)) {
                    // Someone else's hook: leave it, say what to add.
                    println!(
                        "missing:   {} is not statebox's; add to it: {}",
                        path.display(),
                        script.lines().last().unwrap_or_default()
                    );
                    missing += 1;
                    continue;
                }
                (
                    current.as_deref() == Some(script.as_str()),
                    format!("hook {}", path.display()),
                )
            }
        };
        if present {
            println!("installed: {what}");
            continue;
        }
        if args.check {
            println!("missing:   {what}");
            missing += 1;
            continue;
        }
        match &piece {
            Piece::Attribute(line) => {
                if !existing.is_empty() && !existing.ends_with('\n') {
                    existing.push('\n');
                }
                existing.push_str(line);
                existing.push('\n');
                if let Some(dir) = attributes.parent() {
                    std::fs::create_dir_all(dir).map_err(io_error)?;
                }
                std::fs::write(&attributes, &existing).map_err(io_error)?;
            }
            Piece::Config { key, value } => scope.config_set(key, value)?,
            Piece::Hook { path, script } => write_hook(path, script)?,
        }
        println!("added:     {what}");
    }
    if let Scope::Repo { top } = &scope {
        derived_trust(top, args.trust_derived)?;
    }
    if missing > 0 {
        eprintln!(
            "statebox: {missing} piece(s) of the merge driver setup missing; run `statebox install{}`",
            if args.global { " --global" } else { "" }
        );
        return Ok(ExitCode::from(exit::SETUP_MISSING));
    }
    Ok(ExitCode::SUCCESS)
}

/// With `allow`, trusts the rules file as it is now and shows what that
/// lets run; otherwise says whether its commands run.
fn derived_trust(top: &Path, allow: bool) -> Result<(), CliError> {
    let rules = match derived::load_rules(top) {
        Ok(rules) => rules,
        // A broken rules file is regen's error to report, not install's.
        Err(e) if !allow => {
            println!("untrusted: {e}");
            return Ok(());
        }
        Err(e) => return Err(e.into()),
    };
    let Some(rules) = rules else {
        if allow {
            return Err(CliError::new(
                exit::NOT_FOUND,
                format!(
                    "{}: no such file, nothing to trust",
                    top.join(RULES_FILE).display()
                ),
            ));
        }
        return Ok(());
    };
    if allow {
        derived::allow(top, &rules)?;
    } else if rules.rules.is_empty() {
        return Ok(());
    }
    if derived::is_trusted(top, &rules)? {
        println!(
            "trusted:   {RULES_FILE} (sha256 {}); the hooks run its commands:",
            rules.sha256
        );
        for rule in &rules.rules {
            println!("  {}: {}", printable(&rule.path), printable(&rule.run));
        }
    } else {
        println!(
            "untrusted: {RULES_FILE} (sha256 {}): its commands do not run; review it, then `statebox install --trust-derived`",
            rules.sha256
        );
    }
    Ok(())
}
