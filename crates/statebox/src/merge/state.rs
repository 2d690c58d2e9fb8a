//! Three-way merge of release states by meaning.
//!
//! Every entity (task by name, issue by normalized text and occurrence,
//! metadata key by key) that only one side changed comes from that side.
//! When both changed it, a rule picks the winner; the rules only look at
//! content, never at which side is "ours", so during a rebase, a merge or a
//! cherry-pick the result is the same whichever way git passes the files.
//!
//! "The later write" is the side whose file has the later top-level
//! `updated_at`; equal times fall back to comparing the canonical bytes of
//! the two files, an arbitrary but argument-order-free choice.
//!
//! Output order: entities (and metadata keys) keep their order in the base;
//! ones the base lacks follow, first those of the earlier write in its order,
//! then those only the later write has. Unknown top-level keys (a newer
//! tool's, a team's own) are merged key by key like metadata
//! ([`merge_files`]).
//!
//! Every step indexes by key, so a merge takes time linear in the size of
//! the files (issues number in the thousands on long-lived releases).

use crate::model::{Issue, State, Task};
use crate::timestamp;
use crate::yaml::{Mapping, Value};
use std::cmp::Ordering;
use std::collections::{HashMap, HashSet};
use std::hash::Hash;

/// The top-level keys of a state file that [`State`] holds as fields.
const STATE_KEYS: [&str; 7] = [
    "schema_version",
    "release",
    "created_at",
    "updated_at",
    "metadata",
    "tasks",
    "issues",
];

