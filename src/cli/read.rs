//! Read-only views: `show`, `status`, `log`.

use super::issue::issue_line;
use super::printable;
use super::{CliError, Context, ReleaseArg, exit, print_json};
use clap::Args;
use statebox::active;
use statebox::backend::BackendError;
use statebox::model::State;
use statebox::release::Release;
use statebox::schema::to_json;
use statebox::summary::Summary;
use statebox::write::{self, WriteError};
use std::io::ErrorKind;
use std::process::ExitCode;

#[derive(Debug, Args)]
pub struct ShowArgs {
    #[command(flatten)]
    release: ReleaseArg,
    /// The state as JSON
    #[arg(long, conflicts_with = "yaml")]
    json: bool,
    /// The state file itself, in canonical form
    #[arg(long)]
    yaml: bool,
}

/// Filters combine: a release is shown when it passes every one given.
#[derive(Debug, Args)]
pub struct StatusArgs {
    /// Only this release, X.Y.Z (repeatable)
    #[arg(short, long = "release", value_name = "X.Y.Z")]
    release: Vec<String>,
    /// Only releases of this y-stream, such as 4.19 (repeatable)
    #[arg(long = "y-stream", value_name = "X.Y")]
    y_stream: Vec<String>,
    /// Only active releases: per y-stream the latest, until one day past its release_date
    #[arg(long)]
    active: bool,
    /// Print JSON instead of the human-readable form
    #[arg(long)]
    json: bool,
}

/// `4.19` (also `04.19`, read as 4.19): the y-stream a release is filed under.
fn y_stream(text: &str) -> Result<String, CliError> {
    let numbers = text
        .split_once('.')
        .and_then(|(major, minor)| Some((major.parse::<u64>().ok()?, minor.parse::<u64>().ok()?)));
    match numbers {
        Some((major, minor)) => Ok(format!("{major}.{minor}")),
        None => Err(CliError::new(
            exit::INVALID_INPUT,
            format!("invalid y-stream '{text}': expected X.Y, such as 4.19"),
        )),
    }
}

/// Which releases `status` shows.
struct Filters {
    releases: Vec<Release>,
    streams: Vec<String>,
    /// With `--active`: the active releases, and each y-stream's latest
    /// (an unreadable latest file may be the active one: it is named).
    active: Option<(Vec<Release>, Vec<Release>)>,
}

impl Filters {
    /// `-r` and `--y-stream` checked before anything is read, so that a
    /// typo is refused (exit 4) whatever the store holds.
    fn parse(args: &StatusArgs) -> Result<Self, CliError> {
        Ok(Filters {
            releases: args
                .release
                .iter()
                .map(|r| r.parse::<Release>())
                .collect::<Result<_, _>>()?,
            streams: args
                .y_stream
                .iter()
                .map(|s| y_stream(s))
                .collect::<Result<_, _>>()?,
            active: None,
        })
    }

    /// `--active`: the rule applied to every release with a state file,
    /// readable or not.
    fn find_active(&mut self, summaries: &[Row], unreadable: &[Unreadable]) {
        let listed: Vec<Release> = summaries
            .iter()
            .map(|s| s.release.clone())
            .chain(unreadable.iter().map(|u| u.release.clone()))
            .collect();
        let dates: std::collections::HashMap<&Release, &Option<String>> = summaries
            .iter()
            .map(|s| (&s.release, &s.summary.release_date))
            .collect();
        let release_date = |release: &Release| dates.get(release).and_then(|d| (*d).clone());
        let active = active::active_releases(&listed, active::today(), |r| {
            Ok::<_, std::convert::Infallible>(release_date(r))
        })
        .unwrap_or_else(|never| match never {});
        let latest = active::latest_per_stream(&listed);
        self.active = Some((
            active.into_iter().cloned().collect(),
            latest.into_iter().cloned().collect(),
        ));
    }

    fn any(&self) -> bool {
        !self.releases.is_empty() || !self.streams.is_empty() || self.active.is_some()
    }

    /// Whether `release` passes; `readable` tells a summary from an
    /// unreadable file, whose `release_date` is unknown.
    fn pass(&self, release: &Release, readable: bool) -> bool {
        (self.releases.is_empty() || self.releases.contains(release))
            && (self.streams.is_empty() || self.streams.contains(&release.stream()))
            && self.active.as_ref().is_none_or(|(active, latest)| {
                if readable {
                    active.contains(release)
                } else {
                    latest.contains(release)
                }
            })
    }
}

