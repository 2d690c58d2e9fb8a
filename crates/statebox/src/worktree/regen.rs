//! Regenerating a merged baseline against the final tree.
//!
//! At merge time the other files of the merge are not in the work tree yet,
//! so the merge driver only merges flags and settings
//! ([`crate::merge::baseline::merge_at_merge_time`]). Once the merge or rebase is
//! done, [`regenerate`] puts every finding where it now is.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;
use thiserror::Error;

use super::relocate::{self, LineFilters};
use crate::merge::baseline::{Baseline, BaselineParseError, FindingKey, VERSION};

/// How the findings' lines were established.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// `detect-secrets scan --baseline` ran on the tree: new secrets are found too.
    DetectSecrets,
    /// Known findings were re-found by hash ([`super::relocate`]); new secrets are not.
    Relocated,
}

impl std::fmt::Display for Method {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Method::DetectSecrets => "detect-secrets scan --baseline",
            Method::Relocated => "relocation by hash (detect-secrets not on PATH)",
        })
    }
}

/// A regenerated baseline and how its findings were placed.
#[derive(Debug)]
pub struct Regenerated {
    /// The baseline for the final tree.
    pub baseline: Baseline,
    /// How its findings' lines were established.
    pub method: Method,
    /// Findings of a type relocation cannot search for; kept as they were
    /// (always empty with [`Method::DetectSecrets`]).
    pub not_relocated: Vec<FindingKey>,
}

