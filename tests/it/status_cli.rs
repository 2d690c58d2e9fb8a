//! `statebox status` on a branch with damaged entries: each one named on
//! stderr with why, every other release still shown, exit 5.

use crate::support::*;
use std::path::Path;
use std::process::Output;

/// A state file that stops parsing at its line 4.
const BROKEN: &[u8] =
    b"release: 4.19.2\ntasks:\n  - name: stage-testing\n    status: Pass: again\n";

fn seed(repo: &Path, releases: &[&str]) {
    for release in releases {
        ok(
            repo,
            &[
                "task",
                "set",
                "-r",
                release,
                "stage-testing",
                "--status",
                "Pass",
            ],
        );
    }
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn releases_in(json: &str) -> Vec<String> {
    let value: serde_json::Value = serde_json::from_str(json).unwrap();
    value
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["release"].as_str().unwrap().to_owned())
        .collect()
}

/// Runs `status` (human, then --json) and requires exit 5 from both.
fn damaged_status(repo: &Path, store: &[&str]) -> (Output, Output) {
    let human = statebox(repo, &[&["status"], store].concat());
    let json = statebox(repo, &[&["status", "--json"], store].concat());
    for out in [&human, &json] {
        assert_eq!(
            out.status.code(),
            Some(5),
            "stdout {} stderr {}",
            text(&out.stdout),
            text(&out.stderr)
        );
        assert!(
            !text(&out.stderr).contains("nothing was written"),
            "a read writes nothing: {}",
            text(&out.stderr)
        );
    }
    (human, json)
}

#[test]
fn status_names_each_damaged_entry_of_a_git_branch_and_shows_the_rest() {
    let repo = new_repo();
    let r = repo.path();
    seed(r, &["4.19.1", "4.20.1"]);
    commit_raw(r, "_releases/4.19/statebox/4.19.2.yaml", BROKEN);
    // A folder where 4.20.2's state file would be.
    commit_raw(
        r,
        "_releases/4.20/statebox/4.20.2.yaml/note",
        b"not a state\n",
    );
    let before = tip(r, "record");
    let (human, json) = damaged_status(r, &[]);
    assert_eq!(tip(r, "record"), before, "a read moved the branch");

    let table = text(&human.stdout);
    assert!(table.starts_with("RELEASE"), "{table}");
    for good in ["4.19.1", "4.20.1"] {
        assert!(
            table.contains(&format!("\n{good} ")),
            "{good} missing: {table}"
        );
    }
    assert_eq!(releases_in(&text(&json.stdout)), ["4.19.1", "4.20.1"]);

    for out in [&human, &json] {
        let err = text(&out.stderr);
        assert!(
            err.contains("_releases/4.19/statebox/4.19.2.yaml: invalid YAML at line 4,"),
            "{err}"
        );
        assert!(
            err.contains("_releases/4.20/statebox/4.20.2.yaml: is not a file"),
            "{err}"
        );
        assert!(err.contains("2 entries"), "{err}");
    }
}

#[test]
fn status_names_a_folder_and_a_broken_file_in_a_dir_store() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();
    let store = ["--dir", d];
    for release in ["4.19.1", "4.20.1"] {
        ok(dir.path(), &[&["init", "-r", release][..], &store].concat());
    }
    let folder = dir.path().join("_releases/4.20/statebox/4.20.2.yaml");
    std::fs::create_dir_all(&folder).unwrap();
    std::fs::write(
        dir.path().join("_releases/4.19/statebox/4.19.2.yaml"),
        BROKEN,
    )
    .unwrap();

    let (human, json) = damaged_status(dir.path(), &store);
    let table = text(&human.stdout);
    assert!(
        table.contains("\n4.19.1 ") && table.contains("\n4.20.1 "),
        "{table}"
    );
    assert_eq!(releases_in(&text(&json.stdout)), ["4.19.1", "4.20.1"]);
    let err = text(&human.stderr);
    assert!(
        err.contains("_releases/4.20/statebox/4.20.2.yaml: is a folder, not a file"),
        "{err}"
    );
    assert!(
        err.contains("_releases/4.19/statebox/4.19.2.yaml: invalid YAML at line 4,"),
        "{err}"
    );
}

