//! The git merge driver: `statebox merge-driver %O %A %B %P`.
//!
//! Git hands over three temporary files (ancestor, ours, theirs) and the
//! path being merged; the result goes into the "ours" file. State files are
//! merged by meaning and written canonically. Anything else, and a state file
//! with a side that does not parse, gets git's own text merge (`git
//! merge-file`) written in place, so the user sees the usual conflict
//! markers instead of a silently kept "ours".

use super::baseline::{
    BASELINE_NAME, Baseline, BaselineConflict, BaselineParseError, merge_at_merge_time,
};
use super::state::merge_files;
use crate::model::State;
use crate::release::Release;
use crate::write::{LoadError, decode};
use std::path::{Path, PathBuf};
use std::process::Command;

/// How the driver resolved a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DriverOutcome {
    /// A state file merged by meaning; ours holds the canonical result.
    Merged,
    /// A detect-secrets baseline: flags and settings merged, findings
    /// unioned; line numbers are provisional until regeneration.
    BaselineMerged,
    /// Not a file statebox merges by meaning: ours holds git's text merge,
    /// with conflict markers unless `clean`.
    TextMerged {
        /// Whether git's merge had no conflicts.
        clean: bool,
    },
}

/// Git's merge-driver protocol: 0 = resolved; 1..=128 = conflict, git keeps
/// what is in %A (here: git's own text merge with markers) as the conflicted
/// file. statebox never uses the >128 "driver failed" range.
pub const CONFLICT: u8 = 1;

impl DriverOutcome {
    /// The exit status git expects for this outcome.
    pub fn exit_code(&self) -> u8 {
        match self {
            DriverOutcome::TextMerged { clean: false } => CONFLICT,
            _ => 0,
        }
    }
}

/// Why the driver could not merge a file by meaning.
#[derive(Debug, thiserror::Error)]
pub enum DriverError {
    /// One of the files git handed over could not be read.
    #[error("cannot read the {side} version of {path_name} ({}): {source}", file.display())]
    Read {
        /// `base`, `ours` or `theirs`.
        side: &'static str,
        /// The path being merged (`%P`).
        path_name: String,
        /// The temporary file git handed over.
        file: PathBuf,
        /// Why reading failed.
        source: std::io::Error,
    },
    /// Git's text merge (with markers) was left in ours.
    #[error(
        "the {side} version does not parse, left git's text merge with conflict markers: {source}"
    )]
    Unparsable {
        /// `base`, `ours` or `theirs`.
        side: &'static str,
        /// Why it does not parse.
        source: LoadError,
    },
    /// A side that says it is another release than its path: a hand edit or
    /// a copied file, which no merge by meaning should silently resolve.
    #[error(
        "the {side} version holds release '{found}' but {path_name} is release {expected}; left git's text merge with conflict markers"
    )]
    WrongRelease {
        /// `base`, `ours` or `theirs`.
        side: &'static str,
        /// The path being merged (`%P`).
        path_name: String,
        /// The release the file holds.
        found: String,
        /// The release its path names.
        expected: String,
    },
    /// Git does not call drivers for deletions, so an empty side is damage.
    #[error("the {side} version is empty, left git's text merge")]
    Empty {
        /// `base`, `ours` or `theirs`.
        side: &'static str,
    },
    /// The result could not be written into ours.
    #[error("cannot write the merge result of {path_name} to {}: {source}", file.display())]
    Write {
        /// The path being merged (`%P`).
        path_name: String,
        /// The ours file (`%A`).
        file: PathBuf,
        /// Why writing failed.
        source: std::io::Error,
    },
    /// Both sides set an audit flag or setting differently; git's text
    /// merge (with markers) was left in ours.
    #[error("{0}; left git's text merge with conflict markers")]
    BaselineConflict(#[from] BaselineConflict),
    /// A side of a baseline does not parse; git's text merge was left in ours.
    #[error("the {side} version of the baseline does not parse, left git's text merge: {source}")]
    BaselineUnparsable {
        /// `base`, `ours` or `theirs`.
        side: &'static str,
        /// Why it does not parse.
        source: BaselineParseError,
    },
    /// `git merge-file` could not be run or failed outright.
    #[error("git merge-file failed on {path_name}: {problem}")]
    TextMerge {
        /// The path being merged (`%P`).
        path_name: String,
        /// What went wrong.
        problem: String,
    },
}

/// Merges `ours` with `theirs` against `base` in place, as git asks;
/// `path_name` is the file's path in the repository (`%P`).
pub fn run_driver(
    base: &Path,
    ours: &Path,
    theirs: &Path,
    path_name: &str,
) -> Result<DriverOutcome, DriverError> {
    if is_baseline(path_name) {
        return merge_baselines(base, ours, theirs, path_name);
    }
    let Some(release) = Release::from_path(path_name) else {
        let clean = text_merge(base, ours, theirs, path_name)?;
        return Ok(DriverOutcome::TextMerged { clean });
    };
    let sides = read_sides(base, ours, theirs, path_name).and_then(|sides| {
        check_release(&sides, &release, path_name)?;
        Ok(sides)
    });
    let (base_state, ours_state, theirs_state) = match sides {
        Ok(states) => states,
        Err(
            e @ (DriverError::Unparsable { .. }
            | DriverError::Empty { .. }
            | DriverError::WrongRelease { .. }),
        ) => {
            text_merge(base, ours, theirs, path_name)?;
            return Err(e);
        }
        Err(e) => return Err(e),
    };
    let merged = merge_files(base_state.as_ref(), &ours_state, &theirs_state);
    std::fs::write(ours, merged).map_err(|source| DriverError::Write {
        path_name: path_name.to_owned(),
        file: ours.to_owned(),
        source,
    })?;
    Ok(DriverOutcome::Merged)
}

