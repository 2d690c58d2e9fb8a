//! Idempotency keys: a client that lost its connection mid-write cannot
//! know whether the write landed, so it retries with the same key, and the
//! write path answers with what the first write did instead of writing
//! again.
//!
//! The key is recorded in the commit's trailer and nowhere else: the branch
//! is the only record, so a retry is recognised after a restart, on another
//! replica, and after `sync` replayed the commit onto a newer remote tip
//! (replay carries the trailer along). The lookup reads the messages of the
//! branch's newest [`WINDOW`] commits (first parents, newest first); a
//! retry that comes later than that is written again, which for most
//! operations writes nothing, since they are idempotent in intent.

use crate::backend::{Backend, CasToken};
use crate::model::Op;
use crate::release::Release;

/// The trailer that records a write's idempotency key.
pub const KEY_TRAILER: &str = "Statebox-Idempotency-Key";

/// The longest key accepted: a UUID is 36, a ULID 26.
pub const MAX_LEN: usize = 128;

/// How many of the branch's newest commits a lookup reads. Reading a
/// commit's message costs microseconds, so this stays a few milliseconds
/// per keyed write, and covers minutes of a busy team's writes.
pub const WINDOW: usize = 2000;

/// A client's name for one write: 1 to [`MAX_LEN`] characters from
/// `A-Z a-z 0-9 . _ : -`, so it fits a trailer line and a header as is.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct IdempotencyKey(String);

/// Why a string is not an idempotency key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidKey {
    /// Nothing was given.
    #[error("idempotency key is empty")]
    Empty,
    /// Longer than a trailer line should carry.
    #[error("idempotency key is {len} characters long; at most {MAX_LEN} are accepted")]
    TooLong {
        /// The length given.
        len: usize,
    },
    #[error(
        "idempotency key {shown} holds {found}; use only letters, digits and . _ : - (a UUID fits)"
    )]
    /// A character outside the allowed set.
    Character {
        /// The key, with unprintable characters escaped.
        shown: String,
        /// The offending character, escaped.
        found: String,
    },
    /// Keys are stored in commit messages, which never carry a secret.
    #[error(
        "idempotency key looks like a credential and would be stored in a commit message; use a random id such as a UUID"
    )]
    Secret,
}

impl std::str::FromStr for IdempotencyKey {
    type Err = InvalidKey;

    fn from_str(key: &str) -> Result<Self, InvalidKey> {
        let len = key.chars().count();
        if len == 0 {
            return Err(InvalidKey::Empty);
        }
        if len > MAX_LEN {
            return Err(InvalidKey::TooLong { len });
        }
        let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | ':' | '-');
        if let Some(bad) = key.chars().find(|&c| !allowed(c)) {
            return Err(InvalidKey::Character {
                shown: format!("{key:?}"),
                found: bad.escape_unicode().to_string(),
            });
        }
        if crate::text::mask(key) != key {
            return Err(InvalidKey::Secret);
        }
        Ok(IdempotencyKey(key.to_owned()))
    }
}

impl std::fmt::Display for IdempotencyKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl IdempotencyKey {
    /// The key as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The trailer line for `key`, as the write path appends it.
pub(crate) fn trailer(key: &IdempotencyKey) -> String {
    format!("{KEY_TRAILER}: {key}\n")
}

/// The key a commit message's trailers record, if any.
pub fn recorded_key(message: &str) -> Option<IdempotencyKey> {
    crate::write::trailer(message, KEY_TRAILER).and_then(|key| key.trim().parse().ok())
}

/// The write a key already made: its commit, its summary, and the
/// release's file as that commit left it.
#[derive(Debug, Clone)]
pub struct Earlier {
    /// The commit, in hex.
    pub commit: String,
    /// Its subject line.
    pub summary: String,
    /// The release's file as that commit left it.
    pub content: Vec<u8>,
}

/// A key used again for a different change: answering with the first
/// write's result would tell the client a write landed that never did.
#[derive(Debug, thiserror::Error)]
#[error(
    "idempotency key '{key}' was already used by commit {commit} for another change ({summary}); a new change needs a new key"
)]
pub struct KeyReused {
    /// The key.
    pub key: String,
    /// The commit that used it first, in hex.
    pub commit: String,
    /// That commit's subject: the change the key belongs to.
    pub summary: String,
}

