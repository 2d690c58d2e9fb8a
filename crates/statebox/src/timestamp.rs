//! Timestamps as state files store them, and as logs print them.
//!
//! Files keep timestamps as text. statebox writes `%Y-%m-%dT%H:%M:%SZ`, but
//! real branches also carry `+00:00`, microseconds and zone-less values, so
//! existing text is kept verbatim and only parsed when compared.

use chrono::{DateTime, NaiveDateTime, SecondsFormat, Utc};
use regex::Regex;
use std::sync::LazyLock;

/// The form statebox writes: UTC, whole seconds, `Z`.
pub fn format(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// Parses any form found on record branches; a value without a zone is UTC
/// (the original wrote `datetime.utcnow()` without tzinfo in places).
pub fn parse(text: &str) -> Option<DateTime<Utc>> {
    let text = text.trim();
    if let Ok(at) = DateTime::parse_from_rfc3339(text) {
        return Some(at.with_timezone(&Utc));
    }
    if let Ok(at) = DateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S%.f%:z") {
        return Some(at.with_timezone(&Utc));
    }
    ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f"]
        .iter()
        .find_map(|f| NaiveDateTime::parse_from_str(text, f).ok())
        .map(|naive| naive.and_utc())
}

static IN_TEXT: LazyLock<Regex> = LazyLock::new(|| {
    // The original's pattern (a `T` is required, so prose such as "runs until
    // 2026-07-02 07:24:08" is not taken for the task's own time), with the
    // zone optional: outputs also carry zoneless timestamps.
    Regex::new(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2})?")
        .expect("timestamp pattern")
});

/// Every ISO-8601 timestamp in free text (log output), as written.
pub fn texts_in(text: &str) -> impl Iterator<Item = &str> {
    IN_TEXT.find_iter(text).map(|m| m.as_str())
}

fn found_in(text: &str) -> impl DoubleEndedIterator<Item = DateTime<Utc>> + '_ {
    let found: Vec<_> = texts_in(text).filter_map(parse).collect();
    found.into_iter()
}

/// The first ISO-8601 timestamp in a task's output: when it started.
pub fn first_in(text: &str) -> Option<DateTime<Utc>> {
    found_in(text).next()
}

/// The last ISO-8601 timestamp in a task's output: when it finished.
pub fn last_in(text: &str) -> Option<DateTime<Utc>> {
    found_in(text).next_back()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_form_found_on_branches() {
        let z = parse("2026-06-25T13:00:13Z").unwrap();
        assert_eq!(format(z), "2026-06-25T13:00:13Z");
        assert_eq!(parse("2026-06-25T13:00:13+00:00"), Some(z));
        assert_eq!(parse("2026-06-25T13:00:13"), Some(z));
        assert_eq!(parse("2026-06-25 13:00:13"), Some(z));
        assert_eq!(parse("2026-06-25T15:00:13+02:00"), Some(z));
        let micro = parse("2026-06-25T13:00:13.123456").unwrap();
        assert_eq!(format(micro), "2026-06-25T13:00:13Z");
        assert!(micro > z);
        assert_eq!(parse("2026-Jul-01"), None);
        assert_eq!(parse(""), None);
    }

    #[test]
    fn finds_first_and_last_in_output() {
        let out = "2026-06-25T13:22:08Z: INFO: start\nno time here\n\
                   2026-06-25T13:22:12+00:00: INFO: mid\n2026-06-25T13:22:17Z: INFO: end [Pass]";
        assert_eq!(format(first_in(out).unwrap()), "2026-06-25T13:22:08Z");
        assert_eq!(format(last_in(out).unwrap()), "2026-06-25T13:22:17Z");
        assert_eq!(first_in("nothing"), None);
        let prose = "started 2026-06-25T13:22:08Z\n\
                     Scheduler will run until 2026-07-02 07:24:08\n\
                     end 2026-06-26T10:47:01 done";
        assert_eq!(
            texts_in(prose).collect::<Vec<_>>(),
            ["2026-06-25T13:22:08Z", "2026-06-26T10:47:01"]
        );
        assert_eq!(first_in("no time here 2026-06-25"), None);
    }
}
