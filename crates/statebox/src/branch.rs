//! Record branch names: what `git check-ref-format --branch` accepts, less
//! two spellings that git would read as something other than a branch name.
//!
//! `@` is git's short name for `HEAD`, and `refs/heads/x` (or any `refs/...`)
//! is a full ref name: git accepts both as branch names, but a record branch
//! created under either (`refs/heads/@`, `refs/heads/refs/heads/x`) is never
//! what was meant, so they are refused with the reason.

/// A branch name statebox refuses, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid branch name '{}': {reason}", shown(name))]
pub struct InvalidBranch {
    /// The name as given.
    pub name: String,
    /// Which rule it breaks.
    pub reason: String,
}

/// The name as it may reach a terminal: control characters escaped
/// (`\u{7f}`), so the message shows what was refused.
fn shown(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_control() {
                c.escape_unicode().to_string()
            } else {
                c.to_string()
            }
        })
        .collect()
}

/// Characters no ref name may contain (besides ASCII control characters).
const FORBIDDEN: &[char] = &[' ', '~', '^', ':', '?', '*', '[', '\\'];

/// Checks `name` as `git check-ref-format --branch` does, and refuses `@`
/// and names starting with `refs/`.
pub fn validate(name: &str) -> Result<(), InvalidBranch> {
    let invalid = |reason: String| InvalidBranch {
        name: name.to_owned(),
        reason,
    };
    if name.is_empty() {
        return Err(invalid("it is empty".into()));
    }
    if name.starts_with('-') {
        return Err(invalid("it starts with '-'".into()));
    }
    if name == "HEAD" || name == "@" {
        return Err(invalid(format!(
            "'{name}' names the current checkout, not a branch"
        )));
    }
    if let Some(short) = name.strip_prefix("refs/") {
        let short = short.strip_prefix("heads/").unwrap_or(short);
        return Err(invalid(format!(
            "it is a full ref name; give the branch's short name ('{short}')"
        )));
    }
    if let Some(c) = name
        .chars()
        .find(|&c| c.is_ascii_control() || FORBIDDEN.contains(&c))
    {
        return Err(invalid(format!("it contains {:?}", c)));
    }
    for sequence in ["..", "@{", "//"] {
        if name.contains(sequence) {
            return Err(invalid(format!("it contains '{sequence}'")));
        }
    }
    if name.starts_with('/') || name.ends_with('/') {
        return Err(invalid("it starts or ends with '/'".into()));
    }
    if name.ends_with('.') {
        return Err(invalid("it ends with '.'".into()));
    }
    if let Some(part) = name
        .split('/')
        .find(|part| part.starts_with('.') || part.ends_with(".lock"))
    {
        return Err(invalid(format!(
            "its part '{part}' starts with '.' or ends with '.lock'"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_name_the_problem() {
        let reason = |name: &str| validate(name).unwrap_err().to_string();
        assert_eq!(
            reason("refs/heads/x"),
            "invalid branch name 'refs/heads/x': it is a full ref name; give the branch's short name ('x')"
        );
        assert!(reason("a..b").contains("'..'"));
        assert!(reason("x.lock").contains("'x.lock'"));
        assert!(reason("a\tb").contains("'a\\u{9}b': it contains '\\t'"));
        assert!(validate("release/record-4.19").is_ok());
    }
}
