//! A release at a glance, as `statebox status` shows it, and a cache of
//! those glances keyed by the content they were read from.
//!
//! Summing up a branch of 15,000 releases means parsing 15,000 files (some
//! 150 MB of YAML): seconds. Between two runs of `status` a write changes
//! one of them. A store that names each file's content (git's blob id,
//! which the GitHub API reports too) lets a summary be read once and reused
//! until the content changes. The ids are hashes of the bytes, so one
//! cache file serves every clone and store on the machine.

use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::model::{Health, State, Status};
use crate::release::Release;
use crate::schema::to_json;

/// The figures `status` shows of one state, and no more: a branch of
/// 15,000 releases is summed up one state at a time, so memory does not
/// grow with each state's tasks and issues.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    /// [`State::health`].
    pub health: Health,
    /// Tasks in all, then by status.
    pub tasks: u32,
    /// Tasks that passed.
    pub pass: u32,
    /// Tasks that failed.
    pub fail: u32,
    /// Tasks in progress.
    pub in_progress: u32,
    /// Tasks not started.
    pub not_started: u32,
    /// Issues not resolved.
    pub open_issues: u32,
    /// Issues not resolved that block the release.
    pub open_blockers: u32,
    /// Issues in all.
    pub issues: u32,
    /// The state's `updated_at`, as written.
    pub updated_at: String,
    /// Its metadata's `release_date`, which decides `--active`.
    pub release_date: Option<String>,
}

impl Summary {
    /// The figures of `state`.
    pub fn of(state: &State) -> Self {
        // Counts are u32 to keep a summary small (15,000 are held at once);
        // a state file of four billion tasks cannot be read anyway.
        let tally = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
        let count =
            |status: Status| tally(state.tasks.iter().filter(|t| t.status == status).count());
        let open = || state.issues.iter().filter(|i| !i.resolved);
        Summary {
            health: state.health(),
            tasks: tally(state.tasks.len()),
            pass: count(Status::Pass),
            fail: count(Status::Fail),
            in_progress: count(Status::InProgress),
            not_started: count(Status::NotStarted),
            open_issues: tally(open().count()),
            open_blockers: tally(open().filter(|i| i.blocker).count()),
            issues: tally(state.issues.len()),
            updated_at: state.updated_at.clone(),
            release_date: state
                .metadata
                .get("release_date")
                .and_then(|date| to_json(date).as_str().map(str::to_owned)),
        }
    }
}

/// The cache file's first line. A summary is a function of the bytes and
/// of the rules above; `RULES` changes whenever [`Summary::of`] would give
/// another answer for the same bytes, and a file written under other rules
/// (or by another statebox version) is not read.
const RULES: u32 = 1;

/// How many summaries the file keeps: the most recently written. 100,000
/// is a few large branches' worth, some 25 MB. A summary dropped for age is
/// read again, once, the next time it is needed.
const KEPT: usize = 100_000;

#[derive(Serialize, Deserialize, PartialEq)]
struct Header {
    statebox: String,
    rules: u32,
}

impl Header {
    fn current() -> Self {
        Header {
            statebox: env!("CARGO_PKG_VERSION").to_owned(),
            rules: RULES,
        }
    }
}

#[derive(Serialize, Deserialize)]
struct Line {
    /// `4.19.3 <content id>`: the same bytes can be one release's state and
    /// another's wrong file, so the release is part of the key.
    key: String,
    summary: Summary,
}

/// A line of the file read for its key alone.
#[derive(Deserialize)]
struct KeyOnly {
    key: String,
}

/// Summaries by release and content id, kept in one file of a cache
/// folder. Only summaries of states that were read whole and judged good
/// are kept; a file that cannot be read is read (and named) every time.
///
/// The file may hold other branches' summaries too; only the ones asked
/// for are held in memory, so a run's memory follows its own branch.
pub struct SummaryCache {
    file: PathBuf,
    found: HashMap<String, Summary>,
    fresh: Vec<Line>,
}

impl SummaryCache {
    /// The summaries kept in `folder` for the `wanted` releases and
    /// content ids. A missing, unreadable or foreign file is an empty
    /// cache: the cache only ever saves time.
    pub fn open<'a>(
        folder: &Path,
        wanted: impl IntoIterator<Item = (&'a Release, &'a str)>,
    ) -> Self {
        let file = folder.join("summaries.jsonl");
        let wanted: HashSet<String> = wanted.into_iter().map(|(r, id)| key(r, id)).collect();
        let mut found = HashMap::with_capacity(wanted.len());
        if let Some(lines) = current_lines(&file) {
            for line in lines.filter_map(|line| serde_json::from_str::<Line>(&line).ok()) {
                if wanted.contains(&line.key) {
                    found.entry(line.key).or_insert(line.summary);
                }
            }
        }
        SummaryCache {
            file,
            found,
            fresh: Vec::new(),
        }
    }

    /// Where the cache is kept.
    pub fn file(&self) -> &Path {
        &self.file
    }

    /// The summary of `release` read from content `content_id`, if kept
    /// and asked for at `open`; each is handed out once.
    pub fn take(&mut self, release: &Release, content_id: &str) -> Option<Summary> {
        self.found.remove(&key(release, content_id))
    }

    /// Keeps `summary`, read from content `content_id` of `release`.
    pub fn insert(&mut self, release: &Release, content_id: &str, summary: Summary) {
        self.fresh.push(Line {
            key: key(release, content_id),
            summary,
        });
    }

    /// Writes the file anew if this run read summaries it did not have:
    /// those first, then the file's others as they were, up to [`KEPT`].
    /// The new file replaces the old by a rename, so a reader racing this
    /// writer sees one or the other whole.
    pub fn save(&self) -> std::io::Result<()> {
        if self.fresh.is_empty() {
            return Ok(());
        }
        let folder = self.file.parent().expect("the file is in a folder");
        std::fs::create_dir_all(folder)?;
        let mut out = tempfile::NamedTempFile::new_in(folder)?;
        {
            let mut writer = std::io::BufWriter::new(out.as_file_mut());
            serde_json::to_writer(&mut writer, &Header::current())?;
            writer.write_all(b"\n")?;
            let mut written = HashSet::new();
            for line in &self.fresh {
                if written.insert(line.key.clone()) {
                    serde_json::to_writer(&mut writer, line)?;
                    writer.write_all(b"\n")?;
                }
            }
            let older = current_lines(&self.file)
                .into_iter()
                .flatten()
                .filter(|line| {
                    serde_json::from_str::<KeyOnly>(line)
                        .is_ok_and(|only| !written.contains(&only.key))
                });
            for line in older.take(KEPT.saturating_sub(written.len())) {
                writer.write_all(line.as_bytes())?;
                writer.write_all(b"\n")?;
            }
            writer.flush()?;
        }
        out.persist(&self.file).map_err(|e| e.error)?;
        Ok(())
    }
}

