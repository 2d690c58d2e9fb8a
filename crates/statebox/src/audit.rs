//! Finding and repairing the updates another writer reverted without
//! saying so (`statebox audit`).
//!
//! The Python StateBox loses updates when writers race (see the README,
//! "Migrating from the Python StateBox"): it writes a stale copy of the file
//! over newer commits. statebox cannot stop an old writer, but the record
//! branch keeps every version, so the damage can be read back.
//!
//! Every commit on the branch's first-parent history is judged by what it
//! meant to change. statebox's own commits meant all they changed (each is
//! an operation applied to the file it replaced, compare-and-swap), and so
//! did resets, merges and hand edits: their subject is the only intent
//! there is. A Python write names its one intent in its subject
//! ("Update task: X", "Add issue: ...", "Resolve issue: ...", "Update
//! metadata"). When such a commit also changes another part of the file
//! back to a value that part held before (or removes it), it rewound
//! someone else's update: that update is lost. Repair puts the lost value
//! back with an [`Op::Restore`] through the ordinary write path, which
//! names the commits it repairs, so a second audit sees them repaired.

use crate::backend::{Backend, BackendError, GitBackend, git_error};
use crate::catalog::Catalog;
use crate::model::{Op, Part, Restoration, normalize_issue_text};
use crate::release::Release;
use crate::write::{self, RetryPolicy, WriteError};
use crate::yaml::Value;
use git2::Oid;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::hash::{Hash, Hasher};

/// Why an audit or a repair could not run.
#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    /// Reading the record branch's history failed.
    #[error(transparent)]
    Backend(#[from] BackendError),
    /// The `since` revision does not resolve to a commit; carries it as given.
    #[error("revision '{0}' does not exist in the repository")]
    UnknownRevision(String),
}

impl From<git2::Error> for AuditError {
    fn from(e: git2::Error) -> Self {
        AuditError::Backend(git_error(e))
    }
}

/// How the reverting commit lost the update, by the trace it left; named
/// after the Python original's three lost-update patterns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Pattern {
    /// 1: the commit wrote an earlier version of the file back whole, apart
    /// from its own change: a stale state saved without any merge (the 409
    /// retry; a pattern-2 race whose writer had merged nothing leaves the
    /// same trace).
    StaleWrite,
    /// 2: the commit merged, yet dropped a part an earlier commit had
    /// added; a merge keeps the other side's additions, so it merged a read
    /// older than the file it replaced (the second read's sha).
    OlderRead,
    /// 3: the commit merged and kept its own stale copy of a part the other
    /// writer had changed (`_merge_states` takes every local task and
    /// non-null metadata value whole).
    StaleMerge,
}

impl Pattern {
    /// The original's number for the pattern.
    pub fn number(self) -> u8 {
        match self {
            Pattern::StaleWrite => 1,
            Pattern::OlderRead => 2,
            Pattern::StaleMerge => 3,
        }
    }
}

/// What has become of a lost update since.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum LossStatus {
    /// Still lost: `--repair` puts it back.
    Open,
    /// A statebox repair commit put it back.
    Repaired {
        /// The repair commit.
        by: String,
    },
    /// A later commit happened to put the same value back.
    Restored,
    /// Someone changed the part on purpose since; that change stands.
    Superseded {
        /// The first later commit that meant to change the part.
        by: String,
    },
}

/// One commit, as the audit names it.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct CommitRef {
    /// Full hex object id.
    pub commit: String,
    /// First line of the message.
    pub subject: String,
    /// Committer time, as statebox writes timestamps (UTC, `Z`).
    pub time: String,
    /// Author name.
    pub author: String,
}

/// An update that a later commit reverted without saying so.
#[derive(Debug, Clone, PartialEq)]
pub struct Loss {
    /// The release whose state file lost the update.
    pub release: Release,
    /// The part of the state that was reverted.
    pub part: Part,
    /// The commit whose update was lost.
    pub lost: CommitRef,
    /// The value it had set (`None`: it had removed the part).
    pub lost_value: Option<Value>,
    /// The commit that reverted it.
    pub reverted_by: CommitRef,
    /// What that commit left in the part (`None`: it removed the part).
    pub rewound_to: Option<Value>,
    /// Which lost-update pattern the trace matches.
    pub pattern: Pattern,
    /// The part at the branch tip.
    pub current: Option<Value>,
    /// Whether it is still lost.
    pub status: LossStatus,
}

