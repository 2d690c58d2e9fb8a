//! `statebox validate` and `statebox fmt`: state files checked or rewritten
//! in canonical form, like rustfmt for release state.

use super::{CliError, Context, Global, exit, print_json};
use clap::Args;
use statebox::write::{self, LoadError};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// Files to check [default: every state file on the store]
    files: Vec<PathBuf>,
    /// Print JSON instead of the human-readable form
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Args)]
pub struct FmtArgs {
    /// State files to rewrite
    #[arg(required = true)]
    files: Vec<PathBuf>,
    /// Only list the files that are not in canonical form; exit 1 if any
    #[arg(long)]
    check: bool,
}

/// Problems with one file's content: parse, shape and schema, in that order.
fn problems(path: &str, bytes: &[u8]) -> Vec<String> {
    let text = match std::str::from_utf8(bytes) {
        Ok(text) => text,
        Err(_) => return vec![write::decode(path, bytes).unwrap_err().to_string()],
    };
    let value = match statebox::yaml::parse(text) {
        Ok(value) => value,
        Err(e) => {
            return vec![
                LoadError::Yaml {
                    path: path.to_owned(),
                    source: e,
                }
                .to_string(),
            ];
        }
    };
    let mut found: Vec<String> = statebox::schema::violations(&value)
        .into_iter()
        .map(|v| format!("{path}: {v}"))
        .collect();
    if found.is_empty()
        && let Err(e) = statebox::model::State::from_value(value)
    {
        found.push(format!("{path}: {e}"));
    }
    found
}

fn read(path: &PathBuf) -> Result<Vec<u8>, CliError> {
    std::fs::read(path).map_err(|e| {
        CliError::new(
            exit::ENVIRONMENT,
            format!("cannot read {}: {e}", path.display()),
        )
    })
}

pub fn validate(global: &Global, args: ValidateArgs) -> Result<ExitCode, CliError> {
    let mut checked = Vec::new();
    if args.files.is_empty() {
        let ctx = Context::open(global)?;
        let listing = ctx.store.listing()?;
        for path in listing.files {
            let found = match ctx.store.read(&path) {
                Ok(snapshot) => problems(&path, &snapshot.content.unwrap_or_default()),
                Err(e) => vec![format!("{path}: {e}")],
            };
            checked.push((path, found));
        }
        for entry in listing.misplaced {
            let problem = format!("{}: {}", entry.path, entry.problem);
            checked.push((entry.path, vec![problem]));
        }
    } else {
        for file in &args.files {
            let shown = file.display().to_string();
            checked.push((shown.clone(), problems(&shown, &read(file)?)));
        }
    }
    let failed = checked.iter().filter(|(_, p)| !p.is_empty()).count();
    if args.json {
        let report: Vec<_> = checked
            .iter()
            .map(|(file, problems)| serde_json::json!({ "file": file, "valid": problems.is_empty(), "problems": problems }))
            .collect();
        print_json(&serde_json::Value::Array(report));
    } else {
        for problem in checked.iter().flat_map(|(_, p)| p) {
            println!("{problem}");
        }
        eprintln!("{} file(s) checked, {failed} invalid", checked.len());
    }
    Ok(if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(exit::CHECK_FAILED)
    })
}

pub fn fmt(args: FmtArgs) -> Result<ExitCode, CliError> {
    let mut differing = 0;
    for file in &args.files {
        let shown = file.display().to_string();
        let bytes = read(file)?;
        let state = write::decode(&shown, &bytes)?;
        let canonical = state.to_yaml();
        if canonical.as_bytes() == bytes {
            continue;
        }
        differing += 1;
        if args.check {
            println!("{shown}");
        } else {
            let write = tempfile::NamedTempFile::new_in(
                file.parent()
                    .filter(|p| !p.as_os_str().is_empty())
                    .unwrap_or(".".as_ref()),
            )
            .and_then(|mut temp| {
                std::io::Write::write_all(&mut temp, canonical.as_bytes())?;
                // The temporary file is 0600; the file keeps its own mode.
                let mode = std::fs::metadata(file)?.permissions();
                temp.as_file().set_permissions(mode)?;
                temp.persist(file).map_err(|e| e.error)?;
                Ok(())
            });
            write.map_err(|e| {
                CliError::new(exit::ENVIRONMENT, format!("cannot write {shown}: {e}"))
            })?;
            eprintln!("formatted {shown}");
        }
    }
    Ok(if args.check && differing > 0 {
        ExitCode::from(exit::CHECK_FAILED)
    } else {
        ExitCode::SUCCESS
    })
}