/// Why a baseline could not be regenerated.
#[derive(Debug, Error)]
pub enum RegenError {
    /// A file system operation failed.
    #[error("cannot {action} {path}: {source}")]
    Io {
        /// What was being done.
        action: &'static str,
        /// The file it was done to.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// `detect-secrets scan --baseline` exited unsuccessfully.
    #[error("`{program} scan --baseline` failed in {dir} ({status}): {stderr}")]
    DetectSecrets {
        /// The detect-secrets program run.
        program: PathBuf,
        /// The tree it scanned.
        dir: PathBuf,
        /// How it ended.
        status: std::process::ExitStatus,
        /// What it said.
        stderr: String,
    },
    /// detect-secrets wrote a baseline statebox cannot read.
    #[error("baseline written by detect-secrets cannot be read back: {0}")]
    Parse(#[from] BaselineParseError),
    /// A filter of the baseline holds a pattern that does not compile.
    #[error("filter {filter} has a pattern {pattern:?} that is not a valid regex: {source}")]
    Pattern {
        /// The filter's name.
        filter: &'static str,
        /// The pattern.
        pattern: String,
        /// Why it does not compile.
        source: regex::Error,
    },
}

fn io(action: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> RegenError {
    let path = path.to_path_buf();
    move |source| RegenError::Io {
        action,
        path,
        source,
    }
}

/// `detect-secrets` on PATH, if any.
pub fn find_detect_secrets() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join("detect-secrets"))
        .find(|candidate| candidate.is_file())
}

/// Regenerates `merged` for the tree at `tree_root` (a git work tree: like
/// detect-secrets, the rescan only sees tracked files). `baseline_path` is
/// the baseline's path relative to `tree_root`, recorded in the
/// `is_baseline_file` filter as `scan --baseline` does. Uses detect-secrets
/// when it is on PATH, relocation otherwise.
pub fn regenerate(
    tree_root: &Path,
    baseline_path: &str,
    merged: &Baseline,
) -> Result<Regenerated, RegenError> {
    regenerate_with(
        find_detect_secrets().as_deref(),
        tree_root,
        baseline_path,
        merged,
    )
}

/// [`regenerate`] with an explicit detect-secrets program, or `None` to relocate.
pub fn regenerate_with(
    detect_secrets: Option<&Path>,
    tree_root: &Path,
    baseline_path: &str,
    merged: &Baseline,
) -> Result<Regenerated, RegenError> {
    match detect_secrets {
        Some(program) => Ok(Regenerated {
            baseline: rescan(program, tree_root, baseline_path, merged)?,
            method: Method::DetectSecrets,
            not_relocated: Vec::new(),
        }),
        None => {
            let (baseline, not_relocated) = relocate(tree_root, baseline_path, merged)?;
            Ok(Regenerated {
                baseline,
                method: Method::Relocated,
                not_relocated,
            })
        }
    }
}

/// Runs `program scan --baseline` in `tree_root` on a temporary copy of
/// `merged`, so the work tree is not touched, then re-applies the merged
/// audit flags by key. `--no-verify` is added when `merged` has verification
/// off, so the merged settings hold.
pub fn rescan(
    program: &Path,
    tree_root: &Path,
    baseline_path: &str,
    merged: &Baseline,
) -> Result<Baseline, RegenError> {
    let tmp = tempfile::tempdir()
        .map_err(io("create a temporary directory in", &std::env::temp_dir()))?;
    // The same basename, because the tool skips files by the baseline's basename.
    let name = Path::new(baseline_path)
        .file_name()
        .map_or(".secrets.baseline".into(), |n| n.to_os_string());
    let copy = tmp.path().join(name);
    std::fs::write(&copy, merged.to_string()).map_err(io("write", &copy))?;
    let mut command = Command::new(program);
    command.arg("scan");
    // Without `--no-verify`, `scan --baseline` switches verification back on
    // (adding its filter to the output) even when the baseline has it off,
    // and then calls the providers' APIs for every candidate.
    if merged.filter(VERIFICATION).is_none() {
        command.arg("--no-verify");
    }
    let output = command
        .arg("--baseline")
        .arg(&copy)
        .current_dir(tree_root)
        .output()
        .map_err(io("run", program))?;
    if !output.status.success() {
        return Err(RegenError::DetectSecrets {
            program: program.to_path_buf(),
            dir: tree_root.to_path_buf(),
            status: output.status,
            stderr: String::from_utf8_lossy(&output.stderr).trim().to_owned(),
        });
    }
    let text = std::fs::read_to_string(&copy).map_err(io("read", &copy))?;
    let mut scanned = Baseline::parse(&text)?;
    // The tool skips a file when its basename equals the `--baseline`
    // argument as given (`is_baseline_file`), so `--baseline .secrets.baseline`
    // skips the baseline itself. The copy's path is absolute and never
    // matches, so apply the rule for the path the user's own scans use.
    scanned.results.retain(|file, _| {
        Path::new(file).file_name().and_then(|n| n.to_str()) != Some(baseline_path)
    });
    scanned.set_baseline_filename(baseline_path);
    apply_flags(&mut scanned, merged);
    scanned.sort();
    Ok(scanned)
}

/// detect-secrets copies `is_secret` and ORs `is_verified` by key already;
/// doing it here too makes the result independent of that tool behaviour.
fn apply_flags(scanned: &mut Baseline, merged: &Baseline) {
    let mut flags: BTreeMap<FindingKey, (Option<bool>, bool)> = BTreeMap::new();
    for (key, finding) in merged.findings() {
        flags
            .entry(key)
            .or_insert((finding.is_secret, finding.is_verified));
    }
    for (filename, findings) in &mut scanned.results {
        for finding in findings {
            let key = FindingKey {
                filename: filename.clone(),
                secret_type: finding.secret_type.clone(),
                hashed_secret: finding.hashed_secret.clone(),
            };
            if let Some(&(is_secret, is_verified)) = flags.get(&key) {
                finding.is_secret = is_secret;
                finding.is_verified |= is_verified;
            }
        }
    }
}

const VERIFICATION: &str = "detect_secrets.filters.common.is_ignored_due_to_verification_policies";
const ALLOWLIST: &str = "detect_secrets.filters.allowlist.is_line_allowlisted";
const INDIRECT_REFERENCE: &str = "detect_secrets.filters.heuristic.is_indirect_reference";
const LIKELY_ID_STRING: &str = "detect_secrets.filters.heuristic.is_likely_id_string";
const EXCLUDE_FILES: &str = "detect_secrets.filters.regex.should_exclude_file";
const EXCLUDE_LINES: &str = "detect_secrets.filters.regex.should_exclude_line";
const EXCLUDE_SECRETS: &str = "detect_secrets.filters.regex.should_exclude_secret";

fn patterns(merged: &Baseline, filter: &'static str) -> Result<Vec<regex::Regex>, RegenError> {
    let list = merged
        .filter(filter)
        .and_then(|f| f.get("pattern"))
        .and_then(Value::as_array);
    list.into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(|pattern| {
            regex::Regex::new(pattern).map_err(|source| RegenError::Pattern {
                filter,
                pattern: pattern.to_owned(),
                source,
            })
        })
        .collect()
}

/// Re-finds every known finding of `merged` in the files under `tree_root`
/// by its hash ([`super::relocate`]). Findings whose file is gone, excluded
/// or no longer contains the secret drop out, and so do findings of plugins
/// no longer in `plugins_used`. Findings of a type relocation cannot search
/// for are kept unchanged and returned in the second value: dropping them
/// would lose their audit flags, and detect-secrets' hook matches findings by
/// hash, not by line, so a stale line does no harm until the next real scan.
pub fn relocate(
    tree_root: &Path,
    baseline_path: &str,
    merged: &Baseline,
) -> Result<(Baseline, Vec<FindingKey>), RegenError> {
    let filters = LineFilters {
        allowlist: merged.filter(ALLOWLIST).is_some(),
        indirect_reference: merged.filter(INDIRECT_REFERENCE).is_some(),
        likely_id_string: merged.filter(LIKELY_ID_STRING).is_some(),
        exclude_lines: patterns(merged, EXCLUDE_LINES)?,
        exclude_secrets: patterns(merged, EXCLUDE_SECRETS)?,
    };
    let exclude_files = patterns(merged, EXCLUDE_FILES)?;
    let baseline_name = Path::new(baseline_path).file_name();
    let mut result = Baseline {
        version: VERSION.to_owned(),
        plugins_used: merged.plugins_used.clone(),
        filters_used: merged.filters_used.clone(),
        results: BTreeMap::new(),
        generated_at: Some(chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string()),
    };
    result.set_baseline_filename(baseline_path);
    let mut not_relocated = Vec::new();
    for (filename, findings) in &merged.results {
        // A path that could leave the tree is not one detect-secrets wrote.
        let inside_tree = Path::new(filename)
            .components()
            .all(|c| matches!(c, std::path::Component::Normal(_)));
        if !inside_tree
            || exclude_files.iter().any(|r| r.is_match(filename))
            || Path::new(filename).file_name() == baseline_name
        {
            continue;
        }
        let path = tree_root.join(filename);
        let content = match std::fs::read(&path) {
            Ok(bytes) => match String::from_utf8(bytes) {
                Ok(text) => text,
                // detect-secrets skips files that are not UTF-8 text.
                Err(_) => continue,
            },
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(io("read", &path)(e)),
        };
        let lines = relocate::scan_lines(filename, &content);
        let mut found_by_type = HashMap::new();
        let mut kept = Vec::new();
        for finding in findings {
            let key = FindingKey {
                filename: filename.clone(),
                secret_type: finding.secret_type.clone(),
                hashed_secret: finding.hashed_secret.clone(),
            };
            // One entry per key, as detect-secrets writes.
            let duplicate = kept.iter().any(|k: &crate::merge::baseline::Finding| {
                k.secret_type == finding.secret_type && k.hashed_secret == finding.hashed_secret
            });
            if duplicate {
                continue;
            }
            match relocate::relocatable_type(&finding.secret_type) {
                Some(plugin) => {
                    if !merged.has_plugin(plugin) {
                        continue;
                    }
                    let found = found_by_type
                        .entry(finding.secret_type.as_str())
                        .or_insert_with(|| {
                            relocate::first_lines(filename, &lines, &filters, &finding.secret_type)
                        });
                    if let Some(&line_number) = found.get(&finding.hashed_secret) {
                        let mut moved = finding.clone();
                        moved.line_number = line_number;
                        kept.push(moved);
                    }
                }
                None => {
                    tracing::warn!(finding = %key, "cannot relocate this type of finding; kept at its old line");
                    not_relocated.push(key);
                    kept.push(finding.clone());
                }
            }
        }
        if !kept.is_empty() {
            result.results.insert(filename.clone(), kept);
        }
    }
    result.sort();
    Ok((result, not_relocated))
}