/// Entries where state belongs that cannot be state, each with what
/// `status` says of it: (path, content, problem).
pub(crate) const MISPLACED: [(&str, &[u8], &str); 6] = [
    (
        "_releases/4.22",
        b"x\n",
        "is a file where the folder of y-stream 4.22 should be",
    ),
    (
        "_releases/4.21/statebox",
        b"x\n",
        "is a file where the folder of state files should be",
    ),
    (
        "_releases/4.19/statebox/4.20.5.yaml",
        b"release: 4.20.5\n",
        "holds release 4.20.5, whose state belongs in _releases/4.20/statebox/4.20.5.yaml",
    ),
    (
        "_releases/4.19/statebox/notes.yaml",
        b"x: 1\n",
        "is not named for a release (X.Y.Z.yaml)",
    ),
    (
        "_releases/4.19/statebox/old/4.19.0.yaml",
        b"release: 4.19.0\n",
        "is a folder among the state files (X.Y.Z.yaml)",
    ),
    (
        "_releases/4.19/statebox/README.md",
        b"notes\n",
        "is not a state file (state files are named X.Y.Z.yaml)",
    ),
];

/// Files of other tools under `_releases/`, which are none of statebox's
/// business: the original's tracking file, a note, a hidden file.
pub(crate) const NOT_OURS: [&str; 3] = [
    "_releases/4.19/4.19.36.yaml",
    "_releases/README.md",
    "_releases/4.19/statebox/.gitkeep",
];

/// The path `status` names for a MISPLACED entry: the folder, for one
/// whose path goes on inside it.
fn named_path(path: &str) -> &str {
    path.strip_suffix("/4.19.0.yaml").unwrap_or(path)
}

/// Requires `status` (human and --json, exit 5) to name every MISPLACED
/// entry, leave NOT_OURS unnamed, and show the releases 4.19.1 and 4.20.1.
pub(crate) fn check_misplaced_are_named(human: &Output, json: &Output) {
    assert!(
        text(&human.stdout).contains("\n4.19.1 "),
        "{}",
        text(&human.stdout)
    );
    assert!(
        text(&human.stdout).contains("\n4.20.1 "),
        "{}",
        text(&human.stdout)
    );
    assert_eq!(releases_in(&text(&json.stdout)), ["4.19.1", "4.20.1"]);
    for out in [human, json] {
        assert_eq!(out.status.code(), Some(5), "{}", text(&out.stderr));
        let err = text(&out.stderr);
        for (path, _, problem) in MISPLACED {
            let line = format!("statebox: {}: {problem}\n", named_path(path));
            assert!(err.contains(&line), "{line:?} missing from:\n{err}");
        }
        for path in NOT_OURS {
            assert!(!err.contains(path), "{path} named:\n{err}");
        }
        assert!(err.contains("6 entries on "), "{err}");
        assert!(!err.contains("nothing was written"), "{err}");
    }
}

