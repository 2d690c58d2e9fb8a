//! The task catalog: which tasks a release has, and their display names.
//!
//! Release jobs print display names (`task [Push to CDN Staging] status is
//! changed to [Pass]`) while the state file stores task names
//! (`push-to-cdn-staging`); kebab-casing a display name gives the task name.
//! Other teams run other tasks, so the catalog is data, loadable from a file.

use std::path::Path;

/// The release QE catalog the original tool shipped with.
const DEFAULT_DISPLAY_NAMES: [&str; 13] = [
    "Create Test Report",
    "Take Ownership",
    "Update Bug List",
    "Image Consistency Check",
    "Analyze Candidate Build",
    "Analyze Promoted Build",
    "Check Greenwave CVP Tests",
    "Check CVE Tracker Bug",
    "Push to CDN Staging",
    "Stage Testing",
    "Image Signed Check",
    "Drop Bugs",
    "Change Advisory Status",
];

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CatalogEntry {
    pub name: String,
    pub display_name: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Catalog {
    entries: Vec<CatalogEntry>,
}

#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    #[error("cannot read task catalog {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("task catalog {path}: {reason}")]
    Invalid { path: String, reason: String },
}

/// `Push to CDN Staging` -> `push-to-cdn-staging`. Also accepts a task name
/// (it is its own kebab case) and tolerates `_`/space separators.
pub fn kebab_case(display_name: &str) -> String {
    display_name
        .split(|c: char| c.is_whitespace() || c == '_' || c == '-')
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect::<Vec<_>>()
        .join("-")
}

impl Default for Catalog {
    fn default() -> Self {
        Catalog::from_display_names(DEFAULT_DISPLAY_NAMES.iter().map(|s| s.to_string()))
    }
}

impl Catalog {
    fn from_display_names(names: impl IntoIterator<Item = String>) -> Self {
        let entries = names
            .into_iter()
            .map(|display_name| CatalogEntry {
                name: kebab_case(&display_name),
                display_name,
            })
            .collect();
        Catalog { entries }
    }

    /// Reads a catalog file: one display name per line (`#` comments and
    /// blank lines ignored), so teams can keep it next to their scripts.
    pub fn from_file(path: &Path) -> Result<Self, CatalogError> {
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| CatalogError::Read {
            path: shown.clone(),
            source,
        })?;
        let names: Vec<String> = text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .map(str::to_owned)
            .collect();
        if names.is_empty() {
            return Err(CatalogError::Invalid {
                path: shown,
                reason: "no task names in it".into(),
            });
        }
        let catalog = Catalog::from_display_names(names);
        let mut seen = std::collections::HashSet::new();
        for entry in &catalog.entries {
            if entry.name.is_empty() || !seen.insert(entry.name.as_str()) {
                return Err(CatalogError::Invalid {
                    path: shown,
                    reason: format!("duplicate or empty task name '{}'", entry.display_name),
                });
            }
        }
        Ok(catalog)
    }

    pub fn entries(&self) -> &[CatalogEntry] {
        &self.entries
    }

    /// Finds a task by task name or display name, in any case.
    pub fn resolve(&self, name_or_display: &str) -> Option<&CatalogEntry> {
        let wanted = kebab_case(name_or_display);
        self.entries.iter().find(|e| e.name == wanted)
    }

    pub fn names(&self) -> Vec<&str> {
        self.entries.iter().map(|e| e.name.as_str()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_names_kebab_to_task_names() {
        let c = Catalog::default();
        assert_eq!(c.entries().len(), 13);
        assert_eq!(
            c.resolve("Push to CDN Staging").unwrap().name,
            "push-to-cdn-staging"
        );
        assert_eq!(
            c.resolve("Check CVE Tracker Bug").unwrap().name,
            "check-cve-tracker-bug"
        );
        assert_eq!(
            c.resolve("check-greenwave-cvp-tests").unwrap().display_name,
            "Check Greenwave CVP Tests"
        );
        assert!(c.resolve("no-such-task").is_none());
        assert!(c.resolve("").is_none());
    }

    #[test]
    fn loads_a_team_catalog_and_rejects_bad_ones() {
        let dir = tempfile::tempdir().unwrap();
        let good = dir.path().join("good.txt");
        std::fs::write(&good, "# our tasks\nRun Smoke Tests\n\nSign Off\n").unwrap();
        let c = Catalog::from_file(&good).unwrap();
        assert_eq!(c.names(), ["run-smoke-tests", "sign-off"]);

        let dup = dir.path().join("dup.txt");
        std::fs::write(&dup, "Sign Off\nsign-off\n").unwrap();
        let err = Catalog::from_file(&dup).unwrap_err().to_string();
        assert!(
            err.contains("dup.txt") && err.contains("duplicate"),
            "{err}"
        );

        let empty = dir.path().join("empty.txt");
        std::fs::write(&empty, "# nothing\n").unwrap();
        assert!(
            Catalog::from_file(&empty)
                .unwrap_err()
                .to_string()
                .contains("no task names")
        );

        let missing = Catalog::from_file(&dir.path().join("nope.txt")).unwrap_err();
        assert!(missing.to_string().contains("nope.txt"));
    }
}
