//! The encrypted config store: release settings (jira ticket, advisories,
//! dates, owners, ...) kept in the repository, encrypted.
//!
//! # Formats
//! - **age** (current): X25519 recipients or a passphrase, binary or
//!   ASCII-armored; both are read, armored is what statebox writes by default
//!   because the store lives in git.
//! - **legacy JWE**: a compact token, `alg: dir`, `enc: A128GCM`, content key
//!   = the raw UTF-8 bytes of `OAR_JWK` (16), IV of 12 or (python-jose <= 3.3)
//!   16 bytes. Edited legacy stores stay legacy; `rekey` converts to age.
//!
//! The format is detected from the bytes, never from the file name.
//!
//! # Plaintext layout
//! YAML (JSON is YAML too), a mapping at the top level. Release entries live
//! under `releases`, keyed by release; a top-level map keyed by release is
//! accepted as well:
//! ```yaml
//! releases:
//!   4.19.36:
//!     jira_ticket: ART-21268
//!     advisory_ids: {rpm: 169043, rhcos: 169044}
//!     release_date: 2026-Jul-01
//!     candidate_builds: {x86_64: 4.19.0-0.nightly-2026-06-20-000000}
//!     shipment_mr: https://gitlab.example.com/shipment/-/merge_requests/1
//!     qe_owner: someone        # copied: allowlisted below
//!     api_password: hunter2    # never copied into a state
//! metadata_keys: [qe_owner]    # entry keys to copy besides the state's own
//! ```
//! `init` copies into the state only the state's metadata keys
//! (`jira_ticket`, `advisory_ids`, `release_date`, `candidate_builds`,
//! `shipment_mr`) and the keys listed in `metadata_keys`: the record branch
//! may be public, and a store entry may hold credentials.
//!
//! # Recipients
//! An age file does not say whom it is encrypted to, so the recipients of a
//! recipient-encrypted store are kept beside it in `<store>.recipients` (an
//! age recipients file, public keys only, meant to be committed). `encrypt`
//! and `rekey` write it; `edit` and `rekey` read it.
//!
//! # Secrets
//! Decrypted data stays in memory (zeroized buffers where the bytes are
//! ours), except during [`StoreFile::edit`]. No error message carries key
//! material or plaintext: YAML errors report a position only.

mod edit;
mod jwe;
mod keys;
mod lookup;

pub use lookup::{ALLOWLIST_KEY, ReleaseEntry};

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use crate::yaml::Value;
use age::armor::{ArmoredReader, ArmoredWriter, Format};
/// Passphrases and decrypted text are held in `age`'s secret types, which
/// zero their memory on drop and never print through `Debug`.
pub use age::secrecy::SecretString;
use age::secrecy::{ExposeSecret, SecretSlice};
use age::{DecryptError, Decryptor, Encryptor, x25519};

pub use keys::{
    ENV_JWK, ENV_KEY_FILE, ENV_PASSPHRASE, ENV_SOPS_KEY, ENV_SOPS_KEY_FILE, IdentitySource, Keys,
    parse_recipients,
};

