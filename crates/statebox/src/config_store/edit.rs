//! The one place decrypted data touches the disk: `config edit`.

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;

use tempfile::TempDir;

use super::ConfigStoreError;

/// A 0600 file in a fresh 0700 directory. Dropping it, on every exit path
/// including errors and panics, overwrites every file in the directory with
/// zeros and removes the directory: editors leave swap and backup copies of
/// the plaintext next to the file they edit.
pub(crate) struct PlaintextFile {
    dir: TempDir,
    path: PathBuf,
}

impl PlaintextFile {
    pub(crate) fn create(contents: &[u8]) -> Result<Self, ConfigStoreError> {
        let io = |source| ConfigStoreError::EditTemp { source };
        let dir = tempfile::Builder::new()
            .prefix("statebox-config-")
            .permissions(fs::Permissions::from_mode(0o700))
            .tempdir()
            .map_err(io)?;
        let path = dir.path().join("config.yaml");
        // From here on the guard owns the directory, so a failed write is shredded too.
        let file = PlaintextFile { dir, path };
        OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&file.path)
            .and_then(|mut f| f.write_all(contents).and_then(|()| f.sync_all()))
            .map_err(io)?;
        Ok(file)
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }
}

fn shred(path: &Path) {
    let Ok(meta) = fs::symlink_metadata(path) else {
        return;
    };
    if meta.is_file()
        && let Ok(mut f) = OpenOptions::new().write(true).open(path)
    {
        // Best effort on every step: this runs in Drop and must not give up
        // before the removal below.
        let zeros = vec![0u8; meta.len() as usize];
        let _ = f.write_all(&zeros).and_then(|()| f.sync_all());
    }
}

impl Drop for PlaintextFile {
    fn drop(&mut self) {
        if let Ok(entries) = fs::read_dir(self.dir.path()) {
            for entry in entries.flatten() {
                shred(&entry.path());
            }
        }
        // TempDir's own Drop removes the directory and what is left in it.
    }
}

/// Runs `editor` on `path` through `sh -c`, as git does with `$EDITOR`, so
/// values like `code --wait` work.
pub(crate) fn run_editor(editor: &str, path: &Path) -> Result<(), ConfigStoreError> {
    let status = Command::new("sh")
        .arg("-c")
        .arg(format!("{editor} \"$@\""))
        .arg(editor)
        .arg(path)
        .status()
        .map_err(|source| ConfigStoreError::EditorSpawn {
            editor: editor.to_owned(),
            source,
        })?;
    if !status.success() {
        return Err(ConfigStoreError::EditorFailed {
            editor: editor.to_owned(),
            status,
        });
    }
    Ok(())
}
