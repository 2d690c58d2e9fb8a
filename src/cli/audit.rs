//! `statebox audit`: updates other writers reverted without saying so, and
//! their repair.

use super::{CliError, Context, Global, exit, open_git, print_json};
use clap::Args;
use statebox::audit::{self, AuditError, Loss, LossStatus, Pattern, Repair, Report};
use statebox::model::Part;
use statebox::release::Release;
use statebox::schema::to_json;
use statebox::yaml::Value;
use std::process::ExitCode;

#[derive(Debug, Args)]
pub struct AuditArgs {
    /// Audit only this release [default: every release on the branch]
    #[arg(short, long, value_name = "X.Y.Z")]
    release: Option<String>,
    /// Report only losses caused by commits after REV (the history before it is still read)
    #[arg(long, value_name = "REV")]
    since: Option<String>,
    /// Put every open loss back: one commit per release through the normal write path, naming
    /// the commits it repairs, so a second run repairs nothing again
    #[arg(long)]
    repair: bool,
    /// The report as JSON
    #[arg(long)]
    json: bool,
}

impl From<AuditError> for CliError {
    fn from(e: AuditError) -> Self {
        match e {
            AuditError::Backend(e) => e.into(),
            e @ AuditError::UnknownRevision(_) => CliError::new(exit::NOT_FOUND, e.to_string()),
        }
    }
}

/// Exit 0 when nothing is left open (after `--repair`, when all was put
/// back); `CHECK_FAILED` when open losses are reported.
pub fn run(global: &Global, args: AuditArgs) -> Result<ExitCode, CliError> {
    if global.dir.is_some() || global.github.is_some() {
        return Err(CliError::new(
            exit::INVALID_INPUT,
            "audit reads the record branch's git history; it cannot run on --dir or --github",
        ));
    }
    let release = args
        .release
        .as_deref()
        .map(str::parse::<Release>)
        .transpose()?;
    // With --remote the write path fetches; the audit reads what it fetched.
    let ctx = args.repair.then(|| Context::open(global)).transpose()?;
    let git = open_git(global)?;
    let report = audit::audit(&git, release.as_ref(), args.since.as_deref())?;
    if let Some(release) = &release
        && report.files == 0
    {
        return Err(CliError::new(
            exit::NOT_FOUND,
            format!(
                "release {release} has no history on branch '{}'",
                git.branch()
            ),
        ));
    }
    let repairs = match &ctx {
        Some(ctx) => audit::repair(ctx.store.as_ref(), &report, &ctx.catalog, &ctx.retry)?,
        None => Vec::new(),
    };
    let left_open = !args.repair && report.open().next().is_some();
    if args.json {
        print_json(&json(&report, &repairs, git.branch()));
    } else {
        print_human(&report, &repairs, git.branch());
    }
    Ok(if left_open {
        ExitCode::from(exit::CHECK_FAILED)
    } else {
        ExitCode::SUCCESS
    })
}

fn short(commit: &str) -> &str {
    &commit[..commit.len().min(12)]
}

fn status_text(status: &LossStatus) -> String {
    match status {
        LossStatus::Open => "open".into(),
        LossStatus::Repaired { by } => format!("repaired by {}", short(by)),
        LossStatus::Restored => "put back since".into(),
        LossStatus::Superseded { by } => format!("superseded by {}", short(by)),
    }
}

fn status_name(status: &LossStatus) -> &'static str {
    match status {
        LossStatus::Open => "open",
        LossStatus::Repaired { .. } => "repaired",
        LossStatus::Restored => "restored",
        LossStatus::Superseded { .. } => "superseded",
    }
}

fn mechanism(pattern: Pattern) -> &'static str {
    match pattern {
        Pattern::StaleWrite => "stale file written without merging",
        Pattern::OlderRead => "merged an older read, dropped a newer addition",
        Pattern::StaleMerge => "merge kept a stale copy",
    }
}

/// A part's value in a few words: a task's status, an issue's state, a
/// metadata value's JSON.
fn describe(part: &Part, value: Option<&Value>) -> String {
    let Some(value) = value else {
        return "absent".into();
    };
    let field = |key: &str| value.as_map().and_then(|m| m.get(key));
    match part {
        Part::Task { .. } => field("status")
            .and_then(Value::as_str)
            .unwrap_or("?")
            .to_owned(),
        Part::Issue { .. } => match field("resolved") {
            Some(Value::Bool(true)) => "resolved".into(),
            _ => "open".into(),
        },
        Part::Metadata { .. } | Part::MetadataEntry { .. } => {
            let text = to_json(value).to_string();
            match text.char_indices().nth(60) {
                Some((cut, _)) => format!("{}...", &text[..cut]),
                None => text,
            }
        }
    }
}

