//! Masking: every kind of credential that shows up in release tooling
//! output is replaced by a placeholder naming its kind, because the record
//! branch may be public.
//!
//! The rules run in a fixed order: wider shapes first (a private-key block,
//! an Authorization header, a URL password), then token shapes with a
//! distinctive prefix, then `key=value` lines, so that a token inside a wider
//! secret is redacted as part of it and a placeholder is never re-masked as
//! the value of a `token: ...` line.
//!
//! The patterns are written for speed: spelled-out case variants
//! (`[Bb]earer|BEARER`) instead of `(?i)` and a literal in every rule, which
//! lets the regex engine skip ahead with a substring search (a
//! case-insensitive or optional prefix made one rule alone ten times slower
//! than all the others together).

use std::borrow::Cow;
use std::sync::LazyLock;

use regex::Regex;

// Placeholders name the kind of secret, so a reader of the record branch
// knows what stood there.
const EMAIL: &str = "[EMAIL_REDACTED]";
const GITHUB_TOKEN: &str = "[GITHUB_TOKEN_REDACTED]";
const GITLAB_TOKEN: &str = "[GITLAB_TOKEN_REDACTED]";
const GOOGLE_API_KEY: &str = "[GOOGLE_API_KEY_REDACTED]";
const ATLASSIAN_TOKEN: &str = "[ATLASSIAN_TOKEN_REDACTED]";
const NPM_TOKEN: &str = "[NPM_TOKEN_REDACTED]";
const PYPI_TOKEN: &str = "[PYPI_TOKEN_REDACTED]";
const JWT: &str = "[JWT_REDACTED]";
const AWS_KEY: &str = "[AWS_KEY_REDACTED]";
const SLACK_TOKEN: &str = "[SLACK_TOKEN_REDACTED]";
const PRIVATE_KEY: &str = "[PRIVATE_KEY_REDACTED]";
const BEARER_TOKEN: &str = "[BEARER_TOKEN_REDACTED]";
const CREDENTIALS: &str = "[CREDENTIALS_REDACTED]";
const PASSWORD: &str = "[PASSWORD_REDACTED]";
const SECRET: &str = "[SECRET_REDACTED]";

/// A pattern and its replacement template (`$name` refers to a kept group).
struct Rule {
    re: Regex,
    replacement: String,
}

fn rule(pattern: &str, replacement: String) -> Rule {
    Rule {
        re: Regex::new(pattern).expect("mask patterns are valid"),
        replacement,
    }
}

/// `-----BEGIN RSA PRIVATE KEY-----`, `-----BEGIN PGP PRIVATE KEY BLOCK-----`.
const KEY_LABEL: &str = "[A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----";

