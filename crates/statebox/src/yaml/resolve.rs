//! YAML 1.1 implicit resolution, as PyYAML's `resolver.py` does it.
//!
//! The same tables decide both directions: what a plain scalar reads as, and
//! whether a string may be written plain (only if it would read back as a
//! string). The patterns are PyYAML's, matched by hand (see `is_float`
//! and the tests, which hold them as regexes).

use super::Value;

/// The type PyYAML's implicit resolvers give a plain scalar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Implicit {
    Null,
    Bool,
    Int,
    Float,
    Timestamp,
    /// `<<`: a merge key in a mapping, an error anywhere else.
    Merge,
    /// `=`: PyYAML reads it as a string key and has no constructor for it as
    /// a value.
    DefaultValue,
    /// `!`, `&`, `*`: never a valid plain scalar, listed by PyYAML "for
    /// documentation", but it still makes the writer quote them.
    Yaml,
    Str,
}

// PyYAML's resolver patterns, matched by hand. As regexes they cost more
// to compile than a merge driver or a `task set` spends on everything
// else (57% of the driver's instructions); the tests keep the regexes
// and check these matchers against them.

fn is_bool(text: &str) -> bool {
    matches!(
        text,
        "yes"
            | "Yes"
            | "YES"
            | "no"
            | "No"
            | "NO"
            | "true"
            | "True"
            | "TRUE"
            | "false"
            | "False"
            | "FALSE"
            | "on"
            | "On"
            | "ON"
            | "off"
            | "Off"
            | "OFF"
    )
}

fn digit(b: &u8) -> bool {
    b.is_ascii_digit()
}

fn digit_or_underscore(b: &u8) -> bool {
    b.is_ascii_digit() || *b == b'_'
}

/// `s` without its leading bytes that satisfy `class`.
fn skip(s: &[u8], class: impl Fn(&u8) -> bool) -> &[u8] {
    &s[s.iter().take_while(|b| class(b)).count()..]
}

/// `[-+]?`
fn unsigned(s: &[u8]) -> &[u8] {
    s.strip_prefix(b"-")
        .or_else(|| s.strip_prefix(b"+"))
        .unwrap_or(s)
}

/// `(?:[eE][-+][0-9]+)?` and the end.
fn optional_exponent(s: &[u8]) -> bool {
    match s {
        [] => true,
        [b'e' | b'E', b'-' | b'+', digits @ ..] => !digits.is_empty() && digits.iter().all(digit),
        _ => false,
    }
}

/// `(?::[0-5]?[0-9])+` followed by what `tail` accepts (a `.` or the end,
/// neither of which can start a group). A group takes two digits when it
/// can: with one, a digit would follow, which neither a group nor the tail
/// accepts, so the greedy width is the only one that can match. A loop,
/// not recursion: the scalar comes from the branch, and may be long.
fn base_60_then(mut s: &[u8], tail: impl Fn(&[u8]) -> bool) -> bool {
    let mut groups = 0;
    loop {
        if groups > 0 && tail(s) {
            return true;
        }
        let Some(group) = s.strip_prefix(b":") else {
            return false;
        };
        let width = match group {
            [b'0'..=b'5', b'0'..=b'9', ..] => 2,
            [b'0'..=b'9', ..] => 1,
            _ => return false,
        };
        s = &group[width..];
        groups += 1;
    }
}

fn is_float(text: &str) -> bool {
    let t = text.as_bytes();
    let u = unsigned(t);
    if matches!(u, b".inf" | b".Inf" | b".INF") || matches!(t, b".nan" | b".NaN" | b".NAN") {
        return true;
    }
    // `\.[0-9][0-9_]*(?:[eE][-+][0-9]+)?`, unsigned.
    if let [b'.', first, rest @ ..] = t
        && first.is_ascii_digit()
    {
        return optional_exponent(skip(rest, digit_or_underscore));
    }
    let [first, rest @ ..] = u else {
        return false;
    };
    if !first.is_ascii_digit() {
        return false;
    }
    let rest = skip(rest, digit_or_underscore);
    // `[-+]?[0-9][0-9_]*\.[0-9_]*(?:[eE][-+][0-9]+)?`
    let decimal = rest
        .strip_prefix(b".")
        .is_some_and(|fraction| optional_exponent(skip(fraction, digit_or_underscore)));
    // `[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*`
    decimal
        || base_60_then(rest, |tail| {
            tail.strip_prefix(b".")
                .is_some_and(|fraction| fraction.iter().all(digit_or_underscore))
        })
}

