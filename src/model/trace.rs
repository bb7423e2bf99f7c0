//! A replayed trace, as the simulator needs it: where its lines come from
//! (an opener the caller supplied, so this crate's model never touches a
//! disk), how a line is read, and the window, speed, scale and end rule.
//!
//! What it does not: read or parse lines (`sim::trace` does, for the load
//! time check and for the replay alike).

use crate::engine::SimDuration;
use std::fmt;
use std::io::BufRead;
use std::sync::Arc;

/// Opens the trace from its beginning, each time it is called (every run
/// and every loop of `on_end: loop` reads it afresh, line by line).
pub type OpenTrace = dyn Fn() -> std::io::Result<Box<dyn BufRead + Send>> + Send + Sync + std::panic::RefUnwindSafe;

/// `format:` what a line of the trace says.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TraceFormat {
    /// One request per line, at its timestamp.
    Timestamps,
    /// The number of requests in each consecutive `interval`.
    Counts,
}

/// How a line is laid out.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Layout {
    /// Comma-separated, a header first: the column of the value (time or
    /// count) and of each attribute, by position.
    Csv { value: usize, attrs: Vec<usize> },
    /// One JSON object per line: the field of the value and of each attribute.
    JsonLines { value: String, attrs: Vec<String> },
}

/// What the time column holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TimeUnit {
    /// `2023-11-16 18:15:46.6805900` (or with a `T`, optionally a `Z`).
    DateTime,
    Seconds,
    Millis,
}

/// `on_end:` what happens when the window is replayed before the run ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OnEnd {
    /// No more arrivals.
    Stop,
    /// The window again, shifted by [`Trace::period`].
    Loop,
}

/// A `trace:` workload.
#[derive(Clone)]
pub struct Trace {
    /// The path as written, for messages.
    pub file: String,
    pub open: Arc<OpenTrace>,
    pub format: TraceFormat,
    pub layout: Layout,
    pub unit: TimeUnit,
    /// `counts`: the length of each line's interval.
    pub interval: SimDuration,
    /// Trace time is divided by this.
    pub speed: f64,
    /// Each arrival is copied ⌊scale⌋ times, and once more with
    /// probability scale − ⌊scale⌋.
    pub scale: f64,
    /// The window, in trace time from its first timestamp (or first line).
    pub start: SimDuration,
    pub end: Option<SimDuration>,
    pub on_end: OnEnd,
    /// Where each attribute goes in a request's attribute vector
    /// ([`crate::model::Model::attributes`]), in `layout` order.
    pub attr_slots: Vec<u16>,
    /// Found at load time: arrivals in the window at scale 1.
    pub window_count: u64,
    /// Found at load time: how long one pass of the window lasts in trace
    /// time (a loop starts again after it).
    pub period: SimDuration,
}

impl fmt::Debug for Trace {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Trace")
            .field("file", &self.file)
            .field("format", &self.format)
            .field("layout", &self.layout)
            .field("unit", &self.unit)
            .field("speed", &self.speed)
            .field("scale", &self.scale)
            .field("start", &self.start)
            .field("end", &self.end)
            .field("on_end", &self.on_end)
            .field("window_count", &self.window_count)
            .finish_non_exhaustive()
    }
}

impl Trace {
    /// The mean arrival rate of the replay (per second of simulated time).
    pub fn mean_rate_per_s(&self) -> f64 {
        let secs = self.period.as_secs_f64() / self.speed;
        if secs > 0.0 { self.window_count as f64 * self.scale / secs } else { 0.0 }
    }
}
