//! The config store through the binary: encrypt, get, edit, rekey, and
//! `init` filling a release's metadata from it. Keys come from the
//! reference `age-keygen` (`apt-get install age`).

use crate::support::*;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

const PLAINTEXT: &str = "releases:
  4.19.36:
    jira_ticket: ART-21268
    advisory_ids: {rpm: 169043, rhcos: 169044}
    release_date: 2026-Jul-01
    candidate_builds: {x86_64: 4.19.0-0.nightly-2026-06-20-000000}
    shipment_mr: https://gitlab.example.com/shipment/-/merge_requests/1
    qe_owner: someone
    api_password: hunter2-never-on-the-branch
  4.18.2:
    jira_ticket: ART-20000
    release_date: 2026-07-01
    advisory_ids: {rpm: 170001}
    qe_owner: someone
    qe_approved: yes
    qe_since: 2026-06-30 12:00:00
    qe_notes: {'4.20': [0123, '0123', 12:30]}
    api_token: never-on-the-branch-either
metadata_keys: [qe_owner, qe_approved, qe_since, qe_notes]
";

/// An identity file from age-keygen and its public key.
fn keygen(dir: &Path, name: &str) -> (PathBuf, String) {
    let path = dir.join(name);
    let out = Command::new("age-keygen")
        .arg("-o")
        .arg(&path)
        .output()
        .expect("age-keygen is missing: run `apt-get update && apt-get install -y age`");
    assert!(out.status.success());
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    let public = text
        .lines()
        .find_map(|l| l.strip_prefix("# public key: "))
        .unwrap()
        .to_owned();
    (path, public)
}

/// statebox with the given environment and stdin, in `repo`.
fn run(repo: &Path, args: &[&str], env: &[(&str, &Path)], stdin: &str) -> Output {
    let mut cmd = Command::new(statebox_bin());
    cmd.current_dir(repo)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for var in [
        "STATEBOX_AGE_KEY_FILE",
        "SOPS_AGE_KEY_FILE",
        "SOPS_AGE_KEY",
        "STATEBOX_CONFIG_STORE",
        "EDITOR",
        "VISUAL",
    ] {
        cmd.env_remove(var);
    }
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().unwrap();
    std::io::Write::write_all(&mut child.stdin.take().unwrap(), stdin.as_bytes()).unwrap();
    child.wait_with_output().unwrap()
}

