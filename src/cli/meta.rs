//! `statebox init` and `statebox meta set|get`.

use super::{CliError, Context, ReleaseArg, exit, print_json, report};
use clap::{Args, Subcommand};
use statebox::model::{Op, merge_metadata};
use statebox::schema::to_json;
use statebox::yaml::{self, Mapping, Value};
use std::process::ExitCode;

#[derive(Debug, Args)]
pub struct InitArgs {
    #[command(flatten)]
    release: ReleaseArg,
    /// Jira ticket of the release (ART-...)
    #[arg(long)]
    jira_ticket: Option<String>,
    /// Advisory id by kind, e.g. rpm=169043 (repeatable)
    #[arg(long = "advisory", value_name = "KIND=ID")]
    advisories: Vec<String>,
    /// Free text, e.g. 2026-Jul-01
    #[arg(long)]
    release_date: Option<String>,
    /// Candidate build by architecture, e.g. x86_64=4.19.0-0.nightly-... (repeatable)
    #[arg(long = "candidate-build", value_name = "ARCH=BUILD")]
    candidate_builds: Vec<String>,
    /// URL of the shipment merge request
    #[arg(long)]
    shipment_mr: Option<String>,
    /// Prefill metadata from the config store's entry for the release; flags override
    #[command(flatten)]
    store: super::config::StoreArgs,
}

#[derive(Debug, Subcommand)]
pub enum MetaCommand {
    /// Set metadata: KEY=VALUE, dotted keys reach into maps (advisory_ids.rpm=169043)
    Set(SetArgs),
    /// Show metadata, or one key
    Get(GetArgs),
}

#[derive(Debug, Args)]
pub struct SetArgs {
    #[command(flatten)]
    release: ReleaseArg,
    /// KEY=VALUE pairs; VALUE is read as a YAML scalar or flow collection
    #[arg(required = true, value_name = "KEY=VALUE")]
    pairs: Vec<String>,
}

#[derive(Debug, Args)]
pub struct GetArgs {
    #[command(flatten)]
    release: ReleaseArg,
    /// A key, dotted to reach into maps (advisory_ids.rpm)
    key: Option<String>,
    /// Print JSON instead of the human-readable form
    #[arg(long)]
    json: bool,
}

fn invalid(message: String) -> CliError {
    CliError::new(exit::INVALID_INPUT, message)
}

/// `advisory_ids.rpm=169043` -> {advisory_ids: {rpm: 169043}}. The value is
/// read the way PyYAML reads a config file, so `169043` is a number and
/// `2026-Jul-01` text, as in files the original wrote.
fn parse_pair(pair: &str) -> Result<(Vec<&str>, Value), CliError> {
    let (key, raw) = pair
        .split_once('=')
        .ok_or_else(|| invalid(format!("'{pair}' is not KEY=VALUE")))?;
    let path: Vec<&str> = key.split('.').map(str::trim).collect();
    if path.iter().any(|p| p.is_empty()) {
        return Err(invalid(format!("'{key}' is not a metadata key")));
    }
    let value = yaml::parse(raw).map_err(|e| invalid(format!("value of {key}: {e}")))?;
    Ok((path, value))
}

fn insert_path(map: &mut Mapping, path: &[&str], value: Value) {
    match path {
        [] => {}
        [last] => map.insert(*last, value),
        [first, rest @ ..] => {
            if !matches!(map.get(first), Some(Value::Map(_))) {
                map.insert(*first, Value::Map(Mapping::new()));
            }
            if let Some(Value::Map(inner)) = map.get_mut(first) {
                insert_path(inner, rest, value);
            }
        }
    }
}

fn entries_from_pairs<'a>(
    pairs: impl IntoIterator<Item = &'a String>,
) -> Result<Mapping, CliError> {
    let mut entries = Mapping::new();
    for pair in pairs {
        let (path, value) = parse_pair(pair)?;
        insert_path(&mut entries, &path, value);
    }
    Ok(entries)
}

/// The config store's metadata for `release`, when a store is configured.
/// A store without an entry for it is not an error: the state starts with
/// nulls, as without a store.
fn prefill(
    store: &super::config::StoreArgs,
    global: &super::Global,
    release: &statebox::release::Release,
) -> Result<Mapping, CliError> {
    let Some(file) = store.file(global) else {
        return Ok(Mapping::new());
    };
    let config = file.load(&store.keys(&file)?)?;
    match config.release_entry(&release.to_string())? {
        Some(entry) => Ok(entry),
        None => {
            eprintln!(
                "statebox: config store {} has no entry for release {release}; metadata starts empty",
                file.path().display()
            );
            Ok(Mapping::new())
        }
    }
}

pub fn init(ctx: &Context, global: &super::Global, args: InitArgs) -> Result<ExitCode, CliError> {
    let release = args.release.parse()?;
    let mut metadata = prefill(&args.store, global, &release)?;
    let text =
        |key: &str, v: &Option<String>| v.as_ref().map(|v| (key.to_owned(), Value::Str(v.clone())));
    let mut flags = Mapping::new();
    for (key, value) in [
        text("jira_ticket", &args.jira_ticket),
        text("release_date", &args.release_date),
        text("shipment_mr", &args.shipment_mr),
    ]
    .into_iter()
    .flatten()
    {
        flags.insert(key, value);
    }
    let pairs: Vec<String> = (args.advisories.iter().map(|p| format!("advisory_ids.{p}")))
        .chain(
            args.candidate_builds
                .iter()
                .map(|p| format!("candidate_builds.{p}")),
        )
        .collect();
    for (key, value) in entries_from_pairs(&pairs)? {
        flags.insert(key, value);
    }
    merge_metadata(&mut metadata, &flags);
    let outcome = ctx.write(&release, &Op::Init { metadata })?;
    if outcome.written.is_none() {
        println!(
            "release {release} is already initialized; use `statebox meta set` to change metadata"
        );
    } else {
        report(&outcome);
    }
    Ok(ExitCode::SUCCESS)
}

pub fn run(ctx: &Context, command: MetaCommand) -> Result<ExitCode, CliError> {
    match command {
        MetaCommand::Set(args) => {
            let release = args.release.parse()?;
            let entries = entries_from_pairs(&args.pairs)?;
            report(&ctx.write(&release, &Op::SetMetadata { entries })?);
        }
        MetaCommand::Get(args) => {
            let release = args.release.parse()?;
            let state = ctx.require(&release)?;
            let metadata = Value::Map(state.metadata);
            let value = match &args.key {
                None => &metadata,
                Some(key) => key
                    .split('.')
                    .try_fold(&metadata, |at, part| at.as_map()?.get(part))
                    .ok_or_else(|| {
                        CliError::new(
                            exit::NOT_FOUND,
                            format!("release {release} has no metadata key '{key}'"),
                        )
                    })?,
            };
            if args.json {
                print_json(&to_json(value));
            } else {
                match value {
                    Value::Map(_) | Value::Seq(_) => print!("{}", yaml::to_string(value)),
                    scalar => println!(
                        "{}",
                        to_json(scalar)
                            .as_str()
                            .map_or_else(|| to_json(scalar).to_string(), str::to_owned)
                    ),
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
