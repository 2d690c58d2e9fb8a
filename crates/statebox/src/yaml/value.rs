//! The document tree statebox reads and writes.
//!
//! It mirrors what PyYAML's `safe_load` produces (YAML 1.1 resolution), not
//! what a YAML 1.2 library would: a plain `2025-02-01` is a date to PyYAML
//! and is written back plain, while a quoted `'2025-02-01'` is a string and
//! stays quoted. Keeping that distinction is what makes load -> save of a
//! real record-branch file byte-identical.

/// One YAML node.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// `null`, `~` or nothing.
    Null,
    /// `true`/`false`, and YAML 1.1's `yes`/`no`/`on`/`off`.
    Bool(bool),
    /// An integer in any YAML 1.1 notation (`1_000`, `0x1F`, `1:30`).
    Int(i64),
    /// A float, `.inf` and `.nan` included.
    Float(f64),
    /// A string: quoted, a block scalar, or plain resolving to no other type.
    Str(String),
    /// A plain scalar that YAML 1.1 resolves as a timestamp (`2025-02-01`,
    /// `2026-06-25 13:00:13`). Kept verbatim and written back plain.
    Timestamp(String),
    /// A sequence.
    Seq(Vec<Value>),
    /// A mapping, in document order.
    Map(Mapping),
}

impl Value {
    /// The text of a string; `None` for anything else, a timestamp included.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    /// The mapping, if the node is one.
    pub fn as_map(&self) -> Option<&Mapping> {
        match self {
            Value::Map(m) => Some(m),
            _ => None,
        }
    }

    /// Whether the node is `null`.
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    /// A short name of the node's kind, for error messages.
    pub fn kind(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Bool(_) => "boolean",
            Value::Int(_) => "integer",
            Value::Float(_) => "float",
            Value::Str(_) => "string",
            Value::Timestamp(_) => "timestamp",
            Value::Seq(_) => "list",
            Value::Map(_) => "mapping",
        }
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Self {
        Value::Str(s.to_owned())
    }
}

impl From<String> for Value {
    fn from(s: String) -> Self {
        Value::Str(s)
    }
}

impl From<Option<String>> for Value {
    fn from(s: Option<String>) -> Self {
        s.map_or(Value::Null, Value::Str)
    }
}

/// An insertion-ordered mapping. Order is part of the file format (PyYAML
/// writes with `sort_keys=False`), so this is a vector, not a hash map;
/// state-file mappings have a handful of keys, so lookups by scan are cheap.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Mapping(Vec<(Value, Value)>);

impl Mapping {
    /// An empty mapping.
    pub fn new() -> Self {
        Self::default()
    }

    /// The number of entries.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are no entries.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The entries in order.
    pub fn iter(&self) -> impl Iterator<Item = (&Value, &Value)> {
        self.0.iter().map(|(k, v)| (k, v))
    }

    /// The entries with their values writable; keys stay as they are.
    pub fn iter_mut(&mut self) -> impl Iterator<Item = (&Value, &mut Value)> {
        self.0.iter_mut().map(|(k, v)| (&*k, v))
    }

    /// The value under the string key `key`.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.0
            .iter()
            .find(|(k, _)| k.as_str() == Some(key))
            .map(|(_, v)| v)
    }

    /// The value under the string key `key`, writable.
    pub fn get_mut(&mut self, key: &str) -> Option<&mut Value> {
        self.0
            .iter_mut()
            .find(|(k, _)| k.as_str() == Some(key))
            .map(|(_, v)| v)
    }

    /// Sets `key` to `value`: in place if the key exists (so its position in
    /// the file does not move), appended otherwise.
    pub fn insert(&mut self, key: impl Into<Value>, value: Value) {
        let key = key.into();
        match self.0.iter_mut().find(|(k, _)| *k == key) {
            Some(slot) => slot.1 = value,
            None => self.0.push((key, value)),
        }
    }

    /// Removes the entry under the string key `key`, keeping the others'
    /// order; returns its value.
    pub fn remove(&mut self, key: &str) -> Option<Value> {
        let index = self.0.iter().position(|(k, _)| k.as_str() == Some(key))?;
        Some(self.0.remove(index).1)
    }

    /// Appends without looking for an existing key; for readers that build
    /// a mapping from a document in order.
    pub fn push(&mut self, key: Value, value: Value) {
        self.0.push((key, value));
    }
}

impl FromIterator<(Value, Value)> for Mapping {
    fn from_iter<I: IntoIterator<Item = (Value, Value)>>(iter: I) -> Self {
        Mapping(iter.into_iter().collect())
    }
}

impl IntoIterator for Mapping {
    type Item = (Value, Value);
    type IntoIter = std::vec::IntoIter<(Value, Value)>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}