/// A version of a state file that does not parse; the audit judges the
/// next readable version against the last readable one as deliberate.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Unreadable {
    /// The state file's path on the branch.
    pub path: String,
    /// The commit that wrote the unreadable version.
    pub commit: String,
    /// Why it does not parse.
    pub error: String,
}

/// What an audit found on a record branch.
#[derive(Debug, Clone, Default)]
pub struct Report {
    /// State files audited.
    pub files: usize,
    /// Commits that changed an audited file.
    pub commits: usize,
    /// Versions that could not be judged because they do not parse.
    pub unreadable: Vec<Unreadable>,
    /// Every lost update found, whatever its status.
    pub losses: Vec<Loss>,
}

impl Report {
    /// The losses still open, which `--repair` would put back.
    pub fn open(&self) -> impl Iterator<Item = &Loss> {
        self.losses.iter().filter(|l| l.status == LossStatus::Open)
    }
}

/// What a commit meant to change.
#[derive(Debug, Clone, PartialEq)]
enum Intent {
    /// Everything it changed.
    All,
    /// Python "Update task: X".
    Task(String),
    /// Python "Add issue: ..." / "Resolve issue: ...": the issues whose
    /// normalized text holds this (the subject keeps 50 characters).
    Issues(String),
    /// Python "Update metadata".
    Metadata,
}

impl Intent {
    fn of(message: &str, parents: usize) -> (Intent, Vec<String>) {
        if message.contains(&format!("\n{}: ", write::OP_TRAILER)) {
            let repairs = match write::recorded_op(message) {
                Ok((_, Op::Restore { repairs, .. })) => repairs,
                _ => Vec::new(),
            };
            return (Intent::All, repairs);
        }
        let subject = message.lines().next().unwrap_or_default();
        let intent = if parents > 1 {
            Intent::All
        } else if let Some(task) = subject.strip_prefix("Update task: ") {
            Intent::Task(task.trim().to_owned())
        } else if let Some(text) = subject
            .strip_prefix("Add issue: ")
            .or_else(|| subject.strip_prefix("Resolve issue: "))
        {
            Intent::Issues(normalize_issue_text(text))
        } else if subject.trim_end() == "Update metadata" {
            Intent::Metadata
        } else {
            Intent::All
        };
        (intent, Vec::new())
    }

    /// Whether the commit meant to change `part` to `new`. The original's
    /// operations create or change their part, never remove it.
    fn declares(&self, part: &Part, new: Option<&Value>) -> bool {
        match (self, part) {
            (Intent::All, _) => true,
            _ if new.is_none() => false,
            (Intent::Task(task), Part::Task { name }) => task == name,
            (Intent::Issues(needle), Part::Issue { text, .. }) => text.contains(needle.as_str()),
            (Intent::Metadata, Part::Metadata { .. } | Part::MetadataEntry { .. }) => true,
            _ => false,
        }
    }
}

/// A value's identity for "has this part held it before".
fn fingerprint(value: &Value) -> u64 {
    fn feed(value: &Value, h: &mut std::collections::hash_map::DefaultHasher) {
        std::mem::discriminant(value).hash(h);
        match value {
            Value::Null => {}
            Value::Bool(b) => b.hash(h),
            Value::Int(i) => i.hash(h),
            Value::Float(f) => f.to_bits().hash(h),
            Value::Str(s) | Value::Timestamp(s) => s.hash(h),
            Value::Seq(items) => {
                items.len().hash(h);
                items.iter().for_each(|v| feed(v, h));
            }
            Value::Map(map) => {
                map.len().hash(h);
                for (k, v) in map.iter() {
                    feed(k, h);
                    feed(v, h);
                }
            }
        }
    }
    let mut h = std::collections::hash_map::DefaultHasher::new();
    feed(value, &mut h);
    h.finish()
}

/// Who set a part's current value.
#[derive(Debug, Clone, Copy)]
struct Setter {
    commit: usize,
    declared: bool,
}

/// One file's history as the audit has read it so far.
#[derive(Default)]
struct Track {
    parts: BTreeMap<Part, Value>,
    /// Fingerprints of the values each part has held; absence always counts.
    seen: HashMap<Part, HashSet<u64>>,
    setter: HashMap<Part, Setter>,
    /// The last commit that changed each part on purpose.
    declared: HashMap<Part, usize>,
    /// Every readable version's parts, fingerprinted, for pattern 1.
    versions: Vec<BTreeMap<Part, u64>>,
    /// The previous version did not parse.
    broken: bool,
    /// Reverting commits a repair commit named.
    repaired: HashMap<String, String>,
}

