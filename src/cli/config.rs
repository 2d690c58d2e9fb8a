//! `statebox config get|encrypt|edit|rekey`, and finding the store and its
//! keys for `init`'s metadata prefill.

use super::{CliError, Global, exit};
use clap::{Args, Subcommand};
use statebox::config_store::SecretString;
use statebox::config_store::{
    ConfigStoreError, ENV_PASSPHRASE, Encryption, Keys, StoreFile, StoreFormat, parse_recipients,
    render,
};
use std::io::{IsTerminal, Read};
use std::path::PathBuf;
use std::process::ExitCode;

/// Where the store is and how to open it.
#[derive(Debug, Args)]
pub struct StoreArgs {
    /// The encrypted config store file [default: .statebox/config.age at the repository root, if present]
    #[arg(
        long = "config-store",
        env = "STATEBOX_CONFIG_STORE",
        value_name = "FILE",
        global = true
    )]
    pub path: Option<PathBuf>,
    /// age identity file (else STATEBOX_AGE_KEY_FILE, SOPS_AGE_KEY_FILE, SOPS_AGE_KEY)
    #[arg(long, value_name = "FILE", global = true)]
    pub identity: Option<PathBuf>,
    /// Use a passphrase: prompted on the terminal, never echoed (else STATEBOX_AGE_PASSPHRASE)
    #[arg(long, global = true)]
    pub passphrase: bool,
}

#[derive(Debug, Args)]
pub struct ConfigArgs {
    #[command(flatten)]
    store: StoreArgs,
    #[command(subcommand)]
    command: ConfigCommand,
}

#[derive(Debug, Subcommand)]
enum ConfigCommand {
    /// Print the store, or the value at a dotted path (releases.4.19.36.jira_ticket)
    Get {
        /// A dotted key (releases.4.19.36.jira_ticket) [default: the whole store]
        key: Option<String>,
        /// Print JSON instead of the human-readable form
        #[arg(long)]
        json: bool,
    },
    /// Encrypt a plaintext YAML/JSON file (or stdin) into the store
    Encrypt {
        /// Plaintext to read (`-` for stdin)
        #[arg(long, default_value = "-", value_name = "FILE")]
        input: PathBuf,
        /// age recipient (age1...), repeatable
        #[arg(long = "recipient", value_name = "AGE1...")]
        recipients: Vec<String>,
        /// File of age recipients, one per line, repeatable
        #[arg(long = "recipients-file", value_name = "FILE")]
        recipient_files: Vec<PathBuf>,
        /// Write binary age instead of ASCII armor
        #[arg(long)]
        binary: bool,
    },
    /// Decrypt to a private temp file, open $EDITOR, validate, re-encrypt
    Edit,
    /// Add or remove recipients
    Rekey {
        /// Recipient to add (an age public key)
        #[arg(long = "add", value_name = "AGE1...")]
        add: Vec<String>,
        /// Recipient to remove (an age public key)
        #[arg(long = "remove", value_name = "AGE1...")]
        remove: Vec<String>,
    },
}

impl From<ConfigStoreError> for CliError {
    fn from(e: ConfigStoreError) -> Self {
        let (code, hint) = match e {
            ConfigStoreError::KeyNotFound(_) => (exit::NOT_FOUND, ""),
            ConfigStoreError::NoIdentity => (
                exit::CONFIG_STORE,
                "\nhint: pass --identity FILE, or set one of those variables",
            ),
            ConfigStoreError::NoPassphrase => (
                exit::CONFIG_STORE,
                "\nhint: pass --passphrase (prompted on a terminal)",
            ),
            ConfigStoreError::NoRecipientsFile { .. } => (
                exit::CONFIG_STORE,
                "\nhint: run `statebox config encrypt` or `statebox config rekey` with the full recipient list",
            ),
            _ => (exit::CONFIG_STORE, ""),
        };
        CliError::new(code, format!("{e}{hint}"))
    }
}