/// [`merge_states`], plus the top-level keys statebox does not know, merged
/// three-way as metadata is; the merged file's canonical text.
pub fn merge_files(base: Option<&State>, ours: &State, theirs: &State) -> String {
    let merged = merge_states(base, ours, theirs);
    let unknown = |state: &State| -> Mapping {
        match state.to_value() {
            Value::Map(map) => map
                .into_iter()
                .filter(|(k, _)| !k.as_str().is_some_and(|k| STATE_KEYS.contains(&k)))
                .collect(),
            _ => Mapping::new(),
        }
    };
    let (ours_unknown, theirs_unknown) = (unknown(ours), unknown(theirs));
    if ours_unknown == theirs_unknown {
        // The later write's copy is the merged state's already.
        return merged.to_yaml();
    }
    let base_unknown = base.map(unknown);
    let wanted = merge_mappings(
        base_unknown.as_ref(),
        &ours_unknown,
        &theirs_unknown,
        later_write(ours, theirs),
    );
    let Value::Map(mut document) = merged.to_value() else {
        unreachable!("a state is a mapping")
    };
    let stale: Vec<String> = document
        .iter()
        .filter_map(|(k, _)| k.as_str())
        .filter(|k| !STATE_KEYS.contains(k) && wanted.get(k).is_none())
        .map(str::to_owned)
        .collect();
    for key in stale {
        document.remove(&key);
    }
    for (key, value) in wanted {
        document.insert(key, value);
    }
    crate::yaml::to_string(&Value::Map(document))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Side {
    Ours,
    Theirs,
}

impl Side {
    fn pick<T>(self, ours: T, theirs: T) -> T {
        match self {
            Side::Ours => ours,
            Side::Theirs => theirs,
        }
    }
}

/// Merges `ours` and `theirs`, which both descend from `base` (`None`: both
/// sides added the file). Symmetric: swapping `ours` and `theirs` gives the
/// same state.
pub fn merge_states(base: Option<&State>, ours: &State, theirs: &State) -> State {
    if let Some(whole) = one_sided(base, Some(ours), Some(theirs)).flatten() {
        return whole.clone();
    }
    let later = later_write(ours, theirs);
    let mut merged = later.pick(ours, theirs).clone();

    let scalar = |field: fn(&State) -> &String| {
        one_sided(base.map(field), Some(field(ours)), Some(field(theirs))).flatten()
    };
    if let Some(release) = scalar(|s| &s.release) {
        merged.release = release.clone();
    }
    merged.created_at = match scalar(|s| &s.created_at) {
        Some(one) => one.clone(),
        None => std::cmp::min_by(&ours.created_at, &theirs.created_at, |a, b| {
            time_order(a, b)
        })
        .clone(),
    };
    // Both changed: the later write's value, which is the latest by definition.
    if let Some(updated) = scalar(|s| &s.updated_at) {
        merged.updated_at = updated.clone();
    }

    merged.metadata = merge_mappings(
        base.map(|b| &b.metadata),
        &ours.metadata,
        &theirs.metadata,
        later,
    );
    merged.tasks = merge_entities(
        base.map_or(&[][..], |b| &b.tasks),
        &ours.tasks,
        &theirs.tasks,
        later,
        |t: &Task| t.name.clone(),
        |_, _| later,
    );
    merged.issues = merge_entities(
        base.map_or(&[][..], |b| &b.issues),
        &ours.issues,
        &theirs.issues,
        later,
        Issue::normalized_text,
        |o, t| issue_winner(o, t, later),
    );
    merged
}

/// The result when at most one side changed something; `None` when both
/// changed it, differently.
fn one_sided<V: PartialEq + Copy>(base: V, ours: V, theirs: V) -> Option<V> {
    if ours == theirs || base == theirs {
        Some(ours)
    } else if base == ours {
        Some(theirs)
    } else {
        None
    }
}

fn later_write(ours: &State, theirs: &State) -> Side {
    let order = time_order(&ours.updated_at, &theirs.updated_at)
        .then_with(|| ours.to_yaml().cmp(&theirs.to_yaml()));
    if order == Ordering::Greater {
        Side::Ours
    } else {
        Side::Theirs
    }
}

/// Chronological order of two timestamps as written; text that does not
/// parse sorts first, and equal instants fall back to the text so the order
/// is total.
fn time_order(a: &str, b: &str) -> Ordering {
    timestamp::parse(a)
        .cmp(&timestamp::parse(b))
        .then_with(|| a.cmp(b))
}

/// Both sides changed the same issue: resolved wins, then the newer
/// `resolved_at`, then the later write.
fn issue_winner(ours: &Issue, theirs: &Issue, later: Side) -> Side {
    let resolved_at = |i: &Issue| i.resolved_at.as_deref().and_then(timestamp::parse);
    let order = ours
        .resolved
        .cmp(&theirs.resolved)
        .then_with(|| resolved_at(ours).cmp(&resolved_at(theirs)));
    match order {
        Ordering::Greater => Side::Ours,
        Ordering::Less => Side::Theirs,
        Ordering::Equal => later,
    }
}

/// Keys of the merged result in output order: the base's, then new ones of
/// the earlier write, then new ones of the later write.
fn merged_order<'k, K: Eq + Hash>(
    base: impl Iterator<Item = &'k K>,
    ours: impl Iterator<Item = &'k K>,
    theirs: impl Iterator<Item = &'k K>,
    later: Side,
) -> Vec<&'k K> {
    let (ours, theirs): (Vec<_>, Vec<_>) = (ours.collect(), theirs.collect());
    let (earlier, later) = match later {
        Side::Ours => (theirs, ours),
        Side::Theirs => (ours, theirs),
    };
    let mut seen = HashSet::new();
    base.chain(earlier)
        .chain(later)
        .filter(|key| seen.insert(*key))
        .collect()
}

/// An entity's identity plus its occurrence among entities with that
/// identity, so an issue re-added after being resolved is a second entity.
type Key = (String, usize);

fn keyed<'a, T>(items: &'a [T], identity: &impl Fn(&T) -> String) -> Vec<(Key, &'a T)> {
    let mut seen: HashMap<String, usize> = HashMap::new();
    items
        .iter()
        .map(|item| {
            let id = identity(item);
            let n = seen.entry(id.clone()).or_default();
            let key = (id, *n);
            *n += 1;
            (key, item)
        })
        .collect()
}

