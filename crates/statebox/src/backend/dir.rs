//! A plain folder laid out like the branch (`_releases/...`): the bundled
//! sample, a checked-out record branch, scripts. No commits; a write replaces
//! the file atomically (temp file + rename) under a lock file, and the
//! compare-and-swap version is the content's SHA-1.

use super::{Backend, BackendError, CasToken, Snapshot};
use crate::release::{RELEASES_DIR, Release};
use sha1::{Digest, Sha1};
use std::fs;
use std::io::{ErrorKind, Write};
use std::path::{Path, PathBuf};

pub struct DirBackend {
    root: PathBuf,
}

fn content_version(bytes: &[u8]) -> String {
    Sha1::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

impl DirBackend {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        DirBackend { root: root.into() }
    }

    fn io(path: &Path, source: std::io::Error) -> BackendError {
        BackendError::Io {
            path: path.display().to_string(),
            source,
        }
    }

    fn read_file(path: &Path) -> Result<Option<Vec<u8>>, BackendError> {
        match fs::read(path) {
            Ok(bytes) => Ok(Some(bytes)),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
            Err(e) => Err(Self::io(path, e)),
        }
    }
}

/// Removes the lock file when the write ends, however it ends.
struct LockGuard(PathBuf);

impl Drop for LockGuard {
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.0);
    }
}

impl Backend for DirBackend {
    fn describe(&self) -> String {
        format!("folder {}", self.root.display())
    }

    fn read(&self, path: &str) -> Result<Snapshot, BackendError> {
        let content = Self::read_file(&self.root.join(path))?;
        let version = CasToken(content.as_deref().map(content_version));
        Ok(Snapshot { content, version })
    }

    fn write(
        &self,
        path: &str,
        content: &[u8],
        base: &CasToken,
        _message: &str,
    ) -> Result<CasToken, BackendError> {
        let target = self.root.join(path);
        let folder = target.parent().expect("state paths have a folder");
        fs::create_dir_all(folder).map_err(|e| Self::io(folder, e))?;
        let lock_path = target.with_extension("yaml.lock");
        match fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&lock_path)
        {
            Ok(_) => {}
            Err(e) if e.kind() == ErrorKind::AlreadyExists => return Err(BackendError::Stale),
            Err(e) => return Err(Self::io(&lock_path, e)),
        }
        let _lock = LockGuard(lock_path);
        let current = Self::read_file(&target)?;
        if current.as_deref().map(content_version) != base.0 {
            return Err(BackendError::Stale);
        }
        let mut temp = tempfile::NamedTempFile::new_in(folder).map_err(|e| Self::io(folder, e))?;
        temp.write_all(content)
            .and_then(|_| temp.as_file().sync_all())
            .map_err(|e| Self::io(temp.path(), e))?;
        temp.persist(&target)
            .map_err(|e| Self::io(&target, e.error))?;
        Ok(CasToken(Some(content_version(content))))
    }

    fn list(&self) -> Result<Vec<String>, BackendError> {
        let releases = self.root.join(RELEASES_DIR);
        let streams = match fs::read_dir(&releases) {
            Ok(entries) => entries,
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(Self::io(&releases, e)),
        };
        let mut paths = Vec::new();
        for stream in streams {
            let stream = stream.map_err(|e| Self::io(&releases, e))?;
            let folder = stream.path().join("statebox");
            let Ok(files) = fs::read_dir(&folder) else {
                continue;
            };
            for file in files.flatten() {
                let path = format!(
                    "{RELEASES_DIR}/{}/statebox/{}",
                    stream.file_name().to_string_lossy(),
                    file.file_name().to_string_lossy()
                );
                if Release::from_path(&path).is_some() {
                    paths.push(path);
                }
            }
        }
        paths.sort();
        Ok(paths)
    }
}
