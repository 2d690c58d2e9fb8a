//! Masking: every kind of secret with samples that must be masked and
//! look-alikes that must survive, and every input path through the binary.

use crate::support::*;
use statebox::text::{self, mask};

const REL: &str = "4.19.1";
const PATH: &str = "_releases/4.19/statebox/4.19.1.yaml";

/// Secrets are assembled at run time so that no token-shaped literal sits
/// in the source for secret scanners to flag.
fn rep(s: &str, n: usize) -> String {
    s.repeat(n)
}

/// (kind, input, expected output)
fn positives() -> Vec<(&'static str, String, String)> {
    let pgp_body = format!("\nlQOYBGX{}\n=Ab12\n", rep("q1W2e3R4", 8));
    vec![
        (
            "Authorization: Basic",
            format!("Authorization: Basic {}", rep("dXNlcjpw", 3)),
            "Authorization: Basic [CREDENTIALS_REDACTED]".into(),
        ),
        (
            "Authorization: token",
            format!("curl -H 'Authorization: token {}'", rep("abc123", 3)),
            "curl -H 'Authorization: token [CREDENTIALS_REDACTED]'".into(),
        ),
        (
            "Authorization: Bearer",
            "AUTHORIZATION: BEARER short".into(),
            "AUTHORIZATION: BEARER [BEARER_TOKEN_REDACTED]".into(),
        ),
        (
            "GitLab",
            format!("GITLAB glpat-{} ok", rep("xY1_z-", 4)),
            "GITLAB [GITLAB_TOKEN_REDACTED] ok".into(),
        ),
        (
            "Google API key",
            format!("key AIza{}", rep("SyA1b2C3d4E5f6G", 3).get(..35).unwrap()),
            "key [GOOGLE_API_KEY_REDACTED]".into(),
        ),
        (
            "Atlassian",
            format!("jira ATATT3xFfGF0{}=1A2B3C4D", rep("aB3-_x", 10)),
            "jira [ATLASSIAN_TOKEN_REDACTED]".into(),
        ),
        (
            "Slack xoxe",
            format!("refresh xoxe-1-{}", rep("AbC123", 5)),
            "refresh [SLACK_TOKEN_REDACTED]".into(),
        ),
        (
            "Slack rotating",
            format!("t=xoxe.xoxp-1-{}", rep("AbC123", 5)),
            "t=[SLACK_TOKEN_REDACTED]".into(),
        ),
        (
            "Slack xapp",
            format!("app xapp-1-A0123-{}", rep("9a8b7c", 5)),
            "app [SLACK_TOKEN_REDACTED]".into(),
        ),
        (
            "npm",
            format!("//registry.npmjs.org/:_authToken=npm_{}", rep("a1B2c3", 6)),
            "//registry.npmjs.org/:_authToken=[NPM_TOKEN_REDACTED]".into(),
        ),
        (
            "PyPI",
            format!("pypi-AgEIcHlwaS5vcmc{}", rep("Ab1_-x", 10)),
            "[PYPI_TOKEN_REDACTED]".into(),
        ),
        (
            "password=",
            "db password=hunter2 retrying".into(),
            "db password=[SECRET_REDACTED] retrying".into(),
        ),
        (
            "passwd:",
            "  DB_PASSWD: 'c0rrect horse'".into(),
            "  DB_PASSWD: '[SECRET_REDACTED] horse'".into(),
        ),
        (
            "secret=",
            "client_secret=s3cr3tValue".into(),
            "client_secret=[SECRET_REDACTED]".into(),
        ),
        (
            "token:",
            r#"{"token": "abc.def"}"#.into(),
            r#"{"token": "[SECRET_REDACTED]"}"#.into(),
        ),
        (
            "api_key=",
            "--api_key=k-123 --verbose".into(),
            "--api_key=[SECRET_REDACTED] --verbose".into(),
        ),
        (
            "PGP private key block",
            format!(
                "gpg:\n-----BEGIN PGP {k}-----\nVersion: GnuPG v2\n{pgp_body}-----END PGP {k}-----\nok",
                k = "PRIVATE KEY BLOCK"
            ),
            "gpg:\n[PRIVATE_KEY_REDACTED]\nok".into(),
        ),
        (
            "URL password with / and @",
            "git clone https://bot:pa/ss@w0rd@github.com/o/r.git".into(),
            "git clone https://bot:[PASSWORD_REDACTED]@github.com/o/r.git".into(),
        ),
        (
            "URL password with @",
            "redis://default:p@ss@cache.example.com:6379".into(),
            "redis://default:[PASSWORD_REDACTED]@cache.example.com:6379".into(),
        ),
        (
            "e-mail",
            "owner jane.doe+qe@redhat.com".into(),
            "owner [EMAIL_REDACTED]".into(),
        ),
    ]
}

/// Look-alikes a release log is full of; masking them would destroy it.
fn negatives() -> Vec<(&'static str, String)> {
    vec![
        (
            "commit sha",
            "checked out 4b878104c2a1e3f5d6b7a8c9d0e1f2a3b4c5d6e7".into(),
        ),
        ("UUID", "job dc93c490-838e-4e01-bc6c-c45f443c264a done".into()),
        (
            "base64 line",
            "aGVsbG8gd29ybGQgdGhpcyBpcyBqdXN0IGEgbG9nIGxpbmUgaW4gYmFzZTY0Cg==".into(),
        ),
        (
            "pullspec digest",
            "quay.io/openshift-release-dev/ocp-release@sha256:314fe5cf32cbc22f8e400b211d530beeb027ac3d3cd5479ef953b74cf0c4676b".into(),
        ),
        (
            "pullspec with scheme and port",
            "docker://quay.io:443/openshift/release@sha256:314fe5cf32cbc22f8e400b211d530beeb027ac3d3cd5479ef953b74cf0c4676b".into(),
        ),
        ("prose about passwords", "password is not set; tokens: 3".into()),
        ("Basic auth as a word", "Basic checks passed".into()),
        ("Slack-ish word", "xoxo- hugs and xapp".into()),
        ("npm command", "npm_config_cache=/tmp/npm".into()),
        ("status line", "2026-06-25T13:22:17Z: INFO: task [Take Ownership] status is changed to [Pass]".into()),
    ]
}

