//! Status lines (`... task [Take Ownership] status is changed to [Pass]`),
//! and the original's verdict rule on a whole output.

use crate::model::Status;

/// The fixed text of every status line; the scanner searches for it alone.
pub const MARKER: &str = "status is changed to";

/// What the original took as a sign of failure anywhere in an output.
pub const ERROR_MARK: &str = ": ERROR:";

/// One parsed status line, borrowing from the line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StatusLine<'a> {
    /// The first ISO-8601 timestamp before the `task [...]` part, if any.
    pub timestamp: Option<&'a str>,
    /// The task between the brackets, trimmed.
    pub display_name: &'a str,
    /// The raw word between the last brackets; may be none of the four statuses.
    pub status: &'a str,
}

/// What follows a task's name on a status line, up to its status.
const AFTER_NAME: &str = "] status is changed to [";

/// Parses one line (without its line break; a trailing `\r` is tolerated).
/// The log level and anything else before `task [` may vary.
///
/// The line must end with `task [NAME] status is changed to [STATUS]` and
/// whitespace, so that a status line quoted inside another message ("echo
/// 'task [X] status is changed to [Pass]' failed") does not count. Neither
/// NAME (not empty) nor STATUS holds `]` or a line break, which fixes
/// where each part can be: STATUS is after the last `]` before the closing
/// one, and NAME after the `]` or break before that. This is the pattern
/// `task \[([^\]\n]+)\] status is changed to \[([^\]\n]*)\]\s*$`, matched
/// from the end without a regex (a regex search was a sixth of a dense
/// ingest); the tests hold the pattern and compare.
pub fn parse(line: &str) -> Option<StatusLine<'_>> {
    let body = line.trim_end().strip_suffix(']')?;
    let before_status = body.rfind(']')?;
    let status = body[before_status..].strip_prefix(AFTER_NAME)?;
    let named = &body[..before_status];
    let name_from = named.rfind([']', '\n']).map_or(0, |i| i + 1);
    let start = name_from + named[name_from..].find("task [")?;
    let display_name = &named[start + "task [".len()..];
    if display_name.is_empty() || status.contains('\n') {
        return None;
    }
    Some(StatusLine {
        timestamp: crate::timestamp::first_in(&line[..start]),
        display_name: display_name.trim(),
        status: status.trim(),
    })
}

