//! Derived files, regenerated once a merge or rebase has finished.
//!
//! A merge driver runs before git writes the other merged files, so it
//! cannot produce a derived file that is right for the final tree. The
//! post-merge and post-rewrite hooks (`statebox install`) call
//! [`regenerate_all`] on the final tree instead: every tracked
//! `.secrets.baseline`, then the repository's own rules in
//! `.statebox/derived.yaml`:
//!
//! ```yaml
//! - path: Cargo.lock            # glob, relative to the repository root
//!   run: cargo generate-lockfile
//! - path: coverage/**/*.xml
//!   run: make coverage
//! ```
//!
//! The result is committed on its own ([`commit`]) with a message naming
//! what was regenerated, so the branch ends consistent and the commit is
//! easy to review or drop.
//!
//! The rules file is repository content, so its commands run only when the
//! user trusts its content in this clone ([`super::trust`]); untrusted rules
//! are reported ([`Report::untrusted`]), never run. A command also never
//! runs while a tracked symlink that leads out of the work tree sits where
//! it writes: it would write through the link.

use super::regen::{self, Method};
use super::trust;
use crate::merge::baseline::{BASELINE_NAME, Baseline};
use git2::{Repository, StatusOptions};
use std::path::{Path, PathBuf};
use std::process::Command;

/// Where a repository keeps its derived-file rules, relative to the root.
pub const RULES_FILE: &str = ".statebox/derived.yaml";

/// One rule: the command that regenerates the files matching a glob.
#[derive(Debug, Clone, PartialEq)]
pub struct Rule {
    /// Glob of the derived files, relative to the repository root.
    pub path: String,
    /// Shell command, run at the root, that regenerates them.
    pub run: String,
}

/// The rules file as read.
#[derive(Debug, Clone, PartialEq)]
pub struct Rules {
    /// The rules, in file order.
    pub rules: Vec<Rule>,
    /// The sha256 of the bytes the rules were parsed from: what trust is
    /// recorded for.
    pub sha256: String,
}

/// Rules that would have run but did not, because their file's content is
/// not trusted here.
#[derive(Debug, Clone, PartialEq)]
pub struct Untrusted {
    /// The sha256 of the rules file's content, to allow it by.
    pub sha256: String,
    /// The rules that were skipped.
    pub skipped: Vec<Rule>,
}

/// Why derived files could not be regenerated or committed.
#[derive(Debug, thiserror::Error)]
pub enum DerivedError {
    /// The rules file is not a list of `{path, run}` rules.
    #[error("{RULES_FILE}: {0}")]
    Rules(String),
    /// A tracked baseline cannot be read, regenerated or written.
    #[error("{path}: {reason}")]
    Baseline {
        /// The baseline's path, relative to the root.
        path: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A rule's command exited unsuccessfully.
    #[error("`{run}` (for {path}) failed with {status}")]
    Command {
        /// The rule's glob.
        path: String,
        /// The rule's command.
        run: String,
        /// How it ended.
        status: std::process::ExitStatus,
    },
    /// A rule's command was not run: it would write through a tracked
    /// symlink that leads out of the work tree.
    #[error(
        "`{run}` (for {path}) not run: {link} is a symbolic link leading out of the work tree, and the command would write through it"
    )]
    EscapingSymlink {
        /// The rule's glob.
        path: String,
        /// The rule's command.
        run: String,
        /// The symlink, relative to the root.
        link: String,
    },
    /// A file system operation failed.
    #[error("cannot {action}: {source}")]
    Io {
        /// What was being done, naming the file.
        action: String,
        /// The error.
        source: std::io::Error,
    },
    /// A git operation failed.
    #[error(transparent)]
    Git(#[from] git2::Error),
}

/// What a regeneration changed.
#[derive(Debug, Default)]
pub struct Report {
    /// Paths (relative to the root) whose content changed.
    pub regenerated: Vec<String>,
    /// One line per baseline: which method placed its findings.
    pub notes: Vec<String>,
    /// Rules that did not run because the rules file is not trusted here.
    pub untrusted: Option<Untrusted>,
}

