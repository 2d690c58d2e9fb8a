//! The stored-text pipeline: every string statebox stores (task results,
//! issue text, resolutions, metadata values, and through them commit
//! subjects and trailers) passes [`stored`] once, on the write path
//! (`Op::stored`):
//!
//! 1. [`clean`]: ANSI escape sequences out, CRLF to LF, invalid UTF-8 to
//!    U+FFFD;
//! 2. [`mask`]: secrets replaced by placeholders naming their kind;
//! 3. [`bound`]: at most [`STORED_LIMIT`] bytes, cut on line boundaries
//!    around one line stating how many bytes were omitted.
//!
//! Masking comes before bounding, so a cut cannot leave part of a secret
//! that the whole would have been recognised by.

mod bound;
mod clean;
mod mask;

pub use bound::{Bounded, bound, head_and_tail, omission_marker, omitted_by_marker};
pub use clean::clean;
pub use mask::*;

/// The most bytes any stored string holds: a state file is rewritten on
/// every update and read through the GitHub API (1 MB cap), and a commit's
/// trailer repeats what it stored.
pub const STORED_LIMIT: usize = 64 * 1024;

/// Above this, a text is cut to whole lines before it is masked; the
/// final bound then cuts well inside what was masked.
const PRECUT_LIMIT: usize = 4 * STORED_LIMIT;

/// A string as it may be stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stored {
    /// Cleaned, masked and bounded.
    pub text: String,
    /// Bytes the bound left out (as its omission line states); 0 if none.
    pub omitted: u64,
}

/// Runs the pipeline on `text`.
pub fn stored(text: &str) -> Stored {
    let cleaned = clean(text.as_bytes());
    // Most of a huge text is cut away anyway: mask only what can be kept.
    let kept = bound::precut(&cleaned, PRECUT_LIMIT);
    let masked = mask(&kept);
    let bounded = bound(&masked, STORED_LIMIT);
    Stored {
        text: bounded.text.into_owned(),
        omitted: bounded.omitted,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cleans_then_masks_then_bounds() {
        let token = format!("ghp_{}", "a1B2c3D4e5".repeat(4));
        // Bold around the token's prefix would hide it from the mask if
        // masking ran before cleaning.
        let s = stored(&format!("\x1b[1mgh\x1b[0mp_{}\r\n", &token[4..]));
        assert_eq!(s.text, "[GITHUB_TOKEN_REDACTED]\n");
        assert_eq!(s.omitted, 0);
        assert_eq!(stored(&s.text), s, "the pipeline is idempotent");
    }

    #[test]
    fn a_huge_text_is_cut_before_masking_without_losing_count_or_secrets() {
        let (head, tail) = head_and_tail(PRECUT_LIMIT);
        let line = "log line of output\n";
        let pem = format!(
            "  -----BEGIN RSA {k}-----\n{}  -----END RSA {k}-----\n",
            "  MIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gun\n".repeat(40),
            k = "PRIVATE KEY"
        );
        let text = [
            line.repeat((head - pem.len() / 2) / line.len()),
            pem.clone(),
            line.repeat(STORED_LIMIT * 16 / line.len()),
            pem,
            line.repeat((tail - 2000) / line.len()),
        ]
        .concat();
        let s = stored(&text);
        assert!(!s.text.contains("MIIEowIBAAKCAQEA"));
        let markers: Vec<u64> = s.text.lines().filter_map(omitted_by_marker).collect();
        assert_eq!(markers, [s.omitted]);
        assert!(s.text.len() <= STORED_LIMIT);
        // Without secrets masking changes no length: the count is exact in
        // input bytes (with them, in bytes of the masked text).
        let plain = line.repeat(PRECUT_LIMIT * 4 / line.len());
        let s = stored(&plain);
        let kept = s.text.len() - omission_marker(s.omitted).len() - 1;
        assert_eq!(kept as u64 + s.omitted, plain.len() as u64);
    }

    #[test]
    fn a_secret_straddling_either_cut_point_is_masked() {
        let (head, tail) = head_and_tail(STORED_LIMIT);
        let filler = |n: usize| "log line of output\n".repeat(n / 19 + 1);
        let pem = format!(
            "    -----BEGIN RSA {k}-----\n{}    -----END RSA {k}-----\n",
            "    MIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gun\n".repeat(20),
            k = "PRIVATE KEY"
        );
        let bearer = format!("Authorization: Bearer {}\n", "Zm9vYmFyYmF6cXV4".repeat(8));
        for secret in [&pem, &bearer] {
            // Once across the head's cut point, once across the tail's.
            let body_len = STORED_LIMIT * 3;
            let at_head = [
                filler(head - secret.len() / 2),
                secret.clone(),
                filler(body_len),
            ]
            .concat();
            let at_tail = [
                filler(body_len),
                secret.clone(),
                filler(tail - secret.len() / 2),
            ]
            .concat();
            for text in [at_head, at_tail] {
                let s = stored(&text);
                assert!(s.omitted > 0);
                assert!(!s.text.contains("MIIEowIBAAKCAQEA"), "{}", &s.text[..200]);
                assert!(!s.text.contains("Zm9vYmFyYmF6cXV4"));
                assert!(s.text.len() <= STORED_LIMIT);
            }
        }
    }
}
