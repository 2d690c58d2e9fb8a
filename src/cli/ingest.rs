//! `statebox ingest` (a pipe) and `statebox run` (a wrapper): command output
//! drives task state as it arrives.
//!
//! Readers run on their own threads and hand chunks to one loop that owns
//! the scanner and the recorder, so scanning, coalescing and writing need no
//! locks, and a signal is just one more message: the loop finishes the scan
//! and writes the final state before the process exits.

use super::{CliError, Context, ReleaseArg, exit};
use clap::Args;
use signal_hook::consts::{SIGINT, SIGTERM};
use statebox::ingest::{Event, RecordError, Recorder, ScanOptions, Scanner};
use statebox::model::Status;
use std::io::{Read, Write};
use std::process::{Command, ExitCode, ExitStatus, Stdio};
use std::sync::mpsc::{self, RecvTimeoutError, SyncSender};
use std::time::Instant;

#[derive(Debug, Args)]
pub struct IngestArgs {
    #[command(flatten)]
    release: ReleaseArg,
    /// The task the whole output belongs to; without a status line for it,
    /// the original's fallback decides its status at the end
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
    /// The task the command's output belongs to
    #[arg(long)]
    task: Option<String>,
    /// A status line for a task outside the catalog is an error
    #[arg(long)]
    strict: bool,
    /// The command and its arguments, after `--`
    #[arg(last = true, required = true, value_name = "COMMAND")]
    command: Vec<String>,
}

enum Msg {
    Chunk(Vec<u8>),
    /// One input stream ended.
    Eof,
    Signal(i32),
    Exited(ExitStatus),
}

/// Chunks in flight; a full queue makes readers wait (and the pipe with
/// them) instead of buffering without bound while a commit is written.
const QUEUE: usize = 64;
const CHUNK: usize = 64 * 1024;

/// Copies `input` to `echo` (if any) and to the loop, in chunks that end at
/// a line break where possible, so lines from stdout and stderr of one
/// child do not interleave mid-line.
fn read_into(mut input: impl Read, mut echo: Option<Box<dyn Write + Send>>, tx: SyncSender<Msg>) {
    let mut buffer = vec![0u8; CHUNK];
    let mut carry: Vec<u8> = Vec::new();
    loop {
        let n = match input.read(&mut buffer) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => {
                tracing::warn!("reading input: {e}");
                break;
            }
        };
        let bytes = &buffer[..n];
        if let Some(out) = echo.as_mut()
            && out.write_all(bytes).and_then(|_| out.flush()).is_err()
        {
            echo = None; // the reader of our output went away; keep recording
        }
        carry.extend_from_slice(bytes);
        let cut = match memchr::memrchr(b'\n', &carry) {
            Some(i) => i + 1,
            None if carry.len() >= CHUNK => carry.len(),
            None => continue,
        };
        let rest = carry.split_off(cut);
        if tx
            .send(Msg::Chunk(std::mem::replace(&mut carry, rest)))
            .is_err()
        {
            return;
        }
    }
    if !carry.is_empty() {
        let _ = tx.send(Msg::Chunk(carry));
    }
    let _ = tx.send(Msg::Eof);
}

fn watch_signals(tx: SyncSender<Msg>) -> Result<(), CliError> {
    let mut signals = signal_hook::iterator::Signals::new([SIGINT, SIGTERM])
        .map_err(|e| CliError::new(exit::ENVIRONMENT, format!("cannot watch signals: {e}")))?;
    std::thread::spawn(move || {
        for signal in signals.forever() {
            if tx.send(Msg::Signal(signal)).is_err() {
                return;
            }
        }
    });
    Ok(())
}

/// How the input ended, for the exit code and the last transitions.
struct Ending {
    signal: Option<i32>,
    child: Option<ExitStatus>,
}

fn record_error(e: RecordError) -> CliError {
    match e {
        RecordError::UnknownTask { .. } => CliError::new(exit::INVALID_INPUT, e.to_string()),
        RecordError::Write(e) => e.into(),
    }
}

