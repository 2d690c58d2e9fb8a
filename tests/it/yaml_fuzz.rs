//! Fuzzing the two readers of untrusted repository content: the YAML reader
//! (every state file, config store and rules file goes through it) and the
//! merge driver (git hands it whatever three sides a branch holds).
//!
//! Inputs are arbitrary bytes and mutations of real state files (byte
//! flips, splices, YAML indicators and aliases dropped in), generated with
//! proptest. A panic, a stack overflow (which aborts the test binary) or a
//! driver exit status above 128 is a failure; errors are fine. By default a
//! few hundred inputs run with the suite; `STATEBOX_FUZZ_SECONDS=300` (see
//! bench/fuzz.sh) runs for that long and prints the executions.

use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::TestRunner;
use statebox::merge::driver::{DriverOutcome, run_driver};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::time::{Duration, Instant};

const PATH: &str = "_releases/4.19/statebox/4.19.36.yaml";
/// YAML that the mutations drop into a document: indicators, anchors,
/// aliases, merge keys, tags, deep openers, odd breaks.
const TOKENS: [&str; 20] = [
    "&a ",
    "*a",
    "<<: *a\n",
    "[",
    "]",
    "{",
    "}",
    "- ",
    ": ",
    "? ",
    "!!str ",
    "!!int ",
    "|-\n",
    ">\n",
    "'",
    "\"",
    "\u{2028}",
    "\t",
    "---\n",
    "&b [*a, *a, *a, *a, *a, *a, *a, *a]\n",
];

/// Real files when the fixtures are beside the project, and a generated
/// state with every field in use.
fn seeds() -> Vec<Vec<u8>> {
    let mut seeds: Vec<Vec<u8>> = crate::support::fixture_files()
        .into_iter()
        .map(|(_, bytes)| bytes)
        .take(40)
        .collect();
    let release = "4.19.36".parse().unwrap();
    let mut state = statebox::model::State::new(&release, "2026-06-25T13:00:13Z");
    state
        .tasks
        .push(statebox::model::Task::new("take-ownership"));
    state.issues.push(statebox::model::Issue::new(
        "Build broken",
        true,
        vec!["take-ownership".into()],
        "2026-06-25T14:00:00Z".into(),
    ));
    seeds.push(state.to_yaml().into_bytes());
    seeds
}

fn mutated(seeds: Vec<Vec<u8>>) -> impl Strategy<Value = Vec<u8>> {
    let edit = prop_oneof![
        (any::<usize>(), any::<u8>()).prop_map(|(at, byte)| (at, vec![byte], 1)),
        (any::<usize>(), prop::sample::select(&TOKENS[..])).prop_map(|(at, t)| (
            at,
            t.as_bytes().to_vec(),
            0
        )),
        (any::<usize>(), 0..64usize).prop_map(|(at, n)| (at, Vec::new(), n)),
        (any::<usize>(), 1..400usize).prop_map(|(at, n)| (at, "- ".repeat(n).into_bytes(), 0)),
    ];
    (
        prop::sample::select(seeds),
        prop::collection::vec(edit, 1..12),
    )
        .prop_map(|(mut bytes, edits)| {
            for (at, insert, remove) in edits {
                let at = at % (bytes.len() + 1);
                let end = (at + remove).min(bytes.len());
                bytes.splice(at..end, insert);
            }
            bytes
        })
}

fn inputs() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        1 => prop::collection::vec(any::<u8>(), 0..512),
        4 => mutated(seeds()),
    ]
}

/// Runs `check` on generated inputs: for STATEBOX_FUZZ_SECONDS seconds if
/// set, else on `default_cases` inputs. Returns the number of executions.
fn fuzz(name: &str, default_cases: u64, mut check: impl FnMut(&[u8])) -> u64 {
    let budget = std::env::var("STATEBOX_FUZZ_SECONDS")
        .ok()
        .map(|s| Duration::from_secs(s.parse().expect("STATEBOX_FUZZ_SECONDS is seconds")));
    let strategy = inputs();
    let mut runner = TestRunner::deterministic();
    let start = Instant::now();
    let mut executions = 0;
    while budget.map_or(executions < default_cases, |b| start.elapsed() < b) {
        let input = strategy.new_tree(&mut runner).unwrap().current();
        let outcome = catch_unwind(AssertUnwindSafe(|| check(&input)));
        if outcome.is_err() {
            let kept = std::env::temp_dir().join(format!("statebox-fuzz-{name}-crash"));
            std::fs::write(&kept, &input).unwrap();
            panic!("{name}: input kept in {} made it panic", kept.display());
        }
        executions += 1;
    }
    eprintln!(
        "{name}: {executions} executions in {:.0?}, mutating a corpus of {} seed files",
        start.elapsed(),
        seeds().len()
    );
    executions
}

#[test]
fn the_yaml_reader_survives_arbitrary_input() {
    let executions = fuzz("yaml", 2_000, |bytes| {
        if let Ok(text) = std::str::from_utf8(bytes)
            && let Ok(value) = statebox::yaml::parse(text)
        {
            // What it read, it writes and reads back as the same value.
            let again = statebox::yaml::parse(&statebox::yaml::to_string(&value));
            let value_again = again.expect("the writer's output parses");
            if !contains_nan(&value) {
                assert_eq!(value_again, value);
            }
        }
    });
    assert!(executions > 0);
}

fn contains_nan(value: &statebox::yaml::Value) -> bool {
    use statebox::yaml::Value;
    match value {
        Value::Float(f) => f.is_nan(),
        Value::Seq(items) => items.iter().any(contains_nan),
        Value::Map(map) => map.iter().any(|(k, v)| contains_nan(k) || contains_nan(v)),
        _ => false,
    }
}

#[test]
fn the_merge_driver_survives_arbitrary_sides() {
    let dir = tempfile::tempdir().unwrap();
    let base = seeds().pop().unwrap();
    let files = ["O", "A", "B"].map(|n| dir.path().join(n));
    let mut round = 0usize;
    let executions = fuzz("merge-driver", 200, |hostile| {
        // The hostile bytes take each side's place in turn.
        let side = round % 3;
        round += 1;
        for (i, file) in files.iter().enumerate() {
            std::fs::write(file, if i == side { hostile } else { &base }).unwrap();
        }
        let [o, a, b] = &files;
        match run_driver(o, a, b, PATH) {
            Ok(DriverOutcome::Merged) => {
                let merged = std::fs::read(a).unwrap();
                let state = statebox::write::decode(PATH, &merged).expect("a clean merge parses");
                assert_eq!(state.to_yaml().as_bytes(), &merged[..], "canonical");
            }
            Ok(outcome) => assert!(outcome.exit_code() <= 128),
            Err(_) => {}
        }
    });
    assert!(executions > 0);
}
