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
//!
//! Compiling all the rules took over a third of a `task set`'s instructions,
//! for a status word that none of them can match. So each rule names the
//! literals every match of it holds, and is compiled (once) and run only on
//! a text that holds them: a skipped rule is one that would have found
//! nothing, so masking is exactly as strong.

use std::borrow::Cow;
use std::sync::{LazyLock, OnceLock};

use memchr::memmem;
use regex::Regex;

// Placeholders name the kind of secret, so a reader of the record branch
// knows what stood there.
const EMAIL_REDACTED: &str = "[EMAIL_REDACTED]";
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

/// A pattern, its replacement template (`$name` refers to a kept group),
/// and what a text needs for the pattern to match in it.
struct Rule {
    /// For each group, every match holds at least one of its literals.
    needs: &'static [&'static [&'static str]],
    pattern: String,
    replacement: String,
    re: OnceLock<Regex>,
}

impl Rule {
    /// False only if the pattern cannot match in `text`.
    fn may_match(&self, text: &str) -> bool {
        self.needs.iter().all(|any| {
            any.iter()
                .any(|literal| memmem::find(text.as_bytes(), literal.as_bytes()).is_some())
        })
    }

    fn re(&self) -> &Regex {
        self.re
            .get_or_init(|| Regex::new(&self.pattern).expect("mask patterns are valid"))
    }
}

fn rule(
    needs: &'static [&'static [&'static str]],
    pattern: impl Into<String>,
    replacement: impl Into<String>,
) -> Rule {
    Rule {
        needs,
        pattern: pattern.into(),
        replacement: replacement.into(),
        re: OnceLock::new(),
    }
}

// Literals several rules need.
const AUTHORIZATION: &[&str] = &["uthorization", "AUTHORIZATION"];
const BEARER: &[&str] = &["earer", "EARER"];
const ASSIGNED: &[&str] = &[":", "="];

/// `-----BEGIN RSA PRIVATE KEY-----`, `-----BEGIN PGP PRIVATE KEY BLOCK-----`.
const KEY_LABEL: &str = "[A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----";

static RULES: LazyLock<Vec<Rule>> = LazyLock::new(|| {
    vec![
        // A block cut short (an unterminated BEGIN, at the edge of a result
        // whose middle was omitted) is redacted up to the omission line or
        // the end of the text: the key body must not survive just because
        // its END line was not kept. The omission line itself stays.
        rule(
            &[&["-----BEGIN "], &["PRIVATE KEY"]],
            format!(
                r"(?s)-----BEGIN {KEY_LABEL}.*?(?:-----END {KEY_LABEL}|(?P<cut>\n\[\.\.\. statebox: [0-9]+ bytes omitted \.\.\.\])|\z)"
            ),
            format!("{PRIVATE_KEY}${{cut}}"),
        ),
        // The other half of a cut block: key lines (indented or not, armor
        // checksums and blank lines included) ending in an END line.
        rule(
            &[&["-----END "], &["PRIVATE KEY"]],
            format!(
                r"(?m)(?:^[ \t]*[A-Za-z0-9+/=]*[ \t]*\r?\n)*[ \t]*[A-Za-z0-9+/=]*-----END {KEY_LABEL}"
            ),
            PRIVATE_KEY,
        ),
        // In an Authorization header any credential is a secret, however
        // short.
        rule(
            &[AUTHORIZATION, BEARER],
            r#"(?P<keep>(?:[Aa]uthorization|AUTHORIZATION)["']?\s*[:=]\s*["']?(?:[Bb]earer|BEARER)\s+)[^\s"',;]+"#,
            format!("${{keep}}{BEARER_TOKEN}"),
        ),
        rule(
            &[AUTHORIZATION, &["asic", "ASIC", "oken", "OKEN"]],
            r#"(?P<keep>(?:[Aa]uthorization|AUTHORIZATION)["']?\s*[:=]\s*["']?(?:[Bb]asic|BASIC|[Tt]oken|TOKEN)\s+)[^\s"',;]+"#,
            format!("${{keep}}{CREDENTIALS}"),
        ),
        // Elsewhere "bearer" is an English word ("the bearer of ..."); only a
        // token-shaped word after it (16+ token characters) is masked.
        rule(
            &[BEARER],
            r"(?P<keep>\b(?:[Bb]earer|BEARER)\s+)[A-Za-z0-9\-._~+/]{16,}=*",
            format!("${{keep}}{BEARER_TOKEN}"),
        ),
        // Keep scheme, user and host so the line stays readable. The
        // password runs to the last `@` that a host name follows, so a
        // password holding `/` or `@` is masked whole; a host needs a dot
        // (or is localhost), so `docker://quay.io:443/x@sha256:...` is no
        // password.
        rule(
            &[&["://"], &["@"]],
            r"(?P<keep>\b[A-Za-z][A-Za-z0-9+.\-]*://[^\s:/@\[\]]*):\S+@(?P<host>localhost|[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)+)\b",
            format!("${{keep}}:{PASSWORD}@${{host}}"),
        ),
        rule(
            &[&["https://hooks.slack.com/"]],
            r"(?P<keep>https://hooks\.slack\.com/)(?:services|workflows|triggers)/[A-Za-z0-9/_\-]+",
            format!("${{keep}}{SLACK_TOKEN}"),
        ),
        rule(
            &[&["ghp_", "gho_", "ghu_", "ghs_", "ghr_"]],
            r"\bgh[pousr]_[A-Za-z0-9]{30,}",
            GITHUB_TOKEN,
        ),
        rule(
            &[&["github_pat_"]],
            r"\bgithub_pat_[A-Za-z0-9_]{22,}",
            GITHUB_TOKEN,
        ),
        rule(&[&["glpat-"]], r"\bglpat-[A-Za-z0-9_\-]{20,}", GITLAB_TOKEN),
        rule(&[&["AIza"]], r"\bAIza[0-9A-Za-z_\-]{35}", GOOGLE_API_KEY),
        rule(
            &[&["ATATT"]],
            r"\bATATT[A-Za-z0-9_\-=]{30,}",
            ATLASSIAN_TOKEN,
        ),
        // Bot, user, app-level, refresh and rotating (`xoxe.xoxp-...`) tokens.
        rule(
            &[&["xox", "xapp"]],
            r"\b(?:xox[abeprs]|xapp)[.\-][A-Za-z0-9.\-]{10,}",
            SLACK_TOKEN,
        ),
        rule(&[&["npm_"]], r"\bnpm_[A-Za-z0-9]{36}\b", NPM_TOKEN),
        rule(&[&["pypi-"]], r"\bpypi-[A-Za-z0-9_\-]{50,}", PYPI_TOKEN),
        rule(
            &[&[".eyJ"]],
            r"\beyJ[A-Za-z0-9_\-]{8,}\.eyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]*",
            JWT,
        ),
        rule(
            &[&["AKIA", "ASIA"]],
            r"\b(?:AKIA|ASIA)[A-Z0-9]{16}\b",
            AWS_KEY,
        ),
        rule(
            &[&["ccess", "CCESS"], ASSIGNED],
            r#"(?P<keep>(?:[Ss]ecret_?[Aa]ccess_?[Kk]ey|SECRET_?ACCESS_?KEY)["']?\s*[:=]\s*["']?)[A-Za-z0-9/+=]{16,}"#,
            format!("${{keep}}{AWS_KEY}"),
        ),
        // `password=...`, `db_passwd: ...`, `"api_key": "..."`: the value of
        // a key that names a secret. A value starting with `[` is a
        // placeholder an earlier rule wrote (or a list): left alone.
        rule(
            &[
                &["ass", "ASS", "ecret", "ECRET", "oken", "OKEN", "pi", "PI"],
                ASSIGNED,
            ],
            r#"(?P<keep>(?:[Pp]ass(?:word|wd)|PASS(?:WORD|WD)|[Ss]ecret|SECRET|[Tt]oken|TOKEN|[Aa]pi[_\-]?[Kk]ey|API[_\-]?KEY)["']?[ \t]*[:=][ \t]*["']?)[^\s"',;\[][^\s"',;]*"#,
            format!("${{keep}}{SECRET}"),
        ),
    ]
});

// The original's e-mail pattern (oar/core/statebox.py), minus its `|` typo in
// the TLD class.
static EMAIL: LazyLock<Rule> = LazyLock::new(|| {
    rule(
        &[&["@"]],
        r"\b[A-Za-z0-9._%+\-]+@[A-Za-z0-9.\-]+\.[A-Za-z]{2,}\b",
        EMAIL_REDACTED,
    )
});

/// Replaces every secret in `text` by a placeholder naming its kind.
///
/// Borrows when nothing was found. Idempotent: no placeholder is taken for
/// a secret by any rule, so masking masked text changes nothing.
pub fn mask(text: &str) -> Cow<'_, str> {
    let mut masked = Cow::Borrowed(text);
    for rule in RULES.iter() {
        if !rule.may_match(&masked) {
            continue;
        }
        if let Cow::Owned(s) = rule.re().replace_all(&masked, rule.replacement.as_str()) {
            masked = Cow::Owned(s);
        }
    }
    mask_emails(masked)
}

fn mask_emails(text: Cow<'_, str>) -> Cow<'_, str> {
    if !EMAIL.may_match(&text) {
        return text;
    }
    let mut out = String::new();
    let mut copied = 0;
    for m in EMAIL.re().find_iter(&text) {
        // `https://user@host` is a login name in a URL, not a mail address;
        // URLs that carry no password must not be mangled.
        if text[..m.start()].ends_with("://") {
            continue;
        }
        out.push_str(&text[copied..m.start()]);
        out.push_str(EMAIL_REDACTED);
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

    /// `mask` without the literal check: every rule compiled and run.
    fn mask_unfiltered(text: &str) -> String {
        let mut masked = text.to_owned();
        for rule in RULES.iter() {
            masked = rule
                .re()
                .replace_all(&masked, rule.replacement.as_str())
                .into_owned();
        }
        let emails = EMAIL
            .re()
            .find_iter(&masked)
            .filter(|m| !masked[..m.start()].ends_with("://"));
        let mut out = String::new();
        let mut copied = 0;
        for m in emails {
            out.push_str(&masked[copied..m.start()]);
            out.push_str(EMAIL_REDACTED);
            copied = m.end();
        }
        out.push_str(&masked[copied..]);
        out
    }

    /// Pieces of every secret shape, and of what the rules' literals are
    /// taken from, in every case variant the patterns spell out.
    fn fragments() -> Vec<String> {
        let block = private_key_block();
        let (first, second) = block.split_at(block.len() / 2);
        let mut pieces: Vec<String> = [
            "Authorization",
            "AUTHORIZATION",
            "authorization",
            "Bearer",
            "bearer",
            "BEARER",
            "Basic",
            "basic",
            "BASIC",
            "Token",
            "token",
            "TOKEN",
            "Password",
            "passwd",
            "PASSWD",
            "secret",
            "Secret",
            "SECRET",
            "api_key",
            "Api-Key",
            "APIKEY",
            "SecretAccessKey",
            "secret_access_key",
            "SECRET_ACCESS_KEY",
            ":",
            "=",
            " ",
            "\t",
            "\n",
            "\"",
            "'",
            "[",
            "@",
            "://",
            "https://",
            "user",
            "host.example.com",
            "localhost",
            "https://hooks.slack.com/",
            "services/T0/B0/XXXXxxxxXXXXxxxx",
            "xoxb-",
            "xapp-",
            "xoxe.",
            "1234567890abcdefXYZ",
            "ghp",
            "gho_",
            "ghr_",
            "github_pat_",
            "glpat-",
            "AIza",
            "ATATT",
            "npm_",
            "pypi-",
            "eyJhbGciOiJIUzI1NiJ9",
            ".eyJ",
            ".",
            "AKIA",
            "ASIA",
            "IOSFODNN7EXAMPLE",
            "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
            "-----BEGIN ",
            "-----END ",
            "RSA ",
            "PRIVATE KEY",
            "-----",
            " BLOCK",
            "jane.doe@redhat.com",
            "a1B2c3D4e5a1B2c3D4e5a1B2c3D4e5a1B2c3D4e5",
            "[... statebox: 12 bytes omitted ...]",
        ]
        .map(str::to_owned)
        .into();
        pieces.extend([
            github_token("ghs"),
            jwt(),
            block.clone(),
            first.to_owned(),
            second.to_owned(),
        ]);
        pieces
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(2000))]

        /// A rule is skipped only where it would have found nothing.
        #[test]
        fn skipping_by_literals_masks_exactly_like_running_every_rule(
            picks in proptest::collection::vec(proptest::prelude::any::<proptest::sample::Index>(), 0..14)
        ) {
            let pieces = fragments();
            let text: String = picks.iter().map(|i| i.get(&pieces).as_str()).collect();
            proptest::prop_assert_eq!(mask(&text).into_owned(), mask_unfiltered(&text), "masking {:?}", text);
        }
    }
}