fn count(report: &Report, by: impl Fn(&Loss) -> bool) -> usize {
    report.losses.iter().filter(|l| by(l)).count()
}

fn print_human(report: &Report, repairs: &[Repair], branch: &str) {
    println!(
        "branch '{branch}': {} file(s), {} commit(s) audited",
        report.files, report.commits
    );
    for bad in &report.unreadable {
        println!(
            "  {} at {}: unreadable, not judged ({})",
            bad.path,
            short(&bad.commit),
            bad.error
        );
    }
    for loss in &report.losses {
        println!(
            "{}  {}: {} from {} \"{}\" ({})",
            loss.release,
            loss.part,
            describe(&loss.part, loss.lost_value.as_ref()),
            short(&loss.lost.commit),
            loss.lost.subject,
            loss.lost.time,
        );
        println!(
            "    reverted to {} by {} \"{}\" ({}): pattern {}, {}; {}",
            describe(&loss.part, loss.rewound_to.as_ref()),
            short(&loss.reverted_by.commit),
            loss.reverted_by.subject,
            loss.reverted_by.time,
            loss.pattern.number(),
            mechanism(loss.pattern),
            status_text(&loss.status),
        );
    }
    let open = report.open().count();
    let by_pattern: Vec<String> = [Pattern::StaleWrite, Pattern::OlderRead, Pattern::StaleMerge]
        .into_iter()
        .map(|p| format!("{}: {}", p.number(), count(report, |l| l.pattern == p)))
        .collect();
    println!(
        "{} lost update(s): {open} open, {} repaired, {} put back since, {} superseded; by pattern {}",
        report.losses.len(),
        count(report, |l| matches!(l.status, LossStatus::Repaired { .. })),
        count(report, |l| l.status == LossStatus::Restored),
        count(report, |l| matches!(
            l.status,
            LossStatus::Superseded { .. }
        )),
        by_pattern.join(", "),
    );
    for repair in repairs {
        let parts: Vec<String> = repair.parts.iter().map(Part::to_string).collect();
        match &repair.commit {
            Some(commit) => println!(
                "repaired {}: {} ({})",
                repair.release,
                parts.join(", "),
                short(commit)
            ),
            None => println!(
                "{}: every part changed since the audit read it, nothing written",
                repair.release
            ),
        }
    }
    if open > 0 && repairs.is_empty() {
        println!("run `statebox audit --repair` to put the open ones back");
    }
}

fn json(report: &Report, repairs: &[Repair], branch: &str) -> serde_json::Value {
    let value = |v: Option<&Value>| v.map_or(serde_json::Value::Null, to_json);
    let losses: Vec<serde_json::Value> = report
        .losses
        .iter()
        .map(|l| {
            serde_json::json!({
                "release": l.release.to_string(),
                "part": l.part,
                "part_text": l.part.to_string(),
                "lost": { "commit": l.lost, "value": value(l.lost_value.as_ref()) },
                "reverted_by": { "commit": l.reverted_by, "value": value(l.rewound_to.as_ref()) },
                "current": value(l.current.as_ref()),
                "pattern": l.pattern.number(),
                "mechanism": l.pattern,
                "status": status_name(&l.status),
                "status_by": match &l.status {
                    LossStatus::Repaired { by } | LossStatus::Superseded { by } => Some(by),
                    _ => None,
                },
            })
        })
        .collect();
    let pattern_count = |p: Pattern| count(report, |l| l.pattern == p);
    let status_count = |name: &str| count(report, |l| status_name(&l.status) == name);
    serde_json::json!({
        "branch": branch,
        "files": report.files,
        "commits": report.commits,
        "unreadable": report.unreadable,
        "losses": losses,
        "by_pattern": {
            "1": pattern_count(Pattern::StaleWrite),
            "2": pattern_count(Pattern::OlderRead),
            "3": pattern_count(Pattern::StaleMerge),
        },
        "by_status": {
            "open": status_count("open"),
            "repaired": status_count("repaired"),
            "restored": status_count("restored"),
            "superseded": status_count("superseded"),
        },
        "repairs": repairs.iter().map(|r| serde_json::json!({
            "release": r.release.to_string(),
            "parts": r.parts.iter().map(Part::to_string).collect::<Vec<_>>(),
            "commit": r.commit,
        })).collect::<Vec<_>>(),
    })
}
