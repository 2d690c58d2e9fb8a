//! `statebox init` and `statebox meta set|unset|get`.

use super::{CliError, Context, KeyArg, ReleaseArg, exit, print_json, report};
use clap::{Args, Subcommand};
use statebox::config_store::ALLOWLIST_KEY;
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
    #[command(flatten)]
    key: KeyArg,
}

#[derive(Debug, Subcommand)]
pub enum MetaCommand {
    /// Set metadata: KEY=VALUE, dotted keys reach into maps (advisory_ids.rpm=169043)
    Set(SetArgs),
    /// Remove metadata keys (dotted keys reach into maps); the keys every state starts with become empty
    Unset(UnsetArgs),
    /// Show metadata, or one key
    Get(GetArgs),
}

#[derive(Debug, Args)]
pub struct UnsetArgs {
    #[command(flatten)]
    release: ReleaseArg,
    /// Keys to remove, dotted to reach into maps (advisory_ids.rpm)
    #[arg(required = true, value_name = "KEY")]
    keys: Vec<String>,
    #[command(flatten)]
    key: KeyArg,
}

#[derive(Debug, Args)]
pub struct SetArgs {
    #[command(flatten)]
    release: ReleaseArg,
    /// KEY=TEXT stores TEXT as a string, whatever it looks like; KEY:=JSON
    /// stores a typed value (169043, true, null, [..], {..}); advisory_ids.*
    /// are integers either way
    #[arg(required = true, value_name = "KEY=TEXT|KEY:=JSON")]
    pairs: Vec<String>,
    #[command(flatten)]
    key: KeyArg,
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

/// `jira_ticket=ART-1` -> {jira_ticket: 'ART-1'}, `x:=[1]` -> {x: [1]}.
/// A value typed on the command line is text, as a shell user means it:
/// `2025-02-01`, `4.20`, `0123`, `12:30` and `no` stay strings, where YAML
/// would read a date, 4.2, 83, 750 and false. Typed values take `:=` and
/// JSON, as httpie's syntax does.
fn parse_pair(pair: &str) -> Result<(Vec<&str>, Value), CliError> {
    let (key, raw) = pair
        .split_once('=')
        .ok_or_else(|| invalid(format!("'{pair}' is not KEY=TEXT or KEY:=JSON")))?;
    let (key, value) = match key.strip_suffix(':') {
        Some(key) => {
            let json: serde_json::Value = serde_json::from_str(raw)
                .map_err(|e| invalid(format!("value of {key} (after :=) is not JSON: {e}")))?;
            let value = from_json(&json).ok_or_else(|| {
                invalid(format!("value of {key}: {raw} is beyond a 64-bit integer"))
            })?;
            (key, value)
        }
        None => (key, Value::Str(raw.to_owned())),
    };
    let path: Vec<&str> = key.split('.').map(str::trim).collect();
    if path.iter().any(|p| p.is_empty()) {
        return Err(invalid(format!("'{key}' is not a metadata key")));
    }
    Ok((path, value))
}

/// JSON as the state's value; None for an integer beyond i64.
fn from_json(json: &serde_json::Value) -> Option<Value> {
    use serde_json::Value as J;
    Some(match json {
        J::Null => Value::Null,
        J::Bool(b) => Value::Bool(*b),
        J::Number(n) if n.is_f64() => Value::Float(n.as_f64()?),
        J::Number(n) => Value::Int(n.as_i64()?),
        J::String(s) => Value::Str(s.clone()),
        J::Array(items) => Value::Seq(items.iter().map(from_json).collect::<Option<_>>()?),
        J::Object(map) => Value::Map(
            map.iter()
                .map(|(k, v)| Some((Value::Str(k.clone()), from_json(v)?)))
                .collect::<Option<_>>()?,
        ),
    })
}

/// The one rule for metadata values, whether typed on the command line or
/// taken from the config store: the schema of the known keys, after which
/// every value is what its source means (text from the command line, the
/// YAML 1.1 value from the store). Advisory ids are integers (`169043` as
/// text becomes the number, as the original wrote them); ticket, date, MR
/// and candidate builds are text.
fn apply_schema(entries: &mut Mapping) -> Result<(), CliError> {
    for (key, value) in entries.iter_mut() {
        let Some(key) = key.as_str() else { continue };
        match key {
            "advisory_ids" => for_each_entry(key, value, advisory_id)?,
            "candidate_builds" => for_each_entry(key, value, text)?,
            "jira_ticket" | "release_date" | "shipment_mr" => text(key, value)?,
            _ => {}
        }
    }
    Ok(())
}

fn for_each_entry(
    key: &str,
    value: &mut Value,
    rule: fn(&str, &mut Value) -> Result<(), CliError>,
) -> Result<(), CliError> {
    match value {
        Value::Null => Ok(()),
        Value::Map(map) => map.iter_mut().try_for_each(|(inner, value)| {
            let name = inner
                .as_str()
                .map_or_else(|| format!("{key}.?"), |k| format!("{key}.{k}"));
            rule(&name, value)
        }),
        other => Err(invalid(format!(
            "{key} is a map ({key}.KIND=VALUE), not a {}",
            other.kind()
        ))),
    }
}

fn advisory_id(key: &str, value: &mut Value) -> Result<(), CliError> {
    if let Value::Str(text) = value
        && let Ok(id) = text.trim().parse::<i64>()
    {
        *value = Value::Int(id);
    }
    match value {
        Value::Int(_) | Value::Null => Ok(()),
        other => Err(invalid(format!(
            "{key} is an advisory id, an integer, not {}",
            describe(other)
        ))),
    }
}

fn text(key: &str, value: &mut Value) -> Result<(), CliError> {
    if let Value::Int(i) = value {
        *value = Value::Str(i.to_string());
    }
    match value {
        Value::Str(_) | Value::Null => Ok(()),
        other => Err(invalid(format!("{key} is text, not {}", describe(other)))),
    }
}

fn describe(value: &Value) -> String {
    match value {
        Value::Str(s) => format!("'{s}'"),
        Value::Map(_) | Value::Seq(_) => format!("a {}", value.kind()),
        scalar => format!("the {} {}", scalar.kind(), to_json(scalar)),
    }
}

fn insert_path(map: &mut Mapping, path: &[&str], value: Value) {
    match path {
        [] => {}
        // Two pairs for one map (`advisory_ids.rpm=1 advisory_ids:={..}`)
        // add up, as updates of the state's maps do.
        [last] => match (map.get_mut(last), value) {
            (Some(Value::Map(existing)), Value::Map(new)) => {
                for (key, value) in new {
                    existing.insert(key, value);
                }
            }
            (_, value) => map.insert(*last, value),
        },
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
    apply_schema(&mut entries)?;
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
        Some(mut entry) => {
            if !entry.skipped.is_empty() {
                eprintln!(
                    "statebox: config store keys not copied into the state (not metadata; list them under `{ALLOWLIST_KEY}` in the store to copy them): {}",
                    entry.skipped.join(", ")
                );
            }
            apply_schema(&mut entry.metadata)?;
            Ok(entry.metadata)
        }
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
    let outcome = ctx.write(&release, &Op::Init { metadata }, &args.key)?;
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
            report(&ctx.write(&release, &Op::SetMetadata { entries }, &args.key)?);
        }
        MetaCommand::Unset(args) => {
            let release = args.release.parse()?;
            report(&ctx.write(&release, &Op::UnsetMetadata { keys: args.keys }, &args.key)?);
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
                        super::printable(
                            &to_json(scalar)
                                .as_str()
                                .map_or_else(|| to_json(scalar).to_string(), str::to_owned)
                        )
                    ),
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