/// Reads the rules file at `root`; `None` if there is none.
pub fn load_rules(root: &Path) -> Result<Option<Rules>, DerivedError> {
    let path = root.join(RULES_FILE);
    let bytes = match std::fs::read(&path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => {
            return Err(DerivedError::Io {
                action: format!("read {}", path.display()),
                source: e,
            });
        }
    };
    let text = std::str::from_utf8(&bytes)
        .map_err(|e| DerivedError::Rules(format!("not UTF-8 text: {e}")))?;
    let rules = parse_rules(text).map_err(DerivedError::Rules)?;
    for rule in &rules {
        globset::Glob::new(&rule.path)
            .map_err(|e| DerivedError::Rules(format!("path '{}': {e}", rule.path)))?;
    }
    Ok(Some(Rules {
        rules,
        sha256: trust::sha256_hex(&bytes),
    }))
}

/// Whether the rules file's content is trusted in the repository at `root`.
pub fn is_trusted(root: &Path, rules: &Rules) -> Result<bool, DerivedError> {
    let repo = Repository::open(root)?;
    trust::is_trusted(&repo, &rules.sha256).map_err(|e| DerivedError::Io {
        action: format!("read {}", trust::trust_list(&repo).display()),
        source: e,
    })
}

/// Trusts the rules file's content in the repository at `root`: from now
/// on its commands run, until the file changes.
pub fn allow(root: &Path, rules: &Rules) -> Result<(), DerivedError> {
    let repo = Repository::open(root)?;
    trust::allow(&repo, &rules.sha256).map_err(|e| DerivedError::Io {
        action: format!("write {}", trust::trust_list(&repo).display()),
        source: e,
    })
}

/// A list of `{path, run}` mappings, both strings, nothing else.
fn parse_rules(text: &str) -> Result<Vec<Rule>, String> {
    let items = match crate::yaml::parse(text).map_err(|e| e.to_string())? {
        crate::yaml::Value::Null => return Ok(Vec::new()),
        crate::yaml::Value::Seq(items) => items,
        other => {
            return Err(format!(
                "expected a list of rules, found a {}",
                other.kind()
            ));
        }
    };
    items
        .iter()
        .enumerate()
        .map(|(i, item)| {
            let map = item
                .as_map()
                .ok_or_else(|| format!("rule {}: expected a mapping with path and run", i + 1))?;
            if let Some((key, _)) = map
                .iter()
                .find(|(k, _)| !matches!(k.as_str(), Some("path" | "run")))
            {
                return Err(format!("rule {}: unknown field {key:?}", i + 1));
            }
            let field = |name: &str| {
                map.get(name)
                    .and_then(crate::yaml::Value::as_str)
                    .map(str::to_owned)
                    .ok_or_else(|| format!("rule {}: `{name}` must be a string", i + 1))
            };
            Ok(Rule {
                path: field("path")?,
                run: field("run")?,
            })
        })
        .collect()
}

fn tracked_baselines(repo: &Repository) -> Result<Vec<String>, DerivedError> {
    let index = repo.index()?;
    Ok(index
        .iter()
        .filter_map(|e| String::from_utf8(e.path).ok())
        .filter(|p| p == BASELINE_NAME || p.ends_with(&format!("/{BASELINE_NAME}")))
        .collect())
}

