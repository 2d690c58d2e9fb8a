//! Release versions and where their state file lives on the branch.

use std::fmt;
use std::str::FromStr;

/// A z-stream release such as `4.19.36`.
///
/// Only `X.Y.Z` with plain decimal parts is accepted: the version becomes a
/// path on the branch, so anything looser (`4.19`, `../x`, `4.19.1-rc.1`)
/// could write outside `_releases/` or create a file no reader looks for.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Release {
    major: u32,
    minor: u32,
    patch: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid release '{given}': expected a z-stream version X.Y.Z such as 4.19.36")]
pub struct InvalidRelease {
    pub given: String,
}

/// Folder on the branch that holds every state file.
pub const RELEASES_DIR: &str = "_releases";

impl Release {
    /// `4.19` for `4.19.36`: the folder the release is filed under.
    pub fn stream(&self) -> String {
        format!("{}.{}", self.major, self.minor)
    }

    /// `_releases/4.19/statebox/4.19.36.yaml`.
    pub fn path(&self) -> String {
        format!("{RELEASES_DIR}/{}/statebox/{self}.yaml", self.stream())
    }

    /// The release a branch path belongs to, if it is a state file path.
    pub fn from_path(path: &str) -> Option<Release> {
        let rest = path.strip_prefix(RELEASES_DIR)?.strip_prefix('/')?;
        let (stream, rest) = rest.split_once('/')?;
        let file = rest.strip_prefix("statebox/")?;
        let release: Release = file.strip_suffix(".yaml")?.parse().ok()?;
        (release.stream() == stream).then_some(release)
    }
}

impl FromStr for Release {
    type Err = InvalidRelease;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let invalid = || InvalidRelease {
            given: s.to_owned(),
        };
        let part = |p: &str| -> Result<u32, InvalidRelease> {
            let canonical = p == "0" || (!p.starts_with('0') && !p.is_empty());
            if !canonical || p.len() > 6 || !p.bytes().all(|b| b.is_ascii_digit()) {
                return Err(invalid());
            }
            p.parse().map_err(|_| invalid())
        };
        let mut parts = s.split('.');
        let (Some(x), Some(y), Some(z), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(invalid());
        };
        Ok(Release {
            major: part(x)?,
            minor: part(y)?,
            patch: part(z)?,
        })
    }
}

impl fmt::Display for Release {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.patch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_z_stream_versions() {
        let r: Release = "4.19.36".parse().unwrap();
        assert_eq!(r.path(), "_releases/4.19/statebox/4.19.36.yaml");
        assert_eq!("0.0.0".parse::<Release>().unwrap().to_string(), "0.0.0");
    }

    #[test]
    fn rejects_anything_else() {
        for bad in [
            "",
            "4.19",
            "4.19.36.1",
            "4.19.x",
            "v4.19.1",
            "4.19.01",
            "../4.19.1",
            "4.19.1/..",
            "4..1",
            " 4.19.1",
            "4.19.1\n",
            "4.19.-1",
            "4.19.+1",
            "1234567.1.1",
            "４.19.1",
        ] {
            let err = bad.parse::<Release>().unwrap_err();
            assert!(err.to_string().contains("X.Y.Z"), "{bad:?}: {err}");
        }
    }

    #[test]
    fn path_round_trips_and_rejects_misfiled_paths() {
        let r: Release = "4.21.1".parse().unwrap();
        assert_eq!(Release::from_path(&r.path()), Some(r));
        assert_eq!(
            Release::from_path("_releases/4.20/statebox/4.21.1.yaml"),
            None
        );
        assert_eq!(Release::from_path("_releases/4.21/other/4.21.1.yaml"), None);
        assert_eq!(
            Release::from_path("_releases/4.21/statebox/4.21.1.yml"),
            None
        );
    }
}