fn prompt_passphrase(prompt: &str) -> Result<SecretString, CliError> {
    if !std::io::stdin().is_terminal() {
        return Err(CliError::new(
            exit::CONFIG_STORE,
            format!("--passphrase needs a terminal to prompt on; set {ENV_PASSPHRASE} instead"),
        ));
    }
    rpassword::prompt_password(prompt)
        .map(SecretString::from)
        .map_err(|e| {
            CliError::new(
                exit::CONFIG_STORE,
                format!("cannot read the passphrase: {e}"),
            )
        })
}

impl StoreArgs {
    /// The store file: the flag, else the default path if it exists.
    pub fn file(&self, global: &Global) -> Option<StoreFile> {
        match &self.path {
            Some(path) => Some(StoreFile::new(path)),
            None => {
                let default = global.work_tree().ok()?.join(".statebox/config.age");
                default.is_file().then(|| StoreFile::new(default))
            }
        }
    }

    fn required_file(&self, global: &Global) -> Result<StoreFile, CliError> {
        self.file(global).ok_or_else(|| {
            CliError::new(
                exit::CONFIG_STORE,
                "no config store: pass --config-store FILE or set STATEBOX_CONFIG_STORE",
            )
        })
    }

    /// Keys from flags and environment; a passphrase is prompted for only
    /// when asked for and the store actually is passphrase-encrypted.
    pub fn keys(&self, file: &StoreFile) -> Result<Keys, CliError> {
        let keys = Keys::from_env(self.identity.clone(), None);
        if self.passphrase
            && !keys.has_passphrase()
            && matches!(file.format(), Ok(StoreFormat::AgePassphrase { .. }))
        {
            return Ok(keys.with_passphrase(prompt_passphrase("config store passphrase: ")?));
        }
        Ok(keys)
    }
}

pub fn run(global: &Global, args: ConfigArgs) -> Result<ExitCode, CliError> {
    let store = &args.store;
    match args.command {
        ConfigCommand::Get { key, json } => {
            let file = store.required_file(global)?;
            let config = file.load(&store.keys(&file)?)?;
            let value = match &key {
                Some(path) => config.get(path)?,
                None => config.data(),
            };
            println!("{}", render(value, json));
        }
        ConfigCommand::Encrypt {
            input,
            recipients,
            recipient_files,
            binary,
        } => {
            let file = store.required_file(global)?;
            let mut plaintext = Vec::new();
            let read = if input.as_os_str() == "-" {
                std::io::stdin().read_to_end(&mut plaintext)
            } else {
                std::fs::File::open(&input).and_then(|mut f| f.read_to_end(&mut plaintext))
            };
            read.map_err(|e| {
                CliError::new(
                    exit::INVALID_INPUT,
                    format!("cannot read {}: {e}", input.display()),
                )
            })?;
            let to = if store.passphrase {
                let passphrase = match std::env::var(ENV_PASSPHRASE) {
                    Ok(p) if !p.is_empty() => SecretString::from(p),
                    _ => prompt_passphrase("new config store passphrase: ")?,
                };
                Encryption::Passphrase(passphrase)
            } else {
                Encryption::Recipients(parse_recipients(&recipients, &recipient_files)?)
            };
            file.write(&plaintext, &to, !binary)?;
            println!("encrypted {}", file.path().display());
        }
        ConfigCommand::Edit => {
            let file = store.required_file(global)?;
            let editor = ["VISUAL", "EDITOR"]
                .iter()
                .find_map(|v| std::env::var(v).ok().filter(|e| !e.trim().is_empty()))
                .unwrap_or_else(|| "vi".to_owned());
            let outcome = file.edit(&store.keys(&file)?, &editor)?;
            println!("{}: {outcome:?}", file.path().display());
        }
        ConfigCommand::Rekey { add, remove } => {
            let file = store.required_file(global)?;
            let add = parse_recipients(&add, &[])?;
            let remove = parse_recipients(&remove, &[])?;
            let now = file.rekey(&store.keys(&file)?, &add, &remove)?;
            println!(
                "{} is encrypted to {} recipient(s)",
                file.path().display(),
                now.len()
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}
