//! Release versions and where their state file lives on the branch.

use std::cmp::Ordering;
use std::fmt;
use std::str::FromStr;

/// A release such as `4.19.36`, `4.21.0-rc.1` or `5.0.0-ec.3`: what the
/// original accepts (`semver.Version.parse`), a SemVer 2.0 version.
///
/// Pre-release and build identifiers are `[0-9A-Za-z-]` separated by dots,
/// so a version can never name a path outside its folder.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Release(semver::Version);

/// A text that is not a release version.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "invalid release '{given}': expected a version X.Y.Z, optionally with a pre-release such as 4.21.0-rc.1 ({reason})"
)]
pub struct InvalidRelease {
    /// The text as given.
    pub given: String,
    /// What SemVer parsing (or the length limit) rejected.
    pub reason: String,
}

/// Folder on the branch that holds every state file.
pub const RELEASES_DIR: &str = "_releases";

/// Longest version accepted: it becomes a file name (255 bytes on most file
/// systems, with `.yaml` after it).
const MAX_LEN: usize = 200;

impl Release {
    /// `4.19` for `4.19.36` and for `4.19.0-rc.1`: the folder the release is
    /// filed under.
    pub fn stream(&self) -> String {
        format!("{}.{}", self.0.major, self.0.minor)
    }

    /// `_releases/4.19/statebox/4.19.36.yaml`.
    pub fn path(&self) -> String {
        format!("{RELEASES_DIR}/{}/statebox/{self}.yaml", self.stream())
    }

    /// True for a pre-release (`4.21.0-rc.1`): it sorts below `4.21.0`.
    pub fn is_prerelease(&self) -> bool {
        !self.0.pre.is_empty()
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

/// SemVer precedence (`4.21.0-ec.3 < 4.21.0-rc.1 < 4.21.0 < 4.21.1`);
/// versions that differ only in build metadata, equal in precedence, are
/// ordered by it so that the order is total.
impl Ord for Release {
    fn cmp(&self, other: &Self) -> Ordering {
        self.0
            .cmp_precedence(&other.0)
            .then_with(|| self.0.build.cmp(&other.0.build))
    }
}

impl PartialOrd for Release {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl FromStr for Release {
    type Err = InvalidRelease;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let invalid = |reason: String| InvalidRelease {
            given: s.to_owned(),
            reason,
        };
        if s.len() > MAX_LEN {
            return Err(invalid(format!("longer than {MAX_LEN} bytes")));
        }
        // The semver crate accepts what SemVer 2.0 (and Python's semver)
        // does, except that it allows a leading zero in a numeric
        // pre-release identifier (`1.0.0-01`), which SemVer forbids.
        let version = semver::Version::parse(s).map_err(|e| invalid(e.to_string()))?;
        if let Some(id) = version.pre.split('.').find(|id| {
            id.len() > 1 && id.starts_with('0') && id.bytes().all(|b| b.is_ascii_digit())
        }) {
            return Err(invalid(format!(
                "leading zero in numeric pre-release identifier '{id}'"
            )));
        }
        Ok(Release(version))
    }
}

impl fmt::Display for Release {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn release(s: &str) -> Release {
        s.parse().unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    #[test]
    fn accepts_z_stream_versions_and_pre_releases() {
        assert_eq!(
            release("4.19.36").path(),
            "_releases/4.19/statebox/4.19.36.yaml"
        );
        assert_eq!(
            release("4.21.0-rc.1").path(),
            "_releases/4.21/statebox/4.21.0-rc.1.yaml"
        );
        assert_eq!(
            release("5.0.0-ec.3").path(),
            "_releases/5.0/statebox/5.0.0-ec.3.yaml"
        );
        assert!(release("4.22.0-rc.5").is_prerelease());
        assert!(!release("4.22.0").is_prerelease());
        // SemVer allows build metadata, and so does the original.
        assert_eq!(
            release("4.19.1+build.05").path(),
            "_releases/4.19/statebox/4.19.1+build.05.yaml"
        );
        for text in ["0.0.0", "4.21.0-0a", "4.21.0-x-y.7", "4.21.0-rc.1+b.2"] {
            assert_eq!(release(text).to_string(), text);
        }
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
            "4.19.1-rc/../../x",
            "4.19.1-../x",
            "4.19.1-rc.1/",
            "4.19.1-",
            "4.19.1-rc..1",
            "4.19.1-rc_1",
            "4.19.1-01",
            "4.19.1-rc.00",
            "4.19.1+",
            "4.19.1+a/b",
            "4..1",
            " 4.19.1",
            "4.19.1\n",
            "4.19.-1",
            "4.19.+1",
            "99999999999999999999.1.1",
            "４.19.1",
            "4.19.1-ｒc",
        ] {
            let err = bad.parse::<Release>().unwrap_err();
            assert!(err.to_string().contains("X.Y.Z"), "{bad:?}: {err}");
            assert_eq!(err.given, bad);
        }
        let long = format!("4.19.1-{}", "a".repeat(MAX_LEN));
        assert!(
            long.parse::<Release>()
                .unwrap_err()
                .reason
                .contains("longer")
        );
    }

    #[test]
    fn sorts_by_semver_precedence() {
        let mut releases: Vec<Release> = [
            "4.21.1",
            "4.21.0",
            "4.21.0-rc.1",
            "4.21.0-ec.3",
            "4.21.0-rc.10",
            "4.21.0-rc.2",
            "4.9.0",
            "5.0.0-ec.3",
            "4.21.0-rc",
            "4.21.0+b",
        ]
        .iter()
        .map(|s| release(s))
        .collect();
        releases.sort();
        let sorted: Vec<String> = releases.iter().map(Release::to_string).collect();
        assert_eq!(
            sorted,
            [
                "4.9.0",
                "4.21.0-ec.3",
                "4.21.0-rc",
                "4.21.0-rc.1",
                "4.21.0-rc.2",
                "4.21.0-rc.10",
                "4.21.0",
                "4.21.0+b",
                "4.21.1",
                "5.0.0-ec.3",
            ]
        );
    }

    #[test]
    fn path_round_trips_and_rejects_misfiled_paths() {
        for text in ["4.21.1", "4.21.0-rc.1", "5.0.0-ec.3", "4.19.1+b.1"] {
            let r = release(text);
            assert_eq!(Release::from_path(&r.path()), Some(r));
        }
        for misfiled in [
            "_releases/4.20/statebox/4.21.1.yaml",
            "_releases/4.21/other/4.21.1.yaml",
            "_releases/4.21/statebox/4.21.1.yml",
            "_releases/4.21/statebox/4.21.0-rc.1",
            "_releases/4.21.0/statebox/4.21.0-rc.1.yaml",
            "_releases/4.21/statebox/x/4.21.1.yaml",
            "_releases/4.21/4.21.z.yaml",
        ] {
            assert_eq!(Release::from_path(misfiled), None, "{misfiled}");
        }
    }
}