/// Everything that can go wrong with a config store.
#[derive(Debug, thiserror::Error)]
pub enum ConfigStoreError {
    /// The store file could not be read.
    #[error("cannot read config store {path}: {source}")]
    Read {
        /// The store file.
        path: PathBuf,
        /// Why reading failed.
        source: std::io::Error,
    },
    /// The store or its recipients file could not be written.
    #[error("cannot write config store {path}: {source}")]
    Write {
        /// The file being written.
        path: PathBuf,
        /// Why writing failed.
        source: std::io::Error,
    },
    /// The bytes are none of the formats statebox reads.
    #[error("config store is neither an age file (binary or armored) nor a JWE compact token")]
    UnknownFormat,
    /// A recipient-encrypted store needs an identity and none is configured.
    #[error(
        "no age identity configured (none of {ENV_KEY_FILE}, {ENV_SOPS_KEY_FILE}, \
         {ENV_SOPS_KEY} is set)"
    )]
    NoIdentity,
    /// A passphrase-encrypted store needs a passphrase and none was given.
    #[error(
        "the config store is passphrase-encrypted and no passphrase was given \
         ({ENV_PASSPHRASE} is not set)"
    )]
    NoPassphrase,
    /// A legacy JWE store needs its key and none was given.
    #[error("the config store is a legacy JWE token: set {ENV_JWK} to its key")]
    NoJwk,
    /// The JWE key is not 16 bytes; carries its actual length.
    #[error("{ENV_JWK} must be 16 bytes (an A128GCM key), it is {0} bytes")]
    JwkLength(usize),
    /// The age identity file could not be read.
    #[error("cannot read age identity file {path}: {source}")]
    KeyFile {
        /// The identity file.
        path: PathBuf,
        /// Why reading failed.
        source: std::io::Error,
    },
    /// The configured identity file is a directory.
    #[error("age identity file {0} is a directory, not a file")]
    KeyFileIsDirectory(PathBuf),
    /// The identity file is readable by others, so its key may have leaked.
    #[error(
        "age identity file {path} is accessible by group or others (mode {mode:03o}); \
         refusing to use it, run `chmod 600 {path}`"
    )]
    KeyFilePermissions {
        /// The identity file.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
    /// A line of an identity source is neither blank, a comment nor an age
    /// secret key.
    #[error("{source_name}: line {line} is not an age identity (AGE-SECRET-KEY-1...)")]
    NotAnIdentity {
        /// The file or environment variable the identities came from.
        source_name: String,
        /// The 1-based line number.
        line: usize,
    },
    /// An identity source holds no key at all; carries the source's name.
    #[error("{0} contains no age identity")]
    NoIdentityInSource(String),
    /// A recipients file could not be read.
    #[error("cannot read recipients file {path}: {source}")]
    RecipientsFile {
        /// The recipients file.
        path: PathBuf,
        /// Why reading failed.
        source: std::io::Error,
    },
    /// A recipient is not an `age1...` public key; carries the text given.
    #[error("{0:?} is not an age X25519 recipient (age1...)")]
    BadRecipient(String),
    /// A secret key was given where a public key belongs, which would
    /// publish it in the recipients file.
    #[error("a secret key (AGE-SECRET-KEY-...) was given as a recipient; give its public key")]
    SecretKeyAsRecipient,
    /// Encrypting to an empty recipient list would lock everyone out.
    #[error("no recipients: the store would be readable by nobody")]
    NoRecipients,
    /// A recipient-encrypted store has no recipients file to re-encrypt to.
    #[error(
        "{store} has no recipients file {recipients}: statebox cannot tell whom the store is \
         encrypted to"
    )]
    NoRecipientsFile {
        /// The store file.
        store: PathBuf,
        /// Where its recipients file was expected.
        recipients: PathBuf,
    },
    /// None of the configured identities is a recipient; carries their source.
    #[error("{0} cannot decrypt the config store (it is not one of its recipients)")]
    WrongIdentity(String),
    /// The passphrase does not decrypt the store.
    #[error("wrong passphrase for the config store")]
    WrongPassphrase,
    /// The store's scrypt work factor would take far too long here, which is
    /// how a hostile store could hang statebox.
    #[error(
        "the config store's passphrase work factor 2^{required} is far above this machine's \
         2^{target}; refusing to spend that long"
    )]
    ExcessiveWork {
        /// The store's work factor (log2).
        required: u8,
        /// What this machine does in about a second (log2).
        target: u8,
    },
    /// The age data is damaged; carries what age reported.
    #[error("config store is corrupted or truncated: {0}")]
    Corrupt(String),
    /// A legacy JWE header names a key algorithm other than `dir`.
    #[error("legacy JWE config store: unsupported alg {0:?}, only \"dir\" is supported")]
    JweAlg(String),
    /// A legacy JWE header names a content cipher other than `A128GCM`.
    #[error("legacy JWE config store: unsupported enc {0:?}, only \"A128GCM\" is supported")]
    JweEnc(String),
    /// A legacy JWE token does not have the compact shape; carries which part is bad.
    #[error("legacy JWE config store is malformed: bad {0}")]
    JweMalformed(&'static str),
    /// A legacy JWE token fails authentication.
    #[error("legacy JWE config store does not decrypt: wrong {ENV_JWK} or corrupted token")]
    JweDecrypt,
    /// The decrypted content is not UTF-8.
    #[error("config store content is not UTF-8 text")]
    NotUtf8,
    /// The decrypted content does not parse; carries the position only, so
    /// no plaintext is printed.
    #[error("config store content is not valid YAML/JSON{0}")]
    InvalidContent(String),
    /// The decrypted content parses but is not a mapping; carries what it is.
    #[error("config store content must be a mapping at the top level, found {0}")]
    NotAMapping(&'static str),
    /// A dotted key path cannot be parsed.
    #[error("key path {path:?}: {reason}")]
    BadKeyPath {
        /// The path as given.
        path: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// No value at the given key path; carries the path.
    #[error("key {0:?} not found in the config store")]
    KeyNotFound(String),
    /// A release entry's field has the wrong shape to be copied into a state.
    #[error("config store entry for {release}: {field} must be {expected}")]
    ReleaseEntryShape {
        /// The release the entry is for.
        release: String,
        /// The offending field.
        field: String,
        /// The shape it must have.
        expected: &'static str,
    },
    /// The private temporary file for `config edit` could not be made or read.
    #[error("cannot create the private temporary file for editing: {source}")]
    EditTemp {
        /// Why it failed.
        source: std::io::Error,
    },
    /// The editor could not be started.
    #[error("cannot start editor {editor:?}: {source}")]
    EditorSpawn {
        /// The editor command.
        editor: String,
        /// Why starting it failed.
        source: std::io::Error,
    },
    /// The editor exited unsuccessfully, so its result is not trusted.
    #[error("editor {editor:?} failed ({status}); the store is unchanged")]
    EditorFailed {
        /// The editor command.
        editor: String,
        /// How it exited.
        status: std::process::ExitStatus,
    },
}

/// What a store's bytes are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreFormat {
    /// age, encrypted to X25519 recipients.
    AgeRecipients {
        /// ASCII-armored rather than binary.
        armored: bool,
    },
    /// age, encrypted with a passphrase (scrypt).
    AgePassphrase {
        /// ASCII-armored rather than binary.
        armored: bool,
    },
    /// Legacy JWE compact token.
    Jwe,
}

const AGE_MAGIC: &[u8] = b"age-encryption.org/";
const ARMOR_BEGIN: &[u8] = b"-----BEGIN AGE ENCRYPTED FILE-----";

fn age_decryptor(
    bytes: &[u8],
) -> Result<Decryptor<ArmoredReader<std::io::BufReader<&[u8]>>>, ConfigStoreError> {
    Decryptor::new_buffered(ArmoredReader::new(bytes)).map_err(corrupt)
}

fn corrupt(e: DecryptError) -> ConfigStoreError {
    match e {
        DecryptError::ExcessiveWork { required, target } => {
            ConfigStoreError::ExcessiveWork { required, target }
        }
        DecryptError::InvalidHeader => ConfigStoreError::Corrupt("invalid age header".into()),
        DecryptError::InvalidMac => ConfigStoreError::Corrupt("age header MAC mismatch".into()),
        DecryptError::Io(e) => ConfigStoreError::Corrupt(e.to_string()),
        DecryptError::UnknownFormat => ConfigStoreError::Corrupt("unknown age version".into()),
        other => ConfigStoreError::Corrupt(other.to_string()),
    }
}

/// Detects the format; for age, reads the header to tell passphrase from
/// recipients (the CLI prompts for a passphrase only when it is needed).
pub fn detect_format(bytes: &[u8]) -> Result<StoreFormat, ConfigStoreError> {
    let armored = bytes.trim_ascii_start().starts_with(ARMOR_BEGIN);
    if armored || bytes.starts_with(AGE_MAGIC) {
        return Ok(if age_decryptor(bytes)?.is_scrypt() {
            StoreFormat::AgePassphrase { armored }
        } else {
            StoreFormat::AgeRecipients { armored }
        });
    }
    if jwe::looks_like_jwe(bytes) {
        return Ok(StoreFormat::Jwe);
    }
    Err(ConfigStoreError::UnknownFormat)
}

/// Decrypts a store's bytes with whichever of `keys` its format needs.
pub fn decrypt(bytes: &[u8], keys: &Keys) -> Result<SecretSlice<u8>, ConfigStoreError> {
    let format = detect_format(bytes)?;
    if format == StoreFormat::Jwe {
        return jwe::decrypt(bytes, keys.jwk()?);
    }
    let decryptor = age_decryptor(bytes)?;
    let mut reader = if let StoreFormat::AgePassphrase { .. } = format {
        let identity = age::scrypt::Identity::new(keys.passphrase_secret()?.clone());
        decryptor
            .decrypt(std::iter::once(&identity as &dyn age::Identity))
            .map_err(|e| match e {
                // The passphrase stanza's AEAD failing is the wrong-passphrase case.
                DecryptError::DecryptionFailed => ConfigStoreError::WrongPassphrase,
                other => corrupt(other),
            })?
    } else {
        let (source, identities) = keys.identities()?;
        decryptor
            .decrypt(identities.iter().map(|i| i as &dyn age::Identity))
            .map_err(|e| match e {
                DecryptError::NoMatchingKeys => ConfigStoreError::WrongIdentity(source.to_string()),
                other => corrupt(other),
            })?
    };
    let mut plaintext = Vec::new();
    let result = reader.read_to_end(&mut plaintext);
    let plaintext = SecretSlice::from(plaintext);
    result.map_err(|e| ConfigStoreError::Corrupt(e.to_string()))?;
    Ok(plaintext)
}

/// How to encrypt a store.
pub enum Encryption {
    /// age, to these X25519 public keys.
    Recipients(Vec<x25519::Recipient>),
    /// age, with this passphrase (scrypt).
    Passphrase(SecretString),
    /// Legacy JWE with this 16-byte key; only to keep an edited legacy
    /// store legacy.
    Jwe(SecretString),
}

/// Encrypts `plaintext` after checking it parses as a config store, so an
/// unreadable store is never written. `armor` applies to age only.
pub fn encrypt(
    plaintext: &[u8],
    to: &Encryption,
    armor: bool,
) -> Result<Vec<u8>, ConfigStoreError> {
    ConfigStore::parse(plaintext)?;
    let encryptor = match to {
        Encryption::Jwe(jwk) => return jwe::encrypt(plaintext, jwk),
        Encryption::Passphrase(passphrase) => Encryptor::with_user_passphrase(passphrase.clone()),
        Encryption::Recipients(recipients) if recipients.is_empty() => {
            return Err(ConfigStoreError::NoRecipients);
        }
        Encryption::Recipients(recipients) => {
            Encryptor::with_recipients(recipients.iter().map(|r| r as &dyn age::Recipient))
                .expect("X25519 recipients always combine")
        }
    };
    let in_memory = "writing to memory cannot fail";
    let format = if armor {
        Format::AsciiArmor
    } else {
        Format::Binary
    };
    let mut out = Vec::with_capacity(plaintext.len() * 4 / 3 + 256);
    let mut writer = encryptor
        .wrap_output(ArmoredWriter::wrap_output(&mut out, format).expect(in_memory))
        .expect(in_memory);
    writer.write_all(plaintext).expect(in_memory);
    writer.finish().and_then(|a| a.finish()).expect(in_memory);
    Ok(out)
}

/// A decrypted, parsed config store.
pub struct ConfigStore {
    data: crate::yaml::Value,
}

/// Redacted: a stray `{:?}` in a log or a panic must not print the data.
impl std::fmt::Debug for ConfigStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ConfigStore { <decrypted data redacted> }")
    }
}

