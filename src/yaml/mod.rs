//! Reading and writing state files exactly as PyYAML does.
//!
//! Existing record branches were written by PyYAML and are still read by
//! Python tooling, so a rewrite must not churn bytes: `to_string(parse(f))`
//! is `f` for every file PyYAML wrote.

mod emit;
mod read;
mod resolve;
mod value;

pub use value::{Mapping, Value};

/// A document that is not valid YAML, or not one statebox can represent.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("line {line}, column {column}: {message}")]
pub struct ParseError {
    /// 1-based.
    pub line: usize,
    /// 1-based.
    pub column: usize,
    pub message: String,
}

/// Parses one YAML document with PyYAML's (YAML 1.1) resolution rules.
pub fn parse(text: &str) -> Result<Value, ParseError> {
    read::parse(text)
}

/// Serializes like `yaml.dump(v, sort_keys=False, default_flow_style=False,
/// allow_unicode=True)` with literal style for strings containing a newline.
pub fn to_string(value: &Value) -> String {
    emit::to_string(value)
}
