//! A push-based streaming scanner: bytes in as they arrive, task transitions
//! out as soon as each status line is complete.
//!
//! # Which output belongs to which task
//! A task's *window* opens at its `In Progress` status line and closes at
//! its next `Pass`, `Fail` or `Not Started` line; its result is every byte of
//! the stream between the two, both status lines included. When several
//! windows are open at once (interleaved tasks), each line goes to *every*
//! open window. The stream carries no attribution for ordinary lines, so
//! position is the only honest rule: guessing an owner (say, the most recently
//! started task) would silently drop lines from the record of the task that
//! printed them, while duplication costs at most `result_limit` per window.
//!
//! With `--task NAME` the named task's window is open from the first byte,
//! like the original, which stored a command's whole output; an `In Progress`
//! line for it keeps that window rather than starting another. A final
//! status line for a task without an open window has that line as result.
//!
//! # Bounds
//! A window keeps the first quarter of `result_limit` raw bytes and the last
//! three quarters; what falls between is replaced by one line
//! `[... statebox: N bytes omitted ...]`. The cut is moved to whitespace on
//! both sides, so it never splits a word: a split token could be a secret
//! whose recognisable prefix was cut off. Lines outside every window are never
//! copied; only the current line's first [`MAX_STATUS_LINE`] bytes are, to
//! recognise a status line split across chunks. Memory is therefore
//! O(`result_limit` × open windows) whatever the input. Cleaning (ANSI, CRLF,
//! UTF-8) and masking run on the kept bytes only, when a transition is made.
//!
//! # Unknown status words
//! A status line whose word is not one of the four produces
//! [`Event::UnknownStatus`] for the caller to warn about and changes nothing.

use memchr::memmem::Finder;
use memchr::{memchr, memrchr};

use super::clean::clean;
use super::mask::mask;
use super::status_line::{self, ERROR_MARK, MARKER};
use crate::model::Status;

/// Default bound on a task's kept output, in raw bytes.
pub const DEFAULT_RESULT_LIMIT: usize = 64 * 1024;

/// A line longer than this (line break included) is never taken for a status
/// line: real ones are under 200 bytes, and the bound keeps a many-MB line
/// from being buffered whole.
pub const MAX_STATUS_LINE: usize = 4096;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScanOptions {
    /// `--task`: display name or task name (`Push to CDN Staging` or
    /// `push-to-cdn-staging`) of the task the whole stream belongs to.
    pub task: Option<String>,
    /// Raw bytes kept per task result (see the module docs). The stored
    /// text can be longer than the bytes kept: the omission line, masks
    /// longer than what they replace, and U+FFFD (3 bytes) per invalid byte.
    pub result_limit: usize,
}

impl Default for ScanOptions {
    fn default() -> Self {
        ScanOptions {
            task: None,
            result_limit: DEFAULT_RESULT_LIMIT,
        }
    }
}

/// A task status change to apply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transition {
    /// As written in the status line (or as given with `--task`).
    pub display_name: String,
    pub status: Status,
    /// The status line's own timestamp, if it has one.
    pub timestamp: Option<String>,
    /// The task's output so far: cleaned, masked, bounded, trimmed.
    pub result: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    Transition(Transition),
    /// A status line with a word outside the four; nothing was changed.
    UnknownStatus {
        display_name: String,
        status: String,
    },
}

pub struct Scanner {
    marker: Finder<'static>,
    task_key: Option<String>,
    limit: usize,
    /// Whether the previous chunk ended inside a line.
    mid_line: bool,
    /// The current line's bytes so far, while it can still be a status line.
    line: Vec<u8>,
    line_overlong: bool,
    windows: Vec<Window>,
    /// The `--task` fallback, while no status line for that task was seen.
    fallback: Option<Fallback>,
}

struct Window {
    key: String,
    display_name: String,
    kept: Kept,
}

struct Fallback {
    error: ErrorWatch,
    any_output: bool,
}

impl Scanner {
    pub fn new(options: ScanOptions) -> Self {
        let mut scanner = Scanner {
            marker: Finder::new(MARKER.as_bytes()).into_owned(),
            task_key: options.task.as_deref().map(task_key),
            limit: options.result_limit,
            mid_line: false,
            line: Vec::new(),
            line_overlong: false,
            windows: Vec::new(),
            fallback: None,
        };
        if let Some(task) = options.task {
            scanner.windows.push(Window {
                key: task_key(&task),
                display_name: task,
                kept: Kept::new(scanner.limit),
            });
            scanner.fallback = Some(Fallback {
                error: ErrorWatch::new(),
                any_output: false,
            });
        }
        scanner
    }

