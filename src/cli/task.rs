//! `statebox task set|get|reset`.

use super::{CliError, Context, KeyArg, ReleaseArg, exit, print_json, report};
use clap::{Args, Subcommand};
use statebox::model::{Op, Status, Task};
use std::io::Read;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, Subcommand)]
pub enum TaskCommand {
    /// Set a task's status and result
    Set(SetArgs),
    /// Show one task
    Get(GetArgs),
    /// Remove a task's entry: it is Not Started again, without timestamps or result
    Reset(ResetArgs),
}

#[derive(Debug, Args)]
pub struct ResetArgs {
    #[command(flatten)]
    release: ReleaseArg,
    /// Task name or display name
    task: String,
    #[command(flatten)]
    key: KeyArg,
}

#[derive(Debug, Args)]
pub struct SetArgs {
    #[command(flatten)]
    release: ReleaseArg,
    /// Task name or display name (`take-ownership`, "Take Ownership")
    task: String,
    /// Not Started, In Progress, Pass or Fail [default: from the result: its last line's
    /// [Pass]/[Fail]/[In Progress], else Fail if it shows `: ERROR:`, else In Progress]
    #[arg(long)]
    status: Option<String>,
    /// The task's output
    #[arg(long, conflicts_with = "result_file")]
    result: Option<String>,
    /// Read the task's output from a file (`-` for stdin)
    #[arg(long, value_name = "FILE")]
    result_file: Option<PathBuf>,
    #[command(flatten)]
    key: KeyArg,
}

#[derive(Debug, Args)]
pub struct GetArgs {
    #[command(flatten)]
    release: ReleaseArg,
    /// Task name or display name
    task: String,
    /// Print JSON instead of the human-readable form
    #[arg(long)]
    json: bool,
}

pub fn run(ctx: &Context, command: TaskCommand) -> Result<ExitCode, CliError> {
    match command {
        TaskCommand::Set(args) => set(ctx, args),
        TaskCommand::Get(args) => get(ctx, args),
        TaskCommand::Reset(args) => {
            let release = args.release.parse()?;
            report(&ctx.write(&release, &Op::ResetTask { task: args.task }, &args.key)?);
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// Result text from a file: text only. NUL bytes mean a binary file was
/// passed by mistake; other invalid UTF-8 is replaced, as ingest does.
/// Cleaning, masking and bounding are the write path's (`Op::stored`).
fn read_result_file(path: &PathBuf) -> Result<String, CliError> {
    let shown = path.display();
    let mut bytes = Vec::new();
    let read = if path.as_os_str() == "-" {
        std::io::stdin().read_to_end(&mut bytes).map(|_| ())
    } else {
        std::fs::File::open(path)
            .and_then(|mut f| f.read_to_end(&mut bytes))
            .map(|_| ())
    };
    read.map_err(|e| {
        CliError::new(
            exit::INVALID_INPUT,
            format!("cannot read result file {shown}: {e}"),
        )
    })?;
    if let Some(offset) = memchr::memchr(0, &bytes) {
        return Err(CliError::new(
            exit::INVALID_INPUT,
            format!(
                "result file {shown} looks binary (NUL byte at offset {offset}); results are text"
            ),
        ));
    }
    match String::from_utf8(bytes) {
        Ok(text) => Ok(text),
        Err(e) => {
            tracing::warn!(
                "result file {shown} is not valid UTF-8; invalid bytes replaced with U+FFFD"
            );
            Ok(String::from_utf8_lossy(e.as_bytes()).into_owned())
        }
    }
}

fn set(ctx: &Context, args: SetArgs) -> Result<ExitCode, CliError> {
    let release = args.release.parse()?;
    let result = match (&args.result, &args.result_file) {
        (Some(text), _) => Some(text.clone()),
        (None, Some(path)) => Some(read_result_file(path)?),
        (None, None) => None,
    };
    let status = match (&args.status, &result) {
        (Some(text), _) => text
            .parse::<Status>()
            .map_err(|e| CliError::new(exit::INVALID_INPUT, e.to_string()))?,
        (None, Some(output)) => statebox::ingest::status_line::verdict_from_output(output),
        (None, None) => {
            return Err(CliError::new(
                exit::INVALID_INPUT,
                "give --status, a result (--result/--result-file), or both",
            ));
        }
    };
    let outcome = ctx.write(
        &release,
        &Op::SetTask {
            task: args.task,
            status,
            result,
        },
        &args.key,
    )?;
    report(&outcome);
    Ok(ExitCode::SUCCESS)
}

fn task_json(task: &Task) -> serde_json::Value {
    serde_json::json!({
        "name": task.name,
        "status": task.status.as_str(),
        "started_at": task.started_at,
        "completed_at": task.completed_at,
        "result": task.result,
    })
}

fn get(ctx: &Context, args: GetArgs) -> Result<ExitCode, CliError> {
    let release = args.release.parse()?;
    let state = ctx.require(&release)?;
    let name = ctx
        .catalog
        .resolve(&args.task)
        .map_or(args.task.as_str(), |e| e.name.as_str());
    let task = state.task(name).ok_or_else(|| {
        CliError::new(
            exit::NOT_FOUND,
            format!("release {release} has no task '{}'", args.task),
        )
    })?;
    if args.json {
        print_json(&task_json(task));
    } else {
        let printable = super::printable;
        println!("task:      {}", printable(&task.name));
        println!("status:    {}", task.status);
        println!(
            "started:   {}",
            printable(task.started_at.as_deref().unwrap_or("-"))
        );
        println!(
            "completed: {}",
            printable(task.completed_at.as_deref().unwrap_or("-"))
        );
        if let Some(result) = &task.result {
            println!("result:\n{}", printable(result));
        }
    }
    Ok(ExitCode::SUCCESS)
}
