//! `statebox ingest` (a pipe) and `statebox run` (a wrapper): command output
//! drives task state as it arrives. The runtime is the library's
//! (`statebox::ingest::live`); this module parses the arguments, catches
//! the signals and turns the ending into an exit code.

use super::{CliError, Context, ReleaseArg, exit};
use clap::Args;
use signal_hook::consts::{SIGINT, SIGTERM};
use statebox::ingest::RecordError;
use statebox::ingest::live::{Ending, LiveError, LiveOptions, Session, SignalSender, Target};
use std::io::Write;
use std::process::ExitCode;

#[derive(Debug, Args)]
pub struct IngestArgs {
    #[command(flatten)]
    release: ReleaseArg,
    /// The task the whole output belongs to; without a status line for it,
    /// its status at the end is Fail if the output shows `: ERROR:`, else In
    /// Progress (Pass if there was no output)
    #[arg(long)]
    task: Option<String>,
    /// Pass every input byte through to stdout unchanged
    #[arg(long)]
    tee: bool,
    /// A status line for a task outside the catalog is an error
    #[arg(long)]
    strict: bool,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    #[command(flatten)]
    release: ReleaseArg,
    /// The task the command's output belongs to; without a status line for
    /// it, the command's exit code decides: 0 is Pass, anything else Fail
    #[arg(long)]
    task: Option<String>,
    /// A status line for a task outside the catalog is an error
    #[arg(long)]
    strict: bool,
    /// The command and its arguments, after `--`
    #[arg(last = true, required = true, value_name = "COMMAND")]
    command: Vec<String>,
}

/// Catches SIGINT and SIGTERM for the session: the library registers no
/// signal handlers of its own.
fn watch_signals(signals: SignalSender) -> Result<(), CliError> {
    let mut caught = signal_hook::iterator::Signals::new([SIGINT, SIGTERM])
        .map_err(|e| CliError::new(exit::ENVIRONMENT, format!("cannot watch signals: {e}")))?;
    std::thread::spawn(move || {
        for signal in caught.forever() {
            if !signals.deliver(signal) {
                return;
            }
        }
    });
    Ok(())
}

/// Sends `signal` to the child `pid` that `run` started.
fn forward_signal(pid: u32, signal: i32) {
    // SAFETY: kill(2) takes plain integers and touches no memory of ours,
    // so it cannot break Rust's guarantees. `pid` is the session's child;
    // the session reaps it only on its waiter thread, whose message ends
    // the loop that calls this, so only in the instant between that reap
    // and its message could the pid name a reused process.
    unsafe {
        libc::kill(pid as libc::pid_t, signal);
    }
}

fn live_error(e: LiveError) -> CliError {
    match e {
        LiveError::Record(RecordError::UnknownTask { .. }) => {
            CliError::new(exit::INVALID_INPUT, e.to_string())
        }
        LiveError::Record(RecordError::Write(e)) | LiveError::Write(e) => e.into(),
        LiveError::Spawn { .. } => CliError::new(exit::CANNOT_RUN, e.to_string()),
    }
}

fn check_task(ctx: &Context, task: &Option<String>) -> Result<(), CliError> {
    match task {
        Some(name) if ctx.catalog.resolve(name).is_none() => {
            Err(statebox::model::OpError::unknown_task(&ctx.catalog, name).into())
        }
        _ => Ok(()),
    }
}

fn session<'a>(
    ctx: &'a Context,
    release: &ReleaseArg,
    task: Option<String>,
    strict: bool,
) -> Result<Session<'a>, CliError> {
    let release = release.parse()?;
    check_task(ctx, &task)?;
    let target = Target {
        store: ctx.store.as_ref(),
        release,
        catalog: &ctx.catalog,
    };
    let session = Session::new(target, LiveOptions { task, strict });
    watch_signals(session.signals())?;
    Ok(session)
}

fn written(ending: &Ending, release: &ReleaseArg) {
    tracing::info!("{} commit(s) written", ending.commits);
    if ending.created_file {
        super::note_created(&release.release);
    }
}

pub fn ingest(ctx: &Context, args: IngestArgs) -> Result<ExitCode, CliError> {
    let session = session(ctx, &args.release, args.task, args.strict)?;
    let echo: Option<Box<dyn Write + Send>> = args.tee.then(|| Box::new(std::io::stdout()) as _);
    let ending = session.ingest(std::io::stdin(), echo).map_err(live_error)?;
    written(&ending, &args.release);
    Ok(match ending.signal {
        Some(signal) => ExitCode::from(128 + signal as u8),
        None => ExitCode::SUCCESS,
    })
}

pub fn run(ctx: &Context, args: RunArgs) -> Result<ExitCode, CliError> {
    use std::os::unix::process::ExitStatusExt;
    let session = session(ctx, &args.release, args.task, args.strict)?;
    let ending = session
        .run(&args.command, forward_signal)
        .map_err(live_error)?;
    written(&ending, &args.release);
    let status = ending.child.expect("a run ends after its child exits");
    Ok(match (status.code(), status.signal()) {
        (Some(code), _) => ExitCode::from(code as u8),
        (None, Some(signal)) => ExitCode::from(128 + signal as u8),
        _ => ExitCode::FAILURE,
    })
}
