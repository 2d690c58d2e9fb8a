//! A plain folder laid out like the branch (`_releases/...`): the bundled
//! sample, a checked-out record branch, scripts. No commits; a write replaces
//! the file atomically (temp file + rename) under a lock file, and the
//! compare-and-swap version is the content's SHA-1.

use super::listing::EntryKind;
use super::{Backend, BackendError, CasToken, Listing, Snapshot};
use crate::release::RELEASES_DIR;
use sha1::{Digest, Sha1};
use std::fs;
use std::io::{ErrorKind, Write};
use std::path::{Path, PathBuf};

/// State files in a plain folder (`--dir`): versions are content hashes,
/// and no history is kept.
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
    /// A store rooted at `root`, which holds `_releases/`.
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
        refuse_links_out(&self.root, &target)?;
        let folder = target.parent().expect("state paths have a folder");
        fs::create_dir_all(folder).map_err(|e| Self::io(folder, e))?;
        // An OS lock on the release's folder, held until this write ends:
        // the kernel drops it when its holder dies, so a writer killed here
        // blocks no one after it (a lock file would stay behind). The
        // folder, unlike the file, is never replaced, so every writer locks
        // the same inode.
        let _lock = fs::File::open(folder)
            .and_then(|dir| match dir.try_lock() {
                Ok(()) => Ok(Some(dir)),
                Err(fs::TryLockError::WouldBlock) => Ok(None),
                Err(fs::TryLockError::Error(e)) => Err(e),
            })
            .map_err(|e| Self::io(folder, e))?
            .ok_or_else(|| BackendError::Locked {
                lock: folder.display().to_string(),
                holder: "another writer of this folder".to_owned(),
            })?;
        let current = Self::read_file(&target)?;
        if current.as_deref().map(content_version) != base.0 {
            return Err(BackendError::Stale);
        }
        let mut temp = temp_keeping_mode(folder, &target)?;
        // Named for the file it replaces: the temporary one is gone when
        // the error is read.
        temp.as_file_mut()
            .write_all(content)
            .and_then(|_| temp.as_file().sync_all())
            .map_err(|e| {
                Self::io(
                    &target,
                    std::io::Error::other(format!(
                        "writing its new version: {e}; nothing was written"
                    )),
                )
            })?;
        temp.persist(&target)
            .map_err(|e| Self::io(&target, e.error))?;
        Ok(CasToken(Some(content_version(content))))
    }

    fn exists(&self) -> Result<bool, BackendError> {
        match fs::metadata(&self.root) {
            Ok(meta) => Ok(meta.is_dir()),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(false),
            Err(e) => Err(Self::io(&self.root, e)),
        }
    }

    fn listing(&self) -> Result<Listing, BackendError> {
        let mut listing = Listing::default();
        let releases = self.root.join(RELEASES_DIR);
        let streams = match fs::read_dir(&releases) {
            Ok(entries) => entries,
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(listing),
            Err(e) => return Err(Self::io(&releases, e)),
        };
        for stream in streams {
            let stream = stream.map_err(|e| Self::io(&releases, e))?;
            let stream_name = stream.file_name().to_string_lossy().into_owned();
            if !listing.stream(&stream_name, entry_kind(&stream.path())?) {
                continue;
            }
            let folder = stream.path().join("statebox");
            let kind = match fs::symlink_metadata(&folder) {
                Err(e) if e.kind() == ErrorKind::NotFound => None,
                _ => Some(entry_kind(&folder)?),
            };
            if !listing.statebox_folder(&stream_name, kind) {
                continue;
            }
            for file in fs::read_dir(&folder).map_err(|e| Self::io(&folder, e))? {
                let file = file.map_err(|e| Self::io(&folder, e))?;
                let name = file.file_name().to_string_lossy().into_owned();
                listing.entry(&stream_name, &name, entry_kind(&file.path())?, None);
            }
        }
        Ok(listing.sorted())
    }
}

/// What is at `path`, following links: in a folder, a link that stays
/// inside (checked on write) is as good as what it points to. A dangling
/// link is `Other`.
fn entry_kind(path: &Path) -> Result<EntryKind, BackendError> {
    match fs::metadata(path) {
        Ok(meta) if meta.is_dir() => Ok(EntryKind::Folder),
        Ok(meta) if meta.is_file() => Ok(EntryKind::File),
        Ok(_) => Ok(EntryKind::Other),
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(EntryKind::Other),
        Err(e) => Err(DirBackend::io(path, e)),
    }
}

/// Refuses a write to `target` that a symlink would carry out of the folder
/// at `root` (a state file, `_releases/X` or any folder between linked
/// elsewhere): the folder's content is untrusted, and following the link
/// would create or replace files anywhere. Links that stay inside are fine.
fn refuse_links_out(root: &Path, target: &Path) -> Result<(), BackendError> {
    let relative = target
        .strip_prefix(root)
        .expect("targets are under the root");
    let mut at = root.to_path_buf();
    for part in relative.components() {
        at.push(part);
        match fs::symlink_metadata(&at) {
            Ok(meta) if meta.file_type().is_symlink() => {}
            Ok(_) => continue,
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(DirBackend::io(&at, e)),
        }
        let top = fs::canonicalize(root).map_err(|e| DirBackend::io(root, e))?;
        // A dangling link leads out too: writing would create its target.
        let inside = fs::canonicalize(&at).is_ok_and(|real| real.starts_with(&top));
        if !inside {
            let points_to = fs::read_link(&at).map_err(|e| DirBackend::io(&at, e))?;
            return Err(DirBackend::io(
                &at,
                std::io::Error::other(format!(
                    "is a symbolic link to {}, outside the folder {}; statebox does not write through it, nothing was written",
                    points_to.display(),
                    root.display()
                )),
            ));
        }
    }
    Ok(())
}

/// A temporary file beside `target` to rename over it, with `target`'s
/// mode when it exists (0644 stays 0644), else the mode a new file gets
/// under the umask.
fn temp_keeping_mode(
    folder: &Path,
    target: &Path,
) -> Result<tempfile::NamedTempFile, BackendError> {
    use std::os::unix::fs::PermissionsExt;
    let temp = tempfile::Builder::new()
        .permissions(fs::Permissions::from_mode(0o666))
        .tempfile_in(folder)
        .map_err(|e| DirBackend::io(folder, e))?;
    match fs::metadata(target) {
        Ok(meta) => temp
            .as_file()
            .set_permissions(meta.permissions())
            .map_err(|e| DirBackend::io(temp.path(), e))?,
        Err(e) if e.kind() == ErrorKind::NotFound => {}
        Err(e) => return Err(DirBackend::io(target, e)),
    }
    Ok(temp)
}