/// Regenerates one baseline against the work tree; true if its findings or
/// settings changed (a new `generated_at` alone is not a change).
fn regenerate_baseline(
    root: &Path,
    path: &str,
    notes: &mut Vec<String>,
) -> Result<bool, DerivedError> {
    let bad = |reason: String| DerivedError::Baseline {
        path: path.to_owned(),
        reason,
    };
    let file = root.join(path);
    // A tracked symlink could point anywhere (`~/.ssh/authorized_keys`):
    // the baseline is rewritten only as a file of its own.
    let kind = std::fs::symlink_metadata(&file).map_err(|e| bad(e.to_string()))?;
    if !kind.is_file() {
        return Err(bad(
            "is a symbolic link or not a regular file; statebox does not write through it".into(),
        ));
    }
    let text = std::fs::read_to_string(&file).map_err(|e| bad(e.to_string()))?;
    let current = Baseline::parse(&text).map_err(|e| bad(e.to_string()))?;
    let regenerated = regen::regenerate(root, path, &current).map_err(|e| bad(e.to_string()))?;
    let mut note = format!("{path}: findings placed by {}", regenerated.method);
    if regenerated.method == Method::Relocated && !regenerated.not_relocated.is_empty() {
        note.push_str(&format!(
            " ({} finding(s) of unsupported types kept at their line)",
            regenerated.not_relocated.len()
        ));
    }
    notes.push(note);
    let mut unchanged = regenerated.baseline.clone();
    unchanged.generated_at = current.generated_at.clone();
    if unchanged.to_string() == text {
        return Ok(false);
    }
    // Rewritten in place, so the file keeps its mode (0644 stays 0644).
    std::fs::write(&file, regenerated.baseline.to_string()).map_err(|e| DerivedError::Io {
        action: format!("write {}", file.display()),
        source: e,
    })?;
    Ok(true)
}

/// Paths that differ from HEAD or the index, for reporting rule outputs.
fn dirty_paths(repo: &Repository) -> Result<Vec<String>, DerivedError> {
    let mut options = StatusOptions::new();
    options.include_untracked(true).recurse_untracked_dirs(true);
    Ok(repo
        .statuses(Some(&mut options))?
        .iter()
        .filter_map(|s| s.path().map(str::to_owned))
        .collect())
}

/// Regenerates derived files in the work tree at `root`. With `changed`
/// (the paths the merge or rebase touched), a rule runs only if one of its
/// paths changed, and baselines only if anything did. Rules run only if the
/// rules file is trusted here; otherwise they are listed in
/// [`Report::untrusted`] and the rest is still done.
pub fn regenerate_all(root: &Path, changed: Option<&[String]>) -> Result<Report, DerivedError> {
    let repo = Repository::open(root)?;
    let mut report = Report::default();
    if changed.is_some_and(|c| c.is_empty()) {
        return Ok(report);
    }
    for path in tracked_baselines(&repo)? {
        if regenerate_baseline(root, &path, &mut report.notes)? {
            report.regenerated.push(path);
        }
    }
    let Some(rules) = load_rules(root)? else {
        return Ok(report);
    };
    let due: Vec<(Rule, globset::GlobMatcher)> = rules
        .rules
        .iter()
        .map(|rule| {
            let glob = globset::Glob::new(&rule.path)
                .expect("checked on load")
                .compile_matcher();
            (rule.clone(), glob)
        })
        .filter(|(_, glob)| changed.is_none_or(|paths| paths.iter().any(|p| glob.is_match(p))))
        .collect();
    if due.is_empty() {
        return Ok(report);
    }
    if !is_trusted(root, &rules)? {
        report.untrusted = Some(Untrusted {
            sha256: rules.sha256,
            skipped: due.into_iter().map(|(rule, _)| rule).collect(),
        });
        return Ok(report);
    }
    for (rule, glob) in due {
        if let Some(link) = escaping_symlink(&repo, root, &rule.path, &glob)? {
            return Err(DerivedError::EscapingSymlink {
                path: rule.path,
                run: rule.run,
                link,
            });
        }
        let before = dirty_paths(&repo)?;
        let status = Command::new("sh")
            .args(["-c", &rule.run])
            .current_dir(root)
            .status()
            .map_err(|e| DerivedError::Io {
                action: format!("run `{}`", rule.run),
                source: e,
            })?;
        if !status.success() {
            return Err(DerivedError::Command {
                path: rule.path,
                run: rule.run,
                status,
            });
        }
        for path in dirty_paths(&repo)? {
            if glob.is_match(&path)
                && !before.contains(&path)
                && !report.regenerated.contains(&path)
            {
                report.regenerated.push(path);
            }
        }
    }
    Ok(report)
}