#[test]
fn every_kind_is_masked_and_look_alikes_survive() {
    for (kind, input, expected) in positives() {
        assert_eq!(mask(&input), expected, "{kind}: {input:?}");
        assert_eq!(mask(&expected), expected, "{kind}: masking is idempotent");
    }
    for (kind, input) in negatives() {
        assert_eq!(mask(&input), input, "{kind} must survive");
    }
}

#[test]
fn a_secret_straddling_a_cut_is_masked_whole() {
    let (head, _) = text::head_and_tail(text::STORED_LIMIT);
    let filler = "an ordinary line of output\n".repeat(head / 27);
    let pem = format!(
        "  -----BEGIN EC {k}-----\n{}  -----END EC {k}-----\n",
        "  MHcCAQEEIBkg4LVWM9nuwNSk3yByxZpYRTBnVJk5oYm2KAyqDeBxoAoGCCqGSM49\n".repeat(8),
        k = "PRIVATE KEY"
    );
    let big = format!("{filler}{pem}{}", "more output\n".repeat(20_000));
    let stored = text::stored(&big);
    assert!(stored.omitted > 0);
    assert!(!stored.text.contains("MHcCAQEEIBkg4LVWM9nuwNSk3yByxZpYRTBn"));
}

#[test]
fn every_input_path_is_cleaned_then_masked() {
    let repo = new_repo();
    let r = repo.path();
    let token = format!("ghp_{}", rep("Zq9Xw8Vu7T", 4));
    let mail = "jane.doe@example.com";
    // Bold inside the token's prefix: masking before cleaning would miss it.
    let styled = format!("\x1b[1mgh\x1b[0mp_{}", &token[4..]);
    let styled_mail = format!("\x1b[1m{mail}\x1b[0m");
    ok(
        r,
        &[
            "task",
            "set",
            "-r",
            REL,
            "drop-bugs",
            "--status",
            "Pass",
            "--result",
            &styled,
        ],
    );
    let file = r.join("out.log");
    std::fs::write(&file, format!("{styled}\r\n{styled_mail}\r\n")).unwrap();
    ok(
        r,
        &[
            "task",
            "set",
            "-r",
            REL,
            "stage-testing",
            "--status",
            "Pass",
            "--result-file",
            file.to_str().unwrap(),
        ],
    );
    ok(
        r,
        &[
            "issue",
            "add",
            "-r",
            REL,
            &format!("token {styled} leaked by {styled_mail}"),
        ],
    );
    ok(
        r,
        &[
            "issue",
            "resolve",
            "-r",
            REL,
            &format!("leaked by {styled_mail}"),
            "--resolution",
            &format!("rotated {token}"),
        ],
    );
    ok(r, &["meta", "set", "-r", REL, &format!("qe_owner={mail}")]);
    let state = show(r, &format!("record:{PATH}"));
    let log = git(r, &["log", "record", "--format=%B"]);
    for (what, text) in [("state file", &state), ("commit messages", &log)] {
        assert!(!text.contains(&token[4..]), "token in the {what}:\n{text}");
        assert!(!text.contains(mail), "e-mail in the {what}:\n{text}");
        assert!(!text.contains('\x1b'), "escape in the {what}:\n{text}");
    }
    assert_eq!(
        state.matches("[GITHUB_TOKEN_REDACTED]").count(),
        4,
        "{state}"
    );
    assert_eq!(state.matches("[EMAIL_REDACTED]").count(), 3, "{state}");
}

#[test]
fn the_bound_warning_and_marker_state_the_bytes_omitted() {
    let repo = new_repo();
    let r = repo.path();
    let file = r.join("big.log");
    let line = "2026-06-25T13:22:08Z: INFO: step output line\n";
    let content = line.repeat(200 * 1024 / line.len());
    std::fs::write(&file, &content).unwrap();
    let out = statebox(
        r,
        &[
            "task",
            "set",
            "-r",
            REL,
            "drop-bugs",
            "--status",
            "Pass",
            "--result-file",
            file.to_str().unwrap(),
        ],
    );
    assert!(out.status.success());
    let stored = text::stored(&content);
    assert!(stored.omitted > 0);
    let json = ok(r, &["task", "get", "-r", REL, "drop-bugs", "--json"]);
    let result: serde_json::Value = serde_json::from_str(&json).unwrap();
    let result = result["result"].as_str().unwrap();
    let markers: Vec<u64> = result.lines().filter_map(text::omitted_by_marker).collect();
    assert_eq!(markers, [stored.omitted], "one marker, no fragments");
    // Kept whole lines plus what the marker states is the whole file.
    let kept = result.len() - text::omission_marker(stored.omitted).len() - 1;
    assert_eq!(kept as u64 + stored.omitted, content.len() as u64);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!("{} bytes omitted", stored.omitted)),
        "{stderr}"
    );
}
