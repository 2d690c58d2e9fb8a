//! The record branch in a local git repository.
//!
//! Writes build blob, trees and commit in the object database and then move
//! the branch ref compare-and-swap. The work tree and index are never
//! touched, so a write is safe while the user is mid-rebase on another
//! branch, and the ref lock is the same `.lock` file git itself honours.

use super::listing::EntryKind;
use super::ref_lock::RefLock;
use super::{
    Backend, BackendError, CasToken, FoundCommit, GitResult, HistoryEntry, Listing, Snapshot,
    git_error,
};
use crate::release::{RELEASES_DIR, Release};
use git2::{ErrorCode, FileMode, ObjectType, Oid, Repository, Signature, Tree, TreeEntry};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// The record branch used unless `--branch` names another.
pub const DEFAULT_BRANCH: &str = "record";

/// State files on a branch of a local git repository. Writes make
/// commits and move the branch's ref under its lock; the work tree and
/// the index are never touched.
pub struct GitBackend {
    repo: Repository,
    branch: String,
    refname: String,
    /// While the branch does not exist here: the remote-tracking branch of
    /// the same name (a fresh clone has only `origin/record`), which reads
    /// see and the first write starts from, as `git switch` would.
    start: Option<String>,
}

impl GitBackend {
    /// Opens the repository containing `path` (work tree, `.git` or bare).
    pub fn open(path: &Path, branch: &str) -> Result<Self, BackendError> {
        size_object_cache();
        let repo = Repository::discover(path).or_git()?;
        git2::Branch::name_is_valid(branch)
            .ok()
            .filter(|ok| *ok)
            .ok_or_else(|| BackendError::Git(format!("invalid branch name '{branch}'")))?;
        Ok(GitBackend {
            repo,
            branch: branch.to_owned(),
            refname: format!("refs/heads/{branch}"),
            start: None,
        })
    }

    /// When the branch does not exist but one remote-tracking branch of the
    /// same name does (`origin`'s, if several remotes have one), reads use
    /// it and the first write creates the branch on top of it. Not for a
    /// backend that syncs: fetching and integrating create the branch there.
    pub fn starting_from_remote_tracking(mut self) -> Result<Self, BackendError> {
        if self.own_tip()?.is_some() {
            return Ok(self);
        }
        let suffix = format!("/{}", self.branch);
        let mut candidates = Vec::new();
        for reference in self.repo.references_glob("refs/remotes/*").or_git()? {
            let reference = reference.or_git()?;
            if let Some(name) = reference.name().filter(|n| n.ends_with(&suffix)) {
                // `refs/remotes/<remote>/<branch>` with a remote name that
                // has no slash of its own.
                let remote = &name["refs/remotes/".len()..name.len() - suffix.len()];
                if !remote.is_empty() && !remote.contains('/') {
                    candidates.push(name.to_owned());
                }
            }
        }
        let origin = format!("refs/remotes/origin{suffix}");
        self.start = match candidates.len() {
            1 => candidates.pop(),
            _ => candidates.into_iter().find(|name| *name == origin),
        };
        Ok(self)
    }

    /// The remote-tracking branch reads use while the branch does not exist
    /// (see [`GitBackend::starting_from_remote_tracking`]), short form.
    pub fn start_point(&self) -> Option<&str> {
        self.start
            .as_deref()
            .filter(|_| matches!(self.own_tip(), Ok(None)))
            .map(|name| name.trim_start_matches("refs/remotes/"))
    }

    /// A second handle on the same repository whose writes move `refname`
    /// instead of the branch: remote sync replays commits there first.
    pub(crate) fn on_ref(&self, refname: String) -> Result<Self, BackendError> {
        Ok(GitBackend {
            repo: Repository::open(self.repo.path()).or_git()?,
            branch: self.branch.clone(),
            refname,
            start: None,
        })
    }

