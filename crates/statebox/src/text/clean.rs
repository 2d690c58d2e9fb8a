//! Cleaning: raw output bytes into text fit to store and print.

use std::borrow::Cow;

use memchr::memchr2;

const ESC: u8 = 0x1b;
const BEL: u8 = 0x07;

/// Raw bytes to stored text: ANSI escape sequences removed (colours would
/// otherwise end up in the YAML as control characters), CRLF turned into LF,
/// invalid UTF-8 replaced by U+FFFD. A lone `\r` is kept: it is output, not
/// a line ending. Borrows when there is nothing to clean.
pub fn clean(raw: &[u8]) -> Cow<'_, str> {
    if memchr2(ESC, b'\r', raw).is_none()
        && let Ok(text) = std::str::from_utf8(raw)
    {
        return Cow::Borrowed(text);
    }
    let mut out = Vec::with_capacity(raw.len());
    let mut rest = raw;
    while let Some(i) = memchr2(ESC, b'\r', rest) {
        out.extend_from_slice(&rest[..i]);
        rest = &rest[i..];
        if rest[0] == b'\r' {
            if rest.get(1) != Some(&b'\n') {
                out.push(b'\r');
            }
            rest = &rest[1..];
        } else {
            rest = &rest[escape_len(rest)..];
        }
    }
    out.extend_from_slice(rest);
    match String::from_utf8(out) {
        Ok(s) => Cow::Owned(s),
        Err(e) => Cow::Owned(String::from_utf8_lossy(e.as_bytes()).into_owned()),
    }
}

/// Length of the escape sequence at the start of `s` (`s[0]` is ESC). An
/// unterminated sequence runs to the end of the input.
fn escape_len(s: &[u8]) -> usize {
    match s.get(1) {
        None => 1,
        // CSI: parameter and intermediate bytes, then one final byte.
        Some(b'[') => s[2..]
            .iter()
            .position(|b| (0x40..=0x7e).contains(b))
            .map_or(s.len(), |i| i + 3),
        // OSC (window titles, hyperlinks): ends with BEL or ESC '\'.
        Some(b']') => {
            let body = &s[2..];
            let mut i = 0;
            loop {
                match body.get(i) {
                    None => return s.len(),
                    Some(&BEL) => return i + 3,
                    Some(&ESC) if body.get(i + 1) == Some(&b'\\') => return i + 4,
                    Some(_) => i += 1,
                }
            }
        }
        // nF sequences (charset selection `ESC ( B`): intermediate bytes,
        // then one final byte.
        Some(0x20..=0x2f) => s[1..]
            .iter()
            .position(|b| !(0x20..=0x2f).contains(b))
            .map_or(s.len(), |i| i + 2),
        // Two-byte sequences (keypad modes, index, ...).
        Some(_) => 2,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strips_colours_and_crlf() {
        let raw = b"\x1b[32m2026-06-25T13:22:17Z: INFO:\x1b[0m done\r\nnext\x1b[1;31mred\x1b[m\r\n";
        assert_eq!(clean(raw), "2026-06-25T13:22:17Z: INFO: done\nnextred\n");
    }

    #[test]
    fn strips_osc_and_keeps_lone_cr() {
        let raw = b"\x1b]0;title here\x07a\x1b]8;;http://x\x1b\\link\rb\x1b(B";
        assert_eq!(clean(raw), "alink\rb");
    }

    #[test]
    fn replaces_invalid_utf8_and_cut_sequences() {
        assert_eq!(clean(b"ok \xff\xfe end"), "ok \u{fffd}\u{fffd} end");
        assert_eq!(clean("é".as_bytes()), "é");
        assert_eq!(clean(b"x\x1b[31"), "x");
        assert_eq!(clean(b"x\x1b"), "x");
    }
}
