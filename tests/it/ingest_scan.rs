//! The streaming scanner end to end: real result shapes from the record
//! branch, interleaved tasks, chunking, hostile bytes, bounds, the `--task`
//! fallback and masking of what is stored.

use std::path::{Path, PathBuf};

use proptest::prelude::*;
use statebox::catalog::Catalog;
use statebox::ingest::status_line;
use statebox::ingest::{Event, ScanOptions, Scanner, Transition};
use statebox::model::Status;
use statebox::timestamp;

fn options(task: Option<&str>, result_limit: usize) -> ScanOptions {
    ScanOptions {
        task: task.map(str::to_owned),
        result_limit,
        ..ScanOptions::default()
    }
}

/// A transition's result as the write path stores it.
fn stored(t: &Transition) -> String {
    statebox::text::stored(&t.result).text
}

/// Feeds `input` cut at `cuts` (sorted offsets) and returns every event.
fn scan_cut(input: &[u8], opts: ScanOptions, cuts: &[usize]) -> Vec<Event> {
    let mut scanner = Scanner::new(opts);
    let mut events = Vec::new();
    let mut start = 0;
    for &cut in cuts.iter().chain([input.len()].iter()) {
        let cut = cut.clamp(start, input.len());
        scanner.feed(&input[start..cut], &mut events);
        start = cut;
    }
    scanner.finish(&mut events);
    events
}

fn scan(input: &[u8], opts: ScanOptions) -> Vec<Event> {
    scan_cut(input, opts, &[])
}

fn scan_bytewise(input: &[u8], opts: ScanOptions) -> Vec<Event> {
    let cuts: Vec<usize> = (1..input.len()).collect();
    scan_cut(input, opts, &cuts)
}

fn transitions(events: &[Event]) -> Vec<&Transition> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::Transition(t) => Some(t),
            Event::UnknownStatus { .. } | Event::UnknownTask { .. } => None,
        })
        .collect()
}

fn status(ts: &str, name: &str, word: &str) -> String {
    format!("{ts}: INFO: task [{name}] status is changed to [{word}]\n")
}

fn fixtures() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/fixtures/statebox/_releases");
    if dir.is_dir() {
        Some(dir)
    } else {
        eprintln!("skipping: ../shared not found");
        None
    }
}

struct FixtureResult {
    path: PathBuf,
    name: String,
    status: String,
    completed_at: String,
    result: String,
}

/// Every fixture task whose result holds status lines, in a stable order.
fn fixture_results() -> Vec<FixtureResult> {
    let Some(dir) = fixtures() else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|minor| std::fs::read_dir(minor.unwrap().path().join("statebox")).ok())
        .flatten()
        .map(|file| file.unwrap().path())
        .collect();
    files.sort();
    let mut found = Vec::new();
    for path in files {
        let doc = statebox::yaml::parse(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let doc = doc.as_map().unwrap();
        let Some(statebox::yaml::Value::Seq(tasks)) = doc.get("tasks") else {
            panic!("{} has no task list", path.display());
        };
        for task in tasks {
            let task = task.as_map().unwrap();
            let text = |key: &str| task.get(key).and_then(|v| v.as_str());
            let Some(result) = text("result") else {
                continue;
            };
            if result.contains(status_line::MARKER) {
                found.push(FixtureResult {
                    path: path.clone(),
                    name: text("name").unwrap().to_owned(),
                    status: text("status").unwrap().to_owned(),
                    completed_at: text("completed_at").unwrap_or_default().to_owned(),
                    result: result.to_owned(),
                });
            }
        }
    }
    found
}