#[test]
fn status_names_entries_misplaced_on_a_git_branch() {
    let repo = new_repo();
    let r = repo.path();
    seed(r, &["4.19.1", "4.20.1"]);
    for (path, content, _) in MISPLACED {
        commit_raw(r, path, content);
    }
    for path in NOT_OURS {
        commit_raw(r, path, b"other: tool\n");
    }
    let before = tip(r, "record");
    check_misplaced_are_named(
        &statebox(r, &["status"]),
        &statebox(r, &["status", "--json"]),
    );
    // A filtered status asks about releases, which no misplaced entry is.
    let out = statebox(r, &["status", "-r", "4.19.1"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(text(&out.stderr).is_empty(), "{}", text(&out.stderr));
    let out = statebox(r, &["validate"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    for (path, _, problem) in MISPLACED {
        let line = format!("{}: {problem}", named_path(path));
        assert!(
            text(&out.stdout).contains(&line),
            "{line}: {}",
            text(&out.stdout)
        );
    }
    assert_eq!(tip(r, "record"), before, "a read moved the branch");
}

#[test]
fn status_names_entries_misplaced_in_a_dir_store() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();
    for release in ["4.19.1", "4.20.1"] {
        ok(dir.path(), &["init", "-r", release, "--dir", d]);
    }
    for (path, content, _) in MISPLACED {
        let file = dir.path().join(path);
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        std::fs::write(file, content).unwrap();
    }
    for path in NOT_OURS {
        std::fs::write(dir.path().join(path), b"other: tool\n").unwrap();
    }
    check_misplaced_are_named(
        &statebox(dir.path(), &["status", "--dir", d]),
        &statebox(dir.path(), &["status", "--json", "--dir", d]),
    );
}

/// Only the damaged release's own reads fail; the message is the read's.
#[test]
fn status_damage_reads_other_than_status_name_the_file_without_claiming_a_write() {
    let repo = new_repo();
    let r = repo.path();
    seed(r, &["4.19.1"]);
    commit_raw(r, "_releases/4.19/statebox/4.19.2.yaml", BROKEN);
    let err = fails(r, &["show", "-r", "4.19.2"], 5);
    assert!(err.contains("4.19.2.yaml: invalid YAML"), "{err}");
    assert!(!err.contains("nothing was written"), "{err}");
    ok(r, &["show", "-r", "4.19.1"]);
    // A write still says that it wrote nothing.
    let err = fails(r, &["issue", "add", "-r", "4.19.2", "x"], 5);
    assert!(err.contains("nothing was written"), "{err}");
}

/// `release_date` `days` from today (UTC), as the original writes it.
fn release_date(days: i64) -> String {
    let today = chrono::Utc::now().date_naive();
    format!(
        "release_date={}",
        (today + chrono::Duration::days(days)).format("%Y-%b-%d")
    )
}

/// Releases and their `release_date` offsets, far from the one-day edge
/// so that the day the test runs on does not matter.
fn filtered_repo() -> tempfile::TempDir {
    let repo = new_repo();
    let r = repo.path();
    for (release, days) in [
        ("4.19.1", 10),      // active by date, but 4.19.2 is newer
        ("4.19.2", 10),      // 4.19's latest: active
        ("4.20.1", -10),     // 4.20's latest, released long ago
        ("4.21.0-rc.1", 10), // below 4.21.0 by SemVer
        ("4.21.0", 0),       // 4.21's latest: active
    ] {
        ok(r, &["meta", "set", "-r", release, &release_date(days)]);
    }
    repo
}

fn shown(repo: &Path, filters: &[&str]) -> Vec<String> {
    releases_in(&ok(repo, &[&["status", "--json"], filters].concat()))
}

#[test]
fn status_filters_by_release_y_stream_and_activity_and_combines_them() {
    let repo = filtered_repo();
    let r = repo.path();
    assert_eq!(
        shown(r, &["-r", "4.20.1", "-r", "4.19.1"]),
        ["4.19.1", "4.20.1"]
    );
    assert_eq!(shown(r, &["--y-stream", "4.19"]), ["4.19.1", "4.19.2"]);
    assert_eq!(
        shown(r, &["--y-stream", "4.21", "--y-stream", "4.20"]),
        ["4.20.1", "4.21.0-rc.1", "4.21.0"]
    );
    assert_eq!(shown(r, &["--active"]), ["4.19.2", "4.21.0"]);
    assert_eq!(shown(r, &["--active", "--y-stream", "4.21"]), ["4.21.0"]);
    assert_eq!(
        shown(r, &["--y-stream", "4.19", "-r", "4.20.1"]),
        Vec::<String>::new()
    );
    let table = ok(r, &["status", "--active", "-r", "4.19.1"]);
    assert!(
        table.contains("no release on") && table.contains("passes the filters"),
        "{table}"
    );
    let table = ok(r, &["status", "--active"]);
    assert!(
        table.contains("\n4.19.2 ") && !table.contains("4.19.1"),
        "{table}"
    );
}

#[test]
fn status_filters_refuse_what_names_nothing() {
    let repo = filtered_repo();
    let r = repo.path();
    let err = fails(r, &["status", "-r", "4.19.1", "-r", "4.19.9"], 3);
    assert!(err.contains("release 4.19.9 has no state"), "{err}");
    fails(r, &["status", "-r", "4.19"], 4);
    let err = fails(r, &["status", "--y-stream", "4.x"], 4);
    assert!(err.contains("invalid y-stream '4.x'"), "{err}");
}

/// A damaged file is named when the filters could have shown it, and only then.
#[test]
fn status_filters_name_only_the_damage_they_could_have_shown() {
    let repo = filtered_repo();
    let r = repo.path();
    commit_raw(r, "_releases/4.19/statebox/4.19.3.yaml", BROKEN);
    let out = statebox(r, &["status", "--y-stream", "4.21", "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        !text(&out.stderr).contains("4.19.3"),
        "{}",
        text(&out.stderr)
    );
    // 4.19.3 is now 4.19's latest: whether it is active cannot be read.
    let out = statebox(r, &["status", "--active", "--json"]);
    assert_eq!(out.status.code(), Some(5), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("4.19.3.yaml: invalid YAML"),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(releases_in(&text(&out.stdout)), ["4.21.0"]);
}

/// The service applies the same rule (one implementation, in the library):
/// the dashboard's active selection, through `report --active`, shows
/// exactly the releases `status --active` does.
#[test]
fn status_active_and_the_dashboard_agree() {
    let repo = filtered_repo();
    let r = repo.path();
    let html = ok(r, &["report", "--html", "--active"]);
    let version = regex::Regex::new(r"\b4\.\d+\.\d+(-rc\.1)?\b").unwrap();
    let mut named: Vec<String> = version
        .find_iter(&html)
        .map(|m| m.as_str().to_owned())
        .collect();
    named.sort();
    named.dedup();
    assert_eq!(named, shown(r, &["--active"]));
}

/// The dashboard (and `report --html`) lists releases newest first in
/// SemVer order, as `status` does: a release candidate below its release.
#[test]
fn the_dashboard_lists_releases_newest_first_by_semver() {
    let repo = filtered_repo();
    let r = repo.path();
    let html = ok(r, &["report", "--html"]);
    let version = regex::Regex::new(r"\b4\.\d+\.\d+(-rc\.1)?\b").unwrap();
    let mut order: Vec<String> = Vec::new();
    for found in version.find_iter(&html) {
        if !order.iter().any(|o| o == found.as_str()) {
            order.push(found.as_str().to_owned());
        }
    }
    let mut newest_first = shown(r, &[]);
    newest_first.reverse();
    assert_eq!(order, newest_first);
}

/// `status` with its summary cache in `cache`.
fn cached_status(repo: &Path, cache: &Path, args: &[&str]) -> Output {
    statebox_env(
        repo,
        &[&["status"], args].concat(),
        &[("XDG_CACHE_HOME", cache.as_os_str())],
    )
}

/// The cache file's keys, most recently used first.
fn cached_keys(cache: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(cache.join("statebox/summaries.jsonl")).unwrap();
    text.lines()
        .skip(1)
        .map(|line| {
            serde_json::from_str::<serde_json::Value>(line).unwrap()["key"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect()
}

#[test]
fn status_reuses_a_summary_only_while_the_file_is_the_same() {
    let repo = new_repo();
    let r = repo.path();
    let cache = tempfile::tempdir().unwrap();
    seed(r, &["4.19.1", "4.19.2"]);
    commit_raw(r, "_releases/4.19/statebox/4.19.3.yaml", BROKEN);
    let blob = |release: &str| {
        git(
            r,
            &[
                "rev-parse",
                &format!("record:_releases/4.19/statebox/{release}.yaml"),
            ],
        )
    };
    let uncached = statebox(r, &["status", "--json"]);

    let first = cached_status(r, cache.path(), &["--json"]);
    assert_eq!(first.status.code(), Some(5), "{}", text(&first.stderr));
    assert_eq!(first.stdout, uncached.stdout, "the cache changes no figure");
    let keys = cached_keys(cache.path());
    assert_eq!(
        keys,
        [
            format!("4.19.1 {}", blob("4.19.1")),
            format!("4.19.2 {}", blob("4.19.2"))
        ]
    );

    // A kept summary is what the next run shows, unread: plant a figure
    // no file has and see it come back.
    let file = cache.path().join("statebox/summaries.jsonl");
    let planted = std::fs::read_to_string(&file)
        .unwrap()
        .replace("\"pass\":1", "\"pass\":41");
    std::fs::write(&file, planted).unwrap();
    let second = cached_status(r, cache.path(), &["--json"]);
    let shown: serde_json::Value = serde_json::from_slice(&second.stdout).unwrap();
    assert_eq!(shown[0]["tasks"]["pass"], 41, "{shown}");
    // The broken file is read, and named, every time.
    assert!(
        text(&second.stderr).contains("4.19.3.yaml: invalid YAML"),
        "{}",
        text(&second.stderr)
    );

    // New content is read: the planted figure of the old blob is not used.
    ok(
        r,
        &[
            "task",
            "set",
            "-r",
            "4.19.1",
            "stage-testing",
            "--status",
            "Fail",
        ],
    );
    let third = cached_status(r, cache.path(), &[]);
    let table = text(&third.stdout);
    let line = table.lines().find(|l| l.starts_with("4.19.1 ")).unwrap();
    assert!(line.starts_with("4.19.1     Red"), "{table}");
    assert_eq!(
        cached_keys(cache.path())[0],
        format!("4.19.1 {}", blob("4.19.1"))
    );
}

#[test]
fn status_works_on_when_its_cache_cannot_be_written() {
    let repo = new_repo();
    let r = repo.path();
    seed(r, &["4.19.1"]);
    let blocked = tempfile::tempdir().unwrap();
    // The cache folder's place is taken by a file.
    std::fs::write(blocked.path().join("statebox"), "not a folder").unwrap();
    let out = cached_status(r, blocked.path(), &["--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(releases_in(&text(&out.stdout)), ["4.19.1"]);
    let err = text(&out.stderr);
    let file = blocked.path().join("statebox/summaries.jsonl");
    assert!(
        err.contains(&format!(
            "the summary cache {} could not be saved",
            file.display()
        )),
        "{err}"
    );
}