struct Candidate {
    part: Part,
    lost_commit: usize,
    lost_value: Option<Value>,
    rewound_to: Option<Value>,
}

impl Track {
    /// Takes in the file's next version; returns the updates it reverted.
    fn advance(
        &mut self,
        commit: usize,
        intent: &Intent,
        next: Option<BTreeMap<Part, Value>>,
    ) -> Vec<Candidate> {
        // Deleting a file is deliberate, and so is creating one: a writer
        // that finds no file starts from its own defaults, not a stale copy.
        let judged = next.is_some() && !self.parts.is_empty() && !self.broken;
        let next = next.unwrap_or_default();
        let keys: Vec<Part> = self.parts.keys().chain(next.keys()).cloned().collect();
        let mut candidates = Vec::new();
        for part in keys {
            let (old, new) = (self.parts.get(&part), next.get(&part));
            if old == new {
                continue;
            }
            let declared = !judged || intent.declares(&part, new);
            let seen = self.seen.entry(part.clone()).or_default();
            let rewound = new.is_none_or(|v| seen.contains(&fingerprint(v)));
            if let Some(setter) = self.setter.get(&part)
                && !declared
                && rewound
                && setter.declared
            {
                candidates.push(Candidate {
                    part: part.clone(),
                    lost_commit: setter.commit,
                    lost_value: old.cloned(),
                    rewound_to: new.cloned(),
                });
            }
            if let Some(v) = new {
                seen.insert(fingerprint(v));
            }
            self.setter
                .insert(part.clone(), Setter { commit, declared });
            if declared {
                self.declared.insert(part, commit);
            }
        }
        self.parts = next;
        self.broken = false;
        candidates
    }

    /// Whether the current version equals an earlier one in every part the
    /// commit did not mean to change.
    fn rewrote_earlier_version(&self, intent: &Intent) -> bool {
        let now: BTreeMap<&Part, u64> = self
            .parts
            .iter()
            .filter(|(p, v)| !intent.declares(p, Some(v)))
            .map(|(p, v)| (p, fingerprint(v)))
            .collect();
        let mine: Vec<&Part> = self.parts.keys().filter(|p| !now.contains_key(p)).collect();
        let previous = self.versions.len().saturating_sub(1);
        self.versions[..previous].iter().any(|version| {
            let then: BTreeMap<&Part, u64> = version
                .iter()
                .filter(|(p, _)| !mine.contains(p))
                .map(|(p, v)| (p, *v))
                .collect();
            then == now
        })
    }

    fn remember_version(&mut self) {
        let version = self
            .parts
            .iter()
            .map(|(p, v)| (p.clone(), fingerprint(v)))
            .collect();
        self.versions.push(version);
    }
}

