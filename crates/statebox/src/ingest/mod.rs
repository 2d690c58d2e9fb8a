//! Reading command output: status lines that drive task state, and the
//! output that becomes each task's result.
//!
//! This half is pure (bytes in, transitions out); applying the transitions to
//! a release's state is the store's job. See [`scan`] for which output
//! belongs to which task and for the memory bound.

pub mod record;
pub mod scan;
pub mod status_line;

pub use record::{RecordError, Recorder};
pub use scan::{Event, ScanOptions, Scanner, Transition};