fn is_int(text: &str) -> bool {
    let u = unsigned(text.as_bytes());
    let all = |s: &[u8], class: fn(&u8) -> bool| !s.is_empty() && s.iter().all(class);
    match u {
        [b'0'] => true,
        [b'0', b'b', rest @ ..] => all(rest, |b| matches!(b, b'0' | b'1' | b'_')),
        [b'0', b'x', rest @ ..] => all(rest, |b| b.is_ascii_hexdigit() || *b == b'_'),
        [b'0', rest @ ..] => all(rest, |b| matches!(b, b'0'..=b'7' | b'_')),
        [b'1'..=b'9', rest @ ..] => {
            let rest = skip(rest, digit_or_underscore);
            rest.is_empty() || base_60_then(rest, <[u8]>::is_empty)
        }
        _ => false,
    }
}

/// `[0-9]{n}` for n in `min..=max`, greedily; what follows.
fn digits(s: &[u8], min: usize, max: usize) -> Option<&[u8]> {
    let n = s
        .iter()
        .take(max)
        .take_while(|b| b.is_ascii_digit())
        .count();
    (n >= min).then(|| &s[n..])
}

/// Whether `text` is PyYAML's timestamp: a date, or a date and time with an
/// optional fraction and zone. The writer asks too, to keep a
/// `Value::Timestamp` that holds something else from being written as if
/// it were one. Every variable-width part is followed by a byte it
/// cannot hold, so greedy widths decide as the regex does.
pub(crate) fn is_timestamp(text: &str) -> bool {
    let t = text.as_bytes();
    let date_only = matches!(t, [y1, y2, y3, y4, b'-', m1, m2, b'-', d1, d2]
        if [y1, y2, y3, y4, m1, m2, d1, d2].into_iter().all(u8::is_ascii_digit));
    date_only || is_date_time(t)
}

/// `[0-9]{min,max}` and then `then`; what follows.
fn part(s: &[u8], min: usize, max: usize, then: u8) -> Option<&[u8]> {
    digits(s, min, max)?.strip_prefix(&[then])
}

fn is_date_time(t: &[u8]) -> bool {
    let Some(rest) = part(t, 4, 4, b'-').and_then(|s| part(s, 1, 2, b'-')) else {
        return false;
    };
    let Some(rest) = digits(rest, 1, 2) else {
        return false;
    };
    let rest = match rest {
        [b'T' | b't', rest @ ..] => rest,
        [b' ' | b'\t', ..] => skip(rest, |b| matches!(b, b' ' | b'\t')),
        _ => return false,
    };
    let Some(rest) = part(rest, 1, 2, b':').and_then(|s| part(s, 2, 2, b':')) else {
        return false;
    };
    let Some(mut rest) = digits(rest, 2, 2) else {
        return false;
    };
    if let Some(fraction) = rest.strip_prefix(b".") {
        rest = skip(fraction, digit);
    }
    if rest.is_empty() {
        return true;
    }
    match skip(rest, |b| matches!(b, b' ' | b'\t')) {
        [b'Z'] => true,
        [b'-' | b'+', zone @ ..] => match digits(zone, 1, 2) {
            Some([]) => true,
            Some([b':', minutes @ ..]) => digits(minutes, 2, 2) == Some(&[][..]),
            _ => false,
        },
        _ => false,
    }
}

/// Resolves a plain scalar. Like PyYAML, resolvers are picked by the first
/// character and tried in registration order (bool, float, int, merge, null,
/// timestamp, value, yaml).
pub(crate) fn resolve(text: &str) -> Implicit {
    let Some(first) = text.chars().next() else {
        return Implicit::Null;
    };
    match first {
        'y' | 'Y' | 'n' | 'N' | 't' | 'T' | 'f' | 'F' | 'o' | 'O' if is_bool(text) => {
            Implicit::Bool
        }
        '-' | '+' | '0'..='9' | '.' if is_float(text) => Implicit::Float,
        '-' | '+' | '0'..='9' if is_int(text) => Implicit::Int,
        '<' if text == "<<" => Implicit::Merge,
        '~' if text == "~" => Implicit::Null,
        'n' | 'N' if matches!(text, "null" | "Null" | "NULL") => Implicit::Null,
        '0'..='9' if is_timestamp(text) => Implicit::Timestamp,
        '=' if text == "=" => Implicit::DefaultValue,
        '!' | '&' | '*' if text.len() == 1 => Implicit::Yaml,
        _ => Implicit::Str,
    }
}

