//! Properties of the state merge on randomly edited states: it does not
//! depend on which side is ours, a side that changed nothing yields the
//! other side, identical sides yield that side, what one side alone changed
//! survives, and the output is canonical.

use proptest::prelude::*;
use statebox::merge::state::merge_states;
use statebox::model::{Issue, State, Status, Task};
use statebox::write::decode;
use statebox::yaml::{Mapping, Value};

/// A real-shaped start: unknown keys at every level, a resolved issue whose
/// text is later re-added, a nested metadata map.
const BASE: &str = "\
schema_version: '1.0'
release: 4.19.36
created_at: '2026-06-25T13:00:13Z'
updated_at: '2026-06-25T14:00:00Z'
metadata:
  jira_ticket: ART-1
  advisory_ids:
    rpm: 169043
  release_date: 2026-Jul-01
  candidate_builds: {}
  shipment_mr: null
  qe_owner: alice
tasks:
- name: take-ownership
  status: Pass
  started_at: '2026-06-25T13:20:00Z'
  completed_at: '2026-06-25T13:22:17Z'
  result: done
  runner: bot-1
- name: update-bug-list
  status: Not Started
  started_at: null
  completed_at: null
  result: null
issues:
- issue: Build broken
  reported_at: '2026-06-25T13:30:00Z'
  resolved: true
  resolution: fixed
  blocker: true
  related_tasks: []
  resolved_at: '2026-06-25T13:40:00Z'
- issue: Flaky test
  reported_at: '2026-06-25T13:35:00Z'
  resolved: false
  resolution: null
  blocker: false
  related_tasks:
  - take-ownership
extra_top: kept
";

const NAMES: [&str; 5] = [
    "take-ownership",
    "update-bug-list",
    "drop-bugs",
    "stage-testing",
    "image-signed-check",
];
const TEXTS: [&str; 4] = ["Build broken", "build broken ", "Flaky test", "New blocker"];
const META_KEYS: [&str; 4] = ["jira_ticket", "shipment_mr", "qe_owner", "release_date"];
const NESTED: [&str; 2] = ["advisory_ids", "candidate_builds"];

#[derive(Debug, Clone)]
enum Edit {
    SetTask(usize, usize, u8),
    RemoveTask(usize),
    AddIssue(usize, bool, u8),
    ResolveIssue(usize, u8),
    ToggleBlocker(usize),
    SetMeta(usize, Option<u8>),
    SetNested(usize, usize, Option<u8>),
    Created(u8),
}

fn at(minute: u8) -> String {
    format!("2026-06-26T{:02}:{:02}:00Z", 10 + minute / 60, minute % 60)
}

fn apply(state: &mut State, edit: &Edit) {
    match *edit {
        Edit::SetTask(name, status, minute) => {
            let name = NAMES[name];
            if state.task(name).is_none() {
                state.tasks.push(Task::new(name));
            }
            let task = state.tasks.iter_mut().find(|t| t.name == name).unwrap();
            task.status = Status::ALL[status];
            task.started_at = Some(at(minute));
            task.result = Some(format!("run at {minute}"));
        }
        Edit::RemoveTask(i) => {
            if !state.tasks.is_empty() {
                state.tasks.remove(i % state.tasks.len());
            }
        }
        Edit::AddIssue(text, blocker, minute) => {
            state
                .issues
                .push(Issue::new(TEXTS[text], blocker, vec![], at(minute)))
        }
        Edit::ResolveIssue(i, minute) => {
            if let Some(issue) = state.issues.iter_mut().filter(|i| !i.resolved).nth(i) {
                issue.resolved = true;
                issue.resolution = Some(format!("fixed at {minute}"));
                issue.resolved_at = Some(at(minute));
            }
        }
        Edit::ToggleBlocker(i) => {
            if !state.issues.is_empty() {
                let n = state.issues.len();
                state.issues[i % n].blocker ^= true;
            }
        }
        Edit::SetMeta(key, value) => {
            let value = value.map_or(Value::Null, |v| Value::Str(format!("v{v}")));
            state.metadata.insert(META_KEYS[key], value);
        }
        Edit::SetNested(key, sub, value) => {
            let slot = state.metadata.get_mut(NESTED[key]);
            let map = match slot {
                Some(Value::Map(m)) => m,
                _ => {
                    state
                        .metadata
                        .insert(NESTED[key], Value::Map(Mapping::new()));
                    let Some(Value::Map(m)) = state.metadata.get_mut(NESTED[key]) else {
                        unreachable!("just inserted a map")
                    };
                    m
                }
            };
            let value = value.map_or(Value::Null, |v| Value::Int(v.into()));
            map.insert(["rpm", "rhcos", "x86_64"][sub], value);
        }
        Edit::Created(minute) => state.created_at = at(minute),
    }
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        (0..NAMES.len(), 0..4usize, any::<u8>()).prop_map(|(n, s, m)| Edit::SetTask(n, s, m)),
        (0..4usize).prop_map(Edit::RemoveTask),
        (0..TEXTS.len(), any::<bool>(), any::<u8>()).prop_map(|(t, b, m)| Edit::AddIssue(t, b, m)),
        (0..3usize, any::<u8>()).prop_map(|(i, m)| Edit::ResolveIssue(i, m)),
        (0..4usize).prop_map(Edit::ToggleBlocker),
        (0..META_KEYS.len(), proptest::option::of(0..3u8)).prop_map(|(k, v)| Edit::SetMeta(k, v)),
        (0..2usize, 0..3usize, proptest::option::of(0..3u8))
            .prop_map(|(k, s, v)| Edit::SetNested(k, s, v)),
        any::<u8>().prop_map(Edit::Created),
    ]
}

