//! The git store with a remote: every write ends on the remote.
//!
//! A write commits locally exactly as [`GitBackend`] does, then pushes the
//! record branch (explicit refspec `refs/heads/B:refs/heads/B`, never forced,
//! never any other branch). When the push is rejected because another
//! machine pushed first, the branch alone is fetched into
//! `refs/remotes/R/B` and the local branch is *integrated* onto it, then
//! pushed again, with bounded retries and jittered backoff.
//!
//! Integration never merges files: commits store files, not intent, so each
//! local commit the remote lacks is replayed as the *operation* it recorded
//! (the `Statebox-Op` trailer every statebox commit carries) on top of the
//! remote tip, through the same `backend::apply` path as any write (with the
//! commit's own time as "now", so timestamps say when it happened), on a
//! private scratch ref; the local branch is then moved compare-and-swap to
//! the result. Why this loses and duplicates nothing:
//! - a commit the remote already has is an ancestor of its tip and is never
//!   replayed (also when a push reached the server but its answer was lost);
//! - a commit the remote lacks is replayed exactly once per integration, and
//!   the replaced local commits vanish from the branch with it;
//! - operations are idempotent in intent (setting a task twice, adding an
//!   issue that is already open), so even a replay of an effect that reached
//!   the remote another way writes nothing;
//! - a commit whose operation the remote's newer state refuses (a second
//!   blocker for a task) is not forced and not dropped: it is kept under
//!   `refs/statebox/rejected/<branch>/<commit>` with the reason in that
//!   ref's log, reported as [`Rejected`], and listed by [`rejected`].
//!
//! When the remote cannot be reached the local commit stays on the branch
//! and the write reports [`BackendError::RemoteUnreachable`]; the next write or
//! `statebox sync` pushes it (after integrating, if the remote moved).

use crate::backend::GitBackend;
use crate::backend::ref_lock::RefLock;
use crate::backend::{
    Backend, BackendError, CasToken, FoundCommit, GitResult, HistoryEntry, Listing, Snapshot,
    git_error,
};
use crate::catalog::Catalog;
use crate::write::{RetryPolicy, WriteError, recorded_op};
use git2::{
    Cred, CredentialType, ErrorCode, FetchOptions, Oid, PushOptions, RemoteCallbacks, Sort,
};
use std::cell::{Cell, RefCell};
use std::time::Duration;

/// The folder of a remote on this machine: a `file://` URL or a path (an
/// scp-like `host:path` is ssh, not a path).
fn local_path(url: &str) -> Option<std::path::PathBuf> {
    if let Some(path) = url.strip_prefix("file://") {
        return Some(path.into());
    }
    let scp_like = url
        .split_once(':')
        .is_some_and(|(host, _)| !host.contains('/'));
    (!url.contains("://") && !scp_like).then(|| url.into())
}

/// How long a write keeps trying to get its commits onto a remote that
/// other machines keep pushing to, before it leaves them local (exit 6).
/// Time, not a count of attempts: rounds take as long as the network does.
/// `STATEBOX_PUSH_BUDGET` (whole seconds) sets another: a bot that would
/// rather fail fast and `sync` later, say.
const DEFAULT_PUSH_BUDGET: Duration = Duration::from_secs(60);

/// Credential callbacks are called again and again while a server refuses
/// what they return; after this many the push or fetch gives up.
const CREDENTIAL_ATTEMPTS: u32 = 3;

/// How long a fetch waits for another statebox process of this clone to
/// finish moving the remote-tracking ref (a fetch takes well under this).
const TRACKING_LOCK_PATIENCE: Duration = Duration::from_secs(30);

/// A git backend kept in step with a remote: each write is committed
/// locally, then delivered by a compare-and-swap push; when the remote
/// moved first, local commits are replayed as operations on its tip.
pub struct SyncedGit {
    local: GitBackend,
    remote: String,
    /// Replaying an operation resolves task names again.
    catalog: Catalog,
    retry: RetryPolicy,
    push_budget: Duration,
}