/// A tracked symlink leading out of the work tree that a rule's command
/// could write through: one its glob matches, or a folder its glob reaches
/// into. Which folders a glob reaches into is judged by its literal prefix
/// (up to the first wildcard), which errs towards refusing.
fn escaping_symlink(
    repo: &Repository,
    root: &Path,
    pattern: &str,
    glob: &globset::GlobMatcher,
) -> Result<Option<String>, DerivedError> {
    let literal = &pattern[..pattern.find(['*', '?', '[', '{']).unwrap_or(pattern.len())];
    let io = |path: &Path| {
        let action = format!("inspect {}", path.display());
        move |source| DerivedError::Io { action, source }
    };
    let top = std::fs::canonicalize(root).map_err(io(root))?;
    for entry in repo.index()?.iter() {
        let Ok(path) = String::from_utf8(entry.path) else {
            continue;
        };
        let folder = format!("{path}/");
        let reached =
            glob.is_match(&path) || folder.starts_with(literal) || literal.starts_with(&folder);
        if !reached {
            continue;
        }
        let file = root.join(&path);
        match std::fs::symlink_metadata(&file) {
            Ok(meta) if meta.file_type().is_symlink() => {}
            Ok(_) => continue,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(io(&file)(e)),
        }
        // A dangling link counts as leading out: the command could create
        // its target anywhere.
        let inside = std::fs::canonicalize(&file).is_ok_and(|target| target.starts_with(&top));
        if !inside {
            return Ok(Some(path));
        }
    }
    Ok(None)
}

/// Commits `paths` on HEAD in a commit of their own.
pub fn commit(root: &Path, paths: &[String]) -> Result<git2::Oid, DerivedError> {
    let repo = Repository::open(root)?;
    let mut index = repo.index()?;
    for path in paths {
        index.add_path(&PathBuf::from(path))?;
    }
    index.write()?;
    let tree = repo.find_tree(index.write_tree()?)?;
    let head = repo.head()?.peel_to_commit()?;
    let signature = repo.signature()?;
    let message = format!("Regenerate derived files: {}", paths.join(", "));
    Ok(repo.commit(
        Some("HEAD"),
        &signature,
        &signature,
        &message,
        &tree,
        &[&head],
    )?)
}

/// Paths that differ between `rev` and HEAD: what a merge or rebase touched
/// (`ORIG_HEAD`), or a cherry-pick (`HEAD~1`).
pub fn changed_paths(root: &Path, rev: &str) -> Result<Vec<String>, DerivedError> {
    let repo = Repository::open(root)?;
    let old = repo.revparse_single(rev)?.peel_to_tree()?;
    let new = repo.head()?.peel_to_tree()?;
    let diff = repo.diff_tree_to_tree(Some(&old), Some(&new), None)?;
    let mut paths = Vec::new();
    for delta in diff.deltas() {
        for file in [delta.old_file(), delta.new_file()] {
            if let Some(path) = file.path().and_then(Path::to_str)
                && !paths.iter().any(|p| p == path)
            {
                paths.push(path.to_owned());
            }
        }
    }
    Ok(paths)
}

/// Whether HEAD was last moved by a cherry-pick: post-commit also runs for
/// ordinary commits and for every pick of a rebase (post-rewrite covers
/// those at the end), and must not run for statebox's own commit.
pub fn head_moved_by_cherry_pick(root: &Path) -> Result<bool, DerivedError> {
    let repo = Repository::open(root)?;
    let reflog = repo.reflog("HEAD")?;
    Ok(reflog
        .get(0)
        .and_then(|e| e.message().map(|m| m.starts_with("cherry-pick")))
        .unwrap_or(false))
}
