//! Where the keys come from: identity files, key text, passphrases, `OAR_JWK`.

use std::ffi::OsString;
use std::fmt;
use std::io::Read;
use std::path::{Path, PathBuf};

use age::secrecy::{ExposeSecret, SecretString};
use age::x25519;

use super::ConfigStoreError;

/// Path of an age identity file.
pub const ENV_KEY_FILE: &str = "STATEBOX_AGE_KEY_FILE";
/// sops convention: path of an age identity file.
pub const ENV_SOPS_KEY_FILE: &str = "SOPS_AGE_KEY_FILE";
/// sops convention: the identity file's text itself (several lines allowed).
pub const ENV_SOPS_KEY: &str = "SOPS_AGE_KEY";
/// Passphrase for a passphrase-encrypted store (the CLI prompts instead on a TTY).
pub const ENV_PASSPHRASE: &str = "STATEBOX_AGE_PASSPHRASE";
/// Legacy JWE content key: 16 raw UTF-8 bytes.
pub const ENV_JWK: &str = "OAR_JWK";

/// Where the age identities were found, for error messages (never the key).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IdentitySource {
    /// `--identity PATH`.
    Arg(PathBuf),
    /// A variable naming a file (`STATEBOX_AGE_KEY_FILE`, `SOPS_AGE_KEY_FILE`).
    EnvFile {
        /// The variable's name.
        var: &'static str,
        /// The file it names.
        path: PathBuf,
    },
    /// `SOPS_AGE_KEY`: the key text itself.
    EnvText {
        /// The variable's name.
        var: &'static str,
    },
}

impl fmt::Display for IdentitySource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Arg(path) => write!(f, "identity file {}", path.display()),
            Self::EnvFile { var, path } => {
                write!(f, "identity file {} (from {var})", path.display())
            }
            Self::EnvText { var } => write!(f, "identity text in {var}"),
        }
    }
}

/// Where the identity text is read from.
enum KeyMaterial {
    File(PathBuf),
    Text(SecretString),
}

/// The keys statebox may use on a config store, discovered once.
///
/// Identities, first present wins (so a stale sops variable cannot shadow an
/// explicit choice): `--identity`, `STATEBOX_AGE_KEY_FILE`,
/// `SOPS_AGE_KEY_FILE`, `SOPS_AGE_KEY`. Passphrase: the explicit one, else
/// `STATEBOX_AGE_PASSPHRASE`. Which of the two is used depends on the store:
/// age forbids mixing passphrase and recipient stanzas, so a store is either
/// passphrase-encrypted or recipient-encrypted. Empty variables count as unset.
pub struct Keys {
    identity: Option<(IdentitySource, KeyMaterial)>,
    passphrase: Option<SecretString>,
    jwk: Option<SecretString>,
}

impl Keys {
    /// Discovers keys from the explicit arguments and the process environment.
    pub fn from_env(identity_arg: Option<PathBuf>, passphrase_arg: Option<SecretString>) -> Self {
        Self::discover(identity_arg, passphrase_arg, |name| std::env::var_os(name))
    }

    /// Discovers keys with `env` standing in for the environment, so callers
    /// (and tests) need not mutate the process environment.
    pub fn discover(
        identity_arg: Option<PathBuf>,
        passphrase_arg: Option<SecretString>,
        env: impl Fn(&str) -> Option<OsString>,
    ) -> Self {
        let var = |name: &str| env(name).filter(|v| !v.is_empty());
        let secret_var =
            |name: &str| var(name).map(|v| SecretString::from(v.to_string_lossy().into_owned()));
        let identity = identity_arg
            .map(|path| (IdentitySource::Arg(path.clone()), KeyMaterial::File(path)))
            .or_else(|| {
                [ENV_KEY_FILE, ENV_SOPS_KEY_FILE]
                    .into_iter()
                    .find_map(|name| {
                        var(name).map(|path| {
                            let path = PathBuf::from(path);
                            let source = IdentitySource::EnvFile {
                                var: name_of(name),
                                path: path.clone(),
                            };
                            (source, KeyMaterial::File(path))
                        })
                    })
            })
            .or_else(|| {
                secret_var(ENV_SOPS_KEY).map(|text| {
                    (
                        IdentitySource::EnvText { var: ENV_SOPS_KEY },
                        KeyMaterial::Text(text),
                    )
                })
            });
        Keys {
            identity,
            passphrase: passphrase_arg.or_else(|| secret_var(ENV_PASSPHRASE)),
            jwk: secret_var(ENV_JWK),
        }
    }

    /// Adds (or replaces) the passphrase: the CLI prompts for one only
    /// after [`detect_format`](super::detect_format) says the store needs it.
    pub fn with_passphrase(mut self, passphrase: SecretString) -> Self {
        self.passphrase = Some(passphrase);
        self
    }

    /// Adds (or replaces) the legacy JWE key.
    pub fn with_jwk(mut self, jwk: SecretString) -> Self {
        self.jwk = Some(jwk);
        self
    }

