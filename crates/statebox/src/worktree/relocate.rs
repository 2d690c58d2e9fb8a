//! Finding known secrets again by their hash, without detect-secrets.
//!
//! A baseline stores `sha1(capture)` where the capture is what the plugin's
//! regex captured (for GitHub tokens only the `ghp` prefix group). So a known
//! finding is re-found by running that plugin's own regex over each line,
//! hashing each capture and comparing. This can only *relocate* findings the
//! baseline already lists: a secret that is new in the tree has no hash to
//! look for and is not discovered — run detect-secrets for that.
//!
//! Mirrored from detect-secrets 1.5: the plugin regexes of the plugins in
//! `PLUGINS`, one entry per key at the first line where the secret
//! survives the line filters (`pragma: allowlist secret`, indirect references,
//! id-like strings for high-entropy plugins, the `--exclude-lines` and
//! `--exclude-secrets` regexes) and, for single-document YAML files, the
//! transformer that keeps only `key: value` lines (re-quoted; one-pair flow
//! mappings too) — approximated line by line, so block scalars holding
//! `key: value` text are read as keys. Not mirrored: the entropy limit (a known hash
//! is a known string that passed it already), the eager INI pass for files
//! whose normal pass finds nothing, and `KeywordDetector` and the other
//! plugins, whose Python regexes use look-arounds and back-references.

use std::collections::HashMap;

use regex::Regex;
use sha1::{Digest, Sha1};
use std::sync::LazyLock;

/// The plugin name for a finding type relocation can handle, `None` otherwise.
pub fn relocatable_type(secret_type: &str) -> Option<&'static str> {
    plugin(secret_type).map(|p| p.name)
}

fn plugin(secret_type: &str) -> Option<&'static Plugin> {
    PLUGINS.iter().find(|p| p.secret_type == secret_type)
}

fn re(pattern: &str) -> Regex {
    Regex::new(pattern).expect("built-in pattern compiles")
}

/// A detect-secrets plugin relocation mirrors.
struct Plugin {
    secret_type: &'static str,
    name: &'static str,
    /// A regex with a capture group yields its groups (Python's `findall`),
    /// otherwise the whole match.
    denylist: Vec<Regex>,
}

static PLUGINS: LazyLock<Vec<Plugin>> = LazyLock::new(|| {
    // Python builds these as `(['"])([charset]+)(\1)`; the back-reference
    // becomes one alternative per quote character.
    let quoted = |charset: &str| re(&format!(r#"'([{charset}]+)'|"([{charset}]+)""#));
    vec![
        Plugin {
            secret_type: "GitHub Token",
            name: "GitHubTokenDetector",
            denylist: vec![re(r"(ghp|gho|ghu|ghs|ghr)_[A-Za-z0-9_]{36}")],
        },
        Plugin {
            secret_type: "AWS Access Key",
            name: "AWSKeyDetector",
            denylist: vec![
                re(r"(?:A3T[A-Z0-9]|ABIA|ACCA|AKIA|ASIA)[0-9A-Z]{16}"),
                re(
                    r#"(?i)aws.{0,20}?(?:key|pwd|pw|password|pass|token).{0,20}?['"]([0-9a-zA-Z/+]{40})['"]"#,
                ),
            ],
        },
        Plugin {
            secret_type: "Private Key",
            name: "PrivateKeyDetector",
            denylist: [
                "BEGIN DSA PRIVATE KEY",
                "BEGIN EC PRIVATE KEY",
                "BEGIN OPENSSH PRIVATE KEY",
                "BEGIN PGP PRIVATE KEY BLOCK",
                "BEGIN PRIVATE KEY",
                "BEGIN RSA PRIVATE KEY",
                "BEGIN SSH2 ENCRYPTED PRIVATE KEY",
                "PuTTY-User-Key-File-2",
            ]
            .into_iter()
            .map(|literal| re(&regex::escape(literal)))
            .collect(),
        },
        Plugin {
            secret_type: "Slack Token",
            name: "SlackDetector",
            denylist: vec![
                re(r"(?i)xox(?:a|b|p|o|s|r)-(?:\d+-)+[a-z0-9]+"),
                re(
                    r"(?i)https://hooks\.slack\.com/services/T[a-zA-Z0-9_]+/B[a-zA-Z0-9_]+/[a-zA-Z0-9_]+",
                ),
            ],
        },
        Plugin {
            secret_type: "JSON Web Token",
            name: "JwtTokenDetector",
            denylist: vec![re(
                r"eyJ[A-Za-z0-9_=-]+\.[A-Za-z0-9_=-]+\.?[A-Za-z0-9_.+/=-]*?",
            )],
        },
        Plugin {
            secret_type: "Base64 High Entropy String",
            name: "Base64HighEntropyString",
            denylist: vec![quoted(r"A-Za-z0-9+/\\_=-")],
        },
        Plugin {
            secret_type: "Hex High Entropy String",
            name: "HexHighEntropyString",
            denylist: vec![quoted("0-9a-fA-F")],
        },
    ]
});

/// High-entropy plugins are not `RegexBasedDetector`s, which is what the
/// id-string filter looks at.
fn is_high_entropy(secret_type: &str) -> bool {
    secret_type.ends_with("High Entropy String")
}

/// Every capture of the plugin for `secret_type` in `line`, in order.
fn captures<'l>(secret_type: &str, line: &'l str) -> Vec<&'l str> {
    let Some(plugin) = plugin(secret_type) else {
        return Vec::new();
    };
    let mut found = Vec::new();
    for regex in &plugin.denylist {
        for caps in regex.captures_iter(line) {
            if caps.len() == 1 {
                found.push(caps.get(0).expect("group 0").as_str());
            } else {
                found.extend(
                    caps.iter()
                        .skip(1)
                        .flatten()
                        .map(|m| m.as_str())
                        .filter(|s| !s.is_empty()),
                );
            }
        }
    }
    found
}