/// The lines after the header of the cache file, if it was written under
/// the current rules.
fn current_lines(file: &Path) -> Option<impl Iterator<Item = String>> {
    let mut lines = BufReader::new(File::open(file).ok()?)
        .lines()
        .map_while(Result::ok);
    let header: Header = serde_json::from_str(&lines.next()?).ok()?;
    (header == Header::current()).then_some(lines)
}

fn key(release: &Release, content_id: &str) -> String {
    format!("{release} {content_id}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn summary(updated_at: &str) -> Summary {
        Summary {
            health: Health::Green,
            tasks: 3,
            pass: 1,
            fail: 0,
            in_progress: 1,
            not_started: 1,
            open_issues: 2,
            open_blockers: 0,
            issues: 4,
            updated_at: updated_at.into(),
            release_date: Some("2026-12-01".into()),
        }
    }

    #[test]
    fn keeps_summaries_by_release_and_content_across_runs() {
        let folder = tempfile::tempdir().unwrap();
        let (a, b): (Release, Release) = ("4.19.3".parse().unwrap(), "4.19.4".parse().unwrap());
        let mut cache = SummaryCache::open(folder.path(), [(&a, "f00d")]);
        assert_eq!(cache.take(&a, "f00d"), None);
        cache.insert(&a, "f00d", summary("one"));
        cache.save().unwrap();

        let wanted = [(&a, "f00d"), (&b, "f00d"), (&a, "beef")];
        let mut cache = SummaryCache::open(folder.path(), wanted);
        assert_eq!(cache.take(&a, "f00d"), Some(summary("one")));
        assert_eq!(
            cache.take(&b, "f00d"),
            None,
            "the same bytes at another release"
        );
        assert_eq!(cache.take(&a, "beef"), None, "other bytes");
        let mut unasked = SummaryCache::open(folder.path(), []);
        assert_eq!(
            unasked.take(&a, "f00d"),
            None,
            "only what was asked for is held"
        );
    }

    #[test]
    fn a_file_of_other_rules_or_garbage_is_an_empty_cache() {
        let folder = tempfile::tempdir().unwrap();
        let a: Release = "4.19.3".parse().unwrap();
        let mut cache = SummaryCache::open(folder.path(), []);
        cache.insert(&a, "f00d", summary("one"));
        cache.save().unwrap();
        let file = folder.path().join("summaries.jsonl");
        let text = std::fs::read_to_string(&file).unwrap();
        let older = text.replacen(&format!("\"rules\":{RULES}"), "\"rules\":0", 1);
        assert_ne!(older, text);
        std::fs::write(&file, older).unwrap();
        assert_eq!(
            SummaryCache::open(folder.path(), [(&a, "f00d")]).take(&a, "f00d"),
            None
        );

        std::fs::write(&file, b"\xff\xfe not json\n{}\n").unwrap();
        assert_eq!(
            SummaryCache::open(folder.path(), [(&a, "f00d")]).take(&a, "f00d"),
            None
        );
    }

    #[test]
    fn keeps_the_newest_first_and_drops_a_bad_line_alone() {
        let folder = tempfile::tempdir().unwrap();
        let a: Release = "4.19.3".parse().unwrap();
        let mut cache = SummaryCache::open(folder.path(), []);
        cache.insert(&a, "1", summary("one"));
        cache.insert(&a, "2", summary("two"));
        cache.save().unwrap();
        let mut cache = SummaryCache::open(folder.path(), []);
        cache.insert(&a, "3", summary("three"));
        cache.insert(&a, "1", summary("one again"));
        cache.save().unwrap();
        let file = folder.path().join("summaries.jsonl");
        let text = std::fs::read_to_string(&file).unwrap();
        let keys: Vec<&str> = text
            .lines()
            .skip(1)
            .map(|line| line.split('"').nth(3).unwrap())
            .collect();
        assert_eq!(keys, ["4.19.3 3", "4.19.3 1", "4.19.3 2"]);

        std::fs::write(&file, text.replacen("4.19.3 3\"", "4.19.3 3\" broken", 1)).unwrap();
        let wanted = [(&a, "1"), (&a, "2"), (&a, "3")];
        let mut cache = SummaryCache::open(folder.path(), wanted);
        assert_eq!(cache.take(&a, "3"), None);
        assert_eq!(cache.take(&a, "1"), Some(summary("one again")));
        assert_eq!(cache.take(&a, "2"), Some(summary("two")));
    }
}
