//! The task catalog: which tasks a release has, their display names, and
//! the other labels status lines have called them by.
//!
//! Release jobs print display names (`task [Push to CDN Staging] status is
//! changed to [Pass]`) while the state file stores task names
//! (`push-to-cdn-staging`); kebab-casing a display name gives the task name.
//! Older jobs printed other labels (the rows of the spreadsheet they used to
//! update: `Pushing to CDN staging`), which are not the kebab case of
//! anything, so each task can carry aliases. Other teams run other tasks, so
//! the catalog is data, loadable from a file:
//!
//! ```text
//! # one task per line: its display name, then any aliases after `|`
//! Run Smoke Tests
//! Sign Off | Final sign-off | QE approval
//! ```
//!
//! Names and aliases match in any case and with any of ` `, `-`, `_` between
//! words. An alias listed under several tasks (old jobs logged one label
//! for two tasks) resolves to the first of them, unless the task is known
//! from context (`ingest --task`): then that one.

use std::path::Path;

/// The release QE catalog the original tool shipped with, with the labels
/// its jobs logged before they printed display names (found in the status
/// lines of the original's record branch history).
const DEFAULT_TASKS: [(&str, &[&str]); 13] = [
    ("Create Test Report", &[]),
    ("Take Ownership", &["Take ownership of advisories"]),
    ("Update Bug List", &["Bug to be verified"]),
    (
        "Image Consistency Check",
        &["Payload-Images Consistency Testing"],
    ),
    ("Analyze Candidate Build", &[]),
    ("Analyze Promoted Build", &[]),
    // Its spreadsheet row shared the label of Check CVE Tracker Bug.
    ("Check Greenwave CVP Tests", &["Check CVE tracker bugs"]),
    ("Check CVE Tracker Bug", &["Check CVE tracker bugs"]),
    ("Push to CDN Staging", &["Pushing to CDN staging"]),
    ("Stage Testing", &[]),
    (
        "Image Signed Check",
        &["Payload image is well signed", "Image signature check"],
    ),
    ("Drop Bugs", &[]),
    (
        "Change Advisory Status",
        &[
            "Approve MR and change advisory status",
            "Add QE approval for shipment MR",
        ],
    ),
];

/// Where a shared default alias resolves without context: to the task whose
/// label it was, not to the one that borrowed it.
const DEFAULT_ALIAS_OWNERS: [(&str, &str); 1] =
    [("Check CVE tracker bugs", "check-cve-tracker-bug")];

/// One task of a catalog.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CatalogEntry {
    /// The task name state files store (the kebab case of the display name).
    pub name: String,
    /// The name release jobs print, as written in the catalog.
    pub display_name: String,
    /// Other labels status lines use for this task, as written.
    pub aliases: Vec<String>,
}

/// The tasks a release has, and how status-line labels resolve to them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Catalog {
    entries: Vec<CatalogEntry>,
    /// Kebab-cased alias -> index into `entries`, in resolution order.
    aliases: Vec<(String, usize)>,
}

/// Why a catalog file could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    /// The file could not be read.
    #[error("cannot read task catalog {path}: {source}")]
    Read {
        /// The catalog file, as shown to the user.
        path: String,
        /// Why reading failed.
        source: std::io::Error,
    },
    /// The file reads but is not a usable catalog.
    #[error("task catalog {path}: {reason}")]
    Invalid {
        /// The catalog file, as shown to the user.
        path: String,
        /// What is wrong, with the line where there is one.
        reason: String,
    },
}

/// `Push to CDN Staging` -> `push-to-cdn-staging`. Also accepts a task name
/// (it is its own kebab case) and tolerates `_`/space separators.
pub fn kebab_case(display_name: &str) -> String {
    // Into one buffer: ingest folds every status line's task name, and a
    // string per word plus a join was a quarter of a dense ingest.
    let mut out = String::with_capacity(display_name.len());
    let words = display_name
        .split(|c: char| c.is_whitespace() || c == '_' || c == '-')
        .filter(|w| !w.is_empty());
    for (i, word) in words.enumerate() {
        if i > 0 {
            out.push('-');
        }
        if word.is_ascii() {
            out.extend(word.bytes().map(|b| char::from(b.to_ascii_lowercase())));
        } else {
            // Whole words, as before: lowercasing is context-sensitive
            // (a final sigma).
            out.push_str(&word.to_lowercase());
        }
    }
    out
}

