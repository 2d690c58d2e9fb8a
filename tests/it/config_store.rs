//! The config store against real encryptors: the reference `age` CLI and an
//! independent JWE implementation (tests/support/jwe_vectors.py, jwcrypto).
//!
//! Needs `age` (`apt-get install age`) and Python 3 with `pip install jwcrypto`;
//! a missing tool fails the test with that instruction rather than skipping.

use std::ffi::OsString;
use std::fs;
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use age::secrecy::{ExposeSecret, SecretString};
use age::x25519;
use statebox::config_store::{
    ConfigStore, ConfigStoreError, EditOutcome, Encryption, IdentitySource, Keys, StoreFile,
    StoreFormat, decrypt, detect_format, encrypt, parse_recipients, render,
};
use statebox::yaml::Value;
use tempfile::TempDir;

/// Appears in the plaintext only: no error may ever contain it.
const MARKER: &str = "PLAINTEXT-MARKER-7f3a";
const JWK: &str = "0123456789abcdef";

fn plaintext() -> String {
    format!(
        "releases:
  4.19.36:
    jira_ticket: ART-21268
    advisory_ids: {{rpm: 169043, rhcos: 169044}}
    release_date: 2026-Jul-01
    candidate_builds: {{x86_64: 4.19.0-0.nightly-2026-06-20-000000}}
    shipment_mr: https://gitlab.example.com/shipment/-/merge_requests/1
    qe_owner: someone
    api_password: {MARKER}
  4.18.2:
    jira_ticket: ART-20000
metadata_keys: [qe_owner]
token: {MARKER}
"
    )
}

fn no_env(_: &str) -> Option<OsString> {
    None
}

fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<OsString> {
    let pairs: Vec<(String, OsString)> = pairs
        .iter()
        .map(|(k, v)| (k.to_string(), OsString::from(v)))
        .collect();
    move |name| {
        pairs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    }
}

/// A fresh identity written as an identity file (mode 0600).
struct Key {
    identity: x25519::Identity,
    path: PathBuf,
}

impl Key {
    fn new(dir: &Path, name: &str) -> Key {
        let identity = x25519::Identity::generate();
        let path = dir.join(name);
        fs::write(
            &path,
            format!(
                "# public key: {}\n{}\n",
                identity.to_public(),
                identity.to_string().expose_secret()
            ),
        )
        .unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o600)).unwrap();
        Key { identity, path }
    }

    fn recipient(&self) -> x25519::Recipient {
        self.identity.to_public()
    }

    fn secret(&self) -> String {
        self.identity.to_string().expose_secret().to_owned()
    }

    fn keys(&self) -> Keys {
        Keys::discover(Some(self.path.clone()), None, no_env)
    }
}

fn jwk_keys(jwk: &str) -> Keys {
    Keys::discover(None, None, env(&[("OAR_JWK", jwk)]))
}

/// Asserts an error names no secret: not the plaintext, not any key given.
fn assert_no_leak(err: &ConfigStoreError, secrets: &[&str]) {
    let text = err.to_string();
    let debug = format!("{err:?}");
    for secret in [MARKER].iter().chain(secrets) {
        assert!(!text.contains(secret), "error leaks a secret: {text}");
        assert!(!debug.contains(secret), "error leaks a secret: {debug}");
    }
}

fn age_cli() -> Command {
    let found = Command::new("age").arg("--version").output();
    assert!(
        found.is_ok_and(|o| o.status.success()),
        "the reference `age` CLI is missing: run `apt-get update && apt-get install -y age`"
    );
    Command::new("age")
}

/// Runs `cmd` with `input` on stdin; panics with its stderr on failure.
fn run(mut cmd: Command, input: &[u8]) -> Vec<u8> {
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    child.stdin.take().unwrap().write_all(input).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// A token from the independent Python implementation.
fn python_jwe(mode: &str, jwk: &str, input: &[u8]) -> Vec<u8> {
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/it/support/jwe_vectors.py"
    );
    let probe = Command::new("python3").arg("--version").output();
    assert!(
        probe.is_ok_and(|o| o.status.success()),
        "python3 is missing: install Python 3, then `pip install jwcrypto`"
    );
    let mut cmd = Command::new("python3");
    cmd.arg(script).arg(mode).env("OAR_JWK", jwk);
    run(cmd, input)
}

fn write_file(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    fs::write(&path, bytes).unwrap();
    path
}

fn jira(store: &ConfigStore) -> &str {
    store
        .get("releases.4.19.36.jira_ticket")
        .unwrap()
        .as_str()
        .unwrap()
}

