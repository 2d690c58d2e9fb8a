//! Dotted key paths over the decrypted document, and the release entry.

use super::ConfigStoreError;
use crate::yaml::{Mapping, Value};

/// One segment of a key path; quoted segments are never split or joined.
#[derive(Debug, PartialEq)]
enum Segment {
    Plain(String),
    Quoted(String),
}

/// Splits `a.b."4.19.36".c` into segments. Quotes are needed only when
/// longest-match would pick the wrong key (see [`walk`]).
fn parse_path(path: &str) -> Result<Vec<Segment>, ConfigStoreError> {
    let bad = |reason| ConfigStoreError::BadKeyPath {
        path: path.to_owned(),
        reason,
    };
    let mut segments = Vec::new();
    let mut rest = path;
    while !rest.is_empty() {
        let (segment, after) = if let Some(quoted) = rest.strip_prefix('"') {
            let end = quoted.find('"').ok_or_else(|| bad("unterminated quote"))?;
            (
                Segment::Quoted(quoted[..end].to_owned()),
                &quoted[end + 1..],
            )
        } else {
            let end = rest.find('.').unwrap_or(rest.len());
            if end == 0 {
                return Err(bad("empty segment"));
            }
            (Segment::Plain(rest[..end].to_owned()), &rest[end..])
        };
        segments.push(segment);
        rest = match after.strip_prefix('.') {
            Some("") => return Err(bad("trailing dot")),
            Some(next) => next,
            None if after.is_empty() => after,
            None => return Err(bad("a quoted segment must be followed by a dot")),
        };
    }
    Ok(segments)
}

/// Whether a mapping key reads as `text`: keys like `4.19` resolve as
/// numbers and `2026-07-01` as a timestamp, so they match their spelling
/// (`4.20` matches the float 4.2 too, as it is the same key to YAML).
fn key_is(key: &Value, text: &str) -> bool {
    match key {
        Value::Str(s) | Value::Timestamp(s) => s == text,
        Value::Int(i) => text.parse::<i64>() == Ok(*i),
        Value::Float(f) => text.parse::<f64>() == Ok(*f),
        Value::Bool(b) => b.to_string() == text,
        _ => false,
    }
}

/// Walks `segments` from `node`. Consecutive plain segments are joined
/// longest first, so `releases.4.19.36.jira_ticket` finds the key `4.19.36`
/// without quoting; a shorter join is tried when the longer one leads nowhere.
fn walk<'a>(node: &'a Value, segments: &[Segment]) -> Option<&'a Value> {
    let Some(first) = segments.first() else {
        return Some(node);
    };
    match node {
        Value::Map(map) => {
            let lookup = |key: &str| map.iter().find(|(k, _)| key_is(k, key)).map(|(_, v)| v);
            match first {
                Segment::Quoted(key) => walk(lookup(key)?, &segments[1..]),
                Segment::Plain(_) => {
                    let run = segments
                        .iter()
                        .take_while(|s| matches!(s, Segment::Plain(_)))
                        .count();
                    (1..=run).rev().find_map(|n| {
                        let key = segments[..n]
                            .iter()
                            .map(|s| match s {
                                Segment::Plain(s) | Segment::Quoted(s) => s.as_str(),
                            })
                            .collect::<Vec<_>>()
                            .join(".");
                        walk(lookup(&key)?, &segments[n..])
                    })
                }
            }
        }
        Value::Seq(items) => {
            let (Segment::Plain(index) | Segment::Quoted(index)) = first;
            walk(items.get(index.parse::<usize>().ok()?)?, &segments[1..])
        }
        _ => None,
    }
}

pub(crate) fn get<'a>(root: &'a Value, path: &str) -> Result<&'a Value, ConfigStoreError> {
    let segments = parse_path(path)?;
    walk(root, &segments).ok_or_else(|| ConfigStoreError::KeyNotFound(path.to_owned()))
}

/// A copy for the state file's `metadata`: timestamps become their text,
/// since a state file is read back through JSON, which has no dates (and
/// the Python tooling's `json.dumps` fails on PyYAML's `date`).
pub(crate) fn to_state_value(value: &Value) -> Value {
    match value {
        Value::Timestamp(s) => Value::Str(s.clone()),
        Value::Seq(items) => Value::Seq(items.iter().map(to_state_value).collect()),
        Value::Map(map) => Value::Map(
            map.iter()
                .map(|(k, v)| (to_state_value(k), to_state_value(v)))
                .collect(),
        ),
        scalar => scalar.clone(),
    }
}

