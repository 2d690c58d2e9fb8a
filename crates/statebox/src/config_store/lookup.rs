//! Dotted key paths over the decrypted document, and the release entry.

use serde_yaml::Value as Yaml;

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

/// Whether a mapping key reads as `text` (keys like `4.19` parse as numbers).
fn key_is(key: &Yaml, text: &str) -> bool {
    match key {
        Yaml::String(s) => s == text,
        Yaml::Number(n) => n.to_string() == text,
        Yaml::Bool(b) => b.to_string() == text,
        _ => false,
    }
}

/// Walks `segments` from `node`. Consecutive plain segments are joined
/// longest first, so `releases.4.19.36.jira_ticket` finds the key `4.19.36`
/// without quoting; a shorter join is tried when the longer one leads nowhere.
fn walk<'a>(node: &'a Yaml, segments: &[Segment]) -> Option<&'a Yaml> {
    let Some(first) = segments.first() else {
        return Some(node);
    };
    match node {
        Yaml::Tagged(tagged) => walk(&tagged.value, segments),
        Yaml::Mapping(map) => {
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
        Yaml::Sequence(items) => {
            let (Segment::Plain(index) | Segment::Quoted(index)) = first;
            walk(items.get(index.parse::<usize>().ok()?)?, &segments[1..])
        }
        _ => None,
    }
}

pub(crate) fn get<'a>(root: &'a Yaml, path: &str) -> Result<&'a Yaml, ConfigStoreError> {
    let segments = parse_path(path)?;
    walk(root, &segments).ok_or_else(|| ConfigStoreError::KeyNotFound(path.to_owned()))
}

/// Converts to the state file's value type so the entry can go straight into
/// `metadata`. Integers beyond i64 have no exact state representation and
/// become floats, as PyYAML would not produce them either.
pub(crate) fn to_state_value(value: &Yaml) -> Value {
    match value {
        Yaml::Null => Value::Null,
        Yaml::Bool(b) => Value::Bool(*b),
        Yaml::Number(n) => n
            .as_i64()
            .map(Value::Int)
            .unwrap_or_else(|| Value::Float(n.as_f64().unwrap_or(f64::NAN))),
        Yaml::String(s) => Value::Str(s.clone()),
        Yaml::Sequence(items) => Value::Seq(items.iter().map(to_state_value).collect()),
        Yaml::Mapping(map) => Value::Map(
            map.iter()
                .map(|(k, v)| (to_state_value(k), to_state_value(v)))
                .collect(),
        ),
        Yaml::Tagged(tagged) => to_state_value(&tagged.value),
    }
}

/// Metadata keys whose values are maps merged key by key in the state.
const MAP_FIELDS: [&str; 2] = ["advisory_ids", "candidate_builds"];
/// Metadata keys holding one scalar.
const SCALAR_FIELDS: [&str; 3] = ["jira_ticket", "release_date", "shipment_mr"];

/// The entry for `release`: under the top-level `releases` map if there is
/// one, else directly under the top level.
pub(crate) fn release_entry(
    root: &Yaml,
    release: &str,
) -> Result<Option<Mapping>, ConfigStoreError> {
    let releases = match root.get("releases") {
        Some(releases @ Yaml::Mapping(_)) => releases,
        _ => root,
    };
    let Some(entry) = releases
        .as_mapping()
        .and_then(|map| map.iter().find(|(k, _)| key_is(k, release)).map(|(_, v)| v))
    else {
        return Ok(None);
    };
    let shape = |field: &str, expected| ConfigStoreError::ReleaseEntryShape {
        release: release.to_owned(),
        field: field.to_owned(),
        expected,
    };
    let Value::Map(entry) = to_state_value(entry) else {
        return Err(shape("(entry)", "a mapping of metadata fields"));
    };
    for (key, value) in entry.iter() {
        let Some(key) = key.as_str() else { continue };
        if MAP_FIELDS.contains(&key) && !matches!(value, Value::Map(_) | Value::Null) {
            return Err(shape(key, "a mapping"));
        }
        if SCALAR_FIELDS.contains(&key) && matches!(value, Value::Map(_) | Value::Seq(_)) {
            return Err(shape(key, "a single value"));
        }
    }
    Ok(Some(entry))
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
        let doc: Yaml =
            serde_yaml::from_str("a: {b: {c: 1}}\na.b: {d: 2}\nl: [x, y]\n4.19: f\n").unwrap();
        assert_eq!(get(&doc, "a.b.d").unwrap(), &Yaml::from(2));
        assert_eq!(get(&doc, "a.b.c").unwrap(), &Yaml::from(1));
        assert_eq!(get(&doc, r#""a".b.c"#).unwrap(), &Yaml::from(1));
        assert_eq!(get(&doc, "l.1").unwrap(), &Yaml::from("y"));
        assert_eq!(get(&doc, "4.19").unwrap(), &Yaml::from("f"));
        assert!(matches!(
            get(&doc, "a.b.e"),
            Err(ConfigStoreError::KeyNotFound(p)) if p == "a.b.e"
        ));
    }
}