/// What a sync did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SyncReport {
    /// Local commits the remote lacked that are now on it.
    pub delivered: usize,
    /// Local commits that were replayed onto newer remote commits first.
    pub replayed: usize,
    /// Whether the local branch took in commits from the remote.
    pub received: bool,
    /// Local commits the remote's state refuses: off the branch, kept
    /// under their own refs.
    pub rejected: Vec<Rejected>,
}

/// A local commit whose operation no longer applies on the remote's state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejected {
    /// The refused commit, in hex.
    pub commit: String,
    /// `refs/statebox/rejected/<branch>/<commit>`: keeps the commit, and
    /// with it the operation, reachable until the user deletes it.
    pub refname: String,
    /// The release the operation was for.
    pub release: String,
    /// The commit's subject: what the operation did.
    pub summary: String,
    /// Why the remote's state refuses it (empty if the ref's log is gone).
    pub reason: String,
    /// When it was refused, `YYYY-MM-DDTHH:MM:SSZ`.
    pub time: String,
}

impl Rejected {
    /// One line for messages: which operation, and why it was refused.
    pub fn describe(&self) -> String {
        format!(
            "{} (release {}, {}): {}",
            self.summary,
            self.release,
            &self.commit[..self.commit.len().min(12)],
            self.reason
        )
    }
}

/// The error a command ends with when sync refused some of its writes.
pub fn refused(branch: &str, rejected: &[Rejected]) -> BackendError {
    BackendError::Rejected {
        branch: branch.to_owned(),
        operations: rejected
            .iter()
            .map(|r| format!("\n  {}", r.describe()))
            .collect(),
    }
}

fn rejected_prefix(branch: &str) -> String {
    format!("refs/statebox/rejected/{branch}/")
}

/// The commits sync kept aside for `local`'s branch, oldest first.
pub fn rejected(local: &GitBackend) -> Result<Vec<Rejected>, BackendError> {
    let repo = local.repository();
    let mut found = Vec::new();
    for reference in repo
        .references_glob(&format!("{}*", rejected_prefix(local.branch())))
        .or_git()?
    {
        let reference = reference.or_git()?;
        let (Some(refname), Some(id)) = (reference.name(), reference.target()) else {
            continue;
        };
        let commit = repo.find_commit(id).or_git()?;
        let reason = repo
            .reflog(refname)
            .ok()
            .and_then(|log| log.get(0).and_then(|e| e.message().map(str::to_owned)))
            .unwrap_or_default();
        found.push(rejected_entry(&commit, refname.to_owned(), reason));
    }
    found.sort_by(|a, b| (&a.time, &a.commit).cmp(&(&b.time, &b.commit)));
    Ok(found)
}

fn rejected_entry(commit: &git2::Commit<'_>, refname: String, reason: String) -> Rejected {
    let release = recorded_op(&String::from_utf8_lossy(commit.message_bytes()))
        .map(|(release, _)| release.to_string())
        .unwrap_or_default();
    let time = chrono::DateTime::from_timestamp(commit.time().seconds(), 0).unwrap_or_default();
    Rejected {
        commit: commit.id().to_string(),
        refname,
        release,
        summary: commit.summary().unwrap_or_default().to_owned(),
        reason,
        time: crate::timestamp::format(time),
    }
}

enum Push {
    Done,
    Rejected(String),
}