#[test]
fn real_results_rebuilt_with_task_option() {
    let results = fixture_results();
    if fixtures().is_some() {
        assert!(
            results.len() >= 20,
            "expected the fixtures' results, found {}",
            results.len()
        );
    }
    for f in results {
        let events = scan(f.result.as_bytes(), options(Some(&f.name), 64 * 1024));
        let last = *transitions(&events).last().unwrap();
        let context = format!("{} {}", f.path.display(), f.name);
        assert_eq!(last.status.as_str(), f.status, "{context}");
        assert_eq!(
            last.status,
            status_line::verdict_from_output(&f.result),
            "{context}"
        );
        // With --task the window is the whole output, like the original's.
        assert_eq!(last.result, f.result, "{context}");
        assert_eq!(
            last.timestamp.as_deref(),
            timestamp::texts_in(&f.result).last(),
            "{context}"
        );
        assert_eq!(
            Some(f.completed_at.as_str()),
            timestamp::texts_in(&last.result).last(),
            "{context}"
        );
    }
}

#[test]
fn real_results_concatenated_into_one_stream() {
    let results = fixture_results();
    let stream: String = results.iter().map(|f| format!("{}\n", f.result)).collect();
    let events = scan(stream.as_bytes(), ScanOptions::default());
    let finals: Vec<&Transition> = transitions(&events)
        .into_iter()
        .filter(|t| t.status != Status::InProgress)
        .collect();
    assert_eq!(finals.len(), results.len());
    for (t, f) in finals.iter().zip(&results) {
        assert_eq!(t.task, f.name);
        // Without --task a window opens at the task's In Progress line; a
        // task that went straight to Pass has that line as its result.
        let display_name = Catalog::default()
            .resolve(&t.task)
            .unwrap()
            .display_name
            .clone();
        let in_progress = format!("[{display_name}] status is changed to [In Progress]");
        let from = match f.result.find(&in_progress) {
            Some(i) => f.result[..i].rfind('\n').map_or(0, |j| j + 1),
            None => f.result.rfind('\n').map_or(0, |i| i + 1),
        };
        assert_eq!(t.result, f.result[from..], "{}", f.name);
    }
}

#[test]
fn interleaved_tasks_share_the_lines_between_their_status_lines() {
    let stream = [
        "preamble outside every window\n".to_owned(),
        status("2026-06-25T13:00:00Z", "Take Ownership", "In Progress"),
        "owner line\n".to_owned(),
        status("2026-06-25T13:00:01Z", "Stage Testing", "In Progress"),
        "shared line\n".to_owned(),
        status("2026-06-25T13:00:02Z", "Take Ownership", "Pass"),
        "stage only\n".to_owned(),
        status("2026-06-25T13:00:03Z", "Stage Testing", "Fail"),
        "epilogue outside every window\n".to_owned(),
    ]
    .concat();
    let events = scan(stream.as_bytes(), ScanOptions::default());
    let t = transitions(&events);
    let summary: Vec<(&str, Status)> = t.iter().map(|t| (t.task.as_str(), t.status)).collect();
    assert_eq!(
        summary,
        [
            ("take-ownership", Status::InProgress),
            ("stage-testing", Status::InProgress),
            ("take-ownership", Status::Pass),
            ("stage-testing", Status::Fail),
        ]
    );
    assert_eq!(
        t[0].result,
        status("2026-06-25T13:00:00Z", "Take Ownership", "In Progress").trim_end()
    );
    assert_eq!(t[2].timestamp.as_deref(), Some("2026-06-25T13:00:02Z"));
    assert_eq!(
        t[2].result,
        [
            status("2026-06-25T13:00:00Z", "Take Ownership", "In Progress"),
            "owner line\n".to_owned(),
            status("2026-06-25T13:00:01Z", "Stage Testing", "In Progress"),
            "shared line\n".to_owned(),
            status("2026-06-25T13:00:02Z", "Take Ownership", "Pass"),
        ]
        .concat()
        .trim_end()
    );
    assert_eq!(
        t[3].result,
        [
            status("2026-06-25T13:00:01Z", "Stage Testing", "In Progress"),
            "shared line\n".to_owned(),
            status("2026-06-25T13:00:02Z", "Take Ownership", "Pass"),
            "stage only\n".to_owned(),
            status("2026-06-25T13:00:03Z", "Stage Testing", "Fail"),
        ]
        .concat()
        .trim_end()
    );
}