fn is_baseline(path_name: &str) -> bool {
    path_name == BASELINE_NAME || path_name.ends_with(&format!("/{BASELINE_NAME}"))
}

/// At merge time the rest of the merged tree is not written yet, so only
/// what does not depend on it is settled here: audit flags and settings
/// three-way, findings unioned. The post-merge/post-rewrite hooks then
/// regenerate the baseline on the final tree (`statebox regen`).
fn merge_baselines(
    base: &Path,
    ours: &Path,
    theirs: &Path,
    path_name: &str,
) -> Result<DriverOutcome, DriverError> {
    match merged_baseline(base, ours, theirs, path_name) {
        Ok(baseline) => {
            std::fs::write(ours, baseline.to_string()).map_err(|source| DriverError::Write {
                path_name: path_name.to_owned(),
                file: ours.to_owned(),
                source,
            })?;
            Ok(DriverOutcome::BaselineMerged)
        }
        Err(e @ DriverError::Read { .. }) => Err(e),
        Err(e) => {
            text_merge(base, ours, theirs, path_name)?;
            Err(e)
        }
    }
}

fn merged_baseline(
    base: &Path,
    ours: &Path,
    theirs: &Path,
    path_name: &str,
) -> Result<Baseline, DriverError> {
    let read = |side: &'static str, file: &Path| -> Result<Option<Baseline>, DriverError> {
        let text = std::fs::read_to_string(file).map_err(|source| DriverError::Read {
            side,
            path_name: path_name.to_owned(),
            file: file.to_owned(),
            source,
        })?;
        if text.trim().is_empty() {
            return Ok(None);
        }
        Baseline::parse(&text)
            .map(Some)
            .map_err(|source| DriverError::BaselineUnparsable { side, source })
    };
    let present =
        |side: &'static str, file: &Path| read(side, file)?.ok_or(DriverError::Empty { side });
    let base = read("base", base)?;
    let (ours, theirs) = (present("ours", ours)?, present("theirs", theirs)?);
    Ok(merge_at_merge_time(base.as_ref(), &ours, &theirs)?)
}

type Sides = (Option<State>, State, State);

fn read_sides(
    base: &Path,
    ours: &Path,
    theirs: &Path,
    path_name: &str,
) -> Result<Sides, DriverError> {
    let read = |side: &'static str, file: &Path| {
        let bytes = std::fs::read(file).map_err(|source| DriverError::Read {
            side,
            path_name: path_name.to_owned(),
            file: file.to_owned(),
            source,
        })?;
        if bytes.is_empty() {
            return Ok(None);
        }
        decode(&format!("{path_name} ({side})"), &bytes)
            .map(Some)
            .map_err(|source| DriverError::Unparsable { side, source })
    };
    let present =
        |side: &'static str, file: &Path| read(side, file)?.ok_or(DriverError::Empty { side });
    // Git passes an empty ancestor when both sides added the file.
    Ok((
        read("base", base)?,
        present("ours", ours)?,
        present("theirs", theirs)?,
    ))
}

fn check_release(sides: &Sides, release: &Release, path_name: &str) -> Result<(), DriverError> {
    let (base, ours, theirs) = sides;
    let named = [
        ("base", base.as_ref()),
        ("ours", Some(ours)),
        ("theirs", Some(theirs)),
    ];
    for (side, state) in named {
        if let Some(state) = state
            && state.release != release.to_string()
        {
            return Err(DriverError::WrongRelease {
                side,
                path_name: path_name.to_owned(),
                found: state.release.clone(),
                expected: release.to_string(),
            });
        }
    }
    Ok(())
}

/// `git merge-file` into `ours`; true when it merged without conflicts.
fn text_merge(
    base: &Path,
    ours: &Path,
    theirs: &Path,
    path_name: &str,
) -> Result<bool, DriverError> {
    let failed = |problem: String| DriverError::TextMerge {
        path_name: path_name.to_owned(),
        problem,
    };
    let status = Command::new("git")
        .arg("merge-file")
        .args(["-L", "ours", "-L", "base", "-L", "theirs"])
        .args([ours, base, theirs])
        .status()
        .map_err(|e| failed(format!("cannot run git: {e}")))?;
    // Exit status: the number of conflicts, negative (>127) on error.
    match status.code() {
        Some(0) => Ok(true),
        Some(1..=127) => Ok(false),
        other => Err(failed(format!("exit status {other:?}"))),
    }
}