/// The original's rule for a task's status from its whole output: the last
/// non-empty line decides if it shows `[Fail]`, `[Pass]` or `[In Progress]`
/// (checked in that order); otherwise `: ERROR:` anywhere means Fail;
/// otherwise In Progress. Blank output means Pass (nothing went wrong).
pub fn verdict_from_output(text: &str) -> Status {
    let Some(last) = text.lines().rev().find(|l| !l.trim().is_empty()) else {
        return Status::Pass;
    };
    if last.contains("[Fail]") {
        Status::Fail
    } else if last.contains("[Pass]") {
        Status::Pass
    } else if last.contains("[In Progress]") {
        Status::InProgress
    } else if text.contains(ERROR_MARK) {
        Status::Fail
    } else {
        Status::InProgress
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_real_shape() {
        let line = "2026-06-25T13:22:17Z: INFO: task [Take Ownership] status is changed to [Pass]";
        assert_eq!(
            parse(line),
            Some(StatusLine {
                timestamp: Some("2026-06-25T13:22:17Z"),
                display_name: "Take Ownership",
                status: "Pass",
            })
        );
    }

    #[test]
    fn parses_other_zones_levels_and_no_timestamp() {
        let p = parse("2026-06-25T13:22:17.123456+00:00: WARNING: task [Stage Testing] status is changed to [In Progress]\r").unwrap();
        assert_eq!(p.timestamp, Some("2026-06-25T13:22:17.123456+00:00"));
        assert_eq!(p.display_name, "Stage Testing");
        assert_eq!(p.status, "In Progress");

        let p = parse("2026-06-25T13:22:17: ERROR: task [Drop Bugs] status is changed to [Fail]")
            .unwrap();
        // Zone-less: could be any zone, so not taken (as in the original).
        assert_eq!(p.timestamp, None);
        assert_eq!(p.status, "Fail");

        let p = parse("task [Drop Bugs] status is changed to [Skipped]").unwrap();
        assert_eq!(p.timestamp, None);
        assert_eq!(p.status, "Skipped");
        assert!(p.status.parse::<Status>().is_err());
    }

    #[test]
    fn rejects_lines_that_only_mention_a_status_change() {
        assert_eq!(
            parse("2026-06-25T13:22:17Z: INFO: QA Owner is updated to [EMAIL_REDACTED]"),
            None
        );
        assert_eq!(
            parse("echo 'task [X] status is changed to [Pass]' exited with 1"),
            None
        );
        assert_eq!(parse("task [] status is changed to [Pass]"), None);
    }

    /// The pattern `parse` matches by hand, as the regex it replaced.
    fn by_regex(line: &str) -> Option<StatusLine<'_>> {
        static STATUS_RE: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
            regex::Regex::new(r"task \[([^\]\n]+)\] status is changed to \[([^\]\n]*)\]\s*$")
                .unwrap()
        });
        let caps = STATUS_RE.captures(line)?;
        Some(StatusLine {
            timestamp: crate::timestamp::first_in(&line[..caps.get(0)?.start()]),
            display_name: caps.get(1)?.as_str().trim(),
            status: caps.get(2)?.as_str().trim(),
        })
    }

    fn piece() -> impl proptest::strategy::Strategy<Value = &'static str> {
        proptest::sample::select(vec![
            "task [",
            "] status is changed to [",
            "]",
            "[",
            " ",
            "\t",
            "\n",
            "\r",
            "\u{a0}",
            "Pass",
            "In Progress",
            "Take Ownership",
            "x",
            "2026-06-25T13:22:17Z: ",
            "INFO: ",
            "task",
            " status is changed to ",
            "changed to [",
        ])
    }

    proptest::proptest! {
        #![proptest_config(proptest::test_runner::Config::with_cases(20_000))]

        /// Lines built from the pieces of status lines, brackets and
        /// whitespace in every order, read as the regex reads them.
        #[test]
        fn parse_agrees_with_the_pattern(
            soup in proptest::collection::vec(proptest::collection::vec(piece(), 0..4), 4),
            shaped in proptest::bool::ANY,
        ) {
            // Half the lines have a status line's shape with soup in each
            // part; the others are soup alone.
            let [a, b, c, d] = [0, 1, 2, 3].map(|i| soup[i].concat());
            let line = if shaped {
                format!("{a}task [{b}] status is changed to [{c}]{d}")
            } else {
                [a, b, c, d].concat()
            };
            proptest::prop_assert_eq!(parse(&line), by_regex(&line), "{:?}", line);
        }
    }

    #[test]
    fn verdict_follows_the_last_non_empty_line() {
        let pass = "2026-06-25T13:22:08Z: INFO: task [Take Ownership] status is changed to [In Progress]\n\
                    2026-06-25T13:22:17Z: INFO: task [Take Ownership] status is changed to [Pass]\n\n";
        assert_eq!(verdict_from_output(pass), Status::Pass);
        assert_eq!(
            verdict_from_output("a: ERROR: boom\nx status is changed to [Fail]"),
            Status::Fail
        );
        assert_eq!(
            verdict_from_output("x: ERROR: retrying\nx status is changed to [Pass]"),
            Status::Pass
        );
        assert_eq!(
            verdict_from_output("x: ERROR: y\ntask [A] status is changed to [In Progress]"),
            Status::InProgress
        );
    }

    #[test]
    fn verdict_without_a_status_on_the_last_line() {
        assert_eq!(
            verdict_from_output("2026-06-25T13:22:17Z: ERROR: cannot reach Jira\ndone"),
            Status::Fail
        );
        assert_eq!(
            verdict_from_output("ERROR without the colon form\ndone"),
            Status::InProgress
        );
        assert_eq!(verdict_from_output("working\n"), Status::InProgress);
        assert_eq!(verdict_from_output(""), Status::Pass);
        assert_eq!(verdict_from_output(" \n\n"), Status::Pass);
    }
}
