//! Local trust in the commands of `.statebox/derived.yaml`.
//!
//! The rules file is repository content: it arrives by merge, rebase or
//! pull from whoever wrote the branch, and its commands would run in the
//! hooks of everyone who integrates it. So, as direnv's `allow` does, the
//! commands run only for a content the user allowed in this clone: the
//! sha256 of each allowed content, one per line, in
//! `statebox/trusted-derived` of the repository's common git dir (shared
//! by its work trees, never committed, never pushed). Any change to the
//! file, one byte or a new rule, makes it untrusted until allowed again;
//! going back to a content allowed before needs no new review.

use git2::Repository;
use sha2::{Digest, Sha256};
use std::io::ErrorKind;
use std::path::PathBuf;

/// The sha256 of `bytes` in lowercase hex: what trust is recorded for.
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The file that lists the allowed contents' hashes.
pub fn trust_list(repo: &Repository) -> PathBuf {
    repo.commondir().join("statebox/trusted-derived")
}

/// Whether the content with this sha256 was allowed in `repo`.
pub fn is_trusted(repo: &Repository, sha256: &str) -> std::io::Result<bool> {
    match std::fs::read_to_string(trust_list(repo)) {
        Ok(text) => Ok(text.lines().any(|line| line.trim() == sha256)),
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(false),
        Err(e) => Err(e),
    }
}

/// Records the content with this sha256 as allowed in `repo`.
pub fn allow(repo: &Repository, sha256: &str) -> std::io::Result<()> {
    if is_trusted(repo, sha256)? {
        return Ok(());
    }
    let list = trust_list(repo);
    if let Some(dir) = list.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let mut text = match std::fs::read_to_string(&list) {
        Ok(text) => text,
        Err(e) if e.kind() == ErrorKind::NotFound => String::new(),
        Err(e) => return Err(e),
    };
    if !text.is_empty() && !text.ends_with('\n') {
        text.push('\n');
    }
    text.push_str(sha256);
    text.push('\n');
    std::fs::write(&list, text)
}