#[test]
fn a_task_rerun_in_one_stream_gets_a_fresh_window() {
    let stream = [
        status("2026-06-25T13:00:00Z", "Drop Bugs", "In Progress"),
        "first try: ERROR: jira down\n".to_owned(),
        status("2026-06-25T13:00:01Z", "Drop Bugs", "Fail"),
        "between\n".to_owned(),
        status("2026-06-25T13:05:00Z", "Drop Bugs", "In Progress"),
        "second try\n".to_owned(),
        status("2026-06-25T13:05:01Z", "Drop Bugs", "Pass"),
    ]
    .concat();
    let events = scan(stream.as_bytes(), ScanOptions::default());
    let last = *transitions(&events).last().unwrap();
    assert_eq!(last.status, Status::Pass);
    assert!(
        last.result.starts_with("2026-06-25T13:05:00Z"),
        "{}",
        last.result
    );
    assert!(!last.result.contains("first try") && !last.result.contains("between"));
}

/// A stream with every awkward thing in it, for the chunking properties.
fn awkward_stream() -> Vec<u8> {
    let mut s = Vec::new();
    s.extend_from_slice(b"\x1b[1mBuilding\x1b[0m \xff\xfe half\r\n");
    s.extend_from_slice(b"\x1b[32m2026-06-25T13:22:08Z: INFO: task [Take Ownership] status is changed to [In Progress]\x1b[0m\r\n");
    s.extend_from_slice("QA Owner is updated to jane.doe@redhat.com — ünïcödé ✓\r\n".as_bytes());
    s.extend_from_slice(b"2026-06-25T13:22:09Z: ERROR: transient\r\n");
    s.extend_from_slice(b"2026-06-25T13:22:10.5+00:00: INFO: task [Stage Testing] status is changed to [In Progress]\n");
    s.extend_from_slice(b"lone\rcarriage return and \x1b]0;a title\x07osc\n");
    s.extend_from_slice(b"task [Stage Testing] status is changed to [Skipped]\n");
    s.extend_from_slice(
        b"2026-06-25T13:22:17Z: INFO: task [Take Ownership] status is changed to [Pass]\r\n",
    );
    s.extend_from_slice(b"-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmU=\n-----END OPENSSH PRIVATE KEY-----\n");
    s.extend_from_slice(
        b"2026-06-25T13:23:00: WARNING: task [Stage Testing] status is changed to [Fail]",
    );
    s
}

