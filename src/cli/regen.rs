//! `statebox regen` (by hand) and `statebox hook NAME` (what the hooks
//! `statebox install` writes call): derived files regenerated on the final
//! tree and committed on their own.

use super::{CliError, Global, exit, printable};
use clap::Args;
use statebox::worktree::derived::{self, DerivedError, RULES_FILE, Untrusted};
use std::process::ExitCode;

#[derive(Debug, Args)]
pub struct RegenArgs {
    /// Commit what was regenerated, in a commit of its own
    #[arg(long)]
    commit: bool,
    /// Only regenerate what depends on paths changed since REV (e.g. ORIG_HEAD)
    #[arg(long, value_name = "REV")]
    changed_since: Option<String>,
}

#[derive(Debug, Args)]
pub struct HookArgs {
    /// post-merge, post-rewrite or post-commit
    name: String,
    /// The arguments git passed to the hook
    args: Vec<String>,
}

impl From<DerivedError> for CliError {
    fn from(e: DerivedError) -> Self {
        CliError::new(exit::ENVIRONMENT, e.to_string())
    }
}

/// `statebox regen`: exits 9 when rules did not run because they are not
/// trusted, after doing the rest.
pub fn regen(global: &Global, args: RegenArgs) -> Result<ExitCode, CliError> {
    let untrusted = regenerate(global, &args)?;
    Ok(if untrusted {
        ExitCode::from(exit::SETUP_MISSING)
    } else {
        ExitCode::SUCCESS
    })
}

/// Regenerates and reports; true if untrusted rules were skipped.
fn regenerate(global: &Global, args: &RegenArgs) -> Result<bool, CliError> {
    let root = global.work_tree()?;
    let changed = match &args.changed_since {
        Some(rev) => Some(derived::changed_paths(&root, rev)?),
        None => None,
    };
    let report = derived::regenerate_all(&root, changed.as_deref())?;
    for note in &report.notes {
        eprintln!("statebox: {note}");
    }
    if let Some(untrusted) = &report.untrusted {
        explain_untrusted(untrusted, args.changed_since.as_deref());
    }
    if report.regenerated.is_empty() {
        println!("derived files are up to date");
    } else if args.commit {
        let id = derived::commit(&root, &report.regenerated)?;
        println!(
            "committed {:.12}: regenerated {}",
            id.to_string(),
            report.regenerated.join(", ")
        );
    } else {
        println!("regenerated {}", report.regenerated.join(", "));
    }
    Ok(report.untrusted.is_some())
}

/// Tells the user why rules did not run and how to review and allow them.
fn explain_untrusted(untrusted: &Untrusted, since: Option<&str>) {
    let globs: Vec<String> = untrusted
        .skipped
        .iter()
        .map(|rule| printable(&rule.path).into_owned())
        .collect();
    eprintln!(
        "statebox: {RULES_FILE} is not trusted in this clone, so its commands did not run (rules for {})",
        globs.join(", ")
    );
    let change = since.map_or(String::new(), |rev| {
        format!("; what changed: git diff {rev} -- {RULES_FILE}")
    });
    eprintln!("statebox: review what it runs: git log -p -- {RULES_FILE}{change}");
    eprintln!(
        "statebox: then allow this content (sha256 {}) and run it: statebox install --trust-derived && statebox regen --commit",
        untrusted.sha256
    );
}

/// `statebox hook NAME`: never fails the git operation for untrusted rules
/// (git has finished it anyway; the message says what to do).
pub fn hook(global: &Global, args: HookArgs) -> Result<ExitCode, CliError> {
    let since = match args.name.as_str() {
        "post-merge" => "ORIG_HEAD",
        "post-rewrite" if args.args.first().map(String::as_str) == Some("rebase") => "ORIG_HEAD",
        "post-commit" if derived::head_moved_by_cherry_pick(&global.work_tree()?)? => "HEAD~1",
        _ => return Ok(ExitCode::SUCCESS),
    };
    regenerate(
        global,
        &RegenArgs {
            commit: true,
            changed_since: Some(since.to_owned()),
        },
    )?;
    Ok(ExitCode::SUCCESS)
}