    /// The work trees (the main one, linked ones) that have the branch
    /// checked out: a write moves their HEAD, so their index and file must
    /// follow, or git shows the write there as a staged revert that the
    /// next `git commit` would make.
    fn checkouts(&self) -> Result<Vec<Repository>, BackendError> {
        // Every write asks, and the branch is almost never checked out: read
        // the HEAD files, and open a work tree's repository only on a match.
        let wanted = format!("ref: {}", self.refname());
        let points_here = |head: std::path::PathBuf| {
            std::fs::read_to_string(head).is_ok_and(|text| text.trim_end() == wanted)
        };
        let common = self.repo.commondir();
        let mut trees = Vec::new();
        if points_here(common.join("HEAD")) {
            trees.push(Repository::open(common).or_git()?);
        }
        for name in self.repo.worktrees().or_git()?.iter().flatten() {
            if points_here(common.join("worktrees").join(name).join("HEAD"))
                && let Ok(tree) = self
                    .repo
                    .find_worktree(name)
                    .and_then(|w| Repository::open(w.path()))
            {
                trees.push(tree);
            }
        }
        trees.retain(|tree| !tree.is_bare());
        Ok(trees)
    }

    /// Moves the branch from `expected` to `target` compare-and-swap, as a
    /// write does, for sync's fast-forward or replay: a work tree where the
    /// branch is checked out follows, each file the move changes updated
    /// there, so its `git status` stays clean. Refused, before anything
    /// moves, while one of those files has changes of the user's there.
    pub(crate) fn move_to(
        &self,
        target: Oid,
        expected: Option<Oid>,
        message: &str,
    ) -> Result<(), BackendError> {
        let checkouts = self.checkouts()?;
        let changes = match checkouts.is_empty() {
            true => Vec::new(),
            false => self.changed_files(expected, target)?,
        };
        for checkout in &checkouts {
            for (path, _) in &changes {
                refuse_local_changes(checkout, &self.branch, path)?;
            }
        }
        swap_ref(&self.repo, self.refname(), target, expected, message)?;
        for checkout in &checkouts {
            for (path, content) in &changes {
                follow_in_checkout(checkout, path, content.as_deref());
            }
        }
        Ok(())
    }

    /// The files that differ between the trees of commits `from` and `to`,
    /// each with its content at `to` (`None`: removed there).
    fn changed_files(&self, from: Option<Oid>, to: Oid) -> Result<Vec<ChangedFile>, BackendError> {
        let tree_of = |id: Oid| self.repo.find_commit(id).and_then(|c| c.tree()).or_git();
        let old = from.map(tree_of).transpose()?;
        let new = tree_of(to)?;
        let diff = self
            .repo
            .diff_tree_to_tree(old.as_ref(), Some(&new), None)
            .or_git()?;
        let mut files = Vec::new();
        for delta in diff.deltas() {
            let Some(path) = delta.new_file().path().and_then(Path::to_str) else {
                continue;
            };
            let content = match delta.status() {
                git2::Delta::Deleted => None,
                _ => Some(
                    self.repo
                        .find_blob(delta.new_file().id())
                        .or_git()?
                        .content()
                        .to_vec(),
                ),
            };
            files.push((path.to_owned(), content));
        }
        Ok(files)
    }

    /// The branch's short name.
    pub fn branch(&self) -> &str {
        &self.branch
    }

    /// The repository, for the layers that work on commits (sync, audit).
    pub fn repository(&self) -> &Repository {
        &self.repo
    }

    /// The full ref writes move: `refs/heads/<branch>`, or a scratch ref.
    pub fn refname(&self) -> &str {
        &self.refname
    }

    /// The branch tip (or, before the branch exists, its start point's),
    /// or `None` before the first write.
    pub fn tip(&self) -> Result<Option<Oid>, BackendError> {
        match (self.own_tip()?, &self.start) {
            (Some(id), _) => Ok(Some(id)),
            (None, Some(start)) => resolve(&self.repo, start),
            (None, None) => Ok(None),
        }
    }

    fn own_tip(&self) -> Result<Option<Oid>, BackendError> {
        resolve(&self.repo, self.refname())
    }