impl SyncedGit {
    /// `local`'s branch, synced with the remote named `remote`; `catalog`
    /// resolves task names when operations are replayed.
    pub fn new(local: GitBackend, remote: &str, catalog: Catalog) -> Result<Self, BackendError> {
        let https = local
            .repository()
            .find_remote(remote)
            .map_err(|e| BackendError::Remote {
                remote: remote.to_owned(),
                reason: format!("not configured in this repository ({})", e.message()),
            })?
            .url()
            .is_some_and(|url| url.starts_with("https://"));
        if https {
            crate::backend::git::load_ca_bundle()?;
        }
        let push_budget = match std::env::var("STATEBOX_PUSH_BUDGET") {
            Ok(text) => Duration::from_secs(text.parse().map_err(|_| BackendError::Remote {
                remote: remote.to_owned(),
                reason: format!("STATEBOX_PUSH_BUDGET must be whole seconds, got '{text}'"),
            })?),
            Err(_) => DEFAULT_PUSH_BUDGET,
        };
        Ok(SyncedGit {
            push_budget,
            local,
            remote: remote.to_owned(),
            catalog,
            // Each attempt is a network round trip and other machines need
            // time to finish theirs, so back off further than local races.
            retry: RetryPolicy {
                attempts: 60,
                first_backoff: Duration::from_millis(50),
                max_backoff: Duration::from_secs(2),
            },
        })
    }

    fn tracking_ref(&self) -> String {
        format!("refs/remotes/{}/{}", self.remote, self.local.branch())
    }

    fn tracking_tip(&self) -> Result<Option<Oid>, BackendError> {
        match self.local.repository().refname_to_id(&self.tracking_ref()) {
            Ok(id) => Ok(Some(id)),
            Err(e) if e.code() == ErrorCode::NotFound => Ok(None),
            Err(e) => Err(git_error(e)),
        }
    }

    /// Local commits the remote (as last fetched or pushed) lacks.
    pub fn pending(&self) -> Result<usize, BackendError> {
        let Some(tip) = self.local.tip()? else {
            return Ok(0);
        };
        let mut walk = self.local.repository().revwalk().or_git()?;
        walk.push(tip).or_git()?;
        if let Some(remote) = self.tracking_tip()? {
            walk.hide(remote).or_git()?;
        }
        Ok(walk.count())
    }

    fn unreachable(&self, error: &git2::Error) -> BackendError {
        if error.code() == ErrorCode::Auth {
            return BackendError::Remote {
                remote: self.remote.clone(),
                reason: format!("credentials rejected: {}", error.message()),
            };
        }
        BackendError::RemoteUnreachable {
            remote: self.remote.clone(),
            branch: self.local.branch().to_owned(),
            reason: error.message().to_owned(),
            pending: self.pending().unwrap_or(0),
        }
    }