fn sha1_hex(s: &str) -> String {
    Sha1::digest(s.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The line filters of the baseline's `filters_used`, compiled once per run.
pub struct LineFilters {
    /// `pragma: allowlist secret` comments drop their line (or the next).
    pub allowlist: bool,
    /// Lines that assign from a call or subscript are dropped.
    pub indirect_reference: bool,
    /// High-entropy secrets after an id-like name are dropped.
    pub likely_id_string: bool,
    /// `--exclude-lines` regexes.
    pub exclude_lines: Vec<Regex>,
    /// `--exclude-secrets` regexes.
    pub exclude_secrets: Vec<Regex>,
}

const COMMENTS: [(&str, &str); 6] = [
    ("#", ""),
    ("//", ""),
    (r"/\*", r" *\*/"),
    ("'", ""),
    ("--", ""),
    (r"<!--[# \t]*?", " *?-->"),
];

fn allowlist_regexes(nextline: bool) -> Vec<Regex> {
    COMMENTS
        .iter()
        .map(|(start, end)| {
            re(&format!(
                r"{}[ \t]*{start} *pragma: ?{}{}[ -]secret.*?{end}[ \t]*$",
                if nextline { "^" } else { "" },
                if nextline {
                    "allowlist"
                } else {
                    "(allow|white)list"
                },
                if nextline { "[ -]nextline" } else { "" },
            ))
        })
        .collect()
}

static ALLOW_SAME_LINE: LazyLock<Vec<Regex>> = LazyLock::new(|| allowlist_regexes(false));
static ALLOW_NEXT_LINE: LazyLock<Vec<Regex>> = LazyLock::new(|| allowlist_regexes(true));
static INDIRECT_REFERENCE: LazyLock<Regex> =
    LazyLock::new(|| re(r"([^\v=!:]*)\s*(:=?|[!=]{1,3})\s*([\w.-]+[\[\(][^\v]*[\]\)])"));
static ID_STRING: LazyLock<Regex> = LazyLock::new(|| re(r"(?i)(^(id|myid|userid)|_id)s?[^a-z0-9]"));

impl LineFilters {
    fn line_allowlisted(&self, filename: &str, line: &str, previous: &str) -> bool {
        // YAML files only honour `#` comments.
        let comments = if filename.ends_with(".yaml") {
            1
        } else {
            COMMENTS.len()
        };
        ALLOW_SAME_LINE[..comments].iter().any(|r| r.is_match(line))
            || ALLOW_NEXT_LINE[..comments]
                .iter()
                .any(|r| r.is_match(previous))
    }

    fn drops_line(&self, filename: &str, line: &str, previous: &str) -> bool {
        (self.allowlist && self.line_allowlisted(filename, line, previous))
            || (self.indirect_reference
                && line.chars().count() <= 1000
                && INDIRECT_REFERENCE.is_match(line))
            || self.exclude_lines.iter().any(|r| r.is_match(line))
    }

    fn drops_secret(&self, secret_type: &str, secret: &str, line: &str) -> bool {
        self.exclude_secrets.iter().any(|r| r.is_match(secret))
            || (self.likely_id_string
                && is_high_entropy(secret_type)
                && line
                    .find(secret)
                    .is_some_and(|at| ID_STRING.is_match(&line[..at])))
    }
}

/// The lines detect-secrets scans for a file: Python's universal newlines,
/// and for a single-document YAML file the re-quoted `key: "value"` lines its
/// YAML transformer produces (other lines become empty, keeping numbering).
pub fn scan_lines(filename: &str, content: &str) -> Vec<String> {
    let raw: Vec<&str> = content
        .split_inclusive(['\n', '\r'])
        .scan(false, |after_cr, piece| {
            // "\r\n" is one line break: skip the empty piece after "\r".
            let skip = *after_cr && piece == "\n";
            *after_cr = piece.ends_with('\r');
            Some((!skip).then(|| piece.trim_end_matches(['\n', '\r'])))
        })
        .flatten()
        .collect();
    let is_yaml = filename.ends_with(".yaml") || filename.ends_with(".yml");
    if is_yaml && crate::yaml::parse(content).is_ok() {
        raw.iter().map(|line| yaml_transformed(line)).collect()
    } else {
        raw.into_iter().map(str::to_owned).collect()
    }
}

static YAML_KEY_VALUE: LazyLock<Regex> = LazyLock::new(|| {
    re(r#"^\s*(?:-\s+)*(?P<key>[^\s#'"{\[\-?][^#]*?|"[^"]*"|'[^']*')\s*:\s+(?P<rest>\S.*)$"#)
});
static YAML_COMMENT: LazyLock<Regex> = LazyLock::new(|| re(r"(\s+#[\S ]*)"));

fn yaml_transformed(line: &str) -> String {
    let Some(caps) = YAML_KEY_VALUE.captures(line) else {
        return String::new();
    };
    let key = caps["key"].trim_matches(['"', '\'']);
    let rest = &caps["rest"];
    let value = match rest.chars().next() {
        Some(q @ ('"' | '\'')) => match rest[1..].find(q) {
            Some(end) => &rest[1..1 + end],
            None => return String::new(),
        },
        // A one-pair flow mapping, `a: {b: c}`, is reported as `b: "c"`.
        Some('{') => {
            return match rest
                .strip_prefix('{')
                .and_then(|r| r.trim_end().strip_suffix('}'))
            {
                Some(inner) if !inner.contains([',', '{']) => yaml_transformed(inner),
                _ => String::new(),
            };
        }
        Some('|' | '>' | '[' | '&' | '*' | '!') => return String::new(),
        _ => match rest.find(" #") {
            Some(end) => rest[..end].trim_end(),
            None => rest,
        },
    };
    let is_scalar_non_string = value.parse::<f64>().is_ok()
        || ["true", "false", "null", "~", "yes", "no", "on", "off"]
            .contains(&value.to_ascii_lowercase().as_str());
    if is_scalar_non_string {
        return String::new();
    }
    let comment = YAML_COMMENT.find(line.trim()).map_or("", |m| m.as_str());
    format!("{key}: \"{}\"{comment}", value.replace('"', "\\\""))
}

/// For each hash the plugin for `secret_type` captures in `lines`, the
/// 1-based line where detect-secrets would report it: the first line where
/// it survives the filters. One pass serves every finding of that type.
pub fn first_lines(
    filename: &str,
    lines: &[String],
    filters: &LineFilters,
    secret_type: &str,
) -> HashMap<String, u64> {
    let mut first = HashMap::new();
    for (i, full) in lines.iter().enumerate() {
        let line = full.trim_end();
        let previous = if i == 0 { "" } else { lines[i - 1].as_str() };
        if filters.drops_line(filename, line, previous) {
            continue;
        }
        for secret in captures(secret_type, line) {
            if !filters.drops_secret(secret_type, secret, line) {
                first.entry(sha1_hex(secret)).or_insert(i as u64 + 1);
            }
        }
    }
    first
}