/// The loop: feeds chunks to the scanner, writes bursts when due, and on the
/// end of input (or a signal) writes everything that is left.
fn pump(
    ctx: &Context,
    release: statebox::release::Release,
    task: Option<String>,
    strict: bool,
    rx: mpsc::Receiver<Msg>,
    mut sources: usize,
    child: Option<u32>,
) -> Result<Ending, CliError> {
    let mut scanner = Scanner::new(ScanOptions {
        task,
        catalog: ctx.catalog.clone(),
        ..ScanOptions::default()
    });
    let mut recorder = Recorder::new(ctx.store.as_ref(), release, &ctx.catalog, strict);
    let mut ending = Ending {
        signal: None,
        child: None,
    };
    let mut events = Vec::new();
    let mut failure = None;
    while sources > 0 {
        let message = match recorder.deadline() {
            Some(due) => rx.recv_timeout(due.saturating_duration_since(Instant::now())),
            None => rx.recv().map_err(|_| RecvTimeoutError::Disconnected),
        };
        match message {
            Ok(Msg::Chunk(bytes)) => {
                scanner.feed(&bytes, &mut events);
                if let Err(e) = recorder.push(events.drain(..)) {
                    failure = Some(record_error(e));
                    break;
                }
            }
            Ok(Msg::Eof) => sources -= 1,
            Ok(Msg::Exited(status)) => {
                ending.child = Some(status);
                sources -= 1;
            }
            Ok(Msg::Signal(signal)) => {
                ending.signal = Some(signal);
                match child {
                    // The child decides when it is done; its output still counts.
                    // SAFETY: kill(2) takes plain integers and touches no
                    // memory of ours, so it cannot break Rust's guarantees.
                    // `pid` is our child; it is reaped only by the waiter
                    // thread, whose Exited message ends this loop, so only in
                    // the instant between that reap and its message could
                    // the pid name a reused process.
                    Some(pid) => unsafe {
                        libc::kill(pid as libc::pid_t, signal);
                    },
                    None => break,
                }
            }
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => break,
        }
        if recorder.deadline().is_some_and(|due| due <= Instant::now())
            && let Err(e) = recorder.flush()
        {
            failure = Some(e.into());
            break;
        }
    }
    if let Some(failure) = failure {
        // Whatever was scanned before the failure is still written if it can be.
        let _ = recorder.flush();
        return Err(failure);
    }
    match ending.child {
        Some(status) => scanner.finish_after_exit(status.success(), &mut events),
        None => scanner.finish(&mut events),
    }
    if let Some(status) = ending.child.filter(|s| !s.success()) {
        mark_failed(&mut events, status);
    }
    recorder.push(events.drain(..)).map_err(record_error)?;
    recorder.flush()?;
    tracing::info!("{} commit(s) written", recorder.commits);
    Ok(ending)
}

/// A child that failed before reporting a final status fails the tasks it
/// left open, with the reason at the end of their result.
fn mark_failed(events: &mut [Event], status: ExitStatus) {
    use std::os::unix::process::ExitStatusExt;
    let reason = match (status.code(), status.signal()) {
        (Some(code), _) => format!("[statebox: command exited with code {code}]"),
        (None, Some(signal)) => format!("[statebox: command killed by signal {signal}]"),
        _ => "[statebox: command failed]".to_owned(),
    };
    for event in events {
        if let Event::Transition(t) = event {
            t.status = Status::Fail;
            t.result = if t.result.is_empty() {
                reason.clone()
            } else {
                format!("{}\n{reason}", t.result)
            };
        }
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

pub fn ingest(ctx: &Context, args: IngestArgs) -> Result<ExitCode, CliError> {
    let release = args.release.parse()?;
    check_task(ctx, &args.task)?;
    let (tx, rx) = mpsc::sync_channel(QUEUE);
    watch_signals(tx.clone())?;
    let echo: Option<Box<dyn Write + Send>> = args.tee.then(|| Box::new(std::io::stdout()) as _);
    std::thread::spawn(move || read_into(std::io::stdin(), echo, tx));
    let ending = pump(ctx, release, args.task, args.strict, rx, 1, None)?;
    Ok(match ending.signal {
        Some(signal) => ExitCode::from(128 + signal as u8),
        None => ExitCode::SUCCESS,
    })
}

pub fn run(ctx: &Context, args: RunArgs) -> Result<ExitCode, CliError> {
    use std::os::unix::process::ExitStatusExt;
    let release = args.release.parse()?;
    check_task(ctx, &args.task)?;
    let (program, rest) = args.command.split_first().expect("clap requires a command");
    let mut child = Command::new(program)
        .args(rest)
        .stdin(Stdio::inherit())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| CliError::new(exit::CANNOT_RUN, format!("cannot run {program}: {e}")))?;
    let pid = child.id();
    let (tx, rx) = mpsc::sync_channel(QUEUE);
    watch_signals(tx.clone())?;
    let (out, err) = (
        child.stdout.take().expect("piped"),
        child.stderr.take().expect("piped"),
    );
    let (tx_out, tx_err) = (tx.clone(), tx.clone());
    std::thread::spawn(move || read_into(out, Some(Box::new(std::io::stdout())), tx_out));
    std::thread::spawn(move || read_into(err, Some(Box::new(std::io::stderr())), tx_err));
    std::thread::spawn(move || {
        if let Ok(status) = child.wait() {
            let _ = tx.send(Msg::Exited(status));
        }
    });
    let ending = pump(ctx, release, args.task, args.strict, rx, 3, Some(pid))?;
    let status = ending.child.expect("the loop ends after the child exits");
    Ok(match (status.code(), status.signal()) {
        (Some(code), _) => ExitCode::from(code as u8),
        (None, Some(signal)) => ExitCode::from(128 + signal as u8),
        _ => ExitCode::FAILURE,
    })
}