impl Default for Catalog {
    fn default() -> Self {
        let mut catalog = Catalog::from_tasks(DEFAULT_TASKS.iter().map(|(name, aliases)| {
            (
                name.to_string(),
                aliases.iter().map(|a| a.to_string()).collect(),
            )
        }));
        for (alias, owner) in DEFAULT_ALIAS_OWNERS {
            let key = kebab_case(alias);
            let owner = catalog.entries.iter().position(|e| e.name == owner);
            let at = catalog
                .aliases
                .iter()
                .position(|(a, i)| *a == key && Some(*i) == owner)
                .expect("the owner lists its alias");
            let entry = catalog.aliases.remove(at);
            catalog.aliases.insert(0, entry);
        }
        catalog
    }
}

impl Catalog {
    fn from_tasks(tasks: impl IntoIterator<Item = (String, Vec<String>)>) -> Self {
        let mut catalog = Catalog {
            entries: Vec::new(),
            aliases: Vec::new(),
        };
        for (display_name, aliases) in tasks {
            let index = catalog.entries.len();
            catalog
                .aliases
                .extend(aliases.iter().map(|a| (kebab_case(a), index)));
            catalog.entries.push(CatalogEntry {
                name: kebab_case(&display_name),
                display_name,
                aliases,
            });
        }
        catalog
    }

    /// Reads a catalog file (format in the module docs), so teams can keep
    /// it next to their scripts.
    pub fn from_file(path: &Path) -> Result<Self, CatalogError> {
        let shown = path.display().to_string();
        let invalid = |reason: String| CatalogError::Invalid {
            path: shown.clone(),
            reason,
        };
        let text = std::fs::read_to_string(path).map_err(|source| CatalogError::Read {
            path: shown.clone(),
            source,
        })?;
        let mut tasks = Vec::new();
        for (number, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let mut labels = line.split('|').map(str::trim);
            let display_name = labels.next().unwrap_or_default().to_owned();
            let aliases: Vec<String> = labels.map(str::to_owned).collect();
            if let Some(label) = std::iter::once(&display_name)
                .chain(&aliases)
                .find(|l| kebab_case(l).is_empty())
            {
                return Err(invalid(format!(
                    "line {}: empty task name or alias '{label}'",
                    number + 1
                )));
            }
            tasks.push((display_name, aliases));
        }
        if tasks.is_empty() {
            return Err(invalid("no task names in it".into()));
        }
        let catalog = Catalog::from_tasks(tasks);
        let mut seen = std::collections::HashSet::new();
        for entry in &catalog.entries {
            if !seen.insert(entry.name.as_str()) {
                return Err(invalid(format!(
                    "duplicate task name '{}'",
                    entry.display_name
                )));
            }
        }
        if let Some((alias, _)) = catalog
            .aliases
            .iter()
            .find(|(a, _)| seen.contains(a.as_str()))
        {
            return Err(invalid(format!("alias '{alias}' is also a task name")));
        }
        Ok(catalog)
    }

    /// The tasks, in catalog order.
    pub fn entries(&self) -> &[CatalogEntry] {
        &self.entries
    }

    /// Finds a task by task name, display name or alias, in any case.
    pub fn resolve(&self, label: &str) -> Option<&CatalogEntry> {
        self.resolve_in_context(label, None)
    }

    /// [`Catalog::resolve`], where the task `context` (a task name) is the
    /// one meant if `label` is one of its aliases.
    pub fn resolve_in_context(&self, label: &str, context: Option<&str>) -> Option<&CatalogEntry> {
        let wanted = kebab_case(label);
        if let Some(entry) = self.entries.iter().find(|e| e.name == wanted) {
            return Some(entry);
        }
        let mut matching = self.aliases.iter().filter(|(a, _)| *a == wanted);
        let first = matching.clone().next()?;
        let chosen = matching
            .find(|(_, i)| Some(self.entries[*i].name.as_str()) == context)
            .unwrap_or(first);
        Some(&self.entries[chosen.1])
    }

