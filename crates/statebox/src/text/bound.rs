//! Bounding: a text longer than its limit keeps its first quarter and its
//! last three quarters (the end of an output says how it ended), and one
//! line in between says exactly how many bytes were left out.
//!
//! Cuts fall on line boundaries, so no line is shown in part. Only a line
//! longer than a whole side is cut inside, at a space where it has one: the
//! text is masked before it is bounded, so a cut can no longer reveal part
//! of a secret, and one long line is still worth seeing in part.
//!
//! An omission line that falls into the part cut away is counted into the
//! new one, so bounding twice (or bounding an excerpt that ingest took from
//! a stream) gives one line with the total, never fragments of an old one.

use std::borrow::Cow;

const MARKER_START: &str = "[... statebox: ";
const MARKER_END: &str = " bytes omitted ...]";

/// Room for the omission line and its line breaks, so that a bounded text
/// is never longer than its limit.
const MARKER_ROOM: usize = 64;

/// The line that stands where `omitted` bytes were cut out.
pub fn omission_marker(omitted: u64) -> String {
    format!("{MARKER_START}{omitted}{MARKER_END}")
}

/// The count an omission line states, if `line` is one.
pub fn omitted_by_marker(line: &str) -> Option<u64> {
    line.strip_prefix(MARKER_START)?
        .strip_suffix(MARKER_END)?
        .parse()
        .ok()
}

/// How many bytes of a text cut to `limit` come from its head and its tail.
/// Ingest keeps the same amounts of a stream it cannot hold whole.
pub fn head_and_tail(limit: usize) -> (usize, usize) {
    let room = limit.saturating_sub(MARKER_ROOM);
    let head = room / 4;
    (head, room - head)
}

/// A text after [`bound`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bounded<'a> {
    /// At most the limit's bytes; borrowed when nothing was cut.
    pub text: Cow<'a, str>,
    /// The count the new omission line states; 0 if nothing was cut.
    pub omitted: u64,
}

/// Cuts `text` to at most `limit` bytes (see the module docs).
pub fn bound(text: &str, limit: usize) -> Bounded<'_> {
    cut(text, limit, true)
}

/// Cuts unmasked `text` to whole lines around an omission line, so that
/// masking a huge text costs what masking `limit` bytes costs: no line is
/// cut inside (part of a line could be a token without the prefix that
/// marks it), and a key block cut in half is recognised from either half.
pub fn precut(text: &str, limit: usize) -> Cow<'_, str> {
    cut(text, limit, false).text
}

fn cut(text: &str, limit: usize, inside_lines: bool) -> Bounded<'_> {
    if text.len() <= limit {
        return Bounded {
            text: Cow::Borrowed(text),
            omitted: 0,
        };
    }
    let (head_cap, tail_cap) = head_and_tail(limit);
    let head_end = head_end(text, head_cap, inside_lines);
    let tail_start = tail_start(text, text.len() - tail_cap, inside_lines).max(head_end);
    let omitted = represented_len(&text[head_end..tail_start]);
    let (head, tail) = (&text[..head_end], &text[tail_start..]);
    let mut out = String::with_capacity(head.len() + MARKER_ROOM + tail.len());
    out.push_str(head);
    if !head.is_empty() && !head.ends_with('\n') {
        out.push('\n');
    }
    out.push_str(&omission_marker(omitted));
    if !tail.is_empty() {
        out.push('\n');
        out.push_str(tail);
    }
    Bounded {
        text: Cow::Owned(out),
        omitted,
    }
}

/// Where the kept head ends: after the last line that fits in `cap`, else
/// inside the first line (which is longer than `cap`).
fn head_end(text: &str, cap: usize, inside_lines: bool) -> usize {
    let window = &text.as_bytes()[..cap];
    if let Some(i) = memchr::memrchr(b'\n', window) {
        return i + 1;
    }
    if !inside_lines {
        return 0;
    }
    let at = memchr::memrchr(b' ', window).map_or(cap, |i| i + 1);
    floor_char_boundary(text, at)
}

