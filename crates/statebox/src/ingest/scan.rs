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
//! Only tasks of the catalog get a window; a status line naming any other
//! task is reported ([`Event::UnknownTask`]) and keeps nothing, so the
//! number of open windows is bounded by the catalog, not by the input.
//! A window keeps the raw bytes that [`text::bound`] would keep of a text of
//! `result_limit` bytes: its head and its tail. What falls between is
//! replaced by one line `[... statebox: N bytes omitted ...]`, N counting the
//! input bytes left out; the lines the cut went through are left out whole,
//! so no part of a line (of a token, say, whose recognisable prefix was cut
//! off) is kept. Lines outside every window are never copied; only the
//! current line's first [`MAX_STATUS_LINE`] bytes are, to recognise a status
//! line split across chunks. Memory is therefore O(`result_limit` × catalog
//! size) whatever the input.
//!
//! The result is the kept text as it arrived (invalid UTF-8 replaced):
//! cleaning, masking and the final bound are the stored-text pipeline's job
//! on the write path ([`crate::text`]), done once.
//!
//! # Unknown status words
//! A status line whose word is not one of the four produces
//! [`Event::UnknownStatus`] for the caller to warn about and changes nothing.

use memchr::memmem::Finder;
use memchr::{memchr, memrchr};

use super::status_line::{self, ERROR_MARK, MARKER};
use crate::catalog::Catalog;
use crate::model::Status;
use crate::text;

/// A line longer than this (line break included) is never taken for a status
/// line: real ones are under 200 bytes, and the bound keeps a many-MB line
/// from being buffered whole.
pub const MAX_STATUS_LINE: usize = 4096;

/// What a scanner looks for and keeps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScanOptions {
    /// `--task`: display name or task name (`Push to CDN Staging` or
    /// `push-to-cdn-staging`) of the task the whole stream belongs to.
    pub task: Option<String>,
    /// Raw bytes kept per task result (see the module docs).
    pub result_limit: usize,
    /// The tasks whose output is kept; status lines name them by display
    /// name, task name or alias.
    pub catalog: Catalog,
}

impl Default for ScanOptions {
    fn default() -> Self {
        ScanOptions {
            task: None,
            result_limit: text::STORED_LIMIT,
            catalog: Catalog::default(),
        }
    }
}

/// A task status change to apply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transition {
    /// The catalog's name of the task.
    pub task: String,
    /// The status it changed to.
    pub status: Status,
    /// The status line's own timestamp, if it has one.
    pub timestamp: Option<String>,
    /// The task's output so far, trimmed, as it arrived: not yet cleaned
    /// or masked (the write path does that).
    pub result: String,
    /// Input bytes left out of `result` (its omission line says so too).
    pub omitted: u64,
}

/// What the scanner found in the input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A task changed status.
    Transition(Transition),
    /// A status line with a word outside the four; nothing was changed.
    UnknownStatus {
        /// The task as the line names it.
        display_name: String,
        /// The word it gave.
        status: String,
    },
    /// A status line for a task outside the catalog; nothing was kept.
    UnknownTask {
        /// The task as the line names it.
        display_name: String,
    },
}

/// Finds status lines in output fed to it in chunks of any size, and the
/// output that belongs to each task.
pub struct Scanner {
    marker: Finder<'static>,
    catalog: Catalog,
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
    /// The catalog's task name.
    key: String,
    kept: Kept,
}

struct Fallback {
    error: ErrorWatch,
    any_output: bool,
}

