//! Reading command output: status lines that drive task state, and the
//! output that becomes each task's result.
//!
//! [`scan`] is pure (bytes in, transitions out; which output belongs to which
//! task, and the memory bound), [`record`] writes the transitions, and
//! [`live`] runs both on a pipe or a child process as output arrives.

pub mod live;
pub mod record;
pub mod scan;
pub mod status_line;

pub use record::{RecordError, Recorder};
pub use scan::{Event, ScanOptions, Scanner, Transition};