    fn tip_tree(&self, tip: Option<Oid>) -> Result<Option<Tree<'_>>, BackendError> {
        Ok(match tip {
            Some(id) => Some(self.repo.find_commit(id).or_git()?.tree().or_git()?),
            None => None,
        })
    }

    /// Blob, trees and commit of a write, in the object database; the
    /// branch is not moved yet.
    fn store_commit(
        &self,
        parent: Option<&git2::Commit<'_>>,
        signature: &Signature<'_>,
        (path, content): (&str, &[u8]),
        message: &str,
    ) -> Result<Oid, git2::Error> {
        let base_tree = match parent {
            Some(commit) => commit.tree()?,
            None => self.repo.find_tree(self.repo.treebuilder(None)?.write()?)?,
        };
        let blob = self.repo.blob(content)?;
        let mut update = git2::build::TreeUpdateBuilder::new();
        update.upsert(path, blob, FileMode::Blob);
        let tree = self
            .repo
            .find_tree(update.create_updated(&self.repo, &base_tree)?)?;
        let parents: Vec<&git2::Commit<'_>> = parent.into_iter().collect();
        self.repo
            .commit(None, signature, signature, message, &tree, &parents)
    }

    fn signature(&self) -> Result<Signature<'static>, BackendError> {
        match self.repo.signature() {
            Ok(sig) => Ok(sig.to_owned()),
            Err(_) => Ok(Signature::now("statebox", "statebox@localhost").or_git()?),
        }
    }

    /// Every change to a state file on the branch's first-parent history,
    /// oldest first: the read-only view `audit` judges commit by commit.
    pub fn state_file_changes(&self) -> Result<Vec<FileChange>, BackendError> {
        let Some(tip) = self.tip()? else {
            return Ok(Vec::new());
        };
        let mut walk = self.repo.revwalk().or_git()?;
        walk.push(tip).or_git()?;
        walk.simplify_first_parent().or_git()?;
        let commits = walk.collect::<Result<Vec<_>, _>>().or_git()?;
        let mut changes = Vec::new();
        // Oldest first, each commit's parent is the one before it: its
        // listing is reused, and commits that leave `_releases` alone skipped.
        let mut before: (Option<Oid>, BTreeMap<String, Oid>) = (None, BTreeMap::new());
        for id in commits.into_iter().rev() {
            let tree = self.repo.find_commit(id).or_git()?.tree().or_git()?;
            let releases = tree.get_name(RELEASES_DIR).map(|e| e.id());
            if releases == before.0 {
                continue;
            }
            let after = (releases, self.state_blobs(&tree)?);
            let paths: BTreeSet<&String> = before.1.keys().chain(after.1.keys()).collect();
            for path in paths {
                let (old, new) = (before.1.get(path).copied(), after.1.get(path).copied());
                if old != new && Release::from_path(path).is_some() {
                    changes.push(FileChange {
                        commit: id,
                        path: path.clone(),
                        before: old,
                        after: new,
                    });
                }
            }
            before = after;
        }
        Ok(changes)
    }

    /// The state files' blobs in `tree`, by path.
    fn state_blobs(&self, tree: &Tree<'_>) -> Result<BTreeMap<String, Oid>, BackendError> {
        let mut blobs = BTreeMap::new();
        let Some(releases) = tree
            .get_name(RELEASES_DIR)
            .filter(|e| e.kind() == Some(ObjectType::Tree))
        else {
            return Ok(blobs);
        };
        for stream in self.repo.find_tree(releases.id()).or_git()?.iter() {
            let Some(dir) = (stream.kind() == Some(ObjectType::Tree))
                .then(|| self.repo.find_tree(stream.id()))
                .transpose()
                .or_git()?
                .and_then(|t| t.get_name("statebox").map(|e| e.to_owned()))
                .filter(|e| e.kind() == Some(ObjectType::Tree))
            else {
                continue;
            };
            let stream_name = stream.name().unwrap_or_default();
            for file in self.repo.find_tree(dir.id()).or_git()?.iter() {
                if file.kind() == Some(ObjectType::Blob) {
                    let name = file.name().unwrap_or_default();
                    let path = format!("{RELEASES_DIR}/{stream_name}/statebox/{name}");
                    blobs.insert(path, file.id());
                }
            }
        }
        Ok(blobs)
    }

    fn blob_at(tree: &Tree<'_>, path: &str) -> Option<Oid> {
        tree.get_path(Path::new(path))
            .ok()
            .filter(|e| e.kind() == Some(ObjectType::Blob))
            .map(|e| e.id())
    }
}

/// One first-parent commit's change to one state file (`None`: absent).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileChange {
    /// The commit that made the change.
    pub commit: Oid,
    /// The state file's path.
    pub path: String,
    /// The file's blob in the commit's first parent.
    pub before: Option<Oid>,
    /// The file's blob in the commit.
    pub after: Option<Oid>,
}