static RULES: LazyLock<Vec<Rule>> = LazyLock::new(|| {
    vec![
        // A block cut short (an unterminated BEGIN, at the edge of a result
        // whose middle was omitted) is redacted up to the omission line or
        // the end of the text: the key body must not survive just because
        // its END line was not kept. The omission line itself stays.
        rule(
            &format!(
                r"(?s)-----BEGIN {KEY_LABEL}.*?(?:-----END {KEY_LABEL}|(?P<cut>\n\[\.\.\. statebox: [0-9]+ bytes omitted \.\.\.\])|\z)"
            ),
            format!("{PRIVATE_KEY}${{cut}}"),
        ),
        // The other half of a cut block: key lines (indented or not, armor
        // checksums and blank lines included) ending in an END line.
        rule(
            &format!(
                r"(?m)(?:^[ \t]*[A-Za-z0-9+/=]*[ \t]*\r?\n)*[ \t]*[A-Za-z0-9+/=]*-----END {KEY_LABEL}"
            ),
            PRIVATE_KEY.to_owned(),
        ),
        // In an Authorization header any credential is a secret, however
        // short.
        rule(
            r#"(?P<keep>(?:[Aa]uthorization|AUTHORIZATION)["']?\s*[:=]\s*["']?(?:[Bb]earer|BEARER)\s+)[^\s"',;]+"#,
            format!("${{keep}}{BEARER_TOKEN}"),
        ),
        rule(
            r#"(?P<keep>(?:[Aa]uthorization|AUTHORIZATION)["']?\s*[:=]\s*["']?(?:[Bb]asic|BASIC|[Tt]oken|TOKEN)\s+)[^\s"',;]+"#,
            format!("${{keep}}{CREDENTIALS}"),
        ),
        // Elsewhere "bearer" is an English word ("the bearer of ..."); only a
        // token-shaped word after it (16+ token characters) is masked.
        rule(
            r"(?P<keep>\b(?:[Bb]earer|BEARER)\s+)[A-Za-z0-9\-._~+/]{16,}=*",
            format!("${{keep}}{BEARER_TOKEN}"),
        ),
        // Keep scheme, user and host so the line stays readable. The
        // password runs to the last `@` that a host name follows, so a
        // password holding `/` or `@` is masked whole; a host needs a dot
        // (or is localhost), so `docker://quay.io:443/x@sha256:...` is no
        // password.
        rule(
            r"(?P<keep>\b[A-Za-z][A-Za-z0-9+.\-]*://[^\s:/@\[\]]*):\S+@(?P<host>localhost|[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)+)\b",
            format!("${{keep}}:{PASSWORD}@${{host}}"),
        ),
        rule(
            r"(?P<keep>https://hooks\.slack\.com/)(?:services|workflows|triggers)/[A-Za-z0-9/_\-]+",
            format!("${{keep}}{SLACK_TOKEN}"),
        ),
        rule(r"\bgh[pousr]_[A-Za-z0-9]{30,}", GITHUB_TOKEN.to_owned()),
        rule(r"\bgithub_pat_[A-Za-z0-9_]{22,}", GITHUB_TOKEN.to_owned()),
        rule(r"\bglpat-[A-Za-z0-9_\-]{20,}", GITLAB_TOKEN.to_owned()),
        rule(r"\bAIza[0-9A-Za-z_\-]{35}", GOOGLE_API_KEY.to_owned()),
        rule(r"\bATATT[A-Za-z0-9_\-=]{30,}", ATLASSIAN_TOKEN.to_owned()),
        // Bot, user, app-level, refresh and rotating (`xoxe.xoxp-...`) tokens.
        rule(
            r"\b(?:xox[abeprs]|xapp)[.\-][A-Za-z0-9.\-]{10,}",
            SLACK_TOKEN.to_owned(),
        ),
        rule(r"\bnpm_[A-Za-z0-9]{36}\b", NPM_TOKEN.to_owned()),
        rule(r"\bpypi-[A-Za-z0-9_\-]{50,}", PYPI_TOKEN.to_owned()),
        rule(
            r"\beyJ[A-Za-z0-9_\-]{8,}\.eyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]*",
            JWT.to_owned(),
        ),
        rule(r"\b(?:AKIA|ASIA)[A-Z0-9]{16}\b", AWS_KEY.to_owned()),
        rule(
            r#"(?P<keep>(?:[Ss]ecret_?[Aa]ccess_?[Kk]ey|SECRET_?ACCESS_?KEY)["']?\s*[:=]\s*["']?)[A-Za-z0-9/+=]{16,}"#,
            format!("${{keep}}{AWS_KEY}"),
        ),
        // `password=...`, `db_passwd: ...`, `"api_key": "..."`: the value of
        // a key that names a secret. A value starting with `[` is a
        // placeholder an earlier rule wrote (or a list): left alone.
        rule(
            r#"(?P<keep>(?:[Pp]ass(?:word|wd)|PASS(?:WORD|WD)|[Ss]ecret|SECRET|[Tt]oken|TOKEN|[Aa]pi[_\-]?[Kk]ey|API[_\-]?KEY)["']?[ \t]*[:=][ \t]*["']?)[^\s"',;\[][^\s"',;]*"#,
            format!("${{keep}}{SECRET}"),
        ),
    ]
});

// The original's e-mail pattern (oar/core/statebox.py), minus its `|` typo in
// the TLD class.
static EMAIL_RE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\b[A-Za-z0-9._%+\-]+@[A-Za-z0-9.\-]+\.[A-Za-z]{2,}\b")
        .expect("e-mail pattern is valid")
});

/// Replaces every secret in `text` by a placeholder naming its kind.
///
/// Borrows when nothing was found. Idempotent: no placeholder is taken for
/// a secret by any rule, so masking masked text changes nothing.
pub fn mask(text: &str) -> Cow<'_, str> {
    let mut masked = Cow::Borrowed(text);
    for rule in RULES.iter() {
        if let Cow::Owned(s) = rule.re.replace_all(&masked, rule.replacement.as_str()) {
            masked = Cow::Owned(s);
        }
    }
    mask_emails(masked)
}

