//! Builds a `Value` from yaml-rust2's event stream, resolving scalars the
//! way PyYAML's `safe_load` does. yaml-rust2 is used at the event level
//! because it reports each scalar's style: a quoted `'1.0'` must stay a
//! string while a plain `1.0` is a float, and serde_yaml hides the
//! difference (and resolves by YAML 1.2).

use std::collections::HashMap;

use yaml_rust2::parser::{Event, Parser, Tag};
use yaml_rust2::scanner::{Marker, ScanError, TScalarStyle};

use super::resolve::{Implicit, construct, construct_plain, resolve};
use super::{Mapping, ParseError, Value};

const CORE_TAG_PREFIX: &str = "tag:yaml.org,2002:";

pub(crate) fn parse(text: &str) -> Result<Value, ParseError> {
    check_printable(text)?;
    // PyYAML reads NEL as a line break that means `\n`; yaml-rust2 (YAML 1.2)
    // would keep it as content.
    let normalized;
    let text = if text.contains('\u{85}') {
        normalized = text.replace('\u{85}', "\n");
        normalized.as_str()
    } else {
        text
    };
    let mut parser = Parser::new_from_str(text);
    let mut builder = Builder::default();
    let mut documents = 0;
    loop {
        let (event, mark) = parser.next_token().map_err(scan_error)?;
        match event {
            Event::StreamEnd => break,
            Event::StreamStart => {}
            Event::DocumentStart if documents > 0 => {
                return Err(error(
                    mark,
                    "expected a single document, found a second one".into(),
                ));
            }
            Event::DocumentStart => documents += 1,
            event => builder.event(event, mark)?,
        }
    }
    Ok(builder.root.unwrap_or(Value::Null))
}

/// PyYAML's reader refuses control characters (other than tab, LF, CR),
/// lone surrogates and U+FFFE/U+FFFF anywhere in the stream, even in
/// comments; yaml-rust2 would accept most of them.
fn check_printable(text: &str) -> Result<(), ParseError> {
    let printable = |ch: char| {
        matches!(ch, '\t' | '\n' | '\r' | ' '..='~' | '\u{85}')
            || ('\u{A0}'..='\u{D7FF}').contains(&ch)
            || ('\u{E000}'..='\u{FFFD}').contains(&ch)
            || ch >= '\u{10000}'
    };
    let Some(index) = text.find(|ch| !printable(ch)) else {
        return Ok(());
    };
    let before = &text[..index];
    let line = before.matches('\n').count() + 1;
    let column = before[before.rfind('\n').map_or(0, |i| i + 1)..]
        .chars()
        .count()
        + 1;
    let ch = text[index..]
        .chars()
        .next()
        .expect("index is a char boundary");
    Err(ParseError {
        line,
        column,
        message: format!(
            "unacceptable character U+{:04X}: control characters are not allowed",
            ch as u32
        ),
    })
}

fn error(mark: Marker, message: String) -> ParseError {
    ParseError {
        line: mark.line(),
        // yaml-rust2 markers count columns from 0.
        column: mark.col() + 1,
        message,
    }
}

fn scan_error(err: ScanError) -> ParseError {
    error(*err.marker(), err.info().to_owned())
}

/// A mapping being read. PyYAML's merge keys (`<<: *base`) put the merged
/// entries before the mapping's own, then later keys win, as in a dict.
#[derive(Default)]
struct PendingMap {
    merged: Vec<(Value, Value)>,
    own: Vec<(Value, Value)>,
    key: Option<Key>,
}

enum Key {
    Merge(Marker),
    Value(Value),
}

enum Frame {
    Seq { items: Vec<Value>, anchor: usize },
    Map { map: PendingMap, anchor: usize },
}

#[derive(Default)]
struct Builder {
    stack: Vec<Frame>,
    anchors: HashMap<usize, Value>,
    root: Option<Value>,
}