impl ConfigStore {
    /// Parses decrypted content (YAML or JSON; a mapping at the top level).
    pub fn parse(plaintext: &[u8]) -> Result<Self, ConfigStoreError> {
        let text = std::str::from_utf8(plaintext).map_err(|_| ConfigStoreError::NotUtf8)?;
        // The reader's messages can quote the offending text (an unknown
        // tag, a bad `!!int`); the position is enough to find it and leaks
        // nothing.
        let data = crate::yaml::parse(text).map_err(|e| {
            ConfigStoreError::InvalidContent(format!(" at line {}, column {}", e.line, e.column))
        })?;
        match data {
            Value::Map(_) => Ok(ConfigStore { data }),
            Value::Null => Err(ConfigStoreError::NotAMapping("an empty document")),
            Value::Seq(_) => Err(ConfigStoreError::NotAMapping("a list")),
            _ => Err(ConfigStoreError::NotAMapping("a scalar")),
        }
    }

    /// The whole document.
    pub fn data(&self) -> &Value {
        &self.data
    }

    /// The value at a dotted key path. Consecutive unquoted segments are
    /// matched longest first, so `releases.4.19.36.jira_ticket` finds the key
    /// `4.19.36`; a segment in double quotes (`releases."4.19.36"`) is taken
    /// whole. A list is indexed by number (`owners.0`).
    pub fn get(&self, path: &str) -> Result<&Value, ConfigStoreError> {
        lookup::get(&self.data, path)
    }

