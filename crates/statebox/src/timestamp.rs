//! Timestamps as state files store them, and as logs print them.
//!
//! Files keep timestamps as text. statebox writes `%Y-%m-%dT%H:%M:%SZ`, as
//! the original did; a timestamp taken from a task's output is stored as
//! written there (fraction and offset kept), as the original stored it.
//! Real branches also carry zone-less values, so existing text is kept
//! verbatim and only parsed when compared.

use chrono::{DateTime, NaiveDateTime, SecondsFormat, Utc};
use regex::Regex;
use std::sync::LazyLock;

/// The form statebox writes: UTC, whole seconds, `Z`.
pub fn format(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// Parses any form found on record branches, for comparing stored values;
/// a value without a zone is UTC (the original wrote `datetime.utcnow()`
/// without tzinfo in places).
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
    // The original's pattern: a `T` between date and time (so prose such as
    // "runs until 2026-07-02 07:24:08" is not taken for the task's own time)
    // and a zone, `Z` or `±hh:mm`; a zone-less time could be any zone.
    Regex::new(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2})")
        .expect("timestamp pattern")
});

/// Every ISO-8601 timestamp with a zone in free text (log output), as written.
pub fn texts_in(text: &str) -> impl DoubleEndedIterator<Item = &str> {
    // Collected: a regex's matches can only be found front to back.
    let found: Vec<&str> = IN_TEXT.find_iter(text).map(|m| m.as_str()).collect();
    found.into_iter()
}

/// The first timestamp in a task's output, as written: when it started.
pub fn first_in(text: &str) -> Option<&str> {
    IN_TEXT.find(text).map(|m| m.as_str())
}

/// The last timestamp in a task's output, as written: when it finished.
pub fn last_in(text: &str) -> Option<&str> {
    texts_in(text).next_back()
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
    fn finds_first_and_last_in_output_as_written() {
        let out = "2026-06-25T13:22:08.5-05:00: INFO: start\nno time here\n\
                   2026-06-25T13:22:12+00:00: INFO: mid\n2026-06-25T13:22:17.123456Z: INFO: end [Pass]";
        assert_eq!(first_in(out), Some("2026-06-25T13:22:08.5-05:00"));
        assert_eq!(last_in(out), Some("2026-06-25T13:22:17.123456Z"));
        assert_eq!(first_in("nothing"), None);
        assert_eq!(last_in(""), None);
    }

    #[test]
    fn zoneless_and_loose_forms_are_not_taken() {
        let prose = "started 2026-06-25T13:22:08Z\n\
                     Scheduler will run until 2026-07-02 07:24:08Z\n\
                     end 2026-06-26T10:47:01 done, local 2026-06-26T10:47:01z, \
                     2026-06-26T10:47:01+0000, 2026-06-26T10:47:01,5Z";
        assert_eq!(
            texts_in(prose).collect::<Vec<_>>(),
            ["2026-06-25T13:22:08Z"]
        );
        assert_eq!(last_in("end 2026-06-26T10:47:01 done"), None);
        assert_eq!(first_in("no time here 2026-06-25"), None);
    }
}