#[test]
fn byte_by_byte_equals_all_at_once() {
    for task in [None, Some("take-ownership"), Some("Image Signed Check")] {
        for limit in [64 * 1024, 100] {
            let input = awkward_stream();
            let whole = scan(&input, options(task, limit));
            assert!(transitions(&whole).len() >= 4, "{whole:#?}");
            assert_eq!(
                scan_bytewise(&input, options(task, limit)),
                whole,
                "task {task:?} limit {limit}"
            );
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]
    #[test]
    fn random_split_points_change_nothing(
        mut cuts in proptest::collection::vec(0usize..700, 0..40),
        task in prop::sample::select(vec![None, Some("stage-testing")]),
        limit in prop::sample::select(vec![64usize, 200, 64 * 1024]),
    ) {
        let input = awkward_stream();
        cuts.sort_unstable();
        let opts = options(task, limit);
        prop_assert_eq!(scan_cut(&input, opts.clone(), &cuts), scan(&input, opts));
    }
}

#[test]
fn crlf_ansi_and_invalid_utf8_are_cleaned() {
    let events = scan(&awkward_stream(), ScanOptions::default());
    let t = transitions(&events);
    let pass = t.iter().find(|t| t.status == Status::Pass).unwrap();
    assert_eq!(pass.task, "take-ownership");
    assert_eq!(
        stored(pass),
        "2026-06-25T13:22:08Z: INFO: task [Take Ownership] status is changed to [In Progress]\n\
         QA Owner is updated to [EMAIL_REDACTED] — ünïcödé ✓\n\
         2026-06-25T13:22:09Z: ERROR: transient\n\
         2026-06-25T13:22:10.5+00:00: INFO: task [Stage Testing] status is changed to [In Progress]\n\
         lone\rcarriage return and osc\n\
         task [Stage Testing] status is changed to [Skipped]\n\
         2026-06-25T13:22:17Z: INFO: task [Take Ownership] status is changed to [Pass]"
    );
    let events = scan(
        b"\x1b[1mBuilding\x1b[0m \xff\xfe half\r\nmore\r\n",
        options(Some("Drop Bugs"), 1024),
    );
    assert_eq!(
        stored(transitions(&events)[0]),
        "Building \u{fffd}\u{fffd} half\nmore"
    );
}

#[test]
fn unknown_status_word_is_reported_and_changes_nothing() {
    let events = scan(&awkward_stream(), ScanOptions::default());
    assert!(events.contains(&Event::UnknownStatus {
        display_name: "Stage Testing".to_owned(),
        status: "Skipped".to_owned(),
    }));
    let t = transitions(&events);
    // The window stayed open through the unknown word and the final line
    // (without a line break, at EOF) still closes it.
    let fail = t.iter().find(|t| t.status == Status::Fail).unwrap();
    assert_eq!(fail.task, "stage-testing");
    // Its timestamp has no zone: not taken, as the original ignores it.
    assert_eq!(fail.timestamp, None);
    assert!(fail.result.contains("[Skipped]\n"));
    assert!(stored(fail).contains("[PRIVATE_KEY_REDACTED]"));
    assert!(!stored(fail).contains("b3BlbnNzaC1rZXktdjEAAAAABG5vbmU"));
}

#[test]
fn huge_single_line_inside_a_window_stays_bounded() {
    const LINE: usize = 20 * 1024 * 1024;
    let limit = 64 * 1024;
    let opening = status(
        "2026-06-25T13:00:00Z",
        "Image Consistency Check",
        "In Progress",
    );
    let closing = status("2026-06-25T13:10:00Z", "Image Consistency Check", "Pass");
    let words = b"lorem ipsum dolor sit amet status is changed to [Pass] ";
    let chunk: Vec<u8> = words.iter().cycle().take(64 * 1024).copied().collect();

    let mut scanner = Scanner::new(options(None, limit));
    let mut events = Vec::new();
    scanner.feed(opening.as_bytes(), &mut events);
    let mut fed = 0;
    while fed < LINE {
        scanner.feed(&chunk, &mut events);
        fed += chunk.len();
    }
    scanner.feed(b"\n", &mut events);
    scanner.feed(closing.as_bytes(), &mut events);
    scanner.finish(&mut events);

    let t = transitions(&events);
    assert_eq!(
        t.len(),
        2,
        "the marker inside the huge line is no status line"
    );
    let result = &t[1].result;
    assert_eq!(t[1].status, Status::Pass);
    assert!(result.starts_with(opening.trim_end()), "{}", &result[..200]);
    assert!(result.ends_with(closing.trim_end()));
    assert!(
        result.len() <= limit + 64,
        "result of {} bytes",
        result.len()
    );
    let marker = result
        .lines()
        .find(|l| l.starts_with("[... statebox: "))
        .expect("one omission marker line");
    let omitted: usize = marker
        .trim_start_matches("[... statebox: ")
        .trim_end_matches(" bytes omitted ...]")
        .parse()
        .unwrap();
    assert_eq!(result.matches("[... statebox:").count(), 1);
    // Kept + omitted = everything, so nothing is lost silently. Not counted:
    // the space the head was cut after (trimmed before the marker line) and
    // the final line break (trimmed like the original's output).
    let total = opening.len() + fed + 1 + closing.len();
    let kept = result.len() - marker.len() - "\n\n".len();
    assert_eq!(kept + omitted + 1 + 1, total);
}

#[test]
fn omission_cut_never_leaves_half_a_secret() {
    let token = format!("ghp_{}", "Zq9Xw8Vu7T".repeat(4));
    // A limit of 400 keeps a tail of this many bytes, which starts inside
    // the token.
    let (_, tail) = statebox::text::head_and_tail(400);
    let closing = status("2026-06-25T13:00:09Z", "Drop Bugs", "Pass");
    let filler = "y".repeat(tail - token.len() / 2 - 2 - closing.len());
    let stream = [
        status("2026-06-25T13:00:00Z", "Drop Bugs", "In Progress"),
        "x".repeat(500),
        format!(" {token}\n{filler}\n"),
        closing.clone(),
    ]
    .concat();
    let token_at = stream.find(&token).unwrap();
    let tail_from = stream.len() - tail;
    assert!(
        token_at < tail_from && tail_from < token_at + token.len(),
        "the cut falls inside the token"
    );
    let events = scan(stream.as_bytes(), options(None, 400));
    let result = &stored(transitions(&events)[1]);
    assert!(result.contains("bytes omitted ...]"), "{result}");
    for piece in token.as_bytes().windows(8) {
        let piece = std::str::from_utf8(piece).unwrap();
        assert!(
            !result.contains(piece),
            "{piece:?} of the token leaked into {result}"
        );
    }
    assert!(
        result.ends_with(&format!("{filler}\n{}", closing.trim_end())),
        "{result}"
    );
}

#[test]
fn a_private_key_cut_by_the_omission_is_masked_on_both_sides() {
    let body: String = (0..40)
        .map(|i| format!("QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo{i:02}\n"))
        .collect();
    let stream = [
        status("2026-06-25T13:00:00Z", "Drop Bugs", "In Progress"),
        format!("-----BEGIN RSA {}-----\n", "PRIVATE KEY"),
        body,
        format!("-----END RSA {}-----\n", "PRIVATE KEY"),
        status("2026-06-25T13:00:09Z", "Drop Bugs", "Pass"),
    ]
    .concat();
    let events = scan(stream.as_bytes(), options(None, 1024));
    let result = &stored(transitions(&events)[1]);
    assert!(result.contains("bytes omitted ...]"), "{result}");
    assert!(
        !result.contains("QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo"),
        "{result}"
    );
    assert_eq!(
        result.matches("[PRIVATE_KEY_REDACTED]").count(),
        2,
        "{result}"
    );
}

#[test]
fn task_fallback_at_eof() {
    let error = "2026-06-25T13:00:00Z: INFO: checking\n2026-06-25T13:00:01Z: ERROR: cannot reach errata\nexit\n";
    let cases: [(&[u8], Status, &str); 5] = [
        (error.as_bytes(), Status::Fail, error.trim()),
        (b"", Status::Pass, ""),
        (b"\n \r\n", Status::Pass, ""),
        (
            b"2026-06-25T13:00:00Z: INFO: still going\r\n",
            Status::InProgress,
            "2026-06-25T13:00:00Z: INFO: still going",
        ),
        // ERROR alone (no `: ERROR:`) is not the original's mark.
        (b"ERROR in a word\n", Status::InProgress, "ERROR in a word"),
    ];
    for (input, want, result) in cases {
        for events in [
            scan(input, options(Some("Push to CDN Staging"), 4096)),
            scan_bytewise(input, options(Some("Push to CDN Staging"), 4096)),
        ] {
            let t = transitions(&events);
            assert_eq!(t.len(), 1, "{input:?}");
            assert_eq!(t[0].task, "push-to-cdn-staging");
            assert_eq!(
                (t[0].status, t[0].result.as_str()),
                (want, result),
                "{input:?}"
            );
            assert_eq!(t[0].timestamp, None);
        }
    }
}

#[test]
fn task_fallback_sees_an_error_in_the_omitted_middle() {
    let mut input = "ok\n".repeat(10_000);
    input.insert_str(15_000, "2026-06-25T13:00:01Z: ERROR: buried\n");
    let events = scan(input.as_bytes(), options(Some("drop-bugs"), 1024));
    let t = transitions(&events);
    assert_eq!(t.len(), 1);
    assert_eq!(t[0].status, Status::Fail);
    assert!(t[0].result.contains("bytes omitted"));
    assert!(!t[0].result.contains("buried"));
}

#[test]
fn task_option_is_only_a_fallback_when_its_task_has_status_lines() {
    // Named in kebab case, the lines say the display name: same task. Its
    // window is the whole stream, so the line before In Progress is kept.
    let stream = [
        "2026-06-25T13:22:58Z: INFO: Initialized StateBox for release 4.19.36\n".to_owned(),
        status(
            "2026-06-25T13:22:58Z",
            "Check CVE Tracker Bug",
            "In Progress",
        ),
        "2026-06-25T13:23:28Z: ERROR: one retry\n".to_owned(),
        status("2026-06-25T13:23:30Z", "Check CVE Tracker Bug", "Pass"),
        "trailing output after the task\n".to_owned(),
    ]
    .concat();
    let events = scan(
        stream.as_bytes(),
        options(Some("check-cve-tracker-bug"), 4096),
    );
    let t = transitions(&events);
    assert_eq!(
        t.len(),
        2,
        "no fallback once the task reported itself: {t:#?}"
    );
    assert_eq!(t[0].status, Status::InProgress);
    assert_eq!(t[0].task, "check-cve-tracker-bug");
    assert!(
        t[0].result
            .starts_with("2026-06-25T13:22:58Z: INFO: Initialized StateBox")
    );
    assert_eq!(t[1].status, Status::Pass);
    assert_eq!(
        t[1].result,
        stream[..stream.find("trailing").unwrap()].trim_end()
    );
}

#[test]
fn tasks_still_in_progress_at_eof_get_their_output() {
    let stream = [
        status("2026-06-25T13:00:00Z", "Stage Testing", "In Progress"),
        "Traceback (most recent call last):\n  boom\n".to_owned(),
    ]
    .concat();
    let events = scan(stream.as_bytes(), ScanOptions::default());
    let t = transitions(&events);
    assert_eq!(t.len(), 2);
    assert_eq!(
        t[0].result,
        status("2026-06-25T13:00:00Z", "Stage Testing", "In Progress").trim_end()
    );
    assert_eq!(
        (t[1].status, t[1].timestamp.as_deref()),
        (Status::InProgress, None)
    );
    assert_eq!(t[1].result, stream.trim_end());
}

#[test]
fn transitions_are_emitted_as_soon_as_the_line_is_complete() {
    let mut scanner = Scanner::new(ScanOptions::default());
    let mut events = Vec::new();
    scanner.feed(
        b"2026-06-25T13:00:00Z: INFO: task [Drop Bugs] status is changed to [In Progress]",
        &mut events,
    );
    assert!(events.is_empty(), "the line may still go on");
    scanner.feed(
        b"\nwork\n2026-06-25T13:00:05Z: INFO: task [Drop Bugs] status is changed to [Pass]\r",
        &mut events,
    );
    assert_eq!(transitions(&events).len(), 1);
    scanner.feed(b"\n", &mut events);
    let t = transitions(&events);
    assert_eq!(t.len(), 2);
    assert_eq!(t[1].status, Status::Pass);
    assert_eq!(t[1].result.lines().count(), 3);
}

#[test]
fn lines_outside_windows_and_status_lookalikes_are_ignored() {
    let stream = "status is changed to nothing in particular\n\
                  the task [X] status is changed to [Pass] was echoed back, ignore\n\
                  2026-06-25T13:00:00Z: INFO: task [Drop Bugs] status is changed to [Pass]\n";
    let events = scan(stream.as_bytes(), ScanOptions::default());
    let t = transitions(&events);
    assert_eq!(t.len(), 1);
    assert_eq!(t[0].task, "drop-bugs");
    assert_eq!(t[0].result, stream.lines().last().unwrap());
}

/// Peak resident memory of this process, from Linux's /proc.
#[cfg(target_os = "linux")]
fn peak_rss_bytes() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("VmHWM:")).unwrap();
    let kib: u64 = line.split_whitespace().nth(1).unwrap().parse().unwrap();
    kib * 1024
}