    /// The metadata for `release` (`releases.<release>`, else the top-level
    /// `<release>`), converted for the state file's `metadata`: the state's
    /// own keys and those allowlisted in `metadata_keys`, in store order,
    /// `advisory_ids` / `candidate_builds` checked to be maps and
    /// `jira_ticket` / `release_date` / `shipment_mr` single values;
    /// timestamps become their text. `Ok(None)` when the store has no entry
    /// for it.
    pub fn release_entry(&self, release: &str) -> Result<Option<ReleaseEntry>, ConfigStoreError> {
        lookup::release_entry(&self.data, release)
    }
}

/// Renders a value for `config get`: JSON (`--json`), else a string scalar
/// as bare text and anything else as YAML, so scripts get `ART-21268`, not
/// `'ART-21268'`.
pub fn render(value: &Value, json: bool) -> String {
    match value {
        _ if json => serde_json::to_string_pretty(&crate::schema::to_json(value))
            .expect("a JSON value always serializes"),
        Value::Str(s) | Value::Timestamp(s) => s.clone(),
        Value::Map(_) | Value::Seq(_) => crate::yaml::to_string(value).trim_end().to_owned(),
        // A root scalar: PyYAML's `...` end marker is not part of the value.
        scalar => crate::yaml::to_string(scalar)
            .trim_end()
            .trim_end_matches("...")
            .trim_end()
            .to_owned(),
    }
}