    /// The task names, in catalog order.
    pub fn names(&self) -> Vec<&str> {
        self.entries.iter().map(|e| e.name.as_str()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        /// One buffer gives what lowercasing each word and joining gave,
        /// non-ASCII words (a final sigma) included.
        #[test]
        fn kebab_case_is_the_words_lowercased_and_joined(name in "[A-Za-z _\\-\t\u{a0}ΣσςÉé1]{0,24}") {
            let joined = name
                .split(|c: char| c.is_whitespace() || c == '_' || c == '-')
                .filter(|w| !w.is_empty())
                .map(str::to_lowercase)
                .collect::<Vec<_>>()
                .join("-");
            proptest::prop_assert_eq!(kebab_case(&name), joined);
        }
    }

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
    fn legacy_labels_map_to_their_tasks() {
        let c = Catalog::default();
        for (label, task) in [
            ("Take ownership of advisories", "take-ownership"),
            ("Take ownership", "take-ownership"),
            ("Check CVE tracker bugs", "check-cve-tracker-bug"),
            ("Pushing to CDN staging", "push-to-cdn-staging"),
            ("Push to CDN staging", "push-to-cdn-staging"),
            (
                "Payload-Images Consistency Testing",
                "image-consistency-check",
            ),
            ("Payload image is well signed", "image-signed-check"),
            ("Image signature check", "image-signed-check"),
            ("Stage testing", "stage-testing"),
            (
                "Approve MR and change advisory status",
                "change-advisory-status",
            ),
            ("Add QE approval for shipment MR", "change-advisory-status"),
            ("Bug to be verified", "update-bug-list"),
        ] {
            assert_eq!(
                c.resolve(label).map(|e| e.name.as_str()),
                Some(task),
                "{label}"
            );
        }
        // The shared label means the task the command is known to run.
        assert_eq!(
            c.resolve_in_context("Check CVE tracker bugs", Some("check-greenwave-cvp-tests"))
                .unwrap()
                .name,
            "check-greenwave-cvp-tests"
        );
        assert_eq!(
            c.resolve_in_context("Check CVE tracker bugs", Some("drop-bugs"))
                .unwrap()
                .name,
            "check-cve-tracker-bug"
        );
    }

    #[test]
    fn loads_a_team_catalog_and_rejects_bad_ones() {
        let dir = tempfile::tempdir().unwrap();
        let good = dir.path().join("good.txt");
        std::fs::write(&good, "# our tasks\nRun Smoke Tests\n\nSign Off\n").unwrap();
        let c = Catalog::from_file(&good).unwrap();
        assert_eq!(c.names(), ["run-smoke-tests", "sign-off"]);

        let aliased = dir.path().join("aliased.txt");
        std::fs::write(&aliased, "Sign Off | Final sign-off | QE approval\nShip\n").unwrap();
        let c = Catalog::from_file(&aliased).unwrap();
        assert_eq!(c.resolve("qe APPROVAL").unwrap().name, "sign-off");
        assert_eq!(c.resolve("final_sign_off").unwrap().name, "sign-off");
        assert!(c.resolve("Sign").is_none());

        for (body, wanted) in [
            ("Sign Off | \n", "line 1: empty task name or alias"),
            (
                "Sign Off | Ship\nShip\n",
                "alias 'ship' is also a task name",
            ),
        ] {
            let bad = dir.path().join("bad.txt");
            std::fs::write(&bad, body).unwrap();
            let err = Catalog::from_file(&bad).unwrap_err().to_string();
            assert!(err.contains("bad.txt") && err.contains(wanted), "{err}");
        }

        let dup = dir.path().join("dup.txt");
        std::fs::write(&dup, "Sign Off\nsign-off\n").unwrap();
        let err = Catalog::from_file(&dup).unwrap_err().to_string();
        assert!(
            err.contains("dup.txt") && err.contains("duplicate task name"),
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