    /// Consumes the next piece of the stream; chunks may split anything.
    pub fn feed(&mut self, mut chunk: &[u8], events: &mut Vec<Event>) {
        if self.mid_line {
            let Some(nl) = memchr(b'\n', chunk) else {
                self.route(chunk);
                self.push_line(chunk);
                return;
            };
            let (end_of_line, rest) = chunk.split_at(nl + 1);
            self.route(end_of_line);
            self.push_line(end_of_line);
            self.end_line(events);
            chunk = rest;
        }
        // From here `chunk` starts at a line start. Ordinary lines cost one
        // substring search; only lines holding the marker are looked at.
        let complete_len = memrchr(b'\n', chunk).map_or(0, |i| i + 1);
        let (complete, partial) = chunk.split_at(complete_len);
        let mut pos = 0;
        while let Some(found) = self.marker.find(&complete[pos..]) {
            let hit = pos + found;
            let start = memrchr(b'\n', &complete[pos..hit]).map_or(pos, |i| pos + i + 1);
            let end = hit + memchr(b'\n', &complete[hit..]).expect("complete ends with \\n") + 1;
            self.route(&complete[pos..end]);
            self.on_line(&complete[start..end], events);
            pos = end;
        }
        self.route(&complete[pos..]);
        if !partial.is_empty() {
            self.route(partial);
            self.push_line(partial);
        }
    }

    /// End of stream: a last line without a line break still counts; then
    /// the `--task` fallback, then every task still in progress gets its
    /// output up to EOF (its result at the `In Progress` line was only that
    /// line).
    pub fn finish(mut self, events: &mut Vec<Event>) {
        if self.mid_line {
            self.end_line(events);
        }
        if let Some(fallback) = self.fallback.take() {
            let index = self
                .windows
                .iter()
                .position(|w| Some(&w.key) == self.task_key.as_ref());
            let window = self.windows.remove(
                index.expect("the --task window stays open until its task has a status line"),
            );
            let status = if fallback.error.seen {
                Status::Fail
            } else if fallback.any_output {
                Status::InProgress
            } else {
                Status::Pass
            };
            events.push(Event::Transition(window.transition(status, None)));
        }
        for window in &self.windows {
            events.push(Event::Transition(
                window.transition(Status::InProgress, None),
            ));
        }
    }

    /// Appends stream bytes to every open window.
    fn route(&mut self, bytes: &[u8]) {
        for window in &mut self.windows {
            window.kept.push(bytes);
        }
        if let Some(fallback) = &mut self.fallback {
            fallback.error.feed(bytes);
            if !fallback.any_output {
                fallback.any_output = bytes.iter().any(|b| !b.is_ascii_whitespace());
            }
        }
    }

    fn push_line(&mut self, bytes: &[u8]) {
        self.mid_line = true;
        if self.line_overlong {
            return;
        }
        if self.line.len() + bytes.len() > MAX_STATUS_LINE {
            self.line_overlong = true;
            self.line.clear();
        } else {
            self.line.extend_from_slice(bytes);
        }
    }

    fn end_line(&mut self, events: &mut Vec<Event>) {
        let line = std::mem::take(&mut self.line);
        if !self.line_overlong && self.marker.find(&line).is_some() {
            self.on_line(&line, events);
        }
        self.line = line;
        self.line.clear();
        self.line_overlong = false;
        self.mid_line = false;
    }

    /// A complete line holding the marker; it has already been routed.
    fn on_line(&mut self, raw: &[u8], events: &mut Vec<Event>) {
        if raw.len() > MAX_STATUS_LINE {
            return;
        }
        let text = clean(raw);
        let Some(parsed) = status_line::parse(text.trim_end()) else {
            return;
        };
        let Ok(status) = parsed.status.parse::<Status>() else {
            events.push(Event::UnknownStatus {
                display_name: parsed.display_name.to_owned(),
                status: parsed.status.to_owned(),
            });
            return;
        };
        let key = task_key(parsed.display_name);
        if self.task_key.as_ref() == Some(&key) {
            self.fallback = None;
        }
        let timestamp = parsed.timestamp.map(str::to_owned);
        let index = match self.windows.iter().position(|w| w.key == key) {
            Some(index) => index,
            None => {
                let mut kept = Kept::new(self.limit);
                kept.push(raw);
                self.windows.push(Window {
                    key,
                    display_name: String::new(),
                    kept,
                });
                self.windows.len() - 1
            }
        };
        self.windows[index].display_name = parsed.display_name.to_owned();
        let transition = self.windows[index].transition(status, timestamp);
        if status != Status::InProgress {
            self.windows.remove(index);
        }
        events.push(Event::Transition(transition));
    }
}