/// Where the kept tail starts: at the first line that starts at or after
/// `from`, else inside the last line.
fn tail_start(text: &str, from: usize, inside_lines: bool) -> usize {
    let rest = &text.as_bytes()[from..];
    if from == 0 || text.as_bytes()[from - 1] == b'\n' {
        return from;
    }
    if let Some(i) = memchr::memchr(b'\n', rest)
        && (from + i + 1 < text.len() || !inside_lines)
    {
        return from + i + 1;
    }
    if !inside_lines {
        return text.len();
    }
    let at = memchr::memchr(b' ', rest).map_or(from, |i| from + i + 1);
    ceil_char_boundary(text, at)
}

/// The bytes of output `text` stands for: an omission line counts for
/// what it replaced.
fn represented_len(text: &str) -> u64 {
    text.split_inclusive('\n')
        .map(
            |line| match omitted_by_marker(line.trim_end_matches('\n')) {
                Some(n) => n,
                None => line.len() as u64,
            },
        )
        .sum()
}

fn floor_char_boundary(text: &str, mut index: usize) -> usize {
    while !text.is_char_boundary(index) {
        index -= 1;
    }
    index
}

fn ceil_char_boundary(text: &str, mut index: usize) -> usize {
    while !text.is_char_boundary(index) {
        index += 1;
    }
    index
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(prefix: &str, n: usize) -> String {
        (0..n).map(|i| format!("{prefix} line {i:05}\n")).collect()
    }

    /// What the omission line says, and that it is the only one.
    fn stated(text: &str) -> u64 {
        let markers: Vec<u64> = text.lines().filter_map(omitted_by_marker).collect();
        assert_eq!(markers.len(), 1, "one omission line in {text:?}");
        markers[0]
    }

    #[test]
    fn short_text_is_borrowed_unchanged() {
        let b = bound("a\nb", 3);
        assert!(matches!(b.text, Cow::Borrowed("a\nb")));
        assert_eq!(b.omitted, 0);
    }

    #[test]
    fn cuts_on_line_boundaries_and_counts_exactly() {
        let text = lines("out", 10_000);
        let limit = 4096;
        let b = bound(&text, limit);
        assert!(b.text.len() <= limit, "{} bytes", b.text.len());
        let (head, rest) = b.text.split_once("[... statebox:").unwrap();
        assert!(text.starts_with(head) && head.ends_with('\n'));
        let tail = rest.split_once('\n').unwrap().1;
        assert!(text.ends_with(tail) && tail.starts_with("out line "));
        let omitted = stated(&b.text);
        assert_eq!(omitted, b.omitted);
        assert_eq!(head.len() + tail.len() + omitted as usize, text.len());
        assert_eq!(
            &text[head.len()..text.len() - tail.len()].len(),
            &(omitted as usize)
        );
    }

    #[test]
    fn bounding_again_merges_into_one_line_with_the_total() {
        let text = lines("x", 20_000);
        let once = bound(&text, 64 * 1024).text.into_owned();
        // Something grew the text past the limit again (masks can).
        let grown = format!("{}{once}", lines("y", 2_000));
        let twice = bound(&grown, 64 * 1024);
        assert_eq!(stated(&twice.text), twice.omitted);
        assert_eq!(represented_len(&twice.text), represented_len(&grown));
        assert_eq!(
            represented_len(&grown),
            (text.len() + lines("y", 2_000).len()) as u64
        );
    }

    #[test]
    fn one_huge_line_is_cut_at_spaces_and_characters() {
        let text = "wörd ".repeat(10_000);
        let b = bound(&text, 1000);
        assert!(b.text.len() <= 1000);
        let omitted = stated(&b.text) as usize;
        let kept = b.text.len() - omission_marker(omitted as u64).len() - 2;
        assert_eq!(kept + omitted, text.len());
        let no_spaces = "é".repeat(10_000);
        let b = bound(&no_spaces, 1001);
        assert!(b.text.len() <= 1001 && b.text.contains("bytes omitted"));
    }
}
