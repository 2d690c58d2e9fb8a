//! statebox's own lock around every move of a ref it writes.
//!
//! git's lock on a ref is the file `<ref>.lock`, which says nothing of who
//! made it: a writer that is killed between creating it and renaming it
//! into place leaves it behind, and no one can tell that lock from one a
//! live but stalled writer (SIGSTOP, a paused VM, a slow NFS server) still
//! holds. Deleting it by age loses the stalled writer's update while both
//! writers report success. So statebox moves a ref only while it holds an
//! OS lock (flock) on a file of its own: the kernel releases that lock when
//! its holder dies, which is the proof that the holder is gone.
//!
//! The holder writes a note (its pid and when it took the lock) into the
//! file and empties it when it is done. The next holder that finds a note
//! knows the previous one died while moving the ref, so the `<ref>.lock`
//! it finds is that writer's and can go. A `<ref>.lock` without a note is
//! some other git process's: it is waited for, never deleted.

use super::BackendError;
use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Why the ref cannot be moved right now; the caller waits and retries.
#[derive(Debug)]
pub(crate) enum Busy {
    /// Another statebox process holds the lock; `holder` is its note.
    Held { lock: PathBuf, holder: String },
    /// The lock could not be taken at all.
    Io {
        path: PathBuf,
        error: std::io::Error,
    },
}

impl From<Busy> for BackendError {
    fn from(busy: Busy) -> Self {
        match busy {
            Busy::Held { lock, holder } => BackendError::Locked {
                lock: lock.display().to_string(),
                holder: if holder.is_empty() {
                    "another statebox process".to_owned()
                } else {
                    format!("statebox {holder}")
                },
            },
            Busy::Io { path, error } => BackendError::Io {
                path: path.display().to_string(),
                source: std::io::Error::other(format!(
                    "taking the lock of a ref: {error}; nothing was written"
                )),
            },
        }
    }
}

/// Held while a ref is moved; released (and its note emptied) on drop.
pub(crate) struct RefLock {
    file: File,
}

impl RefLock {
    /// Takes the lock for `refname` of the repository whose common git
    /// folder is `commondir`, without waiting.
    pub(crate) fn try_take(commondir: &Path, refname: &str) -> Result<RefLock, Busy> {
        RefLock::try_take_clearing(commondir, refname, &[&format!("{refname}.lock")])
    }

    /// [`RefLock::try_take`] for a lock held around more than a ref's move
    /// (a fetch): `leftovers`, paths in `commondir`, are the lock files of
    /// git's that a holder killed inside can leave, removed when one was.
    pub(crate) fn try_take_clearing(
        commondir: &Path,
        refname: &str,
        leftovers: &[&str],
    ) -> Result<RefLock, Busy> {
        let path = lock_path(commondir, refname);
        let io = |error| Busy::Io {
            path: path.clone(),
            error,
        };
        if let Some(folder) = path.parent() {
            std::fs::create_dir_all(folder).map_err(io)?;
        }
        // Never deleted: unlinking a lock file while another process opens
        // it would let two processes each lock a different file.
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(io)?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                return Err(Busy::Held {
                    holder: note(&mut file),
                    lock: path,
                });
            }
            Err(TryLockError::Error(error)) => return Err(io(error)),
        }
        let left = note(&mut file);
        if !left.is_empty() {
            for leftover in leftovers {
                let git_lock = commondir.join(leftover);
                if std::fs::remove_file(&git_lock).is_ok() {
                    tracing::warn!(
                        "removed {}: left by a writer that died while moving {refname} ({left})",
                        git_lock.display()
                    );
                }
            }
        }
        let mine = format!(
            "pid {} since {}",
            std::process::id(),
            crate::timestamp::format(chrono::Utc::now())
        );
        file.set_len(0)
            .and_then(|_| file.rewind())
            .and_then(|_| file.write_all(mine.as_bytes()))
            .map_err(io)?;
        Ok(RefLock { file })
    }

    /// [`RefLock::try_take_clearing`], waiting up to `patience` for
    /// another statebox process to let go.
    pub(crate) fn take_waiting(
        commondir: &Path,
        refname: &str,
        leftovers: &[&str],
        patience: Duration,
    ) -> Result<RefLock, BackendError> {
        let deadline = Instant::now() + patience;
        loop {
            match RefLock::try_take_clearing(commondir, refname, leftovers) {
                Err(Busy::Held { .. }) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(10));
                }
                taken => return Ok(taken?),
            }
        }
    }
}

impl Drop for RefLock {
    fn drop(&mut self) {
        // An empty note says the ref was left as it should be. Should this
        // fail, the next holder finds the note and only removes a git lock
        // file that, the ref having been moved, no longer exists.
        let _ = self.file.set_len(0);
    }
}

/// `.git/statebox/locks/refs/heads/<branch>`: one file per ref.
fn lock_path(commondir: &Path, refname: &str) -> PathBuf {
    commondir.join("statebox").join("locks").join(refname)
}

fn note(file: &mut File) -> String {
    let mut text = String::new();
    let _ = file.rewind().and_then(|_| file.read_to_string(&mut text));
    text.trim().to_owned()
}