/// Moves `refname` to `new` if it is still at `expected` (`None`: if it
/// does not exist yet), checked under the ref's lock.
///
/// Creation must go through the same check: libgit2's non-forced create
/// tests for an existing ref *before* it takes the lock, so two writers
/// creating the branch at once could both succeed and the first commit be
/// lost. An all-zero expected id means "must not exist" under the lock.
///
/// The move happens under statebox's own lock ([`RefLock`]), which is
/// what lets a lock left by a killed writer be told from a held one.
/// `Stale`: another writer moved the ref first (or deleted it); `Locked`:
/// one is moving it now.
pub(crate) fn swap_ref(
    repo: &Repository,
    refname: &str,
    new: Oid,
    expected: Option<Oid>,
    message: &str,
) -> Result<(), BackendError> {
    let _held = RefLock::try_take(repo.commondir(), refname)?;
    let moved =
        repo.reference_matching(refname, new, true, expected.unwrap_or(Oid::zero()), message);
    match moved {
        Ok(_) => Ok(()),
        Err(e)
            if matches!(
                e.code(),
                ErrorCode::Modified | ErrorCode::Exists | ErrorCode::NotFound
            ) =>
        {
            Err(BackendError::Stale)
        }
        // Not statebox (it holds our lock now): git itself, whose lock is
        // never deleted here, only waited for.
        Err(e) if e.code() == ErrorCode::Locked => Err(BackendError::Locked {
            lock: repo
                .commondir()
                .join(format!("{refname}.lock"))
                .display()
                .to_string(),
            holder: "a git process (if none is running, a git crashed: remove the file)".to_owned(),
        }),
        Err(e) => Err(storage_error(
            e,
            repo.commondir(),
            &format!("moving {refname} to {new} (and appending to its reflog)"),
            0,
        )),
    }
}

/// An error of libgit2's while writing `size` bytes into the folder
/// `place`, as what it is. libgit2 names neither the folder nor, after a
/// short write (a full disk), the cause: it says "failed to write out
/// file", or "no error" when the failed write left its error unset. Then
/// the same write is tried by hand, so that the OS says what stops it.
fn storage_error(error: git2::Error, place: &Path, doing: &str, size: usize) -> BackendError {
    let cause = if error.class() != git2::ErrorClass::None && !error.message().is_empty() {
        error.message().to_owned()
    } else {
        match write_probe(place, size) {
            Err(os) => os.to_string(),
            Ok(()) => "libgit2 failed without saying why".to_owned(),
        }
    };
    BackendError::Io {
        path: place.display().to_string(),
        source: std::io::Error::other(format!("{doing}: {cause}; nothing was written")),
    }
}

/// Writes `size` bytes to a temporary file in `folder` and removes it.
fn write_probe(folder: &Path, size: usize) -> std::io::Result<()> {
    use std::io::Write;
    let mut file = tempfile::tempfile_in(folder)?;
    file.write_all(&vec![0; size.max(4096)])?;
    file.sync_all()
}

/// A write may move a checked-out branch only if the file is as its HEAD
/// has it, in the index and in the work tree: anything else is the user's
/// work, which the write would overwrite.
fn refuse_local_changes(
    checkout: &Repository,
    branch: &str,
    path: &str,
) -> Result<(), BackendError> {
    let worktree = checkout.workdir().unwrap_or(checkout.path());
    match checkout.status_file(Path::new(path)) {
        Ok(status) if status.is_empty() => Ok(()),
        Err(e) if e.code() == ErrorCode::NotFound => Ok(()),
        Ok(_) => Err(BackendError::CheckedOut {
            branch: branch.to_owned(),
            worktree: worktree.display().to_string(),
            path: path.to_owned(),
        }),
        Err(e) => Err(git_error(e)),
    }
}

/// A path, and its content after a move of the branch (`None`: removed).
type ChangedFile = (String, Option<Vec<u8>>);