impl Scanner {
    /// A scanner at the start of a stream.
    pub fn new(options: ScanOptions) -> Self {
        let task_key = options.task.as_deref().map(|task| {
            options
                .catalog
                .resolve(task)
                .map_or_else(|| crate::catalog::kebab_case(task), |e| e.name.clone())
        });
        let mut scanner = Scanner {
            marker: Finder::new(MARKER.as_bytes()).into_owned(),
            catalog: options.catalog,
            task_key,
            limit: options.result_limit,
            mid_line: false,
            line: Vec::new(),
            line_overlong: false,
            windows: Vec::new(),
            fallback: None,
        };
        if let Some(key) = scanner.task_key.clone() {
            scanner.windows.push(Window {
                key,
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
    pub fn finish(self, events: &mut Vec<Event>) {
        self.end(None, events);
    }

    /// [`Scanner::finish`] for the output of a command that exited
    /// (`succeeded`: with code 0): if the `--task` task had no status line,
    /// the exit code decides it, Pass or Fail, not the output.
    pub fn finish_after_exit(self, succeeded: bool, events: &mut Vec<Event>) {
        self.end(Some(succeeded), events);
    }

    fn end(mut self, exit_succeeded: Option<bool>, events: &mut Vec<Event>) {
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
            let status = if let Some(succeeded) = exit_succeeded {
                if succeeded {
                    Status::Pass
                } else {
                    Status::Fail
                }
            } else if fallback.error.seen {
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
        let line = text::clean(raw);
        let Some(parsed) = status_line::parse(line.trim_end()) else {
            return;
        };
        let Ok(status) = parsed.status.parse::<Status>() else {
            events.push(Event::UnknownStatus {
                display_name: parsed.display_name.to_owned(),
                status: parsed.status.to_owned(),
            });
            return;
        };
        let context = self.task_key.as_deref();
        let Some(entry) = self
            .catalog
            .resolve_in_context(parsed.display_name, context)
        else {
            events.push(Event::UnknownTask {
                display_name: parsed.display_name.to_owned(),
            });
            return;
        };
        let key = entry.name.clone();
        if self.task_key.as_ref() == Some(&key) {
            self.fallback = None;
        }
        let timestamp = parsed.timestamp.map(str::to_owned);
        let index = match self.windows.iter().position(|w| w.key == key) {
            Some(index) => index,
            None => {
                let mut kept = Kept::new(self.limit);
                kept.push(raw);
                self.windows.push(Window { key, kept });
                self.windows.len() - 1
            }
        };
        let transition = self.windows[index].transition(status, timestamp);
        if status != Status::InProgress {
            self.windows.remove(index);
        }
        events.push(Event::Transition(transition));
    }
}

impl Window {
    fn transition(&self, status: Status, timestamp: Option<String>) -> Transition {
        let (result, omitted) = self.kept.render();
        Transition {
            task: self.key.clone(),
            status,
            timestamp,
            result,
            omitted,
        }
    }
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
    /// Whether the last byte dropped was a line break, i.e. whether the
    /// tail starts at a line start.
    dropped_line_end: bool,
}

impl Kept {
    fn new(limit: usize) -> Self {
        let (head_cap, tail_cap) = text::head_and_tail(limit);
        Kept {
            head: Vec::new(),
            head_cap,
            tail: Vec::new(),
            tail_cap,
            omitted: 0,
            dropped_line_end: false,
        }
    }

    fn push(&mut self, mut bytes: &[u8]) {
        if self.head.len() < self.head_cap {
            let take = bytes.len().min(self.head_cap - self.head.len());
            self.head.extend_from_slice(&bytes[..take]);
            bytes = &bytes[take..];
        }
        if bytes.is_empty() {
            return;
        }
        if bytes.len() >= self.tail_cap {
            let cut = bytes.len() - self.tail_cap;
            self.omitted += (self.tail.len() + cut) as u64;
            self.dropped_line_end = match cut {
                0 => self
                    .tail
                    .last()
                    .map_or(self.dropped_line_end, |&b| b == b'\n'),
                _ => bytes[cut - 1] == b'\n',
            };
            self.tail.clear();
            self.tail.extend_from_slice(&bytes[cut..]);
            return;
        }
        self.tail.extend_from_slice(bytes);
        if self.tail.len() > 2 * self.tail_cap {
            let excess = self.tail.len() - self.tail_cap;
            self.dropped_line_end = self.tail[excess - 1] == b'\n';
            self.tail.drain(..excess);
            self.omitted += excess as u64;
        }
    }

    /// The kept text and how many input bytes it leaves out.
    fn render(&self) -> (String, u64) {
        let excess = self.tail.len().saturating_sub(self.tail_cap);
        let tail = &self.tail[excess..];
        let omitted = self.omitted + excess as u64;
        if omitted == 0 {
            let mut raw = Vec::with_capacity(self.head.len() + tail.len());
            raw.extend_from_slice(&self.head);
            raw.extend_from_slice(tail);
            return (utf8_or_lossy(&raw).trim().to_owned(), 0);
        }
        let starts_line = match excess {
            0 => self.dropped_line_end,
            _ => self.tail[excess - 1] == b'\n',
        };
        // Whole lines only: the lines the cuts went through are left out.
        let head_end = memrchr(b'\n', &self.head).map_or(0, |i| i + 1);
        let tail_start = match starts_line {
            true => 0,
            false => memchr(b'\n', tail).map_or(tail.len(), |i| i + 1),
        };
        let omitted = omitted + (self.head.len() - head_end + tail_start) as u64;
        let head = utf8_or_lossy(&self.head[..head_end]);
        let tail = utf8_or_lossy(&tail[tail_start..]);
        let (head, tail) = (head.trim_start(), tail.trim_end());
        let mut text = String::with_capacity(head.len() + 64 + tail.len());
        text.push_str(head);
        text.push_str(&text::omission_marker(omitted));
        if !tail.is_empty() {
            text.push('\n');
            text.push_str(tail);
        }
        (text, omitted)
    }
}

/// The text of `bytes`, valid UTF-8 checked first: std's validation
/// passes ASCII a word at a time, where the lossy decoder walks each
/// chunk (8% of a dense ingest, rendering every transition's output).
fn utf8_or_lossy(bytes: &[u8]) -> std::borrow::Cow<'_, str> {
    match std::str::from_utf8(bytes) {
        Ok(text) => std::borrow::Cow::Borrowed(text),
        Err(_) => String::from_utf8_lossy(bytes),
    }
}
