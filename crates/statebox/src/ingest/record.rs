//! Applying scanned transitions to a store.
//!
//! One commit per status transition, not per line, and a burst of
//! transitions that arrive within `coalesce` of the first is written as one
//! commit (`Op::Batch`), so a job that flips five tasks at once makes one
//! commit while a person watching `statebox status` still sees a task go
//! In Progress within a fraction of a second.

use super::scan::{Event, Transition};
use crate::backend::Backend;
use crate::catalog::Catalog;
use crate::model::Op;
use crate::release::Release;
use crate::write::{self, RetryPolicy, WriteError};
use std::collections::HashSet;
use std::time::{Duration, Instant};

/// How long a burst of transitions may gather before it is written.
pub const COALESCE: Duration = Duration::from_millis(150);

/// Why transitions could not be recorded.
#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    /// In strict mode, a status line named a task outside the catalog.
    #[error("status line names task [{display_name}], which is not in the task catalog")]
    UnknownTask {
        /// The task as the status line names it.
        display_name: String,
    },
    /// Writing a burst failed.
    #[error(transparent)]
    Write(#[from] WriteError),
}

/// Writes scanned transitions to one release, a burst at a time.
pub struct Recorder<'a> {
    store: &'a dyn Backend,
    release: Release,
    catalog: &'a Catalog,
    retry: RetryPolicy,
    strict: bool,
    pending: Vec<Op>,
    burst_started: Option<Instant>,
    warned: HashSet<String>,
    /// Commits made so far.
    pub commits: usize,
    /// Whether one of them created the release's state file (no `init`
    /// came first), which the user should hear of: a mistyped release
    /// would otherwise pass unnoticed.
    pub created_file: bool,
}

impl<'a> Recorder<'a> {
    /// A recorder for `release`; `strict` makes a task outside `catalog` an
    /// error instead of a warning.
    pub fn new(
        store: &'a dyn Backend,
        release: Release,
        catalog: &'a Catalog,
        strict: bool,
    ) -> Self {
        Recorder {
            store,
            release,
            catalog,
            retry: RetryPolicy::default(),
            strict,
            pending: Vec::new(),
            burst_started: None,
            warned: HashSet::new(),
            commits: 0,
            created_file: false,
        }
    }

    /// Queues the transitions among `events`. Unknown status words and tasks
    /// outside the catalog are warned about once each; with `strict` an
    /// unknown task is an error.
    pub fn push(&mut self, events: impl IntoIterator<Item = Event>) -> Result<(), RecordError> {
        for event in events {
            match event {
                Event::Transition(t) => self.queue(t),
                Event::UnknownStatus {
                    display_name,
                    status,
                } => {
                    if self.warned.insert(format!("{display_name}\0{status}")) {
                        tracing::warn!("task [{display_name}]: ignoring unknown status [{status}]");
                    }
                }
                Event::UnknownTask { display_name } => {
                    if self.strict {
                        return Err(RecordError::UnknownTask { display_name });
                    }
                    if self.warned.insert(display_name.clone()) {
                        tracing::warn!(
                            "task [{display_name}] is not in the task catalog; its status lines are ignored"
                        );
                    }
                }
            }
        }
        Ok(())
    }

    fn queue(&mut self, transition: Transition) {
        if transition.omitted > 0 {
            tracing::warn!(
                "task {}: {} bytes of its output omitted from the result (kept: its first and last lines)",
                transition.task,
                transition.omitted
            );
        }
        // Within a burst only a task's last transition needs writing: its
        // result holds the earlier ones' output too (a window opens at the
        // In Progress line), so the timestamps come out the same, and the
        // commit (whose trailer records the operation) stays small.
        self.pending
            .retain(|op| !matches!(op, Op::SetTask { task, .. } if *task == transition.task));
        self.pending.push(Op::SetTask {
            task: transition.task,
            status: transition.status,
            result: Some(transition.result),
        });
        self.burst_started.get_or_insert_with(Instant::now);
    }

    /// When the pending burst is due to be written; `None` if nothing waits.
    pub fn deadline(&self) -> Option<Instant> {
        self.burst_started.map(|start| start + COALESCE)
    }

    /// The pending transitions as one operation, taken off the queue, for
    /// a caller that writes them itself (under an idempotency key, say).
    pub fn take(&mut self) -> Option<Op> {
        self.burst_started = None;
        match self.pending.len() {
            0 => None,
            1 => Some(self.pending.remove(0)),
            _ => Some(Op::Batch {
                ops: std::mem::take(&mut self.pending),
            }),
        }
    }

    /// Writes every pending transition in one commit.
    pub fn flush(&mut self) -> Result<(), WriteError> {
        let Some(op) = self.take() else {
            return Ok(());
        };
        let outcome = write::apply(
            self.store,
            &self.release,
            &op,
            None,
            self.catalog,
            &self.retry,
        )?;
        if outcome.written.is_some() {
            self.commits += 1;
            self.created_file |= outcome.created_without_init;
            tracing::info!("{}", outcome.message.lines().next().unwrap_or_default());
        }
        Ok(())
    }
}