/// After a write to a checked-out branch: the file (`None`: removed) and
/// its index entry as the new commit has them, so the work tree stays
/// clean. The commit has landed whatever happens here; a failure is
/// reported, not undone.
fn follow_in_checkout(checkout: &Repository, path: &str, content: Option<&[u8]>) {
    let Some(workdir) = checkout.workdir() else {
        return;
    };
    let file = workdir.join(path);
    let changed = match content {
        Some(content) => file
            .parent()
            .map_or(Ok(()), std::fs::create_dir_all)
            .and_then(|_| std::fs::write(&file, content)),
        None => std::fs::remove_file(&file).or_else(|e| match e.kind() {
            std::io::ErrorKind::NotFound => Ok(()),
            _ => Err(e),
        }),
    };
    let updated = changed
        .map_err(|e| e.to_string())
        .and_then(|_| stage(checkout, path).map_err(|e| e.message().to_owned()));
    if let Err(reason) = updated {
        tracing::warn!(
            "the write landed, but {} could not follow it ({reason}): `git reset --hard` there shows the branch as it is",
            file.display()
        );
    }
}

/// The index entry of `path` as the work tree has it: updated, or gone
/// with the file.
fn stage(checkout: &Repository, path: &str) -> Result<(), git2::Error> {
    let mut index = checkout.index()?;
    let in_tree = checkout
        .workdir()
        .is_some_and(|workdir| workdir.join(path).exists());
    if in_tree {
        index.add_path(Path::new(path))?;
    } else {
        index.remove_path(Path::new(path))?;
    }
    index.write()
}

/// The commit `refname` points at, or `None` if there is no such ref.
fn resolve(repo: &Repository, refname: &str) -> Result<Option<Oid>, BackendError> {
    match repo.refname_to_id(refname) {
        Ok(id) => Ok(Some(id)),
        Err(e) if e.code() == ErrorCode::NotFound => Ok(None),
        Err(e) => Err(git_error(e)),
    }
}

fn version(id: Option<Oid>) -> CasToken {
    CasToken(id.map(|id| id.to_string()))
}

impl Backend for GitBackend {
    fn describe(&self) -> String {
        let location = self.repo.workdir().unwrap_or_else(|| self.repo.path());
        format!("branch '{}' of {}", self.branch, location.display())
    }

    fn read(&self, path: &str) -> Result<Snapshot, BackendError> {
        let tip = self.tip()?;
        let content = match self.tip_tree(tip)? {
            Some(tree) => match Self::blob_at(&tree, path) {
                Some(id) => Some(self.repo.find_blob(id).or_git()?.content().to_vec()),
                None => None,
            },
            None => None,
        };
        Ok(Snapshot {
            content,
            version: version(tip),
        })
    }

    fn write(
        &self,
        path: &str,
        content: &[u8],
        base: &CasToken,
        message: &str,
    ) -> Result<CasToken, BackendError> {
        let parent = match &base.0 {
            Some(hex) => Some(
                self.repo
                    .find_commit(Oid::from_str(hex).or_git()?)
                    .or_git()?,
            ),
            None => None,
        };
        let checkouts = self.checkouts()?;
        for checkout in &checkouts {
            refuse_local_changes(checkout, &self.branch, path)?;
        }
        let signature = self.signature()?;
        let commit = self
            .store_commit(parent.as_ref(), &signature, (path, content), message)
            .map_err(|e| {
                storage_error(
                    e,
                    &self.repo.commondir().join("objects"),
                    &format!("storing the new version of {path}"),
                    content.len(),
                )
            })?;
        let mut expected = parent.as_ref().map(|p| p.id());
        if self.start.is_some() && self.own_tip()?.is_none() {
            // The branch is created here, on its start point: only if the
            // read this write is based on saw the start point as it is now.
            if expected != self.tip()? {
                return Err(BackendError::Stale);
            }
            expected = None;
        }
        swap_ref(&self.repo, self.refname(), commit, expected, message)?;
        for checkout in &checkouts {
            follow_in_checkout(checkout, path, Some(content));
        }
        Ok(version(Some(commit)))
    }

    fn exists(&self) -> Result<bool, BackendError> {
        Ok(self.tip()?.is_some())
    }