/// Looks `key` up among the branch's newest [`WINDOW`] commits, past the
/// version `searched` (see [`Backend::find_commit`]). `op` is the operation
/// as stored; the earlier write must have recorded the same one, for the
/// same release, and written its file.
pub fn find(
    store: &dyn Backend,
    release: &Release,
    op: &Op,
    key: &IdempotencyKey,
    searched: &CasToken,
) -> Result<Option<Earlier>, FindError> {
    let matches = |message: &str| recorded_key(message).as_ref() == Some(key);
    let Some(found) = store.find_commit(&release.path(), WINDOW, &matches, searched)? else {
        return Ok(None);
    };
    let summary = found.message.lines().next().unwrap_or_default().to_owned();
    let same = crate::write::recorded_op(&found.message)
        .is_ok_and(|(r, recorded)| r == *release && recorded == *op);
    let (true, Some(content)) = (same, found.content) else {
        return Err(FindError::Reused(KeyReused {
            key: key.to_string(),
            commit: found.commit,
            summary,
        }));
    };
    Ok(Some(Earlier {
        commit: found.commit,
        summary,
        content,
    }))
}

/// Why looking a key up failed.
#[derive(Debug, thiserror::Error)]
pub enum FindError {
    /// The key belongs to another change.
    #[error(transparent)]
    Reused(#[from] KeyReused),
    /// The store could not be read.
    #[error(transparent)]
    Backend(#[from] crate::backend::BackendError),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_bounded_plain_text() {
        for good in [
            "a",
            "0b9f6c1e-3c2a-4d8e-9f10-2b7c5d4e3a21",
            "chaos:client-3:write.17",
            &"k".repeat(MAX_LEN),
        ] {
            assert_eq!(good.parse::<IdempotencyKey>().unwrap().as_str(), good);
        }
        assert_eq!("".parse::<IdempotencyKey>(), Err(InvalidKey::Empty));
        let long = "k".repeat(MAX_LEN + 1);
        assert_eq!(
            long.parse::<IdempotencyKey>(),
            Err(InvalidKey::TooLong { len: MAX_LEN + 1 })
        );
        let spaced = "two words".parse::<IdempotencyKey>().unwrap_err();
        assert_eq!(
            spaced.to_string(),
            "idempotency key \"two words\" holds \\u{20}; use only letters, digits and . _ : - (a UUID fits)"
        );
        for bad in ["a\nStatebox-Op: {}", "k\u{1b}[2J", "ключ", "a/b"] {
            assert!(
                matches!(
                    bad.parse::<IdempotencyKey>(),
                    Err(InvalidKey::Character { .. })
                ),
                "{bad:?}"
            );
        }
        let token = format!("ghp_{}", "a1B2c3D4e5".repeat(4));
        assert_eq!(token.parse::<IdempotencyKey>(), Err(InvalidKey::Secret));
    }

    #[test]
    fn only_the_trailer_paragraph_records_a_key() {
        let key: IdempotencyKey = "k-1".parse().unwrap();
        let message = format!(
            "Add issue\n\nStatebox-Release: 4.19.1\nStatebox-Op: {{}}\n{}",
            trailer(&key)
        );
        assert_eq!(recorded_key(&message), Some(key));
        let posing = "Add issue Statebox-Idempotency-Key\nStatebox-Idempotency-Key: k-1\n\nStatebox-Release: 4.19.1\nStatebox-Op: {}\n";
        assert_eq!(recorded_key(posing), None);
        assert_eq!(recorded_key("hand edit"), None);
    }
}
