//! The live-ingest runtime: command output drives task state as it arrives,
//! from a pipe ([`Session::ingest`]) or from a child process this runtime
//! starts and tees ([`Session::run`]).
//!
//! Readers run on their own threads and hand chunks to one loop that owns
//! the scanner and the recorder, so scanning, coalescing and writing need no
//! locks, and a signal is just one more message: the loop finishes the scan
//! and writes the final state before returning. Signals themselves are the
//! caller's to catch (the library registers no handlers): it hands each one
//! in through [`SignalSender`], and gives [`Session::run`] the function that
//! forwards one to the child.

use super::record::{RecordError, Recorder};
use super::scan::{Event, ScanOptions, Scanner};
use crate::backend::Backend;
use crate::catalog::Catalog;
use crate::model::Status;
use crate::release::Release;
use crate::write::WriteError;
use std::io::{Read, Write};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, SyncSender};
use std::time::Instant;

/// Chunks in flight; a full queue makes readers wait (and the pipe with
/// them) instead of buffering without bound while a commit is written.
const QUEUE: usize = 64;
const CHUNK: usize = 64 * 1024;

enum Msg {
    Chunk(Vec<u8>),
    /// One input stream ended.
    Eof,
    Signal(i32),
    Exited(ExitStatus),
}

/// Sends a signal to a child process (by pid); the caller's, since
/// signalling is platform code the library does not carry.
pub type Forward = fn(u32, i32);

/// A child being followed, and how to signal it.
struct Child {
    pid: u32,
    forward: Forward,
}

/// Where the transitions go.
pub struct Target<'a> {
    /// The record store written to.
    pub store: &'a dyn Backend,
    /// The release whose tasks the output drives.
    pub release: Release,
    /// The tasks status lines may name.
    pub catalog: &'a Catalog,
}

/// How a session reads its input.
#[derive(Debug, Clone, Default)]
pub struct LiveOptions {
    /// The task the whole output belongs to (`--task`).
    pub task: Option<String>,
    /// A status line for a task outside the catalog is an error.
    pub strict: bool,
}

/// Why a session stopped before its input ended.
#[derive(Debug, thiserror::Error)]
pub enum LiveError {
    /// A transition could not be recorded.
    #[error(transparent)]
    Record(#[from] RecordError),
    /// The final write failed.
    #[error(transparent)]
    Write(#[from] WriteError),
    /// The command could not be started (or none was given).
    #[error("cannot run {program}: {source}")]
    Spawn {
        /// The program, empty if none was given.
        program: String,
        /// Why starting it failed.
        source: std::io::Error,
    },
}

/// How the input ended, for the exit code.
#[derive(Debug, Clone, Copy)]
pub struct Ending {
    /// The last signal handed in, if any.
    pub signal: Option<i32>,
    /// How the child exited ([`Session::run`] only).
    pub child: Option<ExitStatus>,
    /// Commits written.
    pub commits: usize,
    /// One of them created the release's state file.
    pub created_file: bool,
}

/// Hands signals the caller caught to a running session.
#[derive(Clone)]
pub struct SignalSender(SyncSender<Msg>);

impl SignalSender {
    /// False once the session is over: nobody is listening any more.
    pub fn deliver(&self, signal: i32) -> bool {
        self.0.send(Msg::Signal(signal)).is_ok()
    }
}

/// One ingest or run, from its first byte to its final write.
pub struct Session<'a> {
    target: Target<'a>,
    options: LiveOptions,
    tx: SyncSender<Msg>,
    rx: Receiver<Msg>,
}

impl<'a> Session<'a> {
    /// A session writing to `target`; nothing runs until [`ingest`](Self::ingest)
    /// or [`run`](Self::run).
    pub fn new(target: Target<'a>, options: LiveOptions) -> Self {
        let (tx, rx) = mpsc::sync_channel(QUEUE);
        Session {
            target,
            options,
            tx,
            rx,
        }
    }

    /// A handle for handing in signals; take it before [`ingest`](Self::ingest)
    /// or [`run`](Self::run), which consume the session.
    pub fn signals(&self) -> SignalSender {
        SignalSender(self.tx.clone())
    }

    /// Reads `input` to its end (or to a signal), copying it to `echo`.
    pub fn ingest(
        self,
        input: impl Read + Send + 'static,
        echo: Option<Box<dyn Write + Send>>,
    ) -> Result<Ending, LiveError> {
        let tx = self.tx.clone();
        std::thread::spawn(move || read_into(input, echo, tx));
        self.pump(1, None)
    }

    /// Starts `command` (program and arguments) and follows its output,
    /// teeing it to this process's stdout and stderr, until it exits. A
    /// signal handed in goes to the child through `forward(pid, signal)`;
    /// the child decides when it is done.
    pub fn run(self, command: &[String], forward: Forward) -> Result<Ending, LiveError> {
        let (program, rest) = command.split_first().ok_or_else(|| LiveError::Spawn {
            program: String::new(),
            source: std::io::Error::new(std::io::ErrorKind::InvalidInput, "no command given"),
        })?;
        let mut child = Command::new(program)
            .args(rest)
            .stdin(Stdio::inherit())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|source| LiveError::Spawn {
                program: program.clone(),
                source,
            })?;
        let pid = child.id();
        let out = child.stdout.take().expect("stdout is piped");
        let err = child.stderr.take().expect("stderr is piped");
        let (tx_out, tx_err, tx) = (self.tx.clone(), self.tx.clone(), self.tx.clone());
        std::thread::spawn(move || read_into(out, Some(Box::new(std::io::stdout())), tx_out));
        std::thread::spawn(move || read_into(err, Some(Box::new(std::io::stderr())), tx_err));
        std::thread::spawn(move || {
            if let Ok(status) = child.wait() {
                let _ = tx.send(Msg::Exited(status));
            }
        });
        self.pump(3, Some(Child { pid, forward }))
    }

    /// The loop: feeds chunks to the scanner, writes bursts when due, and
    /// at the end of every source (or a signal without a child) writes
    /// everything that is left.
    fn pump(self, mut sources: usize, child: Option<Child>) -> Result<Ending, LiveError> {
        let Target {
            store,
            release,
            catalog,
        } = self.target;
        let mut scanner = Scanner::new(ScanOptions {
            task: self.options.task,
            catalog: catalog.clone(),
            ..ScanOptions::default()
        });
        let mut recorder = Recorder::new(store, release, catalog, self.options.strict);
        drop(self.tx);
        let mut ending = Ending {
            signal: None,
            child: None,
            commits: 0,
            created_file: false,
        };
        let mut events = Vec::new();
        let mut failure = None;
        while sources > 0 {
            let message = match recorder.deadline() {
                Some(due) => self
                    .rx
                    .recv_timeout(due.saturating_duration_since(Instant::now())),
                None => self.rx.recv().map_err(|_| RecvTimeoutError::Disconnected),
            };
            match message {
                Ok(Msg::Chunk(bytes)) => {
                    scanner.feed(&bytes, &mut events);
                    if let Err(e) = recorder.push(events.drain(..)) {
                        failure = Some(LiveError::from(e));
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
                    match &child {
                        Some(Child { pid, forward }) => forward(*pid, signal),
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
        recorder.push(events.drain(..))?;
        recorder.flush()?;
        ending.commits = recorder.commits;
        ending.created_file = recorder.created_file;
        Ok(ending)
    }
}

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