#[cfg(target_os = "linux")]
#[test]
fn memory_stays_bounded_whatever_the_input_size() {
    if !crate::support::in_own_process("ingest_scan::memory_stays_bounded_whatever_the_input_size")
    {
        return;
    }
    const INPUT: usize = 128 * 1024 * 1024;
    // Eight tasks open at once (plus the --task window), none closed until
    // the end: the worst case for what the scanner keeps.
    let catalog = Catalog::default();
    let names: Vec<&str> = catalog
        .entries()
        .iter()
        .map(|e| e.display_name.as_str())
        .filter(|n| *n != "Stage Testing")
        .take(8)
        .collect();
    let mut opening = String::new();
    for name in &names {
        opening.push_str(&status("2026-06-25T13:00:00Z", name, "In Progress"));
    }
    let line = "2026-06-25T13:00:01Z: INFO: Scheduler check #1: payload URL for jane@example.com still not accessible\n";
    let chunk = line.repeat(1024 * 1024 / line.len());
    let mut scanner = Scanner::new(options(Some("stage-testing"), 64 * 1024));
    let mut events = Vec::new();
    scanner.feed(opening.as_bytes(), &mut events);
    let mut fed = 0;
    while fed < INPUT {
        scanner.feed(chunk.as_bytes(), &mut events);
        fed += chunk.len();
    }
    for name in &names {
        scanner.feed(
            status("2026-06-25T14:00:00Z", name, "Pass").as_bytes(),
            &mut events,
        );
    }
    scanner.finish(&mut events);
    let t = transitions(&events);
    assert_eq!(t.len(), 8 + 8 + 1);
    assert!(
        t.iter()
            .all(|t| t.result.len() < 70 * 1024 && !stored(t).contains("jane@"))
    );
    let peak = peak_rss_bytes();
    assert!(
        peak < 64 * 1024 * 1024,
        "peak RSS {peak} bytes after {fed} bytes of input"
    );
}