fn merge_entities<'a, T: Clone + PartialEq>(
    base: &'a [T],
    ours: &'a [T],
    theirs: &'a [T],
    later: Side,
    identity: impl Fn(&T) -> String,
    winner: impl Fn(&T, &T) -> Side,
) -> Vec<T> {
    let (base, ours, theirs) = (
        keyed(base, &identity),
        keyed(ours, &identity),
        keyed(theirs, &identity),
    );
    fn index<'l, 'a, T>(list: &'l [(Key, &'a T)]) -> HashMap<&'l Key, &'a T> {
        list.iter().map(|(k, item)| (k, *item)).collect()
    }
    fn keys<'k, T>(list: &'k [(Key, &T)]) -> impl Iterator<Item = &'k Key> {
        list.iter().map(|(k, _)| k)
    }
    let (base_at, ours_at, theirs_at) = (index(&base), index(&ours), index(&theirs));
    merged_order(keys(&base), keys(&ours), keys(&theirs), later)
        .into_iter()
        .filter_map(|key| {
            let find = |at: &HashMap<&Key, &'a T>| at.get(key).copied();
            let (b, o, t) = (find(&base_at), find(&ours_at), find(&theirs_at));
            match (one_sided(b, o, t), o, t) {
                (Some(one), _, _) => one,
                (None, Some(o), Some(t)) => Some(winner(o, t).pick(o, t)),
                // Deleted on one side, changed on the other: keep the change.
                (None, o, t) => o.or(t),
            }
        })
        .cloned()
        .collect()
}

/// A mapping's entries by key, the key spelled for hashing (`Value` holds
/// floats, so it is not `Hash`); the spelling tells `'1'` from `1`.
struct Indexed<'m> {
    ids: Vec<String>,
    entries: HashMap<String, (&'m Value, &'m Value)>,
}

impl<'m> Indexed<'m> {
    fn new(map: Option<&'m Mapping>) -> Self {
        let mut indexed = Indexed {
            ids: Vec::new(),
            entries: HashMap::new(),
        };
        for (key, value) in map.into_iter().flat_map(Mapping::iter) {
            let id = format!("{key:?}");
            indexed.entries.insert(id.clone(), (key, value));
            indexed.ids.push(id);
        }
        indexed
    }

    fn value(&self, id: &str) -> Option<&'m Value> {
        self.entries.get(id).map(|(_, v)| *v)
    }
}

