//! Peer benchmark: an M/M/1 queue (λ = 800/s, exponential service with mean
//! 1 ms, ρ = 0.8) on the SimCore discrete-event crate, the bare engine.
//!
//! Usage: `simcore_mm1 DURATION_S [SEED]`. Prints one JSON line in the same
//! shape as the Python peers. It counts customers that left within the
//! simulated duration and sums their sojourn times, nothing else:
//! `mean_ci95_ms`, `p99_ms` and `utilization` are `null` on purpose, so the
//! engine is measured without metrics. `wall_s` covers the simulation loop only. This is not part of
//! stormcast and stormcast does not depend on it.

use serde::Serialize;
use simcore::{cast, Event, EventHandler, Simulation, SimulationContext};
use std::cell::RefCell;
use std::collections::VecDeque;
use std::process::ExitCode;
use std::rc::Rc;
use std::time::Instant;

const LAMBDA: f64 = 800.0;
const MU: f64 = 1000.0;

#[derive(Clone, Serialize)]
struct Arrival {}

#[derive(Clone, Serialize)]
struct Departure {}

/// One FIFO single-server station that also generates its own arrivals.
struct Station {
    ctx: SimulationContext,
    /// Arrival times of the customers in the system; the front is in service.
    queue: VecDeque<f64>,
    customers: u64,
    sojourn_sum_s: f64,
}

impl Station {
    fn exp(&self, rate: f64) -> f64 {
        // Inverse transform; rand() is in [0, 1), so 1 - u is in (0, 1].
        -(1.0 - self.ctx.rand()).ln() / rate
    }

    fn on_arrival(&mut self) {
        let now = self.ctx.time();
        self.queue.push_back(now);
        let gap = self.exp(LAMBDA);
        self.ctx.emit_self(Arrival {}, gap);
        if self.queue.len() == 1 {
            let service = self.exp(MU);
            self.ctx.emit_self(Departure {}, service);
        }
    }

    fn on_departure(&mut self) {
        let now = self.ctx.time();
        if let Some(arrived) = self.queue.pop_front() {
            self.customers += 1;
            self.sojourn_sum_s += now - arrived;
        }
        if !self.queue.is_empty() {
            let service = self.exp(MU);
            self.ctx.emit_self(Departure {}, service);
        }
    }
}

impl EventHandler for Station {
    fn on(&mut self, event: Event) {
        cast!(match event.data {
            Arrival {} => {
                self.on_arrival()
            }
            Departure {} => {
                self.on_departure()
            }
        })
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    let duration_s: f64 = match args.get(1).map(|s| s.parse()) {
        Some(Ok(d)) if d > 0.0 => d,
        _ => {
            eprintln!("usage: simcore_mm1 DURATION_S [SEED]");
            return ExitCode::from(2);
        }
    };
    let seed: u64 = match args.get(2).map(|s| s.parse()) {
        None => 1,
        Some(Ok(s)) => s,
        Some(Err(_)) => {
            eprintln!("usage: simcore_mm1 DURATION_S [SEED]");
            return ExitCode::from(2);
        }
    };

    let mut sim = Simulation::new(seed);
    let ctx = sim.create_context("station");
    let station = Rc::new(RefCell::new(Station {
        ctx,
        queue: VecDeque::new(),
        customers: 0,
        sojourn_sum_s: 0.0,
    }));
    sim.add_handler("station", station.clone());
    {
        let s = station.borrow();
        let first = s.exp(LAMBDA);
        s.ctx.emit_self(Arrival {}, first);
    }

    let start = Instant::now();
    sim.step_until_time(duration_s);
    let wall_s = start.elapsed().as_secs_f64();

    let s = station.borrow();
    let mean_ms = if s.customers > 0 {
        s.sojourn_sum_s / s.customers as f64 * 1e3
    } else {
        0.0
    };
    println!(
        "{{\"peer\": \"simcore\", \"model\": \"mm1\", \"customers\": {}, \"mean_ms\": {:.6}, \"mean_ci95_ms\": null, \"p99_ms\": null, \"utilization\": null, \"wall_s\": {:.6}, \"duration_s\": {}, \"seed\": {}, \"theory_mean_ms\": 5.0}}",
        s.customers, mean_ms, wall_s, duration_s, seed
    );
    ExitCode::SUCCESS
}