    fn listing(&self) -> Result<Listing, BackendError> {
        let mut listing = Listing::default();
        let Some(tree) = self.tip_tree(self.tip()?)? else {
            return Ok(listing);
        };
        let Ok(releases) = tree.get_path(Path::new(RELEASES_DIR)) else {
            return Ok(listing);
        };
        let releases = self.repo.find_tree(releases.id()).or_git()?;
        for stream in releases.iter() {
            let stream_name = stream.name().unwrap_or_default();
            if !listing.stream(stream_name, entry_kind(&stream)) {
                continue;
            }
            let stream_tree = self.repo.find_tree(stream.id()).or_git()?;
            let folder = stream_tree.get_name("statebox");
            if !listing.statebox_folder(stream_name, folder.as_ref().map(entry_kind)) {
                continue;
            }
            let folder = folder.expect("statebox_folder is true only for a folder");
            for file in self.repo.find_tree(folder.id()).or_git()?.iter() {
                listing.entry(
                    stream_name,
                    file.name().unwrap_or_default(),
                    entry_kind(&file),
                    Some(file.id().to_string()),
                );
            }
        }
        Ok(listing.sorted())
    }

    fn read_at(&self, path: &str, commit: &str) -> Result<Option<Vec<u8>>, BackendError> {
        let commit = self
            .repo
            .find_commit(Oid::from_str(commit).or_git()?)
            .or_git()?;
        match Self::blob_at(&commit.tree().or_git()?, path) {
            Some(id) => Ok(Some(self.repo.find_blob(id).or_git()?.content().to_vec())),
            None => Ok(None),
        }
    }

    fn history_each(
        &self,
        path: &str,
        each: &mut dyn FnMut(HistoryEntry) -> Result<(), BackendError>,
    ) -> Result<(), BackendError> {
        let Some(tip) = self.tip()? else {
            return Ok(());
        };
        let _uncached = CachingOff::new();
        // The first-parent chain, followed by hand: libgit2's revwalk lists
        // every commit before it yields the first. Each commit's file is
        // looked up once, as `now` here and as `before` of the commit after.
        let at = |id: Oid| -> Result<(git2::Commit<'_>, Option<Oid>), BackendError> {
            let commit = self.repo.find_commit(id).or_git()?;
            let blob = Self::blob_at(&commit.tree().or_git()?, path);
            Ok((commit, blob))
        };
        let mut next = Some(at(tip)?);
        while let Some((commit, now)) = next {
            next = commit.parent_id(0).ok().map(at).transpose()?;
            let before = next.as_ref().and_then(|(_, blob)| *blob);
            if now != before {
                let time = chrono::DateTime::from_timestamp(commit.time().seconds(), 0)
                    .unwrap_or_default();
                each(HistoryEntry {
                    commit: commit.id().to_string(),
                    time: crate::timestamp::format(time),
                    author: commit.author().name().unwrap_or_default().to_owned(),
                    message: commit.summary().unwrap_or_default().to_owned(),
                })?;
            }
        }
        Ok(())
    }

    fn find_commit(
        &self,
        path: &str,
        limit: usize,
        matches: &dyn Fn(&str) -> bool,
        searched: &CasToken,
    ) -> Result<Option<FoundCommit>, BackendError> {
        let Some(tip) = self.tip()? else {
            return Ok(None);
        };
        let mut walk = self.repo.revwalk().or_git()?;
        walk.push(tip).or_git()?;
        if let Some(seen) = searched
            .0
            .as_deref()
            .and_then(|hex| Oid::from_str(hex).ok())
        {
            walk.hide(seen).or_git()?;
        }
        walk.simplify_first_parent().or_git()?;
        for id in walk.take(limit) {
            let commit = self.repo.find_commit(id.or_git()?).or_git()?;
            let message = String::from_utf8_lossy(commit.message_bytes());
            if matches(&message) {
                let content = match Self::blob_at(&commit.tree().or_git()?, path) {
                    Some(blob) => Some(self.repo.find_blob(blob).or_git()?.content().to_vec()),
                    None => None,
                };
                return Ok(Some(FoundCommit {
                    commit: commit.id().to_string(),
                    message: message.into_owned(),
                    content,
                }));
            }
        }
        Ok(None)
    }
}