/// Key by key; a key both sides changed to maps is merged recursively, else
/// a non-null value wins over null, then the later write.
fn merge_mappings(
    base: Option<&Mapping>,
    ours: &Mapping,
    theirs: &Mapping,
    later: Side,
) -> Mapping {
    let (base, ours, theirs) = (
        Indexed::new(base),
        Indexed::new(Some(ours)),
        Indexed::new(Some(theirs)),
    );
    merged_order(base.ids.iter(), ours.ids.iter(), theirs.ids.iter(), later)
        .into_iter()
        .filter_map(|id| {
            let key = [&base, &ours, &theirs]
                .iter()
                .find_map(|side| side.entries.get(id))
                .map(|(k, _)| *k)
                .expect("every id comes from one of the sides");
            let (b, o, t) = (base.value(id), ours.value(id), theirs.value(id));
            let value = match (one_sided(b, o, t), o, t) {
                (Some(one), _, _) => one.cloned(),
                (None, Some(Value::Map(om)), Some(Value::Map(tm))) => Some(Value::Map(
                    merge_mappings(b.and_then(Value::as_map), om, tm, later),
                )),
                (None, Some(o), Some(t)) => Some(match (o.is_null(), t.is_null()) {
                    (true, false) => t.clone(),
                    (false, true) => o.clone(),
                    _ => later.pick(o, t).clone(),
                }),
                (None, o, t) => o.or(t).cloned(),
            };
            value.map(|v| (key.clone(), v))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Status;
    use crate::release::Release;

    fn state(updated_at: &str) -> State {
        let release: Release = "4.19.36".parse().unwrap();
        let mut s = State::new(&release, "2026-06-25T13:00:13Z");
        s.updated_at = updated_at.to_owned();
        s.tasks.push(Task::new("take-ownership"));
        s.tasks.push(Task::new("update-bug-list"));
        s.issues.push(Issue::new(
            "Build broken",
            true,
            vec![],
            "2026-06-25T14:00:00Z".into(),
        ));
        s
    }

    fn both_ways(base: &State, a: &State, b: &State) -> State {
        let ab = merge_states(Some(base), a, b);
        let ba = merge_states(Some(base), b, a);
        assert_eq!(
            ab.to_yaml(),
            ba.to_yaml(),
            "merge depends on argument order"
        );
        ab
    }

    fn resolve(issue: &mut Issue, at: &str, how: &str) {
        issue.resolved = true;
        issue.resolution = Some(how.into());
        issue.resolved_at = Some(at.into());
    }

    #[test]
    fn task_both_changed_takes_the_later_write() {
        let base = state("2026-06-25T15:00:00Z");
        let mut a = state("2026-06-26T10:00:00Z");
        a.tasks[0].status = Status::Fail;
        let mut b = state("2026-06-26T09:00:00+00:00");
        b.tasks[0].status = Status::Pass;
        b.tasks[1].status = Status::InProgress;
        let m = both_ways(&base, &a, &b);
        assert_eq!(m.tasks[0].status, Status::Fail, "a wrote later");
        assert_eq!(m.tasks[1].status, Status::InProgress, "only b changed it");
        assert_eq!(m.updated_at, "2026-06-26T10:00:00Z");
    }

    #[test]
    fn later_write_compares_instants_not_text() {
        let base = state("2026-06-25T15:00:00Z");
        let mut a = state("2026-06-26T10:00:00+02:00"); // 08:00Z
        a.tasks[0].status = Status::Fail;
        let mut b = state("2026-06-26T09:00:00Z");
        b.tasks[0].status = Status::Pass;
        assert_eq!(both_ways(&base, &a, &b).tasks[0].status, Status::Pass);
    }

    #[test]
    fn resolved_issue_wins_over_a_later_edit() {
        let base = state("2026-06-25T15:00:00Z");
        let mut a = state("2026-06-26T08:00:00Z");
        resolve(&mut a.issues[0], "2026-06-26T08:00:00Z", "fixed");
        let mut b = state("2026-06-26T12:00:00Z");
        b.issues[0].blocker = false;
        let m = both_ways(&base, &a, &b);
        assert_eq!(m.issues.len(), 1);
        assert!(m.issues[0].resolved);
        assert_eq!(m.issues[0].resolution.as_deref(), Some("fixed"));
    }

    #[test]
    fn both_resolved_takes_the_newer_resolution() {
        let base = state("2026-06-25T15:00:00Z");
        let mut a = state("2026-06-26T12:00:00Z");
        resolve(&mut a.issues[0], "2026-06-26T08:00:00Z", "old");
        let mut b = state("2026-06-26T09:00:00Z");
        resolve(&mut b.issues[0], "2026-06-26T09:00:00Z", "new");
        let m = both_ways(&base, &a, &b);
        assert_eq!(m.issues[0].resolution.as_deref(), Some("new"));
    }

    #[test]
    fn issue_matching_ignores_case_and_surrounding_space() {
        let base = state("2026-06-25T15:00:00Z");
        let mut a = state("2026-06-26T08:00:00Z");
        a.issues[0].issue = "  build BROKEN ".into();
        let mut b = state("2026-06-26T09:00:00Z");
        resolve(&mut b.issues[0], "2026-06-26T09:00:00Z", "fixed");
        let m = both_ways(&base, &a, &b);
        assert_eq!(m.issues.len(), 1, "one issue, changed on both sides");
        assert!(m.issues[0].resolved);
    }

    #[test]
    fn re_added_issue_is_a_second_occurrence() {
        let mut base = state("2026-06-25T15:00:00Z");
        resolve(&mut base.issues[0], "2026-06-25T15:00:00Z", "fixed");
        // a re-adds the same text; b resolves nothing new but adds a task.
        let mut a = base.clone();
        a.updated_at = "2026-06-26T08:00:00Z".into();
        a.issues.push(Issue::new(
            "Build broken",
            true,
            vec![],
            "2026-06-26T08:00:00Z".into(),
        ));
        let mut b = base.clone();
        b.updated_at = "2026-06-26T09:00:00Z".into();
        b.tasks.push(Task::new("drop-bugs"));
        let m = both_ways(&base, &a, &b);
        assert_eq!(m.issues.len(), 2);
        assert!(m.issues[0].resolved && !m.issues[1].resolved);
        assert_eq!(m.tasks.last().unwrap().name, "drop-bugs");
    }

    #[test]
    fn metadata_merges_key_by_key_and_non_null_wins() {
        let base = state("2026-06-25T15:00:00Z");
        let mut a = state("2026-06-26T08:00:00Z");
        a.metadata.insert("jira_ticket", "ART-1".into());
        let mut ids = Mapping::new();
        ids.insert("rpm", Value::Int(1));
        a.metadata.insert("advisory_ids", Value::Map(ids));
        a.metadata.insert("qe_owner", "alice".into());
        let mut b = state("2026-06-26T09:00:00Z");
        let mut ids = Mapping::new();
        ids.insert("rhcos", Value::Int(2));
        b.metadata.insert("advisory_ids", Value::Map(ids));
        b.metadata.insert("shipment_mr", "https://mr/1".into());
        b.metadata.insert("qe_owner", Value::Null);
        let m = both_ways(&base, &a, &b);
        assert_eq!(m.metadata.get("jira_ticket"), Some(&"ART-1".into()));
        assert_eq!(m.metadata.get("shipment_mr"), Some(&"https://mr/1".into()));
        assert_eq!(m.metadata.get("qe_owner"), Some(&"alice".into()));
        let ids = m.metadata.get("advisory_ids").unwrap().as_map().unwrap();
        assert_eq!(ids.get("rpm"), Some(&Value::Int(1)));
        assert_eq!(ids.get("rhcos"), Some(&Value::Int(2)));
    }

    #[test]
    fn deletion_applies_unless_the_other_side_changed_the_entity() {
        let base = state("2026-06-25T15:00:00Z");
        let mut a = state("2026-06-26T08:00:00Z");
        a.tasks.retain(|t| t.name != "take-ownership");
        a.tasks.retain(|t| t.name != "update-bug-list");
        let mut b = state("2026-06-26T09:00:00Z");
        b.tasks[1].status = Status::Pass;
        let m = both_ways(&base, &a, &b);
        let names: Vec<_> = m.tasks.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(names, ["update-bug-list"]);
        assert_eq!(m.tasks[0].status, Status::Pass);
    }

    #[test]
    fn created_at_is_the_earliest_when_both_changed_it() {
        let base = state("2026-06-25T15:00:00Z");
        let mut a = state("2026-06-26T08:00:00Z");
        a.created_at = "2026-06-24T00:00:00Z".into();
        let mut b = state("2026-06-26T09:00:00Z");
        b.created_at = "2026-06-23T00:00:00+00:00".into();
        assert_eq!(
            both_ways(&base, &a, &b).created_at,
            "2026-06-23T00:00:00+00:00"
        );
    }

    #[test]
    fn both_added_merges_without_a_base() {
        let mut a = state("2026-06-26T08:00:00Z");
        a.tasks[0].status = Status::Pass;
        let mut b = state("2026-06-26T09:00:00Z");
        b.tasks.push(Task::new("drop-bugs"));
        let ab = merge_states(None, &a, &b);
        assert_eq!(ab, merge_states(None, &b, &a));
        // Both "added" take-ownership differently: the later write wins.
        assert_eq!(ab.tasks[0].status, Status::NotStarted);
        assert_eq!(ab.tasks.len(), 3);
    }

    #[test]
    fn new_entities_come_after_the_base_earlier_write_first() {
        let base = state("2026-06-25T15:00:00Z");
        let mut a = base.clone();
        a.updated_at = "2026-06-26T09:00:00Z".into();
        a.tasks.push(Task::new("drop-bugs"));
        let mut b = base.clone();
        b.updated_at = "2026-06-26T08:00:00Z".into();
        b.tasks.push(Task::new("stage-testing"));
        let m = both_ways(&base, &a, &b);
        let names: Vec<_> = m.tasks.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "take-ownership",
                "update-bug-list",
                "stage-testing",
                "drop-bugs"
            ]
        );
    }
}
