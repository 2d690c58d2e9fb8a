//! Decrypt + lookup time for a 1 MB config store: age (X25519, armored and
//! binary) against the legacy JWE, measured in one run on the same plaintext.
//!
//! `cargo run --release --example config_store_bench [ITERATIONS]`
//!
//! Each iteration is what `statebox config get` does: read the store file,
//! load the identity (or take OAR_JWK), decrypt, parse the YAML, look one key up.

use std::os::unix::fs::PermissionsExt;
use std::time::{Duration, Instant};

use age::secrecy::{ExposeSecret, SecretString};
use age::x25519;
use statebox::config_store::{Encryption, Keys, StoreFile, decrypt};

const TARGET_SIZE: usize = 1 << 20;

/// Release entries shaped like real ones until the text reaches 1 MiB.
fn plaintext() -> (String, String) {
    let mut text = String::from("releases:\n");
    let mut last = String::new();
    for i in 0.. {
        if text.len() >= TARGET_SIZE {
            break;
        }
        last = format!("4.{}.{}", 10 + i / 1000, i % 1000);
        text.push_str(&format!(
            "  {last}:\n    jira_ticket: ART-{i}\n    advisory_ids: {{rpm: {}, rhcos: {}, \
             image: {}, extras: {}}}\n    release_date: 2026-Jul-01\n    candidate_builds: \
             {{x86_64: 4.19.0-0.nightly-2026-06-20-{i:06}, aarch64: \
             4.19.0-0.nightly-arm64-2026-06-20-{i:06}}}\n    shipment_mr: \
             https://gitlab.example.com/shipment/-/merge_requests/{i}\n    qe_owner: owner{i}\n",
            100_000 + i,
            200_000 + i,
            300_000 + i,
            400_000 + i
        ));
    }
    (text, format!("releases.{last}.jira_ticket"))
}

fn median(iterations: usize, mut run: impl FnMut()) -> Duration {
    let mut times: Vec<Duration> = (0..iterations)
        .map(|_| {
            let start = Instant::now();
            run();
            start.elapsed()
        })
        .collect();
    times.sort();
    times[times.len() / 2]
}

/// (decrypt + parse + lookup, decrypt alone): the second shows how much of
/// the first is the cipher rather than the YAML parse both formats share.
fn measure(file: &StoreFile, keys: &Keys, path: &str, iterations: usize) -> (Duration, Duration) {
    let full = median(iterations, || {
        let store = file.load(keys).expect("store decrypts");
        let value = store.get(path).expect("key present");
        assert!(value.as_str().is_some_and(|s| s.starts_with("ART-")));
    });
    let bytes = std::fs::read(file.path()).expect("store");
    let decrypt_only = median(iterations, || {
        decrypt(&bytes, keys).expect("store decrypts");
    });
    (full, decrypt_only)
}

fn main() {
    let iterations: usize = std::env::args()
        .nth(1)
        .map(|n| n.parse().expect("ITERATIONS is a number"))
        .unwrap_or(15);
    let dir = tempfile::tempdir().expect("temp dir");
    let (text, path) = plaintext();

    let identity = x25519::Identity::generate();
    let key_file = dir.path().join("key.txt");
    std::fs::write(&key_file, identity.to_string().expose_secret()).expect("write key");
    std::fs::set_permissions(&key_file, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    let age_keys = Keys::discover(Some(key_file), None, |_| None);
    let jwk = SecretString::from("0123456789abcdef");
    let jwe_keys = Keys::discover(None, None, |_| None).with_jwk(jwk.clone());

    let write = |name: &str, to: &Encryption, armor: bool| {
        let file = StoreFile::new(dir.path().join(name));
        file.write(text.as_bytes(), to, armor).expect("encrypt");
        file
    };
    let recipients = Encryption::Recipients(vec![identity.to_public()]);
    let stores = [
        (
            "age armored",
            write("armored.age", &recipients, true),
            &age_keys,
        ),
        (
            "age binary",
            write("binary.age", &recipients, false),
            &age_keys,
        ),
        (
            "legacy JWE",
            write("legacy.jwe", &Encryption::Jwe(jwk), false),
            &jwe_keys,
        ),
    ];

    println!(
        "config store: {} bytes of YAML, lookup {path}, median of {iterations} runs",
        text.len()
    );
    let mut medians = Vec::new();
    for (name, file, keys) in &stores {
        let size = std::fs::metadata(file.path()).expect("store").len();
        let (full, decrypt_only) = measure(file, keys, &path, iterations);
        println!(
            "{name:>12}: {:>7.2} ms decrypt+lookup, {:>6.2} ms decrypt alone ({size} bytes on disk)",
            full.as_secs_f64() * 1e3,
            decrypt_only.as_secs_f64() * 1e3
        );
        medians.push(full);
    }
    let jwe = medians[2].as_secs_f64();
    println!(
        "ratio age/JWE: armored {:.2}x, binary {:.2}x",
        medians[0].as_secs_f64() / jwe,
        medians[1].as_secs_f64() / jwe
    );
}
