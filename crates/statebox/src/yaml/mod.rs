//! Reading and writing state files exactly as PyYAML does.
//!
//! Existing record branches were written by PyYAML and are still read by
//! Python tooling, so a rewrite must not churn bytes: `to_string(parse(f))`
//! is `f` for every file PyYAML wrote.

mod emit;
mod read;
mod resolve;
mod value;

pub use read::{MAX_ALIAS_EXPANSION, MAX_DEPTH};
pub use value::{Mapping, Value};

/// A document that is not valid YAML, or not one statebox can represent.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("line {line}, column {column}: {message}")]
pub struct ParseError {
    /// 1-based.
    pub line: usize,
    /// 1-based.
    pub column: usize,
    /// What is wrong there.
    pub message: String,
}

/// Parses one YAML document with PyYAML's (YAML 1.1) resolution rules, to
/// the value `yaml.safe_load` gives: plain `yes`/`1_000`/`0x1F`/`1:30`/`.inf`
/// are bool/int/float, quoted scalars are strings, plain timestamps are kept
/// verbatim as `Value::Timestamp`, aliases are copies of their anchor and
/// `<<` merge keys are applied. An empty document is `Value::Null`.
///
/// Errors give the 1-based line and column of the problem; a second
/// document, an unknown tag, a control character or an integer beyond i64
/// are errors too, and so are documents that nest deeper than
/// [`MAX_DEPTH`] or whose aliases copy more than [`MAX_ALIAS_EXPANSION`]:
/// the file is untrusted input, and both bounds keep reading it in small,
/// bounded memory and stack.
pub fn parse(text: &str) -> Result<Value, ParseError> {
    read::parse(text)
}

/// Serializes like `yaml.dump(v, Dumper=SafeDumper, sort_keys=False,
/// default_flow_style=False, allow_unicode=True)` with literal style
/// requested for strings containing a newline: byte for byte what PyYAML
/// 6 writes, including its quoting, folding at column 80 and the `...` after
/// a plain root scalar.
pub fn to_string(value: &Value) -> String {
    emit::to_string(value)
}