/// A side: edits applied to `from`, stamped with its own write time.
fn side(from: &State, edits: &[Edit], updated: Option<u8>) -> State {
    let mut s = from.clone();
    for e in edits {
        apply(&mut s, e);
    }
    if let Some(minute) = updated {
        s.updated_at = at(minute);
    }
    s
}

fn base_state() -> State {
    decode("base.yaml", BASE.as_bytes()).unwrap()
}

fn edits() -> impl Strategy<Value = Vec<Edit>> {
    proptest::collection::vec(edit(), 0..6)
}

/// (base, ours, theirs): a base a few edits away from the file above, and
/// two sides edited independently from it. Write times collide on purpose
/// (a small range) so the tie-break is exercised.
fn three_way() -> impl Strategy<Value = (State, State, State)> {
    (
        edits(),
        edits(),
        proptest::option::of(0..4u8),
        edits(),
        proptest::option::of(0..4u8),
    )
        .prop_map(|(b, o, ot, t, tt)| {
            let base = side(&base_state(), &b, None);
            let ours = side(&base, &o, ot);
            let theirs = side(&base, &t, tt);
            (base, ours, theirs)
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn symmetric((base, ours, theirs) in three_way()) {
        let ab = merge_states(Some(&base), &ours, &theirs);
        let ba = merge_states(Some(&base), &theirs, &ours);
        prop_assert_eq!(ab.to_yaml(), ba.to_yaml());
        let ab = merge_states(None, &ours, &theirs);
        let ba = merge_states(None, &theirs, &ours);
        prop_assert_eq!(ab.to_yaml(), ba.to_yaml());
    }

    #[test]
    fn unchanged_side_yields_the_other((base, _ours, theirs) in three_way()) {
        prop_assert_eq!(merge_states(Some(&base), &base, &theirs), theirs.clone());
        prop_assert_eq!(merge_states(Some(&base), &theirs, &base), theirs);
    }

    #[test]
    fn identical_sides_yield_that_side((base, ours, _theirs) in three_way()) {
        prop_assert_eq!(merge_states(Some(&base), &ours, &ours), ours);
    }

    #[test]
    fn output_is_canonical((base, ours, theirs) in three_way()) {
        let merged = merge_states(Some(&base), &ours, &theirs);
        let text = merged.to_yaml();
        let again = decode("merged.yaml", text.as_bytes()).unwrap();
        prop_assert_eq!(again.to_yaml(), text);
    }

    #[test]
    fn a_change_made_on_one_side_only_survives((base, ours, theirs) in three_way()) {
        let merged = merge_states(Some(&base), &ours, &theirs);
        for name in NAMES {
            let (b, o, t) = (base.task(name), ours.task(name), theirs.task(name));
            if o == b {
                prop_assert_eq!(merged.task(name), t, "task {} changed by theirs only", name);
            } else if t == b {
                prop_assert_eq!(merged.task(name), o, "task {} changed by ours only", name);
            }
        }
        for key in META_KEYS {
            let get = |s: &State| s.metadata.get(key).cloned();
            let (b, o, t) = (get(&base), get(&ours), get(&theirs));
            if o == b {
                prop_assert_eq!(get(&merged), t, "metadata {} changed by theirs only", key);
            } else if t == b {
                prop_assert_eq!(get(&merged), o, "metadata {} changed by ours only", key);
            }
        }
        // A top-level key statebox does not know comes through.
        prop_assert!(merged.to_yaml().contains("extra_top: kept"));
    }

    #[test]
    fn a_resolution_on_either_side_is_never_lost((base, ours, theirs) in three_way()) {
        let merged = merge_states(Some(&base), &ours, &theirs);
        let resolved = |s: &State| s.issues.iter().filter(|i| i.resolved).count();
        // No side deletes issues here, so every issue ends in the result and
        // resolved beats unresolved.
        prop_assert!(resolved(&merged) >= resolved(&ours).max(resolved(&theirs)));
    }
}
