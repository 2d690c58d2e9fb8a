//! The git merge driver: `statebox merge-driver %O %A %B %P`.
//!
//! Git hands over three temporary files (ancestor, ours, theirs) and the
//! path being merged; the result goes into the "ours" file. State files are
//! merged by meaning and written canonically. Anything else, and a state file
//! with a side that does not parse, gets git's own text merge (`git
//! merge-file`) written in place, so the user sees the usual conflict
//! markers instead of a silently kept "ours".

use super::state::merge_states;
use crate::release::Release;
use crate::store::{LoadError, decode};
use std::path::{Path, PathBuf};
use std::process::Command;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DriverOutcome {
    /// A state file merged by meaning; ours holds the canonical result.
    Merged,
    /// Not a file statebox merges by meaning: ours holds git's text merge,
    /// with conflict markers unless `clean`.
    TextMerged { clean: bool },
}

#[derive(Debug, thiserror::Error)]
pub enum DriverError {
    #[error("cannot read the {side} version of {path_name} ({}): {source}", file.display())]
    Read {
        side: &'static str,
        path_name: String,
        file: PathBuf,
        source: std::io::Error,
    },
    /// Git's text merge (with markers) was left in ours.
    #[error(
        "the {side} version does not parse, left git's text merge with conflict markers: {source}"
    )]
    Unparsable {
        side: &'static str,
        source: LoadError,
    },
    #[error("cannot write the merge result of {path_name} to {}: {source}", file.display())]
    Write {
        path_name: String,
        file: PathBuf,
        source: std::io::Error,
    },
    #[error("git merge-file failed on {path_name}: {problem}")]
    TextMerge { path_name: String, problem: String },
}

/// Merges `ours` with `theirs` against `base` in place, as git asks;
/// `path_name` is the file's path in the repository (`%P`).
pub fn run_driver(
    base: &Path,
    ours: &Path,
    theirs: &Path,
    path_name: &str,
) -> Result<DriverOutcome, DriverError> {
    if Release::from_path(path_name).is_none() {
        let clean = text_merge(base, ours, theirs, path_name)?;
        return Ok(DriverOutcome::TextMerged { clean });
    }
    let read = |side: &'static str, file: &Path| {
        std::fs::read(file).map_err(|source| DriverError::Read {
            side,
            path_name: path_name.to_owned(),
            file: file.to_owned(),
            source,
        })
    };
    let (base_bytes, ours_bytes, theirs_bytes) = (
        read("base", base)?,
        read("ours", ours)?,
        read("theirs", theirs)?,
    );
    let parse = |side: &'static str, bytes: &[u8]| {
        decode(&format!("{path_name} ({side})"), bytes)
            .map_err(|source| DriverError::Unparsable { side, source })
    };
    let parsed = (|| {
        // Git passes an empty ancestor when both sides added the file.
        let base_state = if base_bytes.is_empty() {
            None
        } else {
            Some(parse("base", &base_bytes)?)
        };
        Ok((
            base_state,
            parse("ours", &ours_bytes)?,
            parse("theirs", &theirs_bytes)?,
        ))
    })();
    let (base_state, ours_state, theirs_state) = match parsed {
        Ok(states) => states,
        Err(e) => {
            text_merge(base, ours, theirs, path_name)?;
            return Err(e);
        }
    };
    let merged = merge_states(base_state.as_ref(), &ours_state, &theirs_state);
    std::fs::write(ours, merged.to_yaml()).map_err(|source| DriverError::Write {
        path_name: path_name.to_owned(),
        file: ours.to_owned(),
        source,
    })?;
    Ok(DriverOutcome::Merged)
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
