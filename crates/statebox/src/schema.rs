//! The JSON Schema of a state file (`schema/statebox.schema.json`), used by
//! `statebox validate`, so the published schema and the check are one thing.

use crate::yaml::Value;
use std::sync::LazyLock;

const SCHEMA_JSON: &str = include_str!("../../../schema/statebox.schema.json");

static VALIDATOR: LazyLock<jsonschema::Validator> = LazyLock::new(|| {
    let schema: serde_json::Value =
        serde_json::from_str(SCHEMA_JSON).expect("bundled schema is JSON");
    jsonschema::validator_for(&schema).expect("bundled schema is a valid JSON Schema")
});

/// A YAML document as the JSON that Python's `json.dumps` would give for
/// what PyYAML loaded (dates as their text).
pub fn to_json(value: &Value) -> serde_json::Value {
    use serde_json::Value as J;
    match value {
        Value::Null => J::Null,
        Value::Bool(b) => J::Bool(*b),
        Value::Int(i) => J::from(*i),
        Value::Float(f) => serde_json::Number::from_f64(*f).map_or(J::Null, J::Number),
        Value::Str(s) | Value::Timestamp(s) => J::String(s.clone()),
        Value::Seq(items) => J::Array(items.iter().map(to_json).collect()),
        Value::Map(map) => J::Object(
            map.iter()
                .map(|(k, v)| {
                    let key = match k {
                        Value::Str(s) | Value::Timestamp(s) => s.clone(),
                        other => to_json(other).to_string(),
                    };
                    (key, to_json(v))
                })
                .collect(),
        ),
    }
}

/// Every place the document breaks the schema, as `at /path: problem`.
pub fn violations(value: &Value) -> Vec<String> {
    let json = to_json(value);
    VALIDATOR
        .iter_errors(&json)
        .map(|e| {
            let at = e.instance_path().to_string();
            format!("at {}: {e}", if at.is_empty() { "/" } else { &at })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::yaml::Mapping;

    #[test]
    fn a_new_state_is_valid_and_breakage_is_reported_with_its_path() {
        let release = "4.19.1".parse().unwrap();
        let mut state = crate::model::State::new(&release, "2026-06-25T13:00:13Z");
        state.tasks.push(crate::model::Task::new("drop-bugs"));
        assert_eq!(violations(&state.to_value()), Vec::<String>::new());

        let Value::Map(mut doc) = state.to_value() else {
            unreachable!()
        };
        let Some(Value::Seq(tasks)) = doc.get_mut("tasks") else {
            unreachable!()
        };
        let Value::Map(task) = &mut tasks[0] else {
            unreachable!()
        };
        task.insert("status", "Done".into());
        doc.insert("updated_at", "yesterday".into());
        let found = violations(&Value::Map(doc));
        assert!(
            found.iter().any(|v| v.starts_with("at /tasks/0/status")),
            "{found:?}"
        );
        assert!(
            found.iter().any(|v| v.starts_with("at /updated_at")),
            "{found:?}"
        );
        assert!(!violations(&Value::Map(Mapping::new())).is_empty());
    }
}