    /// Where the identities would be read from, if anywhere.
    pub fn identity_source(&self) -> Option<&IdentitySource> {
        self.identity.as_ref().map(|(source, _)| source)
    }

    /// Whether a passphrase was given or found, so the CLI knows whether to
    /// prompt for one.
    pub fn has_passphrase(&self) -> bool {
        self.passphrase.is_some()
    }

    pub(crate) fn passphrase_secret(&self) -> Result<&SecretString, ConfigStoreError> {
        self.passphrase
            .as_ref()
            .ok_or(ConfigStoreError::NoPassphrase)
    }

    pub(crate) fn jwk(&self) -> Result<&SecretString, ConfigStoreError> {
        self.jwk.as_ref().ok_or(ConfigStoreError::NoJwk)
    }

    /// Loads the identities from the first configured source.
    pub(crate) fn identities(
        &self,
    ) -> Result<(&IdentitySource, Vec<x25519::Identity>), ConfigStoreError> {
        let (source, material) = self.identity.as_ref().ok_or(ConfigStoreError::NoIdentity)?;
        let identities = match material {
            KeyMaterial::Text(text) => parse_identities(source, text)?,
            KeyMaterial::File(path) => parse_identities(source, &read_key_file(path)?)?,
        };
        Ok((source, identities))
    }
}

/// Maps a looked-up name back to its `'static` constant.
fn name_of(name: &str) -> &'static str {
    if name == ENV_KEY_FILE {
        ENV_KEY_FILE
    } else {
        ENV_SOPS_KEY_FILE
    }
}

/// Reads a private key file, refusing one that others can read, as ssh does
/// for private keys: a key readable by the group or the world has leaked in
/// all but name. This check also stands in for "unreadable" in tests, which
/// run as root where mode 000 does not stop a read.
fn read_key_file(path: &Path) -> Result<SecretString, ConfigStoreError> {
    let meta = std::fs::metadata(path).map_err(|source| ConfigStoreError::KeyFile {
        path: path.to_owned(),
        source,
    })?;
    if meta.is_dir() {
        return Err(ConfigStoreError::KeyFileIsDirectory(path.to_owned()));
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            return Err(ConfigStoreError::KeyFilePermissions {
                path: path.to_owned(),
                mode,
            });
        }
    }
    let mut text = String::new();
    std::fs::File::open(path)
        .and_then(|mut f| f.read_to_string(&mut text))
        .map_err(|source| ConfigStoreError::KeyFile {
            path: path.to_owned(),
            source,
        })?;
    Ok(text.into())
}

/// Parses identity-file text: `AGE-SECRET-KEY-1...` lines, `#` comments and
/// blank lines (the format `age-keygen` writes and sops reads).
fn parse_identities(
    source: &IdentitySource,
    text: &SecretString,
) -> Result<Vec<x25519::Identity>, ConfigStoreError> {
    let mut identities = Vec::new();
    for (number, line) in text.expose_secret().lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        // The parse error of x25519::Identity is a fixed string, but the
        // line itself may be a key with a typo: report the line number only.
        let identity =
            line.parse::<x25519::Identity>()
                .map_err(|_| ConfigStoreError::NotAnIdentity {
                    source_name: source.to_string(),
                    line: number + 1,
                })?;
        identities.push(identity);
    }
    if identities.is_empty() {
        return Err(ConfigStoreError::NoIdentityInSource(source.to_string()));
    }
    Ok(identities)
}

/// Parses recipients: `age1...` strings and recipients files (one per line,
/// `#` comments, as `age -R` reads them). Duplicates are dropped, order kept.
pub fn parse_recipients(
    recipients: &[String],
    recipient_files: &[PathBuf],
) -> Result<Vec<x25519::Recipient>, ConfigStoreError> {
    let mut lines = recipients.to_vec();
    for path in recipient_files {
        let text =
            std::fs::read_to_string(path).map_err(|source| ConfigStoreError::RecipientsFile {
                path: path.clone(),
                source,
            })?;
        lines.extend(
            text.lines()
                .map(str::trim)
                .filter(|l| !l.is_empty() && !l.starts_with('#'))
                .map(String::from),
        );
    }
    let mut parsed: Vec<x25519::Recipient> = Vec::new();
    for line in lines {
        // A secret key pasted where a recipient belongs must not be echoed,
        // however it is dressed: quoted, after `export SOPS_AGE_KEY=`, in
        // lower case.
        if line.to_ascii_uppercase().contains("AGE-SECRET-KEY-") {
            return Err(ConfigStoreError::SecretKeyAsRecipient);
        }
        let recipient = line
            .trim()
            .parse::<x25519::Recipient>()
            .map_err(|_| ConfigStoreError::BadRecipient(line.clone()))?;
        if !parsed.contains(&recipient) {
            parsed.push(recipient);
        }
    }
    Ok(parsed)
}