#[test]
fn age_round_trip_with_identity_armored_and_binary() {
    let dir = TempDir::new().unwrap();
    let key = Key::new(dir.path(), "key.txt");
    for armor in [true, false] {
        let file = StoreFile::new(dir.path().join(format!("store-{armor}.age")));
        let to = Encryption::Recipients(vec![key.recipient()]);
        file.write(plaintext().as_bytes(), &to, armor).unwrap();
        assert_eq!(
            file.format().unwrap(),
            StoreFormat::AgeRecipients { armored: armor }
        );
        let bytes = fs::read(file.path()).unwrap();
        assert_eq!(
            bytes.starts_with(b"-----BEGIN AGE ENCRYPTED FILE-----"),
            armor
        );
        assert!(!String::from_utf8_lossy(&bytes).contains(MARKER));
        let store = file.load(&key.keys()).unwrap();
        assert_eq!(jira(&store), "ART-21268");
        assert_eq!(
            fs::read_to_string(file.recipients_path()).unwrap(),
            format!("{}\n", key.recipient())
        );
    }
}

#[test]
fn age_round_trip_with_passphrase_and_edit_keeps_the_passphrase() {
    let dir = TempDir::new().unwrap();
    let passphrase = "correct horse battery staple";
    let file = StoreFile::new(dir.path().join("store.age"));
    let to = Encryption::Passphrase(SecretString::from(passphrase));
    file.write(plaintext().as_bytes(), &to, true).unwrap();
    assert_eq!(
        file.format().unwrap(),
        StoreFormat::AgePassphrase { armored: true }
    );

    let keys = Keys::discover(None, None, env(&[("STATEBOX_AGE_PASSPHRASE", passphrase)]));
    assert_eq!(jira(&file.load(&keys).unwrap()), "ART-21268");

    let wrong = Keys::discover(None, None, no_env).with_passphrase(SecretString::from("not it"));
    let err = file.load(&wrong).unwrap_err();
    assert!(matches!(err, ConfigStoreError::WrongPassphrase), "{err}");
    assert_no_leak(&err, &[passphrase, "not it"]);

    let err = file.load(&Keys::discover(None, None, no_env)).unwrap_err();
    assert!(matches!(err, ConfigStoreError::NoPassphrase), "{err}");
    assert!(err.to_string().contains("STATEBOX_AGE_PASSPHRASE"), "{err}");

    let editor = editor_script(dir.path(), "sed -i 's/ART-21268/ART-1/' \"$1\"");
    assert_eq!(file.edit(&keys, &editor).unwrap(), EditOutcome::Saved);
    assert_eq!(
        file.format().unwrap(),
        StoreFormat::AgePassphrase { armored: true }
    );
    assert_eq!(jira(&file.load(&keys).unwrap()), "ART-1");
}

#[test]
fn stores_encrypted_by_the_age_cli_decrypt() {
    let dir = TempDir::new().unwrap();
    let key_file = dir.path().join("keys.txt");
    let status = Command::new("age-keygen")
        .arg("-o")
        .arg(&key_file)
        .stderr(Stdio::null())
        .status()
        .expect("age-keygen is missing: run `apt-get update && apt-get install -y age`");
    assert!(status.success());
    let keygen_output = fs::read_to_string(&key_file).unwrap();
    let recipient = keygen_output
        .lines()
        .find_map(|l| l.strip_prefix("# public key: "))
        .unwrap();
    let keys = Keys::discover(Some(key_file.clone()), None, no_env);
    for armor in [false, true] {
        let mut cmd = age_cli();
        cmd.arg("-r").arg(recipient);
        if armor {
            cmd.arg("-a");
        }
        let ciphertext = run(cmd, plaintext().as_bytes());
        assert_eq!(
            detect_format(&ciphertext).unwrap(),
            StoreFormat::AgeRecipients { armored: armor }
        );
        let decrypted = decrypt(&ciphertext, &keys).unwrap();
        assert_eq!(decrypted.expose_secret(), plaintext().as_bytes());
    }
}

#[test]
fn stores_encrypted_by_statebox_decrypt_with_the_age_cli() {
    let dir = TempDir::new().unwrap();
    let key = Key::new(dir.path(), "key.txt");
    let other = Key::new(dir.path(), "other.txt");
    for armor in [true, false] {
        let to = Encryption::Recipients(vec![other.recipient(), key.recipient()]);
        let ciphertext = encrypt(plaintext().as_bytes(), &to, armor).unwrap();
        let mut cmd = age_cli();
        cmd.arg("-d").arg("-i").arg(&key.path);
        assert_eq!(run(cmd, &ciphertext), plaintext().as_bytes());
    }
}