impl Builder {
    fn event(&mut self, event: Event, mark: Marker) -> Result<(), ParseError> {
        match event {
            Event::SequenceStart(anchor, tag) => {
                check_collection_tag(tag.as_ref(), "seq", mark)?;
                self.stack.push(Frame::Seq {
                    items: Vec::new(),
                    anchor,
                });
            }
            Event::MappingStart(anchor, tag) => {
                check_collection_tag(tag.as_ref(), "map", mark)?;
                self.stack.push(Frame::Map {
                    map: PendingMap::default(),
                    anchor,
                });
            }
            Event::SequenceEnd => match self.stack.pop() {
                Some(Frame::Seq { items, anchor }) => {
                    self.complete(Value::Seq(items), anchor)?;
                }
                _ => unreachable!("yaml-rust2 balances sequence events"),
            },
            Event::MappingEnd => match self.stack.pop() {
                Some(Frame::Map { map, anchor }) => {
                    let mut mapping = Mapping::new();
                    // `insert` keeps a repeated key at its first position
                    // with the last value, like a Python dict.
                    for (key, value) in map.merged.into_iter().chain(map.own) {
                        mapping.insert(key, value);
                    }
                    self.complete(Value::Map(mapping), anchor)?;
                }
                _ => unreachable!("yaml-rust2 balances mapping events"),
            },
            Event::Alias(id) => {
                let value = self.anchors.get(&id).cloned().ok_or_else(|| {
                    error(mark, "alias refers to an anchor that is not defined".into())
                })?;
                self.complete(value, 0)?;
            }
            Event::Scalar(text, style, anchor, tag) => {
                if self.expects_key() && style == TScalarStyle::Plain && tag.is_none() {
                    // `<<` and `=` mean something else as keys; see PendingMap.
                    match resolve(&text) {
                        Implicit::Merge => {
                            self.set_key(Key::Merge(mark));
                            return Ok(());
                        }
                        Implicit::DefaultValue => {
                            return self.complete(Value::Str(text), anchor);
                        }
                        _ => {}
                    }
                }
                let value = scalar(text, style, tag.as_ref()).map_err(|m| error(mark, m))?;
                self.complete(value, anchor)?;
            }
            Event::DocumentEnd => {}
            Event::Nothing | Event::StreamStart | Event::StreamEnd | Event::DocumentStart => {
                unreachable!("stream events are handled by parse")
            }
        }
        Ok(())
    }

    fn expects_key(&self) -> bool {
        matches!(self.stack.last(), Some(Frame::Map { map, .. }) if map.key.is_none())
    }

    fn set_key(&mut self, key: Key) {
        if let Some(Frame::Map { map, .. }) = self.stack.last_mut() {
            map.key = Some(key);
        }
    }

    /// Hands a finished node to its parent (or makes it the document).
    fn complete(&mut self, value: Value, anchor: usize) -> Result<(), ParseError> {
        if anchor != 0 {
            self.anchors.insert(anchor, value.clone());
        }
        match self.stack.last_mut() {
            None => self.root = Some(value),
            Some(Frame::Seq { items, .. }) => items.push(value),
            Some(Frame::Map { map, .. }) => match map.key.take() {
                None => map.key = Some(Key::Value(value)),
                Some(Key::Value(key)) => map.own.push((key, value)),
                Some(Key::Merge(key_mark)) => merge(&mut map.merged, value, key_mark)?,
            },
        }
        Ok(())
    }
}

/// `SafeConstructor.flatten_mapping`: a merged list of mappings is applied
/// so that earlier mappings in the list win.
fn merge(merged: &mut Vec<(Value, Value)>, value: Value, mark: Marker) -> Result<(), ParseError> {
    let not_mergeable = || {
        error(
            mark,
            "merge key `<<` needs a mapping or a list of mappings".into(),
        )
    };
    match value {
        Value::Map(map) => merged.extend(map),
        Value::Seq(items) => {
            let maps: Vec<Mapping> = items
                .into_iter()
                .map(|item| match item {
                    Value::Map(map) => Ok(map),
                    _ => Err(not_mergeable()),
                })
                .collect::<Result<_, _>>()?;
            for map in maps.into_iter().rev() {
                merged.extend(map);
            }
        }
        _ => return Err(not_mergeable()),
    }
    Ok(())
}

fn scalar(text: String, style: TScalarStyle, tag: Option<&Tag>) -> Result<Value, String> {
    let Some(tag) = tag else {
        return match style {
            TScalarStyle::Plain => construct_plain(&text),
            _ => Ok(Value::Str(text)),
        };
    };
    let kind = match (tag.handle.as_str(), tag.suffix.as_str()) {
        // The non-specific `!` tag: a string whatever it looks like.
        ("", "!") => Implicit::Str,
        (CORE_TAG_PREFIX, "str") => Implicit::Str,
        (CORE_TAG_PREFIX, "null") => Implicit::Null,
        (CORE_TAG_PREFIX, "bool") => Implicit::Bool,
        (CORE_TAG_PREFIX, "int") => Implicit::Int,
        (CORE_TAG_PREFIX, "float") => Implicit::Float,
        (CORE_TAG_PREFIX, "timestamp") => Implicit::Timestamp,
        _ => return Err(unsupported_tag(tag)),
    };
    if kind == Implicit::Str {
        return Ok(Value::Str(text));
    }
    if resolve(&text) != kind {
        return Err(format!(
            "`{text}` is not a valid {}{}",
            tag.handle, tag.suffix
        ));
    }
    construct(kind, &text)
}

fn check_collection_tag(tag: Option<&Tag>, kind: &str, mark: Marker) -> Result<(), ParseError> {
    match tag {
        None => Ok(()),
        Some(t) if t.handle.is_empty() && t.suffix == "!" => Ok(()),
        Some(t) if t.handle == CORE_TAG_PREFIX && t.suffix == kind => Ok(()),
        Some(t) => Err(error(mark, unsupported_tag(t))),
    }
}

fn unsupported_tag(tag: &Tag) -> String {
    format!(
        "tag `{}{}` is not supported (statebox reads only the YAML core types)",
        tag.handle, tag.suffix
    )
}