/// Metadata keys whose values are maps merged key by key in the state.
const MAP_FIELDS: [&str; 2] = ["advisory_ids", "candidate_builds"];
/// Metadata keys holding one scalar.
const SCALAR_FIELDS: [&str; 3] = ["jira_ticket", "release_date", "shipment_mr"];
/// The top-level key listing further entry keys that go into a state's
/// metadata (`metadata_keys: [qe_owner]`).
pub const ALLOWLIST_KEY: &str = "metadata_keys";

/// A release's entry, cut down to what may go into the state file.
#[derive(Debug, Clone, PartialEq)]
pub struct ReleaseEntry {
    /// The state's metadata keys and the allowlisted ones, in store order.
    pub metadata: Mapping,
    /// The names of the entry's other keys, left out: a store also holds
    /// credentials, and the record branch may be public.
    pub skipped: Vec<String>,
}

/// The entry for `release`: under the top-level `releases` map if there is
/// one, else directly under the top level.
pub(crate) fn release_entry(
    root: &Value,
    release: &str,
) -> Result<Option<ReleaseEntry>, ConfigStoreError> {
    let top = root.as_map();
    let shape = |field: &str, expected| ConfigStoreError::ReleaseEntryShape {
        release: release.to_owned(),
        field: field.to_owned(),
        expected,
    };
    let allowlisted: Vec<&str> = match top.and_then(|m| m.get(ALLOWLIST_KEY)) {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Seq(keys)) => keys
            .iter()
            .map(|k| {
                k.as_str()
                    .ok_or_else(|| shape(ALLOWLIST_KEY, "a list of key names"))
            })
            .collect::<Result<_, _>>()?,
        Some(_) => return Err(shape(ALLOWLIST_KEY, "a list of key names")),
    };
    let releases = match top.and_then(|m| m.get("releases")) {
        Some(releases @ Value::Map(_)) => releases,
        _ => root,
    };
    let Some(entry) = releases
        .as_map()
        .and_then(|map| map.iter().find(|(k, _)| key_is(k, release)).map(|(_, v)| v))
    else {
        return Ok(None);
    };
    let Value::Map(entry) = to_state_value(entry) else {
        return Err(shape("(entry)", "a mapping of metadata fields"));
    };
    let mut kept = ReleaseEntry {
        metadata: Mapping::new(),
        skipped: Vec::new(),
    };
    for (key, value) in entry {
        let Some(name) = key.as_str() else {
            kept.skipped.push(crate::schema::to_json(&key).to_string());
            continue;
        };
        if MAP_FIELDS.contains(&name) && !matches!(value, Value::Map(_) | Value::Null) {
            return Err(shape(name, "a mapping"));
        }
        if SCALAR_FIELDS.contains(&name) && matches!(value, Value::Map(_) | Value::Seq(_)) {
            return Err(shape(name, "a single value"));
        }
        if MAP_FIELDS.contains(&name)
            || SCALAR_FIELDS.contains(&name)
            || allowlisted.contains(&name)
        {
            kept.metadata.insert(key, value);
        } else {
            kept.skipped.push(name.to_owned());
        }
    }
    Ok(Some(kept))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoted_segments_stay_whole_and_plain_ones_split() {
        assert_eq!(
            parse_path(r#"releases."4.19.36".x"#).unwrap(),
            vec![
                Segment::Plain("releases".into()),
                Segment::Quoted("4.19.36".into()),
                Segment::Plain("x".into()),
            ]
        );
        for bad in ["a..b", "a.", r#""a"#, r#""a"b"#, ".a"] {
            assert!(
                matches!(parse_path(bad), Err(ConfigStoreError::BadKeyPath { .. })),
                "{bad}"
            );
        }
    }

    #[test]
    fn longest_match_backs_off_to_shorter_keys() {
        let doc = crate::yaml::parse(
            "a: {b: {c: 1}}\na.b: {d: 2}\nl: [x, y]\n4.19: f\n2026-07-01: d\n4.19.36: s\n",
        )
        .unwrap();
        assert_eq!(get(&doc, "a.b.d").unwrap(), &Value::Int(2));
        assert_eq!(get(&doc, "a.b.c").unwrap(), &Value::Int(1));
        assert_eq!(get(&doc, r#""a".b.c"#).unwrap(), &Value::Int(1));
        assert_eq!(get(&doc, "l.1").unwrap(), &Value::from("y"));
        assert_eq!(get(&doc, "4.19").unwrap(), &Value::from("f"));
        assert_eq!(get(&doc, "2026-07-01").unwrap(), &Value::from("d"));
        assert_eq!(get(&doc, "4.19.36").unwrap(), &Value::from("s"));
        assert!(matches!(
            get(&doc, "a.b.e"),
            Err(ConfigStoreError::KeyNotFound(p)) if p == "a.b.e"
        ));
    }
}