/// Status lines for tasks outside the catalog keep nothing: each one used
/// to open a window that every later line was copied into (2.2 MB of such
/// input took 950 MB).
#[cfg(target_os = "linux")]
#[test]
fn tasks_outside_the_catalog_keep_no_output() {
    if !crate::support::in_own_process("ingest_scan::tasks_outside_the_catalog_keep_no_output") {
        return;
    }
    const INPUT: usize = 11 * 1024 * 1024;
    let mut scanner = Scanner::new(ScanOptions::default());
    let mut events = Vec::new();
    let (mut fed, mut unknown, mut n) = (0, 0, 0);
    while fed < INPUT {
        let chunk: String = (0..1000)
            .map(|i| {
                let name = format!("Unlisted Task {}", n + i);
                format!(
                    "{}2026-06-25T13:00:01Z: INFO: output of {name}\n",
                    status("2026-06-25T13:00:00Z", &name, "In Progress")
                )
            })
            .collect();
        n += 1000;
        scanner.feed(chunk.as_bytes(), &mut events);
        fed += chunk.len();
        for event in events.drain(..) {
            assert!(matches!(event, Event::UnknownTask { .. }), "{event:?}");
            unknown += 1;
        }
    }
    scanner.finish(&mut events);
    assert!(events.is_empty(), "{events:?}");
    assert_eq!(unknown, n);
    let peak = peak_rss_bytes();
    assert!(
        peak < 64 * 1024 * 1024,
        "peak RSS {peak} bytes after {fed} bytes of input"
    );
}
