//! Generic discrete-event kernel: simulated time, the event queue, random
//! streams and generational slabs.
//!
//! This module knows nothing about services, requests or YAML. It provides:
//! - [`SimTime`] / [`SimDuration`]: `u64` nanoseconds, never floats;
//! - [`EventQueue`]: events ordered by `(time, seq)`, a 4-ary heap plus
//!   constant-delay FIFO *lanes* for timers that are mostly cancelled;
//! - [`RngStream`]: a pinned generator (xoshiro256++) with one stream per
//!   `(seed, label, entity)`;
//! - [`Slab`]: `Vec` + free list addressed by `u32` ids with generations,
//!   so a stale timer costs nothing to ignore.

mod queue;
mod rng;
mod slab;
mod time;

pub use queue::{EventQueue, LaneId};
pub use rng::{RngStream, stable_hash};
pub use slab::{Key, Slab};
pub use time::{SimDuration, SimTime};