/// Builds the value of a plain scalar the way PyYAML's `SafeConstructor`
/// does. `Err` carries the reason for scalars that match a resolver but
/// cannot be built (PyYAML raises there too).
pub(crate) fn construct_plain(text: &str) -> Result<Value, String> {
    construct(resolve(text), text)
}

/// Builds a scalar that `resolve` (or an explicit tag) says is of `kind`.
pub(crate) fn construct(kind: Implicit, text: &str) -> Result<Value, String> {
    match kind {
        Implicit::Null => Ok(Value::Null),
        Implicit::Bool => Ok(Value::Bool(
            matches!(text.as_bytes()[0], b'y' | b'Y' | b't' | b'T')
                || text.eq_ignore_ascii_case("on"),
        )),
        Implicit::Int => construct_int(text),
        Implicit::Float => Ok(Value::Float(construct_float(text))),
        Implicit::Timestamp => Ok(Value::Timestamp(text.to_owned())),
        Implicit::Str => Ok(Value::Str(text.to_owned())),
        Implicit::Merge => Err(format!(
            "`{text}` is a merge key and only valid as a mapping key"
        )),
        Implicit::DefaultValue | Implicit::Yaml => Err(format!(
            "plain `{text}` has no value in YAML 1.1; quote it to make it a string"
        )),
    }
}

/// Splits a leading sign off a number with `_` separators already removed.
fn split_sign(digits: &str) -> (bool, &str) {
    match digits.as_bytes().first() {
        Some(b'-') => (true, &digits[1..]),
        Some(b'+') => (false, &digits[1..]),
        _ => (false, digits),
    }
}

/// Sums `a:b:c` as base-60 digits, most significant first.
fn sexagesimal<T: Copy + std::ops::Mul<Output = T> + std::ops::Add<Output = T>>(
    parts: impl Iterator<Item = T>,
    sixty: T,
    zero: T,
) -> T {
    parts.fold(zero, |acc, part| acc * sixty + part)
}

fn construct_int(text: &str) -> Result<Value, String> {
    let cleaned = text.replace('_', "");
    let (negative, digits) = split_sign(&cleaned);
    let out_of_range = || format!("integer `{text}` does not fit in 64 bits");
    let magnitude: i128 = if digits == "0" {
        0
    } else if let Some(bin) = digits.strip_prefix("0b") {
        i128::from_str_radix(bin, 2).map_err(|_| format!("`{text}` is not a binary integer"))?
    } else if let Some(hex) = digits.strip_prefix("0x") {
        i128::from_str_radix(hex, 16).map_err(|_| format!("`{text}` is not a hex integer"))?
    } else if digits.starts_with('0') {
        i128::from_str_radix(digits, 8).map_err(|_| out_of_range())?
    } else if digits.contains(':') {
        let parts: Result<Vec<i128>, _> = digits.split(':').map(str::parse).collect();
        sexagesimal(parts.map_err(|_| out_of_range())?.into_iter(), 60, 0)
    } else {
        digits.parse().map_err(|_| out_of_range())?
    };
    let value = if negative { -magnitude } else { magnitude };
    i64::try_from(value)
        .map(Value::Int)
        .map_err(|_| out_of_range())
}

