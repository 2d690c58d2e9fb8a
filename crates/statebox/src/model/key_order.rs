//! Decoding a mapping into typed fields while remembering everything else.
//!
//! `Layout` records the key order found in the file and the entries statebox
//! does not know, so encoding puts known fields back where they were and
//! unknown ones (`qe_owner`, keys a newer tool added) untouched in place.

use super::ShapeError;
use crate::yaml::{Mapping, Value};

#[derive(Debug, Clone, PartialEq, Default)]
pub(super) struct Layout {
    order: Vec<String>,
    unknown: Mapping,
}

impl Layout {
    /// Known fields in canonical order; `None` omits the key. Keys the file
    /// had come in the file's order; known keys it lacked follow at the end.
    pub(super) fn encode(&self, mut known: Vec<(&'static str, Option<Value>)>) -> Value {
        let mut out = Mapping::new();
        for key in &self.order {
            if let Some(slot) = known.iter_mut().find(|(k, _)| k == key) {
                if let Some(value) = slot.1.take() {
                    out.push(Value::Str(key.clone()), value);
                }
            } else if let Some(value) = self.unknown.get(key) {
                out.push(Value::Str(key.clone()), value.clone());
            }
        }
        for (key, value) in known {
            if let Some(value) = value {
                out.push(key.into(), value);
            }
        }
        Value::Map(out)
    }
}

/// A mapping being taken apart field by field, with the path for errors.
pub(super) struct Fields {
    path: String,
    order: Vec<String>,
    rest: Mapping,
}

impl Fields {
    pub(super) fn new(value: Value, path: String) -> Result<Self, ShapeError> {
        let Value::Map(map) = value else {
            let at = if path.is_empty() {
                "document".to_owned()
            } else {
                path
            };
            return Err(ShapeError {
                field: at,
                problem: format!("expected a mapping, found {}", value.kind()),
            });
        };
        let mut order = Vec::with_capacity(map.len());
        for (key, _) in map.iter() {
            match key.as_str() {
                Some(k) => order.push(k.to_owned()),
                None => {
                    return Err(ShapeError {
                        field: if path.is_empty() {
                            "document".into()
                        } else {
                            path
                        },
                        problem: format!("keys must be strings, found a {} key", key.kind()),
                    });
                }
            }
        }
        Ok(Fields {
            path,
            order,
            rest: map,
        })
    }

    pub(super) fn error(&self, key: &str, problem: impl Into<String>) -> ShapeError {
        let field = if self.path.is_empty() {
            key.to_owned()
        } else {
            format!("{}.{key}", self.path)
        };
        ShapeError {
            field,
            problem: problem.into(),
        }
    }

    fn take(&mut self, key: &str) -> Option<Value> {
        self.rest.remove(key)
    }

    fn required(&mut self, key: &str) -> Result<Value, ShapeError> {
        self.take(key).ok_or_else(|| self.error(key, "missing"))
    }

    fn wrong(&self, key: &str, expected: &str, found: &Value) -> ShapeError {
        self.error(key, format!("expected {expected}, found {}", found.kind()))
    }

    pub(super) fn string(&mut self, key: &str) -> Result<String, ShapeError> {
        match self.required(key)? {
            Value::Str(s) | Value::Timestamp(s) => Ok(s),
            other => Err(self.wrong(key, "a string", &other)),
        }
    }

    /// A string or null; a missing key reads as null.
    pub(super) fn optional_string(&mut self, key: &str) -> Result<Option<String>, ShapeError> {
        match self.take(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Str(s) | Value::Timestamp(s)) => Ok(Some(s)),
            Some(other) => Err(self.wrong(key, "a string or null", &other)),
        }
    }

    pub(super) fn bool(&mut self, key: &str) -> Result<bool, ShapeError> {
        match self.required(key)? {
            Value::Bool(b) => Ok(b),
            other => Err(self.wrong(key, "true or false", &other)),
        }
    }

    pub(super) fn string_list(&mut self, key: &str) -> Result<Vec<String>, ShapeError> {
        match self.take(key) {
            None | Some(Value::Null) => Ok(Vec::new()),
            Some(Value::Seq(items)) => items
                .into_iter()
                .map(|item| match item {
                    Value::Str(s) => Ok(s),
                    other => Err(self.wrong(key, "a list of strings", &other)),
                })
                .collect(),
            Some(other) => Err(self.wrong(key, "a list", &other)),
        }
    }

    pub(super) fn list(&mut self, key: &str) -> Result<Vec<Value>, ShapeError> {
        match self.take(key) {
            None | Some(Value::Null) => Ok(Vec::new()),
            Some(Value::Seq(items)) => Ok(items),
            Some(other) => Err(self.wrong(key, "a list", &other)),
        }
    }

    pub(super) fn mapping(&mut self, key: &str) -> Result<Mapping, ShapeError> {
        match self.take(key) {
            None | Some(Value::Null) => Ok(Mapping::new()),
            Some(Value::Map(m)) => Ok(m),
            Some(other) => Err(self.wrong(key, "a mapping", &other)),
        }
    }

    pub(super) fn finish(self) -> Layout {
        Layout {
            order: self.order,
            unknown: self.rest,
        }
    }
}