/// What [`StoreFile::edit`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EditOutcome {
    /// The editor saved different content; the store was re-encrypted.
    Saved,
    /// The content is the same; the store was not rewritten.
    Unchanged,
}

/// A config store file in the repository and its recipients file.
pub struct StoreFile {
    path: PathBuf,
}

impl StoreFile {
    /// The store at `path`; nothing is read until it is used.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        StoreFile { path: path.into() }
    }

    /// The store file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// `<store>.recipients`: the public keys the store is encrypted to.
    pub fn recipients_path(&self) -> PathBuf {
        let mut name = self.path.clone().into_os_string();
        name.push(".recipients");
        name.into()
    }

    fn read_bytes(&self) -> Result<Vec<u8>, ConfigStoreError> {
        std::fs::read(&self.path).map_err(|source| ConfigStoreError::Read {
            path: self.path.clone(),
            source,
        })
    }

    /// Reads the store and tells its format (see [`detect_format`]).
    pub fn format(&self) -> Result<StoreFormat, ConfigStoreError> {
        detect_format(&self.read_bytes()?)
    }

    /// Decrypts and parses the store (`config get`, `init` prefill).
    pub fn load(&self, keys: &Keys) -> Result<ConfigStore, ConfigStoreError> {
        ConfigStore::parse(decrypt(&self.read_bytes()?, keys)?.expose_secret())
    }

    /// The recipients recorded in the recipients file.
    pub fn recipients(&self) -> Result<Vec<x25519::Recipient>, ConfigStoreError> {
        let recipients = self.recipients_path();
        if !recipients.exists() {
            return Err(ConfigStoreError::NoRecipientsFile {
                store: self.path.clone(),
                recipients,
            });
        }
        parse_recipients(&[], &[recipients])
    }

    /// Encrypts `plaintext` into the store (`config encrypt`), replacing it
    /// atomically; writes the recipients file for recipients and removes it
    /// otherwise.
    pub fn write(
        &self,
        plaintext: &[u8],
        to: &Encryption,
        armor: bool,
    ) -> Result<(), ConfigStoreError> {
        let bytes = encrypt(plaintext, to, armor)?;
        let recipients_path = self.recipients_path();
        if let Encryption::Recipients(recipients) = to {
            let list: String = recipients.iter().map(|r| format!("{r}\n")).collect();
            self.replace(&recipients_path, list.as_bytes())?;
        } else {
            // A stale list would make a later rekey re-add old recipients.
            match std::fs::remove_file(&recipients_path) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                    return Err(ConfigStoreError::Write {
                        path: recipients_path,
                        source: e,
                    });
                }
                _ => {}
            }
        }
        self.replace(&self.path, &bytes)
    }

    fn replace(&self, path: &Path, bytes: &[u8]) -> Result<(), ConfigStoreError> {
        let write_error = |source| ConfigStoreError::Write {
            path: path.to_owned(),
            source,
        };
        let dir = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(write_error)?;
        tmp.write_all(bytes)
            .and_then(|()| tmp.as_file().sync_all())
            .map_err(write_error)?;
        tmp.persist(path).map_err(|e| write_error(e.error))?;
        Ok(())
    }

    /// Re-encrypts to the recorded recipients plus `add` minus `remove`
    /// (`config rekey`); returns the new recipient list. A passphrase or
    /// legacy JWE store has no recorded recipients: rekeying it with `add`
    /// converts it to a recipient-encrypted age store.
    pub fn rekey(
        &self,
        keys: &Keys,
        add: &[x25519::Recipient],
        remove: &[x25519::Recipient],
    ) -> Result<Vec<x25519::Recipient>, ConfigStoreError> {
        let bytes = self.read_bytes()?;
        let (mut recipients, armored) = match detect_format(&bytes)? {
            StoreFormat::AgeRecipients { armored } => (self.recipients()?, armored),
            StoreFormat::AgePassphrase { armored } => (Vec::new(), armored),
            StoreFormat::Jwe => (Vec::new(), true),
        };
        let plaintext = decrypt(&bytes, keys)?;
        for r in add {
            if !recipients.contains(r) {
                recipients.push(r.clone());
            }
        }
        recipients.retain(|x| !remove.contains(x));
        let to = Encryption::Recipients(recipients.clone());
        self.write(plaintext.expose_secret(), &to, armored)?;
        Ok(recipients)
    }

    /// `config edit`: decrypts to a private temp file, runs `editor` on it
    /// (through `sh -c`, like git's `$EDITOR`), validates the result and
    /// re-encrypts it the way the store was encrypted. The temp file is
    /// zeroed and removed on every path, also when the editor fails or the
    /// content is invalid; the store is then left as it was.
    pub fn edit(&self, keys: &Keys, editor: &str) -> Result<EditOutcome, ConfigStoreError> {
        let bytes = self.read_bytes()?;
        let format = detect_format(&bytes)?;
        // Know how to re-encrypt before any plaintext is written out.
        let (to, armored) = match format {
            StoreFormat::AgeRecipients { armored } => {
                (Encryption::Recipients(self.recipients()?), armored)
            }
            StoreFormat::AgePassphrase { armored } => (
                Encryption::Passphrase(keys.passphrase_secret()?.clone()),
                armored,
            ),
            StoreFormat::Jwe => (Encryption::Jwe(keys.jwk()?.clone()), false),
        };
        let plaintext = decrypt(&bytes, keys)?;
        let file = edit::PlaintextFile::create(plaintext.expose_secret())?;
        edit::run_editor(editor, file.path())?;
        let edited = SecretSlice::from(
            std::fs::read(file.path()).map_err(|source| ConfigStoreError::EditTemp { source })?,
        );
        if edited.expose_secret() == plaintext.expose_secret() {
            return Ok(EditOutcome::Unchanged);
        }
        let encrypted = encrypt(edited.expose_secret(), &to, armored)?;
        drop(file);
        self.replace(&self.path, &encrypted)?;
        Ok(EditOutcome::Saved)
    }
}