fn mask_emails(text: Cow<'_, str>) -> Cow<'_, str> {
    let mut out = String::new();
    let mut copied = 0;
    for m in EMAIL_RE.find_iter(&text) {
        // `https://user@host` is a login name in a URL, not a mail address;
        // URLs that carry no password must not be mangled.
        if text[..m.start()].ends_with("://") {
            continue;
        }
        out.push_str(&text[copied..m.start()]);
        out.push_str(EMAIL);
        copied = m.end();
    }
    if copied == 0 {
        return text;
    }
    out.push_str(&text[copied..]);
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    // Secrets are assembled at run time so that no token-shaped literal sits
    // in the source for secret scanners to flag.
    fn github_token(prefix: &str) -> String {
        format!("{prefix}_{}", "a1B2c3D4e5".repeat(4))
    }

    fn jwt() -> String {
        let header = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9";
        let payload = "eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4ifQ";
        format!("{header}.{payload}.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c")
    }

    fn private_key_block() -> String {
        let body = "MIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gun\n\
                    VTLw7onLRnrq0/IzW7yWR7QkrmBL7jTKEn5u+qKhbwKfBstIs+bMY2Zkp18gnTxK\n";
        format!(
            "-----BEGIN RSA {}-----\n{body}-----END RSA {}-----",
            "PRIVATE KEY", "PRIVATE KEY"
        )
    }

    fn assert_masked(input: &str, expected: &str) {
        assert_eq!(mask(input), expected, "masking {input:?}");
        assert_eq!(
            mask(expected),
            expected,
            "masking is idempotent on {expected:?}"
        );
    }

    fn assert_untouched(input: &str) {
        assert!(
            matches!(mask(input), Cow::Borrowed(_)),
            "{input:?} was changed to {:?}",
            mask(input)
        );
    }

    #[test]
    fn emails_like_the_original() {
        assert_masked(
            "2026-06-25T13:22:12Z: INFO: QA Owner of advisory 169043 is updated to jane.doe+qe@redhat.com",
            "2026-06-25T13:22:12Z: INFO: QA Owner of advisory 169043 is updated to [EMAIL_REDACTED]",
        );
        assert_masked(
            "a@b.io, c.d@e.example.org",
            "[EMAIL_REDACTED], [EMAIL_REDACTED]",
        );
        assert_untouched(
            "quay.io/openshift-release-dev/ocp-release@sha256:314fe5cf32cbc22f8e400b211d530beeb027ac3d3cd5479ef953b74cf0c4676b",
        );
        assert_untouched("https://git@github.com/openshift/release-tests");
        assert_untouched("send to @team-qe-release in slack");
    }

    #[test]
    fn github_tokens_of_every_prefix() {
        for prefix in ["ghp", "gho", "ghu", "ghs", "ghr"] {
            let token = github_token(prefix);
            assert_masked(
                &format!("token={token} used"),
                "token=[GITHUB_TOKEN_REDACTED] used",
            );
        }
        let pat = format!("github_pat_11ABCDEFG0{}", "_xYz0123456789".repeat(5));
        assert_masked(
            &format!("GITHUB_TOKEN: {pat}"),
            "GITHUB_TOKEN: [GITHUB_TOKEN_REDACTED]",
        );
        assert_untouched("config key ghp_setting and github_pat_ are words here");
    }

    #[test]
    fn bearer_tokens_in_headers_and_prose() {
        assert_masked(
            "Authorization: Bearer abc.def-123",
            "Authorization: Bearer [BEARER_TOKEN_REDACTED]",
        );
        assert_masked(
            r#"headers={"Authorization": "Bearer sk-short"}"#,
            r#"headers={"Authorization": "Bearer [BEARER_TOKEN_REDACTED]"}"#,
        );
        assert_masked(
            "curl -H 'bearer Zm9vYmFyYmF6cXV4MTIzNDU2Nzg5MA==' https://api",
            "curl -H 'bearer [BEARER_TOKEN_REDACTED]' https://api",
        );
        assert_masked(
            &format!("Authorization: Bearer {}", jwt()),
            "Authorization: Bearer [BEARER_TOKEN_REDACTED]",
        );
        assert_untouched("the bearer of bad news: Bearer auth is configured");
    }

    #[test]
    fn jwts() {
        assert_masked(
            &format!("id_token={} ok", jwt()),
            "id_token=[JWT_REDACTED] ok",
        );
        assert_untouched("eyJhbGciOiJIUzI1NiJ9 is only a base64 JSON header");
    }

    #[test]
    fn aws_key_ids_and_secret_keys() {
        let id = format!("AKIA{}", "IOSFODNN7EXAMPLE");
        assert_masked(
            &format!("aws_access_key_id = {id}"),
            "aws_access_key_id = [AWS_KEY_REDACTED]",
        );
        let session = format!("ASIA{}", "Y34FZKBOKMUTVV7A");
        assert_masked(&format!("key {session}."), "key [AWS_KEY_REDACTED].");
        let secret = format!("wJalrXUtnFEMI/K7MDENG/{}", "bPxRfiCYEXAMPLEKEY");
        assert_masked(
            &format!("aws_secret_access_key = {secret}"),
            "aws_secret_access_key = [AWS_KEY_REDACTED]",
        );
        assert_masked(
            &format!(r#"{{"SecretAccessKey": "{secret}"}}"#),
            r#"{"SecretAccessKey": "[AWS_KEY_REDACTED]"}"#,
        );
        assert_untouched("AKIA is a prefix; AKIAshort and ASIA-pacific are not keys");
        assert_masked(
            &format!("export AWS_SECRET_ACCESS_KEY='{secret}'"),
            "export AWS_SECRET_ACCESS_KEY='[AWS_KEY_REDACTED]'",
        );
        assert_untouched("aws_secret_access_key is not set");
    }

    #[test]
    fn slack_tokens_and_webhooks() {
        for kind in ["xoxb", "xoxp", "xoxa", "xoxr", "xoxs"] {
            let token = format!("{kind}-1234567890-0987654321-{}", "AbCdEfGh".repeat(3));
            assert_masked(&format!("SLACK={token}"), "SLACK=[SLACK_TOKEN_REDACTED]");
        }
        let hook = format!(
            "https://hooks.slack.com/services/T0000/B0000/{}",
            "XXXXxxxx".repeat(3)
        );
        assert_masked(
            &format!("posting to {hook} now"),
            "posting to https://hooks.slack.com/[SLACK_TOKEN_REDACTED] now",
        );
        assert_untouched(
            "sent slack message to <#team-qe-release> via https://api.slack.com/methods",
        );
        assert_untouched("xoxo- hugs");
    }

    #[test]
    fn private_key_blocks_across_lines() {
        let text = format!("before\n{}\nafter", private_key_block());
        assert_masked(&text, "before\n[PRIVATE_KEY_REDACTED]\nafter");
        let ec = "-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIB\n-----END EC PRIVATE KEY-----";
        let two = format!("{ec}\nmiddle\n{ec}");
        assert_masked(
            &two,
            "[PRIVATE_KEY_REDACTED]\nmiddle\n[PRIVATE_KEY_REDACTED]",
        );
        assert_untouched("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----");
        assert_untouched("-----BEGIN PUBLIC KEY-----\nMIIB\n-----END PUBLIC KEY-----");
    }

    #[test]
    fn private_key_blocks_cut_in_half() {
        let block = private_key_block();
        let (first, second) = block.split_at(block.len() / 2);
        assert_masked(&format!("log\n{first}"), "log\n[PRIVATE_KEY_REDACTED]");
        let second = second.split_once('\n').unwrap().1;
        assert_masked(&format!("{second}\nlog"), "[PRIVATE_KEY_REDACTED]\nlog");
    }

    #[test]
    fn passwords_in_urls() {
        assert_masked(
            "cloning https://user:s3cr%40t@github.com/org/repo.git",
            "cloning https://user:[PASSWORD_REDACTED]@github.com/org/repo.git",
        );
        assert_masked(
            "postgres://admin:hunter2@db.internal:5432/app",
            "postgres://admin:[PASSWORD_REDACTED]@db.internal:5432/app",
        );
        assert_masked(
            &format!(
                "https://x-access-token:{}@github.com/o/r",
                github_token("ghs")
            ),
            "https://x-access-token:[PASSWORD_REDACTED]@github.com/o/r",
        );
        assert_untouched(
            "https://prow.ci.openshift.org/view/gs/test-platform-results/logs/job/2070415196479819776",
        );
        assert_untouched("http://localhost:8080/path?a=b@c");
        assert_untouched(
            "https://mirror.openshift.com/pub/openshift-v4/signatures/openshift/release/sha256=314fe5cf32cbc22f8e400b211d530beeb027ac3d3cd5479ef953b74cf0c4676b/signature-1",
        );
    }

    #[test]
    fn ordinary_log_lines_are_untouched() {
        for line in [
            "2026-06-25T13:22:17Z: INFO: task [Take Ownership] status is changed to [Pass]",
            "2026-06-26T12:33:44Z: INFO: Image Digest: sha256:314fe5cf32cbc22f8e400b211d530beeb027ac3d3cd5479ef953b74cf0c4676b",
            "2026-06-30T11:24:08Z: INFO: Scheduler sleeping for 1800 seconds (timeout in 1 day, 23:59:59.999933)",
            "Job state: success, URL: https://prow.ci.openshift.org/view/gs/x/dc93c490-838e-4e01-bc6c-c45f443c264a",
            "QA Owner of advisory 169043 is updated to [EMAIL_REDACTED]",
        ] {
            assert_untouched(line);
        }
    }
}