/// Sizes libgit2's object cache for a branch of state files.
///
/// Trees of any size may enter it: libgit2 caches none above 4 KiB by
/// default, and a y-stream's `statebox/` folder with 300 releases is 15
/// KiB, so every read of one of them inflated and parsed the folder again,
/// which made `status` on 15,000 releases quadratic.
///
/// The whole cache is held to 8 MiB, not libgit2's 256: a `log` walking
/// 50,000 commits filled it with trees it never reads again, so memory
/// grew with the history (385 MiB; 116 MiB now, `git log -- PATH` 178).
/// The folders `status` reads again and again take about 1 MiB.
fn size_object_cache() {
    static SET: std::sync::Once = std::sync::Once::new();
    SET.call_once(|| {
        // SAFETY: plain settings of libgit2's cache, made once, before this
        // process reads any object; libgit2 reads them under its cache lock.
        unsafe {
            let _ = git2::opts::set_cache_object_limit(ObjectType::Tree, 16 << 20);
            libgit2_sys::git_libgit2_opts(
                libgit2_sys::GIT_OPT_SET_CACHE_MAX_SIZE as std::ffi::c_int,
                (8isize) << 20,
            );
        }
    });
}

/// libgit2's object cache switched off while a history walk runs, back on
/// when it ends. A walk reads each commit and its upper trees once, so
/// caching them is pure cost, and a full cache is worse: every store
/// evicts a few entries by scanning the hash table from its start, which
/// was 40% of `log` on 50,000 commits (0.83-1.04 s cached, 0.44-0.48 s
/// not; `git log -- PATH` 0.50-0.54 s). The switch is process-wide: a
/// read on another thread meanwhile is only slower, never wrong.
struct CachingOff;

impl CachingOff {
    fn new() -> Self {
        git2::opts::enable_caching(false);
        CachingOff
    }
}

impl Drop for CachingOff {
    fn drop(&mut self) {
        git2::opts::enable_caching(true);
    }
}

/// Initialises libgit2 without loading the system's CA bundle.
///
/// libgit2 initialises OpenSSL on first use and then parses the whole CA
/// bundle (about 30 ms, most of a local `task set`), although only fetch and
/// push over https need it. Call this at the very start of a program, before
/// any thread exists (it briefly changes `SSL_CERT_FILE`); remote operations
/// load the bundle when they need it (`load_ca_bundle`).
pub fn init_without_ca_bundle() {
    let user_value = std::env::var_os("SSL_CERT_FILE");
    // SAFETY: documented precondition: no other thread runs yet, so nothing
    // reads the environment concurrently.
    unsafe { std::env::set_var("SSL_CERT_FILE", "/dev/null") };
    // Any git2 option call runs libgit2's one-time initialisation. This
    // one also stops libgit2 hashing every object it reads again (SHA-1
    // with collision detection, a quarter of `status` on 15,000 releases):
    // git itself does that only in fsck, and zlib's checksum still catches
    // a damaged object.
    git2::opts::strict_hash_verification(false);
    // SAFETY: as above; child processes see the user's environment again.
    unsafe {
        match user_value {
            Some(value) => std::env::set_var("SSL_CERT_FILE", value),
            None => std::env::remove_var("SSL_CERT_FILE"),
        }
    }
}

/// Loads the CA bundle libgit2 verifies https remotes with (once), after
/// [`init_without_ca_bundle`]: the user's `SSL_CERT_FILE`, else the system's.
pub(crate) fn load_ca_bundle() -> Result<(), BackendError> {
    static LOADED: std::sync::OnceLock<Result<(), String>> = std::sync::OnceLock::new();
    let loaded = LOADED.get_or_init(|| {
        let Some(bundle) = openssl_probe::probe().cert_file else {
            return Ok(()); // none found: libgit2 reports it on connect
        };
        // SAFETY: libgit2 requires no concurrent git2 calls while options
        // change; remote stores call this before they fetch or push.
        unsafe { git2::opts::set_ssl_cert_file(&bundle) }.map_err(|e| e.message().to_owned())
    });
    loaded.clone().map_err(BackendError::Git)
}

/// A tree entry as the listing rules see it: a link (mode 120000) or a
/// submodule is neither a file nor a folder.
fn entry_kind(entry: &TreeEntry) -> EntryKind {
    match entry.filemode() {
        0o040000 => EntryKind::Folder,
        0o100644 | 0o100755 => EntryKind::File,
        _ => EntryKind::Other,
    }
}
