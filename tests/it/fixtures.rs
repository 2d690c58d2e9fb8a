//! Real files from a public record branch (../shared/fixtures): the state
//! model round-trips them byte for byte, they validate against the schema,
//! and `fmt --check` finds nothing to change. Skips with a message where
//! ../shared is absent (a user's clone).

use crate::support::*;

#[test]
fn every_fixture_round_trips_through_the_state_model() {
    for (path, bytes) in fixture_files() {
        let name = path.display().to_string();
        let state = statebox::write::decode(&name, &bytes).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            state.to_yaml().as_bytes(),
            bytes.as_slice(),
            "{name} changed on rewrite"
        );
    }
}

#[test]
fn a_write_to_a_fixture_changes_only_what_it_touches() {
    use statebox::model::{Op, Status};
    for (path, bytes) in fixture_files() {
        let name = path.display().to_string();
        let state = statebox::write::decode(&name, &bytes).unwrap();
        let release = state.release.parse().unwrap();
        let op = Op::SetTask {
            task: "drop-bugs".into(),
            status: Status::InProgress,
            result: None,
        };
        let now = chrono::Utc::now();
        let after = op
            .apply(Some(state), &release, &Default::default(), now)
            .unwrap()
            .state
            .to_yaml();
        let (old, new) = (String::from_utf8(bytes).unwrap(), after);
        let removed: Vec<&str> = old
            .lines()
            .filter(|l| !new.lines().any(|n| n == *l))
            .collect();
        assert!(
            removed
                .iter()
                .all(|l| *l == "tasks: []" || l.starts_with("  status:") || l.contains("_at:")),
            "{name}: unrelated lines changed: {removed:?}"
        );
        assert!(
            new.contains("- name: drop-bugs\n  status: In Progress\n"),
            "{name}"
        );
    }
}

#[test]
fn fixtures_validate_and_are_canonical() {
    let files = fixture_files();
    if files.is_empty() {
        return;
    }
    let paths: Vec<String> = files.iter().map(|(p, _)| p.display().to_string()).collect();
    let dir = tempfile::tempdir().unwrap();
    let mut args = vec!["validate"];
    args.extend(paths.iter().map(String::as_str));
    ok(dir.path(), &args);
    let mut args = vec!["fmt", "--check"];
    args.extend(paths.iter().map(String::as_str));
    assert_eq!(ok(dir.path(), &args), "");
}