    /// ssh agent for ssh URLs; for https `GITHUB_TOKEN` if set, else the
    /// configured credential helper. The token goes to libgit2 only.
    fn callbacks<'a>(&self, tries: &'a Cell<u32>) -> RemoteCallbacks<'a> {
        let config = self.local.repository().config().ok();
        let mut callbacks = RemoteCallbacks::new();
        callbacks.credentials(move |url, username, allowed| {
            tries.set(tries.get() + 1);
            if tries.get() > CREDENTIAL_ATTEMPTS {
                return Err(git2::Error::new(
                    ErrorCode::Auth,
                    git2::ErrorClass::Callback,
                    format!("no accepted credentials for {url}"),
                ));
            }
            if allowed.contains(CredentialType::SSH_KEY) {
                return Cred::ssh_key_from_agent(username.unwrap_or("git"));
            }
            if allowed.contains(CredentialType::USER_PASS_PLAINTEXT) {
                if let Ok(token) = std::env::var("GITHUB_TOKEN")
                    && url.starts_with("https://")
                {
                    return Cred::userpass_plaintext("x-access-token", &token);
                }
                if let Some(config) = &config {
                    return Cred::credential_helper(config, url, username);
                }
            }
            Cred::default()
        });
        callbacks
    }

    /// Fetches the record branch only, into its remote-tracking ref.
    pub fn fetch(&self) -> Result<(), BackendError> {
        let mut remote = self.local.repository().find_remote(&self.remote).or_git()?;
        let tries = Cell::new(0);
        let mut options = FetchOptions::new();
        options.remote_callbacks(self.callbacks(&tries));
        let branch = self.local.branch();
        // FETCH_HEAD is of no use here, and a writer killed while writing
        // it would leave FETCH_HEAD.lock in every later fetch's way.
        options.update_fetchhead(false);
        let refspec = format!("+refs/heads/{branch}:{}", self.tracking_ref());
        let _held = self.lock_tracking_ref()?;
        remote
            .fetch(&[refspec], Some(&mut options), Some("statebox: fetch"))
            .map_err(|e| self.unreachable(&e))
    }

    /// statebox's lock on the remote-tracking ref, held while libgit2
    /// fetches into it or moves it. A writer killed there leaves git's lock
    /// files behind (the ref's, and `shallow.lock`, which libgit2's fetch
    /// takes even in a full clone); the next holder knows from the dead
    /// one's note that they are left over, not held, and removes them.
    fn lock_tracking_ref(&self) -> Result<RefLock, BackendError> {
        let tracking = self.tracking_ref();
        RefLock::take_waiting(
            self.local.repository().commondir(),
            &tracking,
            &[
                &format!("{tracking}.lock"),
                "shallow.lock",
                "FETCH_HEAD.lock",
            ],
            TRACKING_LOCK_PATIENCE,
        )
    }

    fn push_once(&self) -> Result<Push, BackendError> {
        let mut remote = self.local.repository().find_remote(&self.remote).or_git()?;
        if let Some(path) = remote.url().and_then(local_path) {
            return self.push_to_path(&path);
        }
        let tries = Cell::new(0);
        let rejected = RefCell::new(None);
        let mut callbacks = self.callbacks(&tries);
        callbacks.push_update_reference(|_, status| {
            if let Some(message) = status {
                *rejected.borrow_mut() = Some(message.to_owned());
            }
            Ok(())
        });
        let mut options = PushOptions::new();
        options.remote_callbacks(callbacks);
        let refname = self.local.refname();
        // A push moves the remote-tracking ref too (the remote's fetch
        // refspec covers it).
        let held = self.lock_tracking_ref()?;
        let pushed = remote.push(&[format!("{refname}:{refname}")], Some(&mut options));
        drop(held);
        // The callbacks borrow `rejected`; release them before reading it.
        drop(options);
        match (pushed, rejected.into_inner()) {
            (Err(e), _) if e.code() == ErrorCode::NotFastForward => {
                Ok(Push::Rejected(e.message().to_owned()))
            }
            (Err(e), _) => Err(self.unreachable(&e)),
            (Ok(()), Some(message)) => Ok(Push::Rejected(message)),
            (Ok(()), None) => Ok(Push::Done),
        }
    }

    /// A push to a repository on this machine. libgit2's local transport
    /// checks for a fast-forward, then moves the remote's ref without
    /// compare-and-swap, so a commit landing there in between is lost
    /// while both writers report success. statebox copies the objects
    /// itself and moves the ref as it moves its own: under the remote's
    /// ref lock, only if it is still at the tip last fetched.
    fn push_to_path(&self, path: &std::path::Path) -> Result<Push, BackendError> {
        let local = self.local.repository();
        let remote = git2::Repository::open(path).map_err(|e| self.unreachable(&e))?;
        let Some(tip) = self.local.tip()? else {
            return Ok(Push::Done);
        };
        let fetched = self.tracking_tip()?;
        let mut walk = local.revwalk().or_git()?;
        walk.push(tip).or_git()?;
        if let Some(fetched) = fetched {
            walk.hide(fetched).or_git()?;
        }
        let mut pack = local.packbuilder().or_git()?;
        pack.insert_walk(&mut walk).or_git()?;
        let odb = remote.odb().or_git()?;
        let mut writer = odb.packwriter().or_git()?;
        let mut failed = None;
        pack.foreach(
            |chunk| match std::io::Write::write_all(&mut writer, chunk) {
                Ok(()) => true,
                Err(e) => {
                    failed = Some(e);
                    false
                }
            },
        )
        .or_git()?;
        if let Some(source) = failed {
            return Err(BackendError::Io {
                path: path.display().to_string(),
                source,
            });
        }
        writer.commit().or_git()?;
        let refname = self.local.refname();
        match crate::backend::git::swap_ref(&remote, refname, tip, fetched, "statebox: push") {
            Ok(()) => Ok(Push::Done),
            Err(BackendError::Stale) => Ok(Push::Rejected(
                "the remote's branch moved since it was fetched".to_owned(),
            )),
            Err(BackendError::Locked { lock, holder }) => {
                Ok(Push::Rejected(format!("{lock} is held by {holder}")))
            }
            Err(e) => Err(e),
        }
    }

    /// Fetches and integrates the remote's commits; pushes nothing.
    pub fn pull(&self) -> Result<SyncReport, BackendError> {
        self.fetch()?;
        self.integrate()
    }

    /// Pushes local commits without integrating: fails if the remote moved.
    pub fn push(&self) -> Result<SyncReport, BackendError> {
        let pending = self.pending()?;
        if pending == 0 {
            return Ok(SyncReport::default());
        }
        match self.push_once()? {
            Push::Done => {
                self.record_pushed()?;
                Ok(SyncReport {
                    delivered: pending,
                    ..SyncReport::default()
                })
            }
            Push::Rejected(message) => Err(BackendError::RemoteAhead {
                remote: self.remote.clone(),
                reason: format!(
                    "push rejected ({message}): the remote has commits this branch lacks"
                ),
            }),
        }
    }

    /// Fetches, integrates and pushes until the remote has every local
    /// commit: the explicit form of what each write does.
    pub fn sync(&self) -> Result<SyncReport, BackendError> {
        let mut report = self.pull()?;
        let delivered = self.deliver()?;
        report.delivered = delivered.delivered;
        report.replayed += delivered.replayed;
        report.received |= delivered.received;
        report.rejected.extend(delivered.rejected);
        Ok(report)
    }

    /// Pushes; on rejection fetches, integrates and pushes again.
    ///
    /// A rejected push is answered at once (fetch, replay, push): the
    /// replayed commits are only worth pushing while the fetched tip is
    /// fresh, so a pause between replay and push would only lose the race
    /// again. Backing off comes between rounds, after a second rejection in
    /// a row, and the rounds stop when the push budget is spent
    /// ([`DEFAULT_PUSH_BUDGET`]).
    fn deliver(&self) -> Result<SyncReport, BackendError> {
        let mut report = SyncReport::default();
        let started = std::time::Instant::now();
        let mut rounds = 0;
        loop {
            let pending = self.pending()?;
            if pending == 0 {
                return Ok(report);
            }
            rounds += 1;
            let message = match self.push_once()? {
                Push::Done => {
                    self.record_pushed()?;
                    report.delivered = pending;
                    return Ok(report);
                }
                Push::Rejected(message) => message,
            };
            if started.elapsed() >= self.push_budget {
                return Err(BackendError::RemoteBusy {
                    remote: self.remote.clone(),
                    branch: self.local.branch().to_owned(),
                    pushes: rounds,
                    seconds: started.elapsed().as_secs(),
                    pending,
                });
            }
            if rounds > 1 {
                std::thread::sleep(self.retry.backoff(rounds - 1));
            }
            tracing::debug!(rounds, %message, "push rejected; fetching and replaying");
            self.fetch()?;
            let integrated = self.integrate()?;
            report.replayed += integrated.replayed;
            report.received |= integrated.received;
            report.rejected.extend(integrated.rejected);
        }
    }

    /// libgit2 updates remote-tracking refs only for the remote's configured
    /// fetch refspec, so record what the remote now holds explicitly.
    fn record_pushed(&self) -> Result<(), BackendError> {
        if let Some(tip) = self.local.tip()? {
            let _held = self.lock_tracking_ref()?;
            self.local
                .repository()
                .reference(&self.tracking_ref(), tip, true, "statebox: pushed")
                .or_git()?;
        }
        Ok(())
    }

    /// Brings the fetched remote tip into the local branch: fast-forward
    /// when the branch has nothing of its own, replay its own commits on the
    /// remote tip when both moved. Retries when a local writer moves the
    /// branch meanwhile.
    fn integrate(&self) -> Result<SyncReport, BackendError> {
        let repo = self.local.repository();
        for attempt in 0..self.retry.attempts {
            let Some(remote) = self.tracking_tip()? else {
                return Ok(SyncReport::default());
            };
            let local = self.local.tip()?;
            let (target, replayed, rejected) = match local {
                None => (remote, 0, Vec::new()),
                Some(local) if local == remote => return Ok(SyncReport::default()),
                Some(local) => match repo.merge_base(local, remote) {
                    Ok(base) if base == remote => return Ok(SyncReport::default()),
                    Ok(base) if base == local => (remote, 0, Vec::new()),
                    // Diverged, or unrelated: two machines that each
                    // created the branch before either pushed.
                    Ok(_) => self.replay(local, remote)?,
                    Err(e) if e.code() == ErrorCode::NotFound => self.replay(local, remote)?,
                    Err(e) => return Err(git_error(e)),
                },
            };
            let moved = self
                .local
                .move_to(target, local, "statebox: integrate remote commits");
            match moved {
                Ok(_) => {
                    return Ok(SyncReport {
                        replayed,
                        received: true,
                        rejected,
                        ..SyncReport::default()
                    });
                }
                Err(BackendError::Stale) => {
                    tracing::debug!("a local writer moved the branch during integration; again");
                }
                Err(BackendError::Locked { lock, holder }) => {
                    tracing::debug!("{lock} is held by {holder}; again");
                    std::thread::sleep(self.retry.backoff(attempt));
                }
                Err(e) => return Err(e),
            }
        }
        Err(BackendError::Remote {
            remote: self.remote.clone(),
            reason: "local writers kept moving the branch during integration".to_owned(),
        })
    }

    /// Replays the operations of the commits in `local` but not in `onto`,
    /// oldest first, on top of `onto`; returns the new tip, how many were
    /// replayed and the ones the remote's state refused.
    fn replay(&self, local: Oid, onto: Oid) -> Result<(Oid, usize, Vec<Rejected>), BackendError> {
        let repo = self.local.repository();
        let mut walk = repo.revwalk().or_git()?;
        walk.push(local).or_git()?;
        walk.hide(onto).or_git()?;
        walk.set_sorting(Sort::TOPOLOGICAL | Sort::REVERSE)
            .or_git()?;
        let commits = walk.collect::<Result<Vec<Oid>, _>>().or_git()?;
        // Private to this process, so concurrent local syncs cannot collide.
        let scratch = self.local.on_ref(format!(
            "refs/statebox/replay/{}-{}",
            self.local.branch(),
            std::process::id()
        ))?;
        repo.reference(scratch.refname(), onto, true, "statebox: replay base")
            .or_git()?;
        let replayed = self
            .replay_onto(&scratch, &commits)
            .and_then(|rejected| Ok((scratch.tip()?, rejected)));
        if let Ok(mut reference) = repo.find_reference(scratch.refname()) {
            let _ = reference.delete();
        }
        let (tip, rejected) = replayed?;
        let tip = tip.expect("the scratch ref was set to the remote tip");
        Ok((tip, commits.len() - rejected.len(), rejected))
    }

    fn replay_onto(
        &self,
        scratch: &GitBackend,
        commits: &[Oid],
    ) -> Result<Vec<Rejected>, BackendError> {
        let repo = self.local.repository();
        let mut rejected = Vec::new();
        for &id in commits {
            let commit = repo.find_commit(id).or_git()?;
            let not_replayable = |reason: String| BackendError::NotReplayable {
                commit: id.to_string(),
                branch: self.local.branch().to_owned(),
                reason: format!("no valid Statebox-Op trailer: {reason}"),
            };
            let message = String::from_utf8_lossy(commit.message_bytes());
            let (release, op) = recorded_op(&message).map_err(not_replayable)?;
            // The key goes along, so a retry still finds this write, and a
            // write the remote got under the same key is not made twice.
            let key = crate::idempotency::recorded_key(&message);
            let made = chrono::DateTime::from_timestamp(commit.time().seconds(), 0)
                .unwrap_or_else(chrono::Utc::now);
            let retry = RetryPolicy::default();
            let replayed = crate::write::apply_at(
                scratch,
                &release,
                &op,
                key.as_ref(),
                &self.catalog,
                &retry,
                || made,
            );
            match replayed {
                Ok(_) => {}
                // The remote's newer state refuses the operation (say, a
                // second blocker for a task): the same answer a writer that
                // lost a local race gets, so it is not forced; but it was
                // acknowledged, so it is kept where the user can find it. So
                // is a write whose idempotency key the remote's branch used
                // for another change: neither may stand in for the other.
                Err(e @ (WriteError::Op(_) | WriteError::KeyReused(_))) => {
                    rejected.push(self.keep_rejected(&commit, &e.to_string())?);
                }
                Err(WriteError::Backend(e)) => return Err(e),
                Err(e) => return Err(not_replayable(e.to_string())),
            }
        }
        Ok(rejected)
    }

    /// Points a ref of its own at a refused commit, before the branch moves
    /// past it, with the reason as the ref's log message.
    fn keep_rejected(
        &self,
        commit: &git2::Commit<'_>,
        reason: &str,
    ) -> Result<Rejected, BackendError> {
        let repo = self.local.repository();
        let refname = format!("{}{}", rejected_prefix(self.local.branch()), commit.id());
        let reason = reason.split_whitespace().collect::<Vec<_>>().join(" ");
        repo.reference_ensure_log(&refname).or_git()?;
        repo.reference(&refname, commit.id(), true, &reason)
            .or_git()?;
        tracing::warn!(
            "commit {} ({}) no longer applies on the remote's state; kept as {refname}: {reason}",
            commit.id(),
            commit.summary().unwrap_or_default()
        );
        Ok(rejected_entry(commit, refname, reason))
    }
}

