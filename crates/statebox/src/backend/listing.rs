//! What a store holds under `_releases/`: the state files, and the entries
//! that sit where state belongs but cannot be read as state. A listing that
//! dropped those silently would let `status` show a release as missing
//! with no word of why; each store walks its own tree and feeds the
//! entries to one [`Listing`], so the rules of what is misplaced are the
//! same on a branch, in a folder and through the GitHub API.

use std::collections::HashMap;

use crate::release::{RELEASES_DIR, Release};

/// The state files of a store, and what sits among them misplaced.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Listing {
    /// Paths of the state files, sorted.
    pub files: Vec<String>,
    /// Entries where state belongs that are not state files, sorted.
    pub misplaced: Vec<Misplaced>,
    /// The id a store gives each state file's content, where it has one:
    /// git's blob id, which the GitHub API also reports. Equal ids mean
    /// equal bytes, so what was read from one may be reused for the other.
    pub content_ids: HashMap<String, String>,
}

/// An entry under `_releases/` that is where state belongs but cannot be
/// read as state: a file where a folder should be, a state file filed
/// under the wrong y-stream, a name that is no release.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Misplaced {
    /// The entry's path in the store.
    pub path: String,
    /// What is wrong with it, as a phrase that follows the path.
    pub problem: String,
}

/// What a store found at a path, as far as the rules need to know.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum EntryKind {
    Folder,
    /// A regular file.
    File,
    /// A link, a submodule, a device: neither of the above.
    Other,
}

/// `4.19`: the names of the folders that hold a y-stream's state. Other
/// tools keep their own files under `_releases/` (the original's tracking
/// file `_releases/4.19/4.19.36.yaml`, say); only y-stream names are ours.
fn is_stream_name(name: &str) -> bool {
    let Some((major, minor)) = name.split_once('.') else {
        return false;
    };
    let digits = |part: &str| !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit());
    digits(major) && digits(minor)
}

impl Listing {
    /// Takes an entry directly under `_releases/`; true when it is a
    /// y-stream folder, whose `statebox` entry the store should look up.
    pub(crate) fn stream(&mut self, name: &str, kind: EntryKind) -> bool {
        if !is_stream_name(name) {
            return false;
        }
        if kind == EntryKind::Folder {
            return true;
        }
        self.misplace(
            format!("{RELEASES_DIR}/{name}"),
            format!("is a file where the folder of y-stream {name} should be"),
        );
        false
    }

    /// Takes the `statebox` entry of y-stream folder `stream` (`None`: the
    /// stream has none, which is no error); true when the store should
    /// list the folder's entries.
    pub(crate) fn statebox_folder(&mut self, stream: &str, kind: Option<EntryKind>) -> bool {
        match kind {
            None => false,
            Some(EntryKind::Folder) => true,
            Some(_) => {
                self.misplace(
                    format!("{RELEASES_DIR}/{stream}/statebox"),
                    "is a file where the folder of state files should be".to_owned(),
                );
                false
            }
        }
    }

    /// Takes an entry of `_releases/<stream>/statebox/`, with the id of its
    /// content if the store has one.
    pub(crate) fn entry(
        &mut self,
        stream: &str,
        name: &str,
        kind: EntryKind,
        content_id: Option<String>,
    ) {
        // An editor's swap file or a `.gitkeep` is nobody's state.
        if name.starts_with('.') {
            return;
        }
        let path = format!("{RELEASES_DIR}/{stream}/statebox/{name}");
        let release = name
            .strip_suffix(".yaml")
            .and_then(|stem| stem.parse::<Release>().ok());
        let problem = match release {
            // A folder or link by a state file's name is listed: reading it
            // then says what it is, in the words of the store.
            Some(release) if release.stream() == stream => {
                if let Some(id) = content_id.filter(|_| kind == EntryKind::File) {
                    self.content_ids.insert(path.clone(), id);
                }
                self.files.push(path);
                return;
            }
            Some(release) => format!(
                "holds release {release}, whose state belongs in {}",
                release.path()
            ),
            None if kind == EntryKind::Folder => {
                "is a folder among the state files (X.Y.Z.yaml)".to_owned()
            }
            None if name.ends_with(".yaml") => "is not named for a release (X.Y.Z.yaml)".to_owned(),
            None => "is not a state file (state files are named X.Y.Z.yaml)".to_owned(),
        };
        self.misplace(path, problem);
    }

    /// The listing in a stable order, whatever order the store walked in.
    pub(crate) fn sorted(mut self) -> Self {
        self.files.sort();
        self.misplaced.sort();
        self
    }

    fn misplace(&mut self, path: String, problem: String) {
        self.misplaced.push(Misplaced { path, problem });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn judges_only_what_sits_where_state_belongs() {
        let mut listing = Listing::default();
        assert!(listing.stream("4.19", EntryKind::Folder));
        assert!(!listing.stream("README.md", EntryKind::File));
        assert!(!listing.stream("4.20", EntryKind::File));
        assert!(listing.statebox_folder("4.19", Some(EntryKind::Folder)));
        assert!(!listing.statebox_folder("4.18", None));
        assert!(!listing.statebox_folder("4.17", Some(EntryKind::File)));
        listing.entry("4.19", "4.19.36.yaml", EntryKind::File, None);
        listing.entry("4.19", "4.19.0-rc.1.yaml", EntryKind::File, None);
        listing.entry("4.19", ".gitkeep", EntryKind::File, None);
        listing.entry("4.19", "4.18.2.yaml", EntryKind::File, None);
        listing.entry("4.19", "notes.yaml", EntryKind::File, None);
        listing.entry("4.19", "old", EntryKind::Folder, None);
        listing.entry("4.19", "4.19.1.yml", EntryKind::File, None);
        let listing = listing.sorted();
        assert_eq!(
            listing.files,
            [
                "_releases/4.19/statebox/4.19.0-rc.1.yaml",
                "_releases/4.19/statebox/4.19.36.yaml"
            ]
        );
        let named: Vec<(&str, &str)> = listing
            .misplaced
            .iter()
            .map(|m| (m.path.as_str(), m.problem.as_str()))
            .collect();
        assert_eq!(
            named,
            [
                (
                    "_releases/4.17/statebox",
                    "is a file where the folder of state files should be"
                ),
                (
                    "_releases/4.19/statebox/4.18.2.yaml",
                    "holds release 4.18.2, whose state belongs in _releases/4.18/statebox/4.18.2.yaml"
                ),
                (
                    "_releases/4.19/statebox/4.19.1.yml",
                    "is not a state file (state files are named X.Y.Z.yaml)"
                ),
                (
                    "_releases/4.19/statebox/notes.yaml",
                    "is not named for a release (X.Y.Z.yaml)"
                ),
                (
                    "_releases/4.19/statebox/old",
                    "is a folder among the state files (X.Y.Z.yaml)"
                ),
                (
                    "_releases/4.20",
                    "is a file where the folder of y-stream 4.20 should be"
                ),
            ]
        );
    }
}