/// Runs `age` under `script`, whose pseudo-terminal is where age insists on
/// reading passphrases. The passphrase lines are queued on the terminal
/// before age prompts (it does not flush pending input), and stdin is held
/// open until age exits so `script` does not hang up early.
fn age_cli_on_tty(args: &str, tty_input: &str) {
    age_cli();
    let mut child = Command::new("script")
        .args(["-qec", &format!("age {args}"), "/dev/null"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("`script` (util-linux) is needed to give age a terminal");
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(tty_input.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    drop(stdin);
    assert!(
        out.status.success(),
        "age {args} failed: {}",
        String::from_utf8_lossy(&out.stdout)
    );
}

#[test]
fn passphrase_stores_interoperate_with_the_age_cli() {
    let dir = TempDir::new().unwrap();
    let passphrase = "pass phrase 42";
    let input = write_file(dir.path(), "in.yaml", plaintext().as_bytes());
    let keys = Keys::discover(None, Some(SecretString::from(passphrase)), no_env);
    for armor in ["", "-a"] {
        let store = dir.path().join(format!("cli{armor}.age"));
        age_cli_on_tty(
            &format!("-p {armor} -o '{}' '{}'", store.display(), input.display()),
            &format!("{passphrase}\n{passphrase}\n"),
        );
        let decrypted = decrypt(&fs::read(&store).unwrap(), &keys).unwrap();
        assert_eq!(decrypted.expose_secret(), plaintext().as_bytes());
    }

    let store = StoreFile::new(dir.path().join("statebox.age"));
    let to = Encryption::Passphrase(SecretString::from(passphrase));
    store.write(plaintext().as_bytes(), &to, true).unwrap();
    let output = dir.path().join("out.yaml");
    age_cli_on_tty(
        &format!("-d -o '{}' '{}'", output.display(), store.path().display()),
        &format!("{passphrase}\n"),
    );
    assert_eq!(fs::read_to_string(&output).unwrap(), plaintext());
}

#[test]
fn legacy_jwe_from_jwcrypto_and_16_byte_iv_decrypt_to_the_same_data() {
    let dir = TempDir::new().unwrap();
    let key = Key::new(dir.path(), "key.txt");
    let age_store = encrypt(
        plaintext().as_bytes(),
        &Encryption::Recipients(vec![key.recipient()]),
        true,
    )
    .unwrap();
    let from_age =
        ConfigStore::parse(decrypt(&age_store, &key.keys()).unwrap().expose_secret()).unwrap();
    for mode in ["jwcrypto", "iv16"] {
        let token = python_jwe(mode, JWK, plaintext().as_bytes());
        assert_eq!(detect_format(&token).unwrap(), StoreFormat::Jwe);
        let path = write_file(dir.path(), &format!("{mode}.jwe"), &token);
        let store = StoreFile::new(path).load(&jwk_keys(JWK)).unwrap();
        assert_eq!(store.data(), from_age.data(), "{mode}");
    }
}

#[test]
fn identity_discovery_order_and_sops_key_text() {
    let dir = TempDir::new().unwrap();
    let [arg, statebox, sops_file, sops_text] =
        ["arg", "statebox", "sops-file", "sops-text"].map(|n| Key::new(dir.path(), n));
    let path = |k: &Key| k.path.to_str().unwrap().to_owned();
    // Each variable names a different key, so only the right choice decrypts.
    let (statebox_path, sops_path) = (path(&statebox), path(&sops_file));
    let sops_key_text = format!(
        "# created: today\n# public key: {}\n\n{}\n{}\n",
        sops_text.recipient(),
        arg.secret(),
        sops_text.secret()
    );
    let all = [
        ("STATEBOX_AGE_KEY_FILE", statebox_path.as_str()),
        ("SOPS_AGE_KEY_FILE", sops_path.as_str()),
        ("SOPS_AGE_KEY", sops_key_text.as_str()),
    ];
    let cases = [
        (Some(arg.path.clone()), &all[..], &arg),
        (None, &all[..], &statebox),
        (None, &all[1..], &sops_file),
        (None, &all[2..], &sops_text),
    ];
    for (explicit, vars, expected) in cases {
        let keys = Keys::discover(explicit, None, env(vars));
        let store = encrypt(
            plaintext().as_bytes(),
            &Encryption::Recipients(vec![expected.recipient()]),
            false,
        )
        .unwrap();
        let decrypted =
            decrypt(&store, &keys).unwrap_or_else(|e| panic!("{:?}: {e}", keys.identity_source()));
        assert_eq!(decrypted.expose_secret(), plaintext().as_bytes());
    }
    let keys = Keys::discover(None, None, env(&all[1..]));
    assert_eq!(
        keys.identity_source(),
        Some(&IdentitySource::EnvFile {
            var: "SOPS_AGE_KEY_FILE",
            path: sops_file.path.clone()
        })
    );
    // Empty variables count as unset.
    let keys = Keys::discover(None, None, env(&[("STATEBOX_AGE_KEY_FILE", ""), all[2]]));
    assert_eq!(
        keys.identity_source(),
        Some(&IdentitySource::EnvText {
            var: "SOPS_AGE_KEY"
        })
    );
}

#[test]
fn wrong_identity_is_named_without_its_key() {
    let dir = TempDir::new().unwrap();
    let key = Key::new(dir.path(), "key.txt");
    let stranger = Key::new(dir.path(), "stranger.txt");
    let store = encrypt(
        plaintext().as_bytes(),
        &Encryption::Recipients(vec![key.recipient()]),
        true,
    )
    .unwrap();
    let err = decrypt(&store, &stranger.keys()).unwrap_err();
    assert!(matches!(err, ConfigStoreError::WrongIdentity(_)), "{err}");
    assert!(err.to_string().contains("stranger.txt"), "{err}");
    assert_no_leak(&err, &[&stranger.secret(), &key.secret()]);

    let sops_text = stranger.secret();
    let keys = Keys::discover(None, None, env(&[("SOPS_AGE_KEY", &sops_text)]));
    let err = decrypt(&store, &keys).unwrap_err();
    assert!(err.to_string().contains("SOPS_AGE_KEY"), "{err}");
    assert_no_leak(&err, &[&sops_text]);
    // A key given in a spelling that is no identity line is not echoed
    // when it is refused.
    let body = &sops_text["AGE-SECRET-KEY-".len()..];
    for dressed in [
        format!("\"{sops_text}\""),
        format!("export SOPS_AGE_KEY={sops_text}"),
    ] {
        let keys = Keys::discover(None, None, env(&[("SOPS_AGE_KEY", &dressed)]));
        let err = decrypt(&store, &keys).unwrap_err();
        assert!(err.to_string().contains("SOPS_AGE_KEY"), "{dressed}: {err}");
        assert_no_leak(&err, &[&sops_text, body]);
    }
}

#[test]
fn no_identity_configured_says_how_to_configure_one() {
    let dir = TempDir::new().unwrap();
    let key = Key::new(dir.path(), "key.txt");
    let store = encrypt(
        plaintext().as_bytes(),
        &Encryption::Recipients(vec![key.recipient()]),
        true,
    )
    .unwrap();
    // A passphrase does not help a recipient-encrypted store.
    let keys = Keys::discover(None, None, no_env).with_passphrase(SecretString::from("irrelevant"));
    let err = decrypt(&store, &keys).unwrap_err();
    assert!(matches!(err, ConfigStoreError::NoIdentity), "{err}");
    for variable in ["STATEBOX_AGE_KEY_FILE", "SOPS_AGE_KEY_FILE", "SOPS_AGE_KEY"] {
        assert!(err.to_string().contains(variable), "{err}");
    }
    // The library says what is missing; the flag to pass is the CLI's hint.
    assert!(!err.to_string().contains("--identity"), "{err}");
    let file = dir.path().join("config.age");
    std::fs::write(&file, &store).unwrap();
    let out = Command::new(crate::support::statebox_bin())
        .args(["config", "get", "--config-store", file.to_str().unwrap()])
        .current_dir(dir.path())
        .env_remove("STATEBOX_AGE_KEY_FILE")
        .env_remove("SOPS_AGE_KEY_FILE")
        .env_remove("SOPS_AGE_KEY")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(8), "{stderr}");
    assert!(stderr.contains("hint: pass --identity FILE"), "{stderr}");
}

#[test]
fn key_files_that_are_open_to_others_missing_or_directories_are_refused() {
    // Tests run as root, where mode 000 does not stop a read, so "unreadable"
    // is tested as what statebox refuses on purpose, like ssh: a key file
    // others can read, and a path that is no file.
    let dir = TempDir::new().unwrap();
    let key = Key::new(dir.path(), "key.txt");
    let store = encrypt(
        plaintext().as_bytes(),
        &Encryption::Recipients(vec![key.recipient()]),
        true,
    )
    .unwrap();
    for mode in [0o644, 0o640, 0o604] {
        fs::set_permissions(&key.path, fs::Permissions::from_mode(mode)).unwrap();
        let err = decrypt(&store, &key.keys()).unwrap_err();
        assert!(
            matches!(err, ConfigStoreError::KeyFilePermissions { mode: m, .. } if m == mode),
            "{err}"
        );
        assert!(err.to_string().contains("chmod 600"), "{err}");
        assert_no_leak(&err, &[&key.secret()]);
    }
    fs::set_permissions(&key.path, fs::Permissions::from_mode(0o400)).unwrap();
    decrypt(&store, &key.keys()).unwrap();

    let keys = Keys::discover(Some(dir.path().to_owned()), None, no_env);
    let err = decrypt(&store, &keys).unwrap_err();
    assert!(
        matches!(err, ConfigStoreError::KeyFileIsDirectory(_)),
        "{err}"
    );

    let keys = Keys::discover(Some(dir.path().join("absent")), None, no_env);
    let err = decrypt(&store, &keys).unwrap_err();
    assert!(matches!(err, ConfigStoreError::KeyFile { .. }), "{err}");
    assert!(err.to_string().contains("absent"), "{err}");
}

#[test]
fn identity_text_with_a_bad_line_is_reported_by_line_number_only() {
    let dir = TempDir::new().unwrap();
    let key = Key::new(dir.path(), "key.txt");
    let store = encrypt(
        plaintext().as_bytes(),
        &Encryption::Recipients(vec![key.recipient()]),
        true,
    )
    .unwrap();
    // A key with a typo is still secret.
    let typo = key
        .secret()
        .replacen("AGE-SECRET-KEY-1", "AGE-SECRET-KEY-2", 1);
    let text = format!("# comment\n{typo}\n");
    let keys = Keys::discover(None, None, env(&[("SOPS_AGE_KEY", &text)]));
    let err = decrypt(&store, &keys).unwrap_err();
    assert!(
        matches!(err, ConfigStoreError::NotAnIdentity { line: 2, .. }),
        "{err}"
    );
    assert_no_leak(&err, &[&typo, &key.secret()[20..]]);

    let keys = Keys::discover(None, None, env(&[("SOPS_AGE_KEY", "# only a comment\n")]));
    let err = decrypt(&store, &keys).unwrap_err();
    assert!(
        matches!(err, ConfigStoreError::NoIdentityInSource(_)),
        "{err}"
    );
}

#[test]
fn corrupted_and_truncated_age_stores_are_reported_as_such() {
    let dir = TempDir::new().unwrap();
    let key = Key::new(dir.path(), "key.txt");
    let to = Encryption::Recipients(vec![key.recipient()]);
    let binary = encrypt(plaintext().as_bytes(), &to, false).unwrap();

    let mut payload_flip = binary.clone();
    let last = payload_flip.len() - 5;
    payload_flip[last] ^= 0x01;
    // Flipping the header MAC; flipping a stanza would just look like
    // another recipient's stanza (wrong identity).
    let mut header_flip = binary.clone();
    let mac = binary.windows(5).position(|w| w == b"\n--- ").unwrap() + 6;
    header_flip[mac] ^= 0x01;
    let truncated_payload = binary[..binary.len() - 10].to_vec();

    let armored = encrypt(plaintext().as_bytes(), &to, true).unwrap();
    let text = String::from_utf8(armored).unwrap();
    let cut = text.lines().take(3).collect::<Vec<_>>().join("\n");

    for (name, bytes) in [
        ("payload bit flip", payload_flip),
        ("header bit flip", header_flip),
        ("truncated payload", truncated_payload),
        ("truncated armor", cut.into_bytes()),
    ] {
        let err = decrypt(&bytes, &key.keys()).unwrap_err();
        assert!(
            matches!(err, ConfigStoreError::Corrupt(_)),
            "{name}: {err:?}"
        );
        assert!(err.to_string().contains("corrupted or truncated"), "{err}");
        assert_no_leak(&err, &[&key.secret()]);
    }
}

#[test]
fn legacy_jwe_bad_inputs_are_refused_clearly() {
    let token = python_jwe("jwcrypto", JWK, plaintext().as_bytes());
    let keys = jwk_keys(JWK);

    let err = decrypt(&token, &Keys::discover(None, None, no_env)).unwrap_err();
    assert!(matches!(err, ConfigStoreError::NoJwk), "{err}");
    assert!(err.to_string().contains("OAR_JWK"), "{err}");

    let err = decrypt(&token, &jwk_keys("short")).unwrap_err();
    assert!(matches!(err, ConfigStoreError::JwkLength(5)), "{err}");
    assert_no_leak(&err, &["short"]);

    let err = decrypt(&token, &jwk_keys("fedcba9876543210")).unwrap_err();
    assert!(matches!(err, ConfigStoreError::JweDecrypt), "{err}");
    assert_no_leak(&err, &["fedcba9876543210", JWK]);

    // Flip one character of the ciphertext segment.
    let mut parts: Vec<String> = String::from_utf8(token.clone())
        .unwrap()
        .split('.')
        .map(String::from)
        .collect();
    let flipped = if parts[3].starts_with('A') { "B" } else { "A" };
    parts[3].replace_range(0..1, flipped);
    let err = decrypt(parts.join(".").as_bytes(), &keys).unwrap_err();
    assert!(matches!(err, ConfigStoreError::JweDecrypt), "{err}");

    let mut truncated = parts.clone();
    truncated.truncate(4);
    let err = decrypt(truncated.join(".").as_bytes(), &keys).unwrap_err();
    assert!(matches!(err, ConfigStoreError::UnknownFormat), "{err}");

    let err = decrypt(&python_jwe("a128kw", JWK, b"a: 1\n"), &keys).unwrap_err();
    assert!(
        matches!(&err, ConfigStoreError::JweAlg(alg) if alg == "A128KW"),
        "{err}"
    );
    let err = decrypt(&python_jwe("a256gcm", JWK, b"a: 1\n"), &keys).unwrap_err();
    assert!(
        matches!(&err, ConfigStoreError::JweEnc(enc) if enc == "A256GCM"),
        "{err}"
    );
    assert!(err.to_string().contains("A128GCM"), "{err}");
}

#[test]
fn invalid_content_inside_is_reported_by_position_without_plaintext() {
    let dir = TempDir::new().unwrap();
    let key = Key::new(dir.path(), "key.txt");
    let cases = [
        (format!("a: [unclosed {MARKER}\n"), "not valid YAML"),
        // The reader's own message would quote the tag and the value.
        (format!("a: !!python/name:{MARKER} x\n"), "not valid YAML"),
        (format!("a: !!int {MARKER}\n"), "not valid YAML"),
        (format!("{{\"json\": \"{MARKER}\"\n"), "not valid YAML"),
        (format!("- {MARKER}\n"), "a list"),
        (String::new(), "an empty document"),
    ];
    for (content, expected) in cases {
        // encrypt refuses it, so produce the stores with the independent tools.
        let mut cmd = age_cli();
        cmd.arg("-r").arg(key.recipient().to_string());
        let age_store = run(cmd, content.as_bytes());
        let jwe_store = python_jwe("jwcrypto", JWK, content.as_bytes());
        for (store, keys) in [(age_store, key.keys()), (jwe_store, jwk_keys(JWK))] {
            let path = write_file(dir.path(), "store", &store);
            let err = StoreFile::new(path).load(&keys).err().unwrap();
            assert!(err.to_string().contains(expected), "{content:?}: {err}");
            assert_no_leak(&err, &[&key.secret(), JWK]);
        }
        let err = encrypt(
            content.as_bytes(),
            &Encryption::Recipients(vec![key.recipient()]),
            true,
        )
        .err()
        .unwrap();
        assert!(err.to_string().contains(expected), "{err}");
    }
    let err = ConfigStore::parse(b"a: \xff\n").err().unwrap();
    assert!(matches!(err, ConfigStoreError::NotUtf8), "{err}");
    let err = ConfigStore::parse(b"a:\n  b: 1\n c: 2\n").err().unwrap();
    assert!(err.to_string().contains("line 3"), "{err}");
}

#[test]
fn plaintext_and_unknown_files_are_not_taken_for_stores() {
    for bytes in [plaintext().into_bytes(), b"a.b.c.d\n".to_vec(), Vec::new()] {
        let err = detect_format(&bytes).unwrap_err();
        assert!(matches!(err, ConfigStoreError::UnknownFormat), "{err}");
        assert_no_leak(&err, &[]);
    }
}

#[test]
fn recipients_parse_from_arguments_and_files_and_secret_keys_are_not_echoed() {
    let dir = TempDir::new().unwrap();
    let [a, b] = ["a", "b"].map(|n| Key::new(dir.path(), n));
    let file = write_file(
        dir.path(),
        "recipients.txt",
        format!("# team\n\n{}\n  {}  \n", b.recipient(), a.recipient()).as_bytes(),
    );
    let parsed = parse_recipients(&[a.recipient().to_string()], &[file]).unwrap();
    assert_eq!(parsed, vec![a.recipient(), b.recipient()]);

    let err = parse_recipients(&["age1nope".into()], &[]).unwrap_err();
    assert!(
        matches!(&err, ConfigStoreError::BadRecipient(r) if r == "age1nope"),
        "{err}"
    );
    let err = parse_recipients(&[a.secret()], &[]).unwrap_err();
    assert!(
        matches!(err, ConfigStoreError::SecretKeyAsRecipient),
        "{err}"
    );
    assert_no_leak(&err, &[&a.secret()]);
    // However the key is dressed, as an argument or in a recipients file.
    let bare = a.secret();
    let body = &bare["AGE-SECRET-KEY-".len()..];
    for spelling in [
        format!("\"{bare}\""),
        format!("'{bare}'"),
        format!("export SOPS_AGE_KEY={bare}"),
        format!("SOPS_AGE_KEY=\"{bare}\""),
        format!("{bare} # mine"),
        bare.to_ascii_lowercase(),
    ] {
        let file = write_file(
            dir.path(),
            "dressed.txt",
            format!("{spelling}\n").as_bytes(),
        );
        for err in [
            parse_recipients(std::slice::from_ref(&spelling), &[]).unwrap_err(),
            parse_recipients(&[], &[file]).unwrap_err(),
        ] {
            assert!(
                matches!(err, ConfigStoreError::SecretKeyAsRecipient),
                "{spelling}: {err}"
            );
            assert_no_leak(&err, &[&bare, body, &body.to_ascii_lowercase()]);
        }
    }
    let err = parse_recipients(&[], &[dir.path().join("absent")]).unwrap_err();
    assert!(
        matches!(err, ConfigStoreError::RecipientsFile { .. }),
        "{err}"
    );

    let err = encrypt(b"a: 1\n", &Encryption::Recipients(vec![]), true).unwrap_err();
    assert!(matches!(err, ConfigStoreError::NoRecipients), "{err}");
}

#[test]
fn key_paths_release_entries_and_rendering() {
    let store = ConfigStore::parse(plaintext().as_bytes()).unwrap();
    assert_eq!(jira(&store), "ART-21268");
    assert_eq!(
        store.get(r#"releases."4.19.36".advisory_ids.rpm"#).unwrap(),
        &Value::Int(169043)
    );
    let err = store.get("releases.4.19.99.jira_ticket").unwrap_err();
    assert!(
        err.to_string().contains("releases.4.19.99.jira_ticket"),
        "{err}"
    );
    let advisories = store.get("releases.4.19.36.advisory_ids").unwrap();
    assert_eq!(
        render(advisories, true),
        "{\n  \"rpm\": 169043,\n  \"rhcos\": 169044\n}"
    );
    assert_eq!(render(advisories, false), "rpm: 169043\nrhcos: 169044");
    assert_eq!(
        render(store.get("releases.4.19.36.jira_ticket").unwrap(), false),
        "ART-21268"
    );

    let entry = store.release_entry("4.19.36").unwrap().unwrap();
    assert_eq!(
        entry.skipped,
        ["api_password"],
        "credentials stay in the store"
    );
    let entry = entry.metadata;
    let keys: Vec<&str> = entry.iter().map(|(k, _)| k.as_str().unwrap()).collect();
    assert_eq!(
        keys,
        [
            "jira_ticket",
            "advisory_ids",
            "release_date",
            "candidate_builds",
            "shipment_mr",
            "qe_owner"
        ]
    );
    assert_eq!(entry.get("release_date"), Some(&Value::from("2026-Jul-01")));
    let advisories = entry.get("advisory_ids").and_then(Value::as_map).unwrap();
    assert_eq!(advisories.get("rhcos"), Some(&Value::Int(169044)));
    assert!(store.release_entry("4.19.99").unwrap().is_none());

    // A top-level map keyed by release works too.
    let flat = ConfigStore::parse(b"4.20.1: {jira_ticket: ART-3, qe_owner: x, 1: y}\n").unwrap();
    let entry = flat.release_entry("4.20.1").unwrap().unwrap();
    assert_eq!(
        entry.metadata.get("jira_ticket"),
        Some(&Value::from("ART-3"))
    );
    assert_eq!(
        entry.metadata.len(),
        1,
        "without an allowlist, only the state's keys"
    );
    assert_eq!(entry.skipped, ["qe_owner", "1"]);
    // A plain date in the store is a date to YAML, and text in the state.
    let dated = ConfigStore::parse(b"4.20.1: {release_date: 2026-07-01}\n").unwrap();
    let entry = dated.release_entry("4.20.1").unwrap().unwrap();
    assert_eq!(
        entry.metadata.get("release_date"),
        Some(&Value::from("2026-07-01"))
    );

    for (bad, field) in [
        ("releases: {4.20.1: {advisory_ids: 5}}", "advisory_ids"),
        ("releases: {4.20.1: {jira_ticket: [a]}}", "jira_ticket"),
        ("releases: {4.20.1: nope}", "(entry)"),
        ("metadata_keys: qe_owner\n4.20.1: {}", "metadata_keys"),
        ("metadata_keys: [{a: 1}]\n4.20.1: {}", "metadata_keys"),
    ] {
        let store = ConfigStore::parse(bad.as_bytes()).unwrap();
        let err = store.release_entry("4.20.1").unwrap_err();
        assert!(
            matches!(&err, ConfigStoreError::ReleaseEntryShape { field: f, .. } if f == field),
            "{bad}: {err}"
        );
    }
}

#[test]
fn rekey_adds_and_removes_recipients() {
    let dir = TempDir::new().unwrap();
    let [first, second] = ["first", "second"].map(|n| Key::new(dir.path(), n));
    let file = StoreFile::new(dir.path().join("store.age"));
    let to = Encryption::Recipients(vec![first.recipient()]);
    file.write(plaintext().as_bytes(), &to, true).unwrap();

    let now = file
        .rekey(&first.keys(), &[second.recipient()], &[first.recipient()])
        .unwrap();
    assert_eq!(now, vec![second.recipient()]);
    assert_eq!(file.recipients().unwrap(), now);
    let err = file.load(&first.keys()).err().unwrap();
    assert!(matches!(err, ConfigStoreError::WrongIdentity(_)), "{err}");
    let mut cmd = age_cli();
    cmd.arg("-d").arg("-i").arg(&second.path).arg(file.path());
    assert_eq!(run(cmd, b""), plaintext().as_bytes());

    let err = file
        .rekey(&second.keys(), &[], &[second.recipient()])
        .unwrap_err();
    assert!(matches!(err, ConfigStoreError::NoRecipients), "{err}");
    assert_eq!(jira(&file.load(&second.keys()).unwrap()), "ART-21268");
}

#[test]
fn rekey_converts_a_legacy_jwe_store_to_age() {
    let dir = TempDir::new().unwrap();
    let key = Key::new(dir.path(), "key.txt");
    let token = python_jwe("iv16", JWK, plaintext().as_bytes());
    let file = StoreFile::new(write_file(dir.path(), "store", &token));
    file.rekey(&jwk_keys(JWK), &[key.recipient()], &[]).unwrap();
    assert_eq!(
        file.format().unwrap(),
        StoreFormat::AgeRecipients { armored: true }
    );
    assert_eq!(jira(&file.load(&key.keys()).unwrap()), "ART-21268");
    assert!(file.recipients_path().exists());

    // Back to a format without recipients: the list goes too.
    let to = Encryption::Jwe(SecretString::from(JWK));
    file.write(plaintext().as_bytes(), &to, true).unwrap();
    assert_eq!(file.format().unwrap(), StoreFormat::Jwe);
    assert!(!file.recipients_path().exists());
}

/// An executable editor script whose body runs with the file as `$1`; it
/// also records the path it was given, so tests can check it is gone.
fn editor_script(dir: &Path, body: &str) -> String {
    let path = dir.join("editor.sh");
    let log = dir.join("editor.log");
    fs::write(
        &path,
        format!("#!/bin/sh\necho \"$1\" >> '{}'\n{body}\n", log.display()),
    )
    .unwrap();
    fs::set_permissions(&path, fs::Permissions::from_mode(0o755)).unwrap();
    path.to_str().unwrap().to_owned()
}

/// The temp files the editor was given: each must be gone with its directory.
fn assert_no_plaintext_left(dir: &Path) -> usize {
    let log = fs::read_to_string(dir.join("editor.log")).unwrap_or_default();
    for edited in log.lines().map(Path::new) {
        assert!(!edited.exists(), "{} left behind", edited.display());
        assert!(!edited.parent().unwrap().exists(), "temp dir left behind");
    }
    log.lines().count()
}

fn recipient_store(dir: &Path, key: &Key) -> StoreFile {
    let file = StoreFile::new(dir.join("store.age"));
    let to = Encryption::Recipients(vec![key.recipient()]);
    file.write(plaintext().as_bytes(), &to, true).unwrap();
    file
}

#[test]
fn edit_saves_valid_changes_and_leaves_no_plaintext() {
    let dir = TempDir::new().unwrap();
    let key = Key::new(dir.path(), "key.txt");
    let file = recipient_store(dir.path(), &key);
    // The script checks the file is private while it holds plaintext.
    let editor = editor_script(
        dir.path(),
        "test \"$(stat -c %a \"$1\")\" = 600 && test \"$(stat -c %a \"$(dirname \"$1\")\")\" = 700 \
         && sed -i 's/ART-21268/ART-99/' \"$1\" && cp \"$1\" \"$1.swp\"",
    );
    assert_eq!(file.edit(&key.keys(), &editor).unwrap(), EditOutcome::Saved);
    assert_eq!(assert_no_plaintext_left(dir.path()), 1);
    assert_eq!(jira(&file.load(&key.keys()).unwrap()), "ART-99");
    assert_eq!(
        file.format().unwrap(),
        StoreFormat::AgeRecipients { armored: true }
    );

    let before = fs::read(file.path()).unwrap();
    let editor = editor_script(dir.path(), "true");
    assert_eq!(
        file.edit(&key.keys(), &editor).unwrap(),
        EditOutcome::Unchanged
    );
    assert_eq!(fs::read(file.path()).unwrap(), before);
    assert_no_plaintext_left(dir.path());
}

#[test]
fn edit_failures_leave_the_store_unchanged_and_no_plaintext() {
    let dir = TempDir::new().unwrap();
    let key = Key::new(dir.path(), "key.txt");
    let file = recipient_store(dir.path(), &key);
    let before = fs::read(file.path()).unwrap();
    let cases = [
        (
            "echo changed >> \"$1\"; cp \"$1\" \"$1~\"; exit 3",
            "failed",
        ),
        ("printf 'a: [broken\\n' > \"$1\"", "not valid YAML"),
        ("printf -- '- a list\\n' > \"$1\"", "a list"),
    ];
    for (body, expected) in cases {
        let editor = editor_script(dir.path(), body);
        let err = file.edit(&key.keys(), &editor).unwrap_err();
        assert!(err.to_string().contains(expected), "{body}: {err}");
        assert_no_leak(&err, &[&key.secret()]);
        assert_eq!(fs::read(file.path()).unwrap(), before, "{body}");
    }
    assert_eq!(assert_no_plaintext_left(dir.path()), cases.len());

    let err = file.edit(&key.keys(), "/nonexistent/editor").unwrap_err();
    assert!(
        matches!(err, ConfigStoreError::EditorFailed { .. }),
        "{err}"
    );
    assert_eq!(fs::read(file.path()).unwrap(), before);
}

#[test]
fn edit_without_a_recipients_file_stops_before_decrypting() {
    let dir = TempDir::new().unwrap();
    let key = Key::new(dir.path(), "key.txt");
    let file = recipient_store(dir.path(), &key);
    fs::remove_file(file.recipients_path()).unwrap();
    let editor = editor_script(dir.path(), "true");
    let err = file.edit(&key.keys(), &editor).unwrap_err();
    assert!(
        matches!(err, ConfigStoreError::NoRecipientsFile { .. }),
        "{err}"
    );
    assert_eq!(assert_no_plaintext_left(dir.path()), 0, "editor ran");
}

#[test]
fn edit_keeps_a_legacy_store_legacy_and_readable_by_jwcrypto() {
    let dir = TempDir::new().unwrap();
    let token = python_jwe("iv16", JWK, plaintext().as_bytes());
    let file = StoreFile::new(write_file(dir.path(), "store.jwe", &token));
    let editor = editor_script(dir.path(), "sed -i 's/ART-21268/ART-7/' \"$1\"");
    assert_eq!(
        file.edit(&jwk_keys(JWK), &editor).unwrap(),
        EditOutcome::Saved
    );
    assert_no_plaintext_left(dir.path());
    assert_eq!(file.format().unwrap(), StoreFormat::Jwe);
    let decrypted = python_jwe("decrypt", JWK, &fs::read(file.path()).unwrap());
    assert_eq!(
        String::from_utf8(decrypted).unwrap(),
        plaintext().replace("ART-21268", "ART-7")
    );
}