impl Backend for SyncedGit {
    fn describe(&self) -> String {
        format!("{}, with remote '{}'", self.local.describe(), self.remote)
    }

    fn read(&self, path: &str) -> Result<Snapshot, BackendError> {
        self.local.read(path)
    }

    /// Commits locally (compare-and-swap as usual), then delivers the branch
    /// to the remote; returns the branch tip the remote now has.
    fn write(
        &self,
        path: &str,
        content: &[u8],
        base: &CasToken,
        message: &str,
    ) -> Result<CasToken, BackendError> {
        self.local.write(path, content, base, message)?;
        let delivered = self.deliver()?;
        if !delivered.rejected.is_empty() {
            return Err(refused(self.local.branch(), &delivered.rejected));
        }
        Ok(CasToken(self.local.tip()?.map(|id| id.to_string())))
    }

    fn listing(&self) -> Result<Listing, BackendError> {
        self.local.listing()
    }

    fn exists(&self) -> Result<bool, BackendError> {
        self.local.exists()
    }

    /// Fetches and integrates; pushes nothing, as a read should not.
    fn refresh(&self) -> Result<(), BackendError> {
        self.pull().map(|_| ())
    }

    fn history_each(
        &self,
        path: &str,
        each: &mut dyn FnMut(HistoryEntry) -> Result<(), BackendError>,
    ) -> Result<(), BackendError> {
        self.local.history_each(path, each)
    }

    fn read_at(&self, path: &str, commit: &str) -> Result<Option<Vec<u8>>, BackendError> {
        self.local.read_at(path, commit)
    }

    /// A write found here may have been committed by a process that died
    /// before pushing it: deliver it first, as its write would have, and
    /// look again, since delivering may replay it as a new commit.
    fn find_commit(
        &self,
        path: &str,
        limit: usize,
        matches: &dyn Fn(&str) -> bool,
        searched: &CasToken,
    ) -> Result<Option<FoundCommit>, BackendError> {
        let found = self.local.find_commit(path, limit, matches, searched)?;
        if found.is_none() || self.pending()? == 0 {
            return Ok(found);
        }
        self.deliver()?;
        self.local.find_commit(path, limit, matches, searched)
    }
}
