//! `statebox regen` (by hand) and `statebox hook NAME` (what the hooks
//! `statebox install` writes call): derived files regenerated on the final
//! tree and committed on their own.

use super::{CliError, Global, exit};
use clap::Args;
use statebox::worktree::derived::{self, DerivedError};
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

pub fn regen(global: &Global, args: RegenArgs) -> Result<ExitCode, CliError> {
    let root = global.work_tree()?;
    let changed = match &args.changed_since {
        Some(rev) => Some(derived::changed_paths(&root, rev)?),
        None => None,
    };
    let report = derived::regenerate_all(&root, changed.as_deref())?;
    for note in &report.notes {
        eprintln!("statebox: {note}");
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
    Ok(ExitCode::SUCCESS)
}

pub fn hook(global: &Global, args: HookArgs) -> Result<ExitCode, CliError> {
    let since = match args.name.as_str() {
        "post-merge" => "ORIG_HEAD",
        "post-rewrite" if args.args.first().map(String::as_str) == Some("rebase") => "ORIG_HEAD",
        "post-commit" if derived::head_moved_by_cherry_pick(&global.work_tree()?)? => "HEAD~1",
        _ => return Ok(ExitCode::SUCCESS),
    };
    regen(
        global,
        RegenArgs {
            commit: true,
            changed_since: Some(since.to_owned()),
        },
    )
}