fn construct_float(text: &str) -> f64 {
    let cleaned = text.replace('_', "").to_ascii_lowercase();
    let (negative, digits) = split_sign(&cleaned);
    let magnitude = if digits == ".inf" {
        f64::INFINITY
    } else if digits == ".nan" {
        return f64::NAN;
    } else if digits.contains(':') {
        // The resolver guarantees digits and at most one `.`, in the last part.
        sexagesimal(
            digits
                .split(':')
                .map(|p| p.parse::<f64>().expect("resolver admits digits only")),
            60.0,
            0.0,
        )
    } else {
        digits
            .parse()
            .expect("the float resolver only admits valid floats")
    };
    if negative { -magnitude } else { magnitude }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// PyYAML's resolver patterns as regexes, the reference the hand
    /// matchers are checked against (written without `(?x)`, whose
    /// verbose mode would also drop the spaces inside `[ \t]`).
    mod patterns {
        use regex::Regex;
        use std::sync::LazyLock;

        pub static BOOL: LazyLock<Regex> = LazyLock::new(|| {
            Regex::new(
                r"^(?:yes|Yes|YES|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF)$",
            )
            .unwrap()
        });
        pub static FLOAT: LazyLock<Regex> = LazyLock::new(|| {
            Regex::new(concat!(
                r"^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+][0-9]+)?",
                r"|\.[0-9][0-9_]*(?:[eE][-+][0-9]+)?",
                r"|[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*",
                r"|[-+]?\.(?:inf|Inf|INF)",
                r"|\.(?:nan|NaN|NAN))$",
            ))
            .unwrap()
        });
        pub static INT: LazyLock<Regex> = LazyLock::new(|| {
            Regex::new(concat!(
                r"^(?:[-+]?0b[0-1_]+",
                r"|[-+]?0[0-7_]+",
                r"|[-+]?(?:0|[1-9][0-9_]*)",
                r"|[-+]?0x[0-9a-fA-F_]+",
                r"|[-+]?[1-9][0-9_]*(?::[0-5]?[0-9])+)$",
            ))
            .unwrap()
        });
        pub static TIMESTAMP: LazyLock<Regex> = LazyLock::new(|| {
            Regex::new(concat!(
                r"^(?:[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]",
                r"|[0-9][0-9][0-9][0-9]-[0-9][0-9]?-[0-9][0-9]?",
                r"(?:[Tt]|[ \t]+)[0-9][0-9]?",
                r":[0-9][0-9]:[0-9][0-9](?:\.[0-9]*)?",
                r"(?:[ \t]*(?:Z|[-+][0-9][0-9]?(?::[0-9][0-9])?))?)$",
            ))
            .unwrap()
        });
    }

    fn agree(text: &str) -> Result<(), proptest::test_runner::TestCaseError> {
        use patterns::*;
        proptest::prop_assert_eq!(is_bool(text), BOOL.is_match(text), "bool {:?}", text);
        proptest::prop_assert_eq!(is_float(text), FLOAT.is_match(text), "float {:?}", text);
        proptest::prop_assert_eq!(is_int(text), INT.is_match(text), "int {:?}", text);
        proptest::prop_assert_eq!(
            is_timestamp(text),
            TIMESTAMP.is_match(text),
            "timestamp {:?}",
            text
        );
        Ok(())
    }

    proptest::proptest! {
        #![proptest_config(proptest::test_runner::Config::with_cases(20_000))]

        /// Strings of the bytes the patterns care about, and strings shaped
        /// like each pattern with every part a little too short or long.
        #[test]
        fn hand_matchers_agree_with_pyyaml_patterns(
            text in proptest::prop_oneof![
                "[-+0-9_.:eEbxXaAfFTtZ \t]{0,14}",
                "[-+]?[0-9_]{0,3}(:[0-9]{0,3}){0,3}(\\.[0-9_]{0,3})?([eE][-+]?[0-9]{0,2})?",
                "[-+]?0[bx0-9a-fA-F_]{0,5}",
                "[-+]?\\.(inf|Inf|INF|nan|NaN|NAN|iNf|[0-9]{1,2})",
                "[0-9]{3,5}-[0-9]{0,3}-[0-9]{0,3}([Tt]|[ \t]{0,2})?[0-9]{0,3}:[0-9]{1,3}:[0-9]{1,3}(\\.[0-9]{0,3})?[ \t]{0,2}(Z|z|[-+][0-9]{0,3}(:[0-9]{0,3})?)?",
                "[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}([Tt]|[ \t]{1,2})[0-9]{1,2}:[0-9]{2}:[0-9]{2}(\\.[0-9]{0,3})?[ \t]{0,2}(Z|z|[-+][0-9]{0,3}(:[0-9]{0,3})?)?",
                "[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}([Tt]|[ \t]{1,2}|_)[0-9]{0,3}:[0-9]{1,3}:[0-9]{1,3}(\\.[0-9]{0,3}|,5)?",
                "(yes|Yes|YES|no|NO|true|True|TRUE|false|FALSE|on|ON|off|OFF|oN|yES|Truee)",
            ]
        ) {
            agree(&text)?;
        }
    }

    #[test]
    fn a_long_run_of_base_60_groups_is_matched_without_recursion() {
        let long = format!("1{}", ":59".repeat(200_000));
        assert!(is_int(&long));
        assert!(is_float(&format!("{long}.5")));
        assert!(!is_int(&format!("{long}:")));
    }

    // Expectations checked against PyYAML 6.0.3:
    // python3 -c 'import yaml; print(repr(yaml.safe_load("X")))'
    #[test]
    fn bools_in_the_three_cases_only() {
        for t in [
            "yes", "Yes", "YES", "true", "True", "TRUE", "on", "On", "ON",
        ] {
            assert_eq!(construct_plain(t), Ok(Value::Bool(true)), "{t}");
        }
        for f in [
            "no", "No", "NO", "false", "False", "FALSE", "off", "Off", "OFF",
        ] {
            assert_eq!(construct_plain(f), Ok(Value::Bool(false)), "{f}");
        }
        for s in ["y", "n", "Y", "yES", "tRUE", "oN", "nO"] {
            assert_eq!(construct_plain(s), Ok(Value::Str(s.into())), "{s}");
        }
    }

    #[test]
    fn nulls() {
        for n in ["", "~", "null", "Null", "NULL"] {
            assert_eq!(construct_plain(n), Ok(Value::Null), "{n}");
        }
        for s in ["nULL", "none", "None", "~~"] {
            assert_eq!(construct_plain(s), Ok(Value::Str(s.into())), "{s}");
        }
    }

    #[test]
    fn ints_in_every_base() {
        let cases = [
            ("0", 0),
            ("-0", 0),
            ("+12", 12),
            ("1_000", 1000),
            ("012", 10),
            ("0_7", 7),
            ("0b1010", 10),
            ("-0b1_0", -2),
            ("0x1F", 31),
            ("-0x_1F", -31),
            ("1:30", 90),
            ("-1:00:01", -3601),
            ("190:20:30", 685230),
        ];
        for (text, want) in cases {
            assert_eq!(construct_plain(text), Ok(Value::Int(want)), "{text}");
        }
    }

    #[test]
    fn int_lookalikes_that_stay_strings() {
        for s in [
            "09", "1e3", "0x", "0o17", "1:60", "4.19.36", "1,000", "0b2", "1__:30x",
        ] {
            assert_eq!(construct_plain(s), Ok(Value::Str(s.into())), "{s}");
        }
    }

    #[test]
    fn ints_that_cannot_be_built() {
        // PyYAML raises ValueError for `0b_`; beyond i64 it would make a
        // Python bigint, which statebox cannot hold.
        assert!(construct_plain("0b_").is_err());
        assert!(construct_plain("0x_").is_err());
        let err = construct_plain("99999999999999999999").unwrap_err();
        assert!(err.contains("64 bits"), "{err}");
    }

    #[test]
    fn floats() {
        let cases = [
            ("1.0", 1.0),
            ("1.", 1.0),
            (".5", 0.5),
            ("4.19", 4.19),
            ("1.e+5", 100000.0),
            ("1_0.2_5", 10.25),
            ("1.0e-05", 1e-5),
            ("6.8523015e+5", 685230.15),
            ("190:20:30.15", 685230.15),
            (".inf", f64::INFINITY),
            ("-.Inf", f64::NEG_INFINITY),
            ("+.INF", f64::INFINITY),
        ];
        for (text, want) in cases {
            assert_eq!(construct_plain(text), Ok(Value::Float(want)), "{text}");
        }
        for nan in [".nan", ".NaN", ".NAN"] {
            match construct_plain(nan) {
                Ok(Value::Float(f)) => assert!(f.is_nan(), "{nan}"),
                other => panic!("{nan}: {other:?}"),
            }
        }
    }

    #[test]
    fn float_lookalikes_that_stay_strings() {
        // YAML 1.1 floats need a dot, and a signed exponent.
        for s in [
            "1e3", "1.5e3", "1.0:30", "-.5", "-.nan", ".Nan", "inf", ".", "._1", "1.2.3",
        ] {
            assert_eq!(construct_plain(s), Ok(Value::Str(s.into())), "{s}");
        }
    }

    #[test]
    fn timestamps_are_kept_verbatim() {
        for t in [
            "2026-06-25",
            "2026-06-25T13:00:13Z",
            "2026-06-25 13:00:13",
            "2026-06-25 13:00:13.123456+00:00",
            "2026-6-5t1:00:00",
            "2001-12-14 21:59:43.10 -5",
        ] {
            assert_eq!(construct_plain(t), Ok(Value::Timestamp(t.into())), "{t}");
        }
        for s in [
            "2026-6-25",
            "2026-06-25T13:00",
            "2026-Jul-01",
            "2026-06-25T13",
        ] {
            assert_eq!(construct_plain(s), Ok(Value::Str(s.into())), "{s}");
        }
    }

    #[test]
    fn merge_and_value_indicators() {
        assert_eq!(resolve("<<"), Implicit::Merge);
        assert_eq!(resolve("="), Implicit::DefaultValue);
        assert_eq!(resolve("!"), Implicit::Yaml);
        assert_eq!(resolve("<<<"), Implicit::Str);
        assert_eq!(resolve("=="), Implicit::Str);
        let err = construct_plain("=").unwrap_err();
        assert!(err.contains("quote it"), "{err}");
    }
}
