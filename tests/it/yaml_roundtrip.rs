//! Real record-branch files, written by PyYAML, must survive load -> save
//! byte for byte; malformed documents must say where they are broken.

use std::path::{Path, PathBuf};

use statebox::yaml::{self, Value};

/// `../shared/fixtures`, present on the project's machines but not in a
/// user's clone.
fn fixtures() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/fixtures");
    if dir.is_dir() {
        Some(dir)
    } else {
        println!("skipping: {} not found", dir.display());
        None
    }
}

fn yaml_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            yaml_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "yaml") {
            out.push(path);
        }
    }
}

#[test]
fn release_files_round_trip_byte_for_byte() {
    let Some(fixtures) = fixtures() else { return };
    let mut files = Vec::new();
    yaml_files(&fixtures.join("statebox/_releases"), &mut files);
    assert!(
        !files.is_empty(),
        "no fixtures under {}",
        fixtures.display()
    );
    for file in &files {
        let text = std::fs::read_to_string(file).unwrap();
        let value = yaml::parse(&text).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        assert!(
            matches!(value, Value::Map(_)),
            "{}: a state file is a mapping",
            file.display()
        );
        let written = yaml::to_string(&value);
        if written != text {
            let line = written
                .lines()
                .zip(text.lines())
                .position(|(a, b)| a != b)
                .map_or(written.lines().count().min(text.lines().count()), |i| i);
            panic!(
                "{}: first difference at line {}\n  file:    {:?}\n  written: {:?}",
                file.display(),
                line + 1,
                text.lines().nth(line),
                written.lines().nth(line)
            );
        }
    }
    println!("{} files round-tripped", files.len());
}

fn parse_error(text: &str) -> yaml::ParseError {
    match yaml::parse(text) {
        Ok(v) => panic!("{text:?} parsed as {v:?}"),
        Err(e) => e,
    }
}

#[test]
fn tab_indentation_is_reported_at_its_line() {
    let err = parse_error("release: 4.19.1\nmetadata:\n\tjira: ART-1\n");
    assert_eq!(err.line, 3, "{err}");
    assert!(err.message.contains("tab"), "{err}");
}

#[test]
fn unclosed_quote_is_reported() {
    let err = parse_error("release: 4.19.1\nissue: 'never closed\nother: x\n");
    assert!(err.line >= 2, "{err}");
    assert!(err.message.contains("quoted"), "{err}");
}

#[test]
fn bad_indentation_is_reported_at_its_line() {
    let err = parse_error("tasks:\n  - name: a\n    status: Pass\n   result: x\n");
    assert_eq!(err.line, 4, "{err}");
}

#[test]
fn control_characters_are_rejected_like_pyyaml() {
    let err = parse_error("a: 1\nb: x\u{7}y\n");
    assert_eq!((err.line, err.column), (2, 5), "{err}");
    assert!(err.message.contains("U+0007"), "{err}");
}

#[test]
fn a_second_document_is_rejected() {
    let err = parse_error("a: 1\n---\nb: 2\n");
    assert_eq!(err.line, 2, "{err}");
    assert!(err.message.contains("single document"), "{err}");
}

#[test]
fn unknown_alias_and_tag_are_rejected() {
    let err = parse_error("a: *nowhere\n");
    assert_eq!(err.line, 1, "{err}");
    let err = parse_error("a: 1\nb: !!binary aGVsbG8=\n");
    assert_eq!(err.line, 2, "{err}");
    assert!(
        err.message.contains("!!binary") || err.message.contains("binary"),
        "{err}"
    );
}

#[test]
fn merge_keys_and_aliases_resolve_like_safe_load() {
    // PyYAML gives {'y': 2, 'z': 5, 'x': 1, 'w': {'x': 1, 'y': 2}}: merged
    // lists are applied last to first, earlier mappings winning.
    let text =
        "base: &b {x: 1, y: 2}\nother: &o {y: 3, z: 4}\nm:\n  <<: [*b, *o]\n  z: 5\n  w: *b\n";
    let value = yaml::parse(text).unwrap();
    let m = value.as_map().unwrap().get("m").unwrap();
    let want = "y: 2\nz: 5\nx: 1\nw:\n  x: 1\n  y: 2\n";
    assert_eq!(yaml::to_string(m), want);
}

#[test]
fn empty_document_is_null() {
    assert_eq!(yaml::parse("").unwrap(), Value::Null);
    assert_eq!(yaml::parse("# only a comment\n").unwrap(), Value::Null);
    assert_eq!(yaml::parse("---\n").unwrap(), Value::Null);
}