/// Audits the branch of `git`: every state file, or `only` that release;
/// with `since`, only losses caused by commits after that revision are
/// reported (the history before it is still read, to know what was lost).
pub fn audit(
    git: &GitBackend,
    only: Option<&Release>,
    since: Option<&str>,
) -> Result<Report, AuditError> {
    let repo = git.repository();
    let since = since
        .map(|rev| {
            repo.revparse_single(rev)
                .and_then(|o| o.peel_to_commit())
                .map(|c| c.id())
                .map_err(|_| AuditError::UnknownRevision(rev.to_owned()))
        })
        .transpose()?;
    let wanted = only.map(Release::path);
    let changes: Vec<_> = git
        .state_file_changes()?
        .into_iter()
        .filter(|c| wanted.as_ref().is_none_or(|p| *p == c.path))
        .collect();

    let mut commits: Vec<(Oid, CommitRef, Intent)> = Vec::new();
    let mut index: HashMap<Oid, usize> = HashMap::new();
    let mut tracks: BTreeMap<String, Track> = BTreeMap::new();
    let mut unreadable = Vec::new();
    let mut found: Vec<(String, usize, Candidate, Pattern)> = Vec::new();
    for change in changes {
        let at = match index.get(&change.commit) {
            Some(&at) => at,
            None => {
                let commit = repo.find_commit(change.commit)?;
                let message = String::from_utf8_lossy(commit.message_bytes()).into_owned();
                let (intent, repairs) = Intent::of(&message, commit.parent_count());
                let time = chrono::DateTime::from_timestamp(commit.time().seconds(), 0)
                    .unwrap_or_default();
                let reference = CommitRef {
                    commit: change.commit.to_string(),
                    subject: message.lines().next().unwrap_or_default().to_owned(),
                    time: crate::timestamp::format(time),
                    author: String::from_utf8_lossy(commit.author().name_bytes()).into_owned(),
                };
                let track = tracks.entry(change.path.clone()).or_default();
                for repaired in repairs {
                    track.repaired.insert(repaired, change.commit.to_string());
                }
                commits.push((change.commit, reference, intent));
                index.insert(change.commit, commits.len() - 1);
                commits.len() - 1
            }
        };
        let intent = &commits[at].2;
        let track = tracks.entry(change.path.clone()).or_default();
        let next = match change.after {
            None => None,
            Some(blob) => {
                let bytes = repo.find_blob(blob)?.content().to_vec();
                match write::decode(&change.path, &bytes) {
                    Ok(state) => Some(state.parts().into_iter().collect()),
                    Err(e) => {
                        unreadable.push(Unreadable {
                            path: change.path.clone(),
                            commit: change.commit.to_string(),
                            error: e.to_string(),
                        });
                        track.broken = true;
                        continue;
                    }
                }
            }
        };
        let candidates = track.advance(at, intent, next);
        let whole = !candidates.is_empty() && track.rewrote_earlier_version(intent);
        track.remember_version();
        for candidate in candidates {
            let pattern = match (whole, &candidate.rewound_to) {
                (true, _) => Pattern::StaleWrite,
                (false, None) => Pattern::OlderRead,
                (false, Some(_)) => Pattern::StaleMerge,
            };
            found.push((change.path.clone(), at, candidate, pattern));
        }
    }

    let reported = |at: usize| match since {
        None => Ok(true),
        Some(since) => {
            let id = commits[at].0;
            Ok::<_, git2::Error>(id != since && !repo.graph_descendant_of(since, id)?)
        }
    };
    let mut losses = Vec::new();
    for (path, at, candidate, pattern) in found {
        if !reported(at)? {
            continue;
        }
        let track = &tracks[&path];
        let reverted_by = commits[at].1.clone();
        let current = track.parts.get(&candidate.part).cloned();
        let status = if let Some(by) = track.repaired.get(&reverted_by.commit) {
            LossStatus::Repaired { by: by.clone() }
        } else if current == candidate.lost_value {
            LossStatus::Restored
        } else {
            match track.declared.get(&candidate.part) {
                Some(&later) if later > at => LossStatus::Superseded {
                    by: commits[later].1.commit.clone(),
                },
                _ => LossStatus::Open,
            }
        };
        losses.push(Loss {
            release: Release::from_path(&path).expect("only release files are walked"),
            part: candidate.part,
            lost: commits[candidate.lost_commit].1.clone(),
            lost_value: candidate.lost_value,
            reverted_by,
            rewound_to: candidate.rewound_to,
            pattern,
            current,
            status,
        });
    }
    Ok(Report {
        files: tracks.len(),
        commits: commits.len(),
        unreadable,
        losses,
    })
}

/// A repair commit made (or found unneeded) for one release.
#[derive(Debug, Clone)]
pub struct Repair {
    /// The release repaired.
    pub release: Release,
    /// The parts of its open losses.
    pub parts: Vec<Part>,
    /// The commit written; `None` when every part had changed since.
    pub commit: Option<String>,
}

/// Puts every open loss of `report` back, one commit per release, through
/// the write path of `store`.
pub fn repair(
    store: &dyn Backend,
    report: &Report,
    catalog: &Catalog,
    retry: &RetryPolicy,
) -> Result<Vec<Repair>, WriteError> {
    let mut by_release: BTreeMap<&Release, Vec<&Loss>> = BTreeMap::new();
    for loss in report.open() {
        by_release.entry(&loss.release).or_default().push(loss);
    }
    let mut repairs = Vec::new();
    for (release, losses) in by_release {
        let mut reverting: Vec<String> = Vec::new();
        for loss in &losses {
            if !reverting.contains(&loss.reverted_by.commit) {
                reverting.push(loss.reverted_by.commit.clone());
            }
        }
        let op = Op::Restore {
            repairs: reverting,
            parts: losses
                .iter()
                .map(|l| Restoration::new(l.part.clone(), l.current.clone(), l.lost_value.clone()))
                .collect(),
        };
        let outcome = write::apply(store, release, &op, None, catalog, retry)?;
        repairs.push(Repair {
            release: release.clone(),
            parts: losses.iter().map(|l| l.part.clone()).collect(),
            commit: outcome.written.and_then(|v| v.0),
        });
    }
    Ok(repairs)
}