#[derive(Debug, Args)]
pub struct LogArgs {
    #[command(flatten)]
    release: ReleaseArg,
    /// Print JSON instead of the human-readable form
    #[arg(long)]
    json: bool,
}

pub fn show(ctx: &Context, args: ShowArgs) -> Result<ExitCode, CliError> {
    let release = args.release.parse()?;
    let state = ctx.require(&release)?;
    if args.json {
        print_json(&to_json(&state.to_value()));
    } else if args.yaml {
        print!("{}", state.to_yaml());
    } else {
        println!(
            "release {}  {}  (updated {})",
            state.release,
            state.health(),
            state.updated_at
        );
        println!("metadata:");
        for (key, value) in state.metadata.iter() {
            let shown = match to_json(value) {
                serde_json::Value::String(s) => s,
                other => other.to_string(),
            };
            let key = key.as_str().unwrap_or_default();
            println!("  {}: {}", printable(key), printable(&shown));
        }
        println!("tasks:");
        for task in &state.tasks {
            let span = format!(
                "{} -> {}",
                task.started_at.as_deref().unwrap_or("-"),
                task.completed_at.as_deref().unwrap_or("-")
            );
            println!(
                "  {:<28} {:<12} {}",
                printable(&task.name),
                task.status.as_str(),
                printable(&span)
            );
        }
        println!("issues:");
        for issue in &state.issues {
            println!("  {}", issue_line(issue));
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// One release's line of `status`.
struct Row {
    release: Release,
    summary: Summary,
}

impl Row {
    fn json(&self) -> serde_json::Value {
        let s = &self.summary;
        serde_json::json!({
            "release": self.release.to_string(),
            "health": s.health.to_string(),
            "tasks": {
                "total": s.tasks,
                "pass": s.pass,
                "fail": s.fail,
                "in_progress": s.in_progress,
                "not_started": s.not_started,
            },
            "issues": { "open": s.open_issues, "open_blockers": s.open_blockers, "total": s.issues },
            "updated_at": s.updated_at,
        })
    }
}

/// A listed state file that `status` cannot show: where, and why.
struct Unreadable {
    release: Release,
    path: String,
    reason: String,
}

/// One listed state file, read: its summary, or why there is none. A
/// failure that is not this file's own (git, the remote) ends the command.
fn read_listed(
    ctx: &Context,
    path: &str,
    release: &Release,
) -> Result<Result<Summary, String>, CliError> {
    let reason = match write::load(ctx.store.as_ref(), release) {
        Ok(Some(state)) => return Ok(Ok(Summary::of(&state))),
        // The git store lists every entry of `statebox/` that is named like
        // a state file, and reads only files: a folder there reads as none.
        Ok(None) => "is not a file (a folder or other entry stands where the state file should be)"
            .to_owned(),
        Err(WriteError::Load(e)) => {
            // The error names the path itself; the line shows it once.
            let text = e.to_string();
            let reason = text.strip_prefix(&format!("{path}: ")).unwrap_or(&text);
            reason.to_owned()
        }
        Err(WriteError::Backend(BackendError::Io { source, .. })) => {
            if source.kind() == ErrorKind::IsADirectory {
                "is a folder, not a file".to_owned()
            } else {
                format!("cannot be read: {source}")
            }
        }
        Err(other) => return Err(other.into()),
    };
    Ok(Err(reason))
}

pub fn status(ctx: &Context, args: StatusArgs) -> Result<ExitCode, CliError> {
    let mut filters = Filters::parse(&args)?;
    ctx.ready_to_read()?;
    let mut summaries = Vec::new();
    let mut unreadable = Vec::new();
    let listing = ctx.store.listing()?;
    // A misplaced entry belongs to no release a filter could pick, so it
    // is named only when every release is asked for.
    let misplaced = if filters.any() {
        &[][..]
    } else {
        &listing.misplaced[..]
    };
    let listed: Vec<(String, Release)> = listing
        .files
        .into_iter()
        .filter_map(|path| Release::from_path(&path).map(|release| (path, release)))
        .collect();
    let ids = &listing.content_ids;
    let mut cache = ctx.summary_cache(
        listed
            .iter()
            .filter_map(|(path, release)| ids.get(path).map(|id| (release, id.as_str()))),
    );
    for (path, release) in listed {
        let content_id = ids.get(&path);
        let cached = cache
            .as_mut()
            .zip(content_id)
            .and_then(|(cache, id)| cache.take(&release, id));
        let summary = match cached {
            Some(summary) => summary,
            None => match read_listed(ctx, &path, &release)? {
                Ok(summary) => {
                    if let Some((cache, id)) = cache.as_mut().zip(content_id) {
                        cache.insert(&release, id, summary.clone());
                    }
                    summary
                }
                Err(reason) => {
                    unreadable.push(Unreadable {
                        release,
                        path,
                        reason,
                    });
                    continue;
                }
            },
        };
        summaries.push(Row { release, summary });
    }
    if let Some(cache) = cache
        && let Err(e) = cache.save()
    {
        tracing::warn!(
            "the summary cache {} could not be saved (status stays correct, only slower next time): {e}",
            cache.file().display()
        );
    }
    if args.active {
        filters.find_active(&summaries, &unreadable);
    }
    // A release asked for by name that has no file at all is a typo or a
    // wrong store, not an empty answer.
    let missing: Vec<&Release> = filters
        .releases
        .iter()
        .filter(|r| {
            !summaries.iter().any(|s| &s.release == *r)
                && !unreadable.iter().any(|u| &u.release == *r)
        })
        .collect();
    summaries.retain(|s| filters.pass(&s.release, true));
    unreadable.retain(|u| filters.pass(&u.release, false));
    summaries.sort_by(|a, b| a.release.cmp(&b.release));
    unreadable.sort_by(|a, b| a.path.cmp(&b.path));
    // Named before the table, so that a reader of a terminal sees what is
    // missing from it; scripts get the good releases on stdout regardless.
    for bad in &unreadable {
        eprintln!("statebox: {}: {}", printable(&bad.path), bad.reason);
    }
    for entry in misplaced {
        eprintln!("statebox: {}: {}", printable(&entry.path), entry.problem);
    }
    for release in &missing {
        eprintln!(
            "statebox: release {release} has no state on {}",
            ctx.store.describe()
        );
    }
    let bad = unreadable.len() + misplaced.len();
    print_summaries(ctx, &summaries, &args, &filters, bad == 0);
    if bad > 0 {
        return Err(CliError::new(
            exit::BAD_STATE,
            format!(
                "{bad} {} on {} could not be read as state (named above); every other release is shown",
                if bad == 1 { "entry" } else { "entries" },
                ctx.store.describe()
            ),
        ));
    }
    if !missing.is_empty() {
        return Err(CliError::new(
            exit::NOT_FOUND,
            format!(
                "{} release(s) asked for with -r have no state (named above)\nhint: `statebox status` lists the releases there are",
                missing.len()
            ),
        ));
    }
    Ok(ExitCode::SUCCESS)
}

fn print_summaries(
    ctx: &Context,
    summaries: &[Row],
    args: &StatusArgs,
    filters: &Filters,
    nothing_unreadable: bool,
) {
    if args.json {
        print_json(&serde_json::Value::Array(
            summaries.iter().map(Row::json).collect(),
        ));
        return;
    }
    if summaries.is_empty() {
        // With unreadable files the store is not empty: stderr says what it holds.
        if nothing_unreadable && filters.any() {
            println!("no release on {} passes the filters", ctx.store.describe());
        } else if nothing_unreadable {
            println!("no releases on {}", ctx.store.describe());
        }
        return;
    }
    // Pre-releases (4.21.0-rc.1) are longer than X.Y.Z: the column fits
    // the longest.
    let width = summaries
        .iter()
        .map(|s| s.release.to_string().len())
        .max()
        .unwrap_or(0)
        .max(10);
    println!(
        "{:<width$} {:<6} {:>5} {:>5} {:>5} {:>6}  {:>6} {:>8}  UPDATED",
        "RELEASE", "HEALTH", "TASKS", "PASS", "FAIL", "ACTIVE", "ISSUES", "BLOCKERS"
    );
    for row in summaries {
        let s = &row.summary;
        println!(
            "{:<width$} {:<6} {:>5} {:>5} {:>5} {:>6}  {:>6} {:>8}  {}",
            row.release.to_string(),
            s.health.to_string(),
            s.tasks,
            s.pass,
            s.fail,
            s.in_progress,
            s.open_issues,
            s.open_blockers,
            s.updated_at
        );
    }
}

/// What each entry's commit changed, read from the file before and after
/// it (the entry after it in `entries`, which runs newest first, holds the
/// version before); `None` for a store that keeps no file versions.
fn changes_of(
    ctx: &Context,
    path: &str,
    entries: &[statebox::backend::HistoryEntry],
) -> Result<Vec<Option<Vec<String>>>, CliError> {
    let mut states = Vec::with_capacity(entries.len() + 1);
    for entry in entries {
        match version_at(ctx, path, &entry.commit)? {
            Some(state) => states.push(state),
            None => return Ok(vec![None; entries.len()]),
        }
    }
    states.push(None);
    Ok(states
        .windows(2)
        .map(|pair| Some(describe(&pair[0], &pair[1])))
        .collect())
}

pub fn log(ctx: &Context, args: LogArgs) -> Result<ExitCode, CliError> {
    let release: Release = args.release.parse()?;
    ctx.ready_to_read()?;
    let path = release.path();
    let no_history = || {
        CliError::new(
            exit::NOT_FOUND,
            format!(
                "release {release} has no history on {}",
                ctx.store.describe()
            ),
        )
    };
    if !args.json {
        return match print_history(ctx, &path)? {
            0 => Err(no_history()),
            _ => Ok(ExitCode::SUCCESS),
        };
    }
    let entries = ctx.store.history(&path)?;
    if entries.is_empty() {
        return Err(no_history());
    }
    let changes = changes_of(ctx, &path, &entries)?;
    let entries: Vec<serde_json::Value> = entries
        .iter()
        .zip(&changes)
        .map(|(entry, changes)| {
            let mut json = serde_json::to_value(entry).expect("history serializes");
            if let Some(changes) = changes {
                json["changes"] = serde_json::json!(changes);
            }
            json
        })
        .collect();
    print_json(&serde_json::Value::Array(entries));
    Ok(ExitCode::SUCCESS)
}

/// A file as one commit left it: `None` when absent there.
type Version = Option<Result<State, write::LoadError>>;

/// Prints the history of `path` as the store walks it, so the newest
/// entries show before a long history is walked and memory holds two
/// versions, not all. An entry's changes need the version before it,
/// which the next (older) entry brings: each is printed when the next one
/// arrives, the last when the walk ends. Returns the entries printed.
fn print_history(ctx: &Context, path: &str) -> Result<usize, CliError> {
    let mut shown = 0;
    let mut held: Option<(statebox::backend::HistoryEntry, Option<Version>)> = None;
    let mut print = |entry: &statebox::backend::HistoryEntry,
                     after: &Option<Version>,
                     before: Option<&Version>| {
        println!(
            "{} {} {:<16} {}",
            &entry.commit[..12],
            entry.time,
            printable(&entry.author),
            printable(&entry.message)
        );
        // A store that keeps no file versions shows no changes.
        if let (Some(after), Some(before)) = (after, before) {
            for change in describe(after, before) {
                println!("    {}", printable(&change));
            }
        }
        shown += 1;
    };
    ctx.store.history_each(path, &mut |entry| {
        let version = version_at(ctx, path, &entry.commit)?;
        if let Some((newer, newer_version)) = held.take() {
            print(&newer, &newer_version, version.as_ref());
        }
        held = Some((entry, version));
        Ok(())
    })?;
    if let Some((oldest, version)) = held {
        // Before the oldest entry the file did not exist.
        let absent: Version = None;
        print(&oldest, &version, version.as_ref().map(|_| &absent));
    }
    Ok(shown)
}

/// The file as commit `commit` left it; `None` for a store that keeps no
/// file versions.
fn version_at(ctx: &Context, path: &str, commit: &str) -> Result<Option<Version>, BackendError> {
    match ctx.store.read_at(path, commit) {
        Err(BackendError::Unsupported(_)) => Ok(None),
        other => Ok(Some(other?.map(|bytes| write::decode(path, &bytes)))),
    }
}

/// What changed from `before` to `after`, in words.
fn describe(after: &Version, before: &Version) -> Vec<String> {
    match (after, before) {
        (Some(Err(e)), _) | (_, Some(Err(e))) => vec![format!("(cannot tell: {e})")],
        (after, before) => statebox::model::describe_changes(
            before.as_ref().and_then(|s| s.as_ref().ok()),
            after.as_ref().and_then(|s| s.as_ref().ok()),
        ),
    }
}