fn text(out: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn encrypt_get_and_prefill_a_release() {
    let repo = new_repo();
    let r = repo.path();
    let (identity, public) = keygen(r, "key.txt");
    std::fs::create_dir(r.join(".statebox")).unwrap();
    let out = run(
        r,
        &[
            "config",
            "encrypt",
            "--recipient",
            &public,
            "--config-store",
            ".statebox/config.age",
        ],
        &[],
        PLAINTEXT,
    );
    assert!(out.status.success(), "{:?}", text(&out));
    let stored = std::fs::read_to_string(r.join(".statebox/config.age")).unwrap();
    assert!(
        stored.starts_with("-----BEGIN AGE ENCRYPTED FILE-----") && !stored.contains("ART-21268")
    );

    // The default store path is found at the repository root.
    let key_env = [("STATEBOX_AGE_KEY_FILE", identity.as_path())];
    let out = run(
        r,
        &["config", "get", "releases.4.19.36.jira_ticket"],
        &key_env,
        "",
    );
    assert_eq!(text(&out).0, "ART-21268\n", "{:?}", text(&out));
    let out = run(
        r,
        &["config", "get", "releases.4.19.36.advisory_ids", "--json"],
        &key_env,
        "",
    );
    let ids: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(ids, serde_json::json!({"rpm": 169043, "rhcos": 169044}));

    let out = run(
        r,
        &[
            "init",
            "-r",
            "4.19.36",
            "--release-date",
            "2026-Jul-02",
            "--advisory",
            "extras=169045",
        ],
        &key_env,
        "",
    );
    assert!(out.status.success(), "{:?}", text(&out));
    let state: serde_json::Value =
        serde_json::from_str(&ok(r, &["show", "-r", "4.19.36", "--json"])).unwrap();
    let m = &state["metadata"];
    assert_eq!(m["jira_ticket"], "ART-21268");
    assert_eq!(
        m["release_date"], "2026-Jul-02",
        "a flag overrides the store"
    );
    assert_eq!(
        m["advisory_ids"],
        serde_json::json!({"rpm": 169043, "rhcos": 169044, "extras": 169045})
    );
    assert_eq!(
        m["candidate_builds"]["x86_64"],
        "4.19.0-0.nightly-2026-06-20-000000"
    );
    assert_eq!(m["qe_owner"], "someone", "allowlisted in the store");
    assert_eq!(m["api_password"], serde_json::Value::Null);
    let file = show(r, "record:_releases/4.19/statebox/4.19.36.yaml");
    assert!(
        file.contains("metadata:\n  jira_ticket: ART-21268\n  advisory_ids:\n    rpm: 169043\n"),
        "{file}"
    );

    let (_, stderr) = text(&out);
    assert!(
        stderr.contains("not copied") && stderr.contains("api_password"),
        "{stderr}"
    );
    assert!(!stderr.contains("hunter2"), "{stderr}");
    assert!(!git(r, &["log", "-p", "record"]).contains("hunter2"));

    // The prefill means what the store means to PyYAML (the original's
    // reader), dates as their text: the same rule as `meta set`.
    let out = run(r, &["init", "-r", "4.18.2"], &key_env, "");
    assert!(out.status.success(), "{:?}", text(&out));
    std::fs::write(r.join("store.yaml"), PLAINTEXT).unwrap();
    std::fs::write(
        r.join("state.yaml"),
        show(r, "record:_releases/4.18/statebox/4.18.2.yaml"),
    )
    .unwrap();
    let script = "import sys, json, yaml, datetime\n\
        def text(v):\n\
        \x20   if isinstance(v, (datetime.date, datetime.datetime)): return str(v)\n\
        \x20   if isinstance(v, dict): return {k: text(x) for k, x in v.items()}\n\
        \x20   if isinstance(v, list): return [text(x) for x in v]\n\
        \x20   return v\n\
        store = yaml.safe_load(open('store.yaml'))\n\
        entry = store['releases']['4.18.2']\n\
        keep = {'jira_ticket', 'advisory_ids', 'release_date', 'candidate_builds', 'shipment_mr'} | set(store['metadata_keys'])\n\
        want = {k: text(v) for k, v in entry.items() if k in keep}\n\
        got = yaml.safe_load(open('state.yaml'))['metadata']\n\
        assert set(got) <= keep, set(got) - keep\n\
        got = {k: v for k, v in got.items() if k in want}\n\
        print(json.dumps([want, got], default=lambda v: {'python': type(v).__name__}))";
    let out = Command::new("python3")
        .args(["-c", script])
        .current_dir(r)
        .output()
        .expect("python3 with pyyaml");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let [want, got]: [serde_json::Value; 2] = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(got, want);
    assert_eq!(got["release_date"], "2026-07-01");
    assert_eq!(
        got["qe_approved"], true,
        "a YAML bool in the store stays one"
    );
    assert!(got.get("api_token").is_none());

    // No entry for the release: a message, and the state starts with nulls.
    let out = run(r, &["init", "-r", "4.20.1"], &key_env, "");
    assert!(out.status.success());
    assert!(
        text(&out).1.contains("has no entry for release 4.20.1"),
        "{:?}",
        text(&out)
    );
    let state: serde_json::Value =
        serde_json::from_str(&ok(r, &["show", "-r", "4.20.1", "--json"])).unwrap();
    assert_eq!(state["metadata"]["jira_ticket"], serde_json::Value::Null);
}

#[test]
fn wrong_or_missing_keys_fail_without_leaking_anything() {
    let repo = new_repo();
    let r = repo.path();
    let (_, public) = keygen(r, "right.txt");
    let (wrong, _) = keygen(r, "wrong.txt");
    let store = r.join("store.age");
    let out = run(
        r,
        &[
            "config",
            "encrypt",
            "--recipient",
            &public,
            "--config-store",
            store.to_str().unwrap(),
        ],
        &[],
        PLAINTEXT,
    );
    assert!(out.status.success());
    let wrong_key = std::fs::read_to_string(&wrong).unwrap();
    let secret_line = wrong_key
        .lines()
        .find(|l| l.starts_with("AGE-SECRET-KEY-"))
        .unwrap();

    let s = store.to_str().unwrap();
    let out = run(
        r,
        &[
            "config",
            "get",
            "--config-store",
            s,
            "--identity",
            wrong.to_str().unwrap(),
        ],
        &[],
        "",
    );
    assert_eq!(out.status.code(), Some(8));
    let (stdout, stderr) = text(&out);
    assert!(stdout.is_empty());
    assert!(
        !stderr.contains(secret_line) && !stderr.contains("ART-21268"),
        "{stderr}"
    );
    let out = run(r, &["config", "get", "--config-store", s], &[], "");
    assert_eq!(out.status.code(), Some(8));
    assert!(
        text(&out).1.contains("no age identity configured"),
        "{:?}",
        text(&out)
    );

    // init with an undecryptable store writes nothing.
    let out = run(
        r,
        &[
            "init",
            "-r",
            "4.19.36",
            "--config-store",
            s,
            "--identity",
            wrong.to_str().unwrap(),
        ],
        &[],
        "",
    );
    assert_eq!(out.status.code(), Some(8));
    assert!(tip(r, "record").is_none());

    let out = run(r, &["config", "get"], &[], "");
    assert_eq!(out.status.code(), Some(8));
    assert!(text(&out).1.contains("no config store"), "{:?}", text(&out));
}

#[test]
fn edit_and_rekey_through_the_binary() {
    let repo = new_repo();
    let r = repo.path();
    let (first, first_public) = keygen(r, "first.txt");
    let (second, second_public) = keygen(r, "second.txt");
    let store = r.join("store.age");
    let s = store.to_str().unwrap();
    assert!(
        run(
            r,
            &[
                "config",
                "encrypt",
                "--recipient",
                &first_public,
                "--config-store",
                s
            ],
            &[],
            PLAINTEXT
        )
        .status
        .success()
    );

    // An "editor" that changes the ticket in place.
    let editor = r.join("editor.sh");
    std::fs::write(
        &editor,
        "#!/bin/sh\nsed -i 's/ART-21268/ART-99999/' \"$1\"\n",
    )
    .unwrap();
    std::fs::set_permissions(&editor, std::fs::Permissions::from_mode(0o755)).unwrap();
    let env = [
        ("STATEBOX_AGE_KEY_FILE", first.as_path()),
        ("EDITOR", editor.as_path()),
    ];
    let out = run(r, &["config", "edit", "--config-store", s], &env, "");
    assert!(out.status.success(), "{:?}", text(&out));
    let out = run(
        r,
        &[
            "config",
            "get",
            "--config-store",
            s,
            "releases.4.19.36.jira_ticket",
        ],
        &env,
        "",
    );
    assert_eq!(text(&out).0, "ART-99999\n");

    let out = run(
        r,
        &[
            "config",
            "rekey",
            "--config-store",
            s,
            "--add",
            &second_public,
            "--remove",
            &first_public,
        ],
        &env,
        "",
    );
    assert!(out.status.success(), "{:?}", text(&out));
    let out = run(
        r,
        &[
            "config",
            "get",
            "--config-store",
            s,
            "--identity",
            second.to_str().unwrap(),
            "releases.4.19.36.jira_ticket",
        ],
        &[],
        "",
    );
    assert_eq!(text(&out).0, "ART-99999\n");
    let out = run(
        r,
        &["config", "get", "--config-store", s],
        &[("STATEBOX_AGE_KEY_FILE", first.as_path())],
        "",
    );
    assert_eq!(
        out.status.code(),
        Some(8),
        "the removed key no longer opens the store"
    );
}