impl Window {
    fn transition(&self, status: Status, timestamp: Option<String>) -> Transition {
        Transition {
            display_name: self.display_name.clone(),
            status,
            timestamp,
            result: self.kept.render(),
        }
    }
}

/// Task names compare in kebab case, so `--task push-to-cdn-staging` and a
/// line naming `Push to CDN Staging` mean the same task.
fn task_key(name: &str) -> String {
    crate::catalog::kebab_case(name)
}

/// Watches a byte stream for `: ERROR:`, also across chunk boundaries.
struct ErrorWatch {
    finder: Finder<'static>,
    /// The last bytes seen, short of a whole mark.
    carry: Vec<u8>,
    seen: bool,
}

impl ErrorWatch {
    fn new() -> Self {
        ErrorWatch {
            finder: Finder::new(ERROR_MARK.as_bytes()).into_owned(),
            carry: Vec::with_capacity(2 * ERROR_MARK.len()),
            seen: false,
        }
    }

    fn feed(&mut self, bytes: &[u8]) {
        if self.seen || bytes.is_empty() {
            return;
        }
        let keep = ERROR_MARK.len() - 1;
        // A mark split by the boundary lies within `keep` bytes either side.
        self.carry
            .extend_from_slice(&bytes[..bytes.len().min(keep)]);
        if self.finder.find(&self.carry).is_some() || self.finder.find(bytes).is_some() {
            self.seen = true;
            return;
        }
        // Keep the last `keep` bytes of the stream.
        if bytes.len() >= keep {
            self.carry.clear();
            self.carry.extend_from_slice(&bytes[bytes.len() - keep..]);
        } else {
            let surplus = self.carry.len().saturating_sub(keep);
            self.carry.drain(..surplus);
        }
    }
}

/// The kept part of one window: a head and a tail of raw bytes.
struct Kept {
    head: Vec<u8>,
    head_cap: usize,
    /// Grows to twice `tail_cap` before its front is dropped, so that
    /// trimming costs amortised O(1) per byte.
    tail: Vec<u8>,
    tail_cap: usize,
    /// Bytes dropped from the front of `tail`.
    omitted: u64,
}

impl Kept {
    fn new(limit: usize) -> Self {
        let head_cap = limit / 4;
        Kept {
            head: Vec::new(),
            head_cap,
            tail: Vec::new(),
            tail_cap: limit - head_cap,
            omitted: 0,
        }
    }

    fn push(&mut self, mut bytes: &[u8]) {
        if self.head.len() < self.head_cap {
            let take = bytes.len().min(self.head_cap - self.head.len());
            self.head.extend_from_slice(&bytes[..take]);
            bytes = &bytes[take..];
        }
        if bytes.len() >= self.tail_cap {
            self.omitted += (self.tail.len() + bytes.len() - self.tail_cap) as u64;
            self.tail.clear();
            self.tail
                .extend_from_slice(&bytes[bytes.len() - self.tail_cap..]);
            return;
        }
        self.tail.extend_from_slice(bytes);
        if self.tail.len() > 2 * self.tail_cap {
            let excess = self.tail.len() - self.tail_cap;
            self.tail.drain(..excess);
            self.omitted += excess as u64;
        }
    }

    fn render(&self) -> String {
        let excess = self.tail.len().saturating_sub(self.tail_cap);
        let tail = &self.tail[excess..];
        let omitted = self.omitted + excess as u64;
        if omitted == 0 {
            let mut raw = Vec::with_capacity(self.head.len() + tail.len());
            raw.extend_from_slice(&self.head);
            raw.extend_from_slice(tail);
            return mask(&clean(&raw)).trim().to_owned();
        }
        let head_end = self.head.iter().rposition(is_space).map_or(0, |i| i + 1);
        let tail_start = tail.iter().position(is_space).map_or(tail.len(), |i| i + 1);
        let omitted = omitted + (self.head.len() - head_end + tail_start) as u64;
        // Masked apart: a secret cut by the omission must be recognised from
        // the half that is kept (see mask's rules for cut private keys).
        let head = mask(&clean(&self.head[..head_end])).trim().to_owned();
        let tail = mask(&clean(&tail[tail_start..])).trim().to_owned();
        let mut text = head;
        if !text.is_empty() {
            text.push('\n');
        }
        text.push_str(&crate::model::omission_marker(omitted));
        if !tail.is_empty() {
            text.push('\n');
            text.push_str(&tail);
        }
        text
    }
}

fn is_space(b: &u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n')
}
