//! A progress bar on stderr, shown only when stderr is a terminal and the
//! run has taken longer than a second.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;
use std::time::Duration;

pub struct Bar {
    enabled: bool,
    bar: Option<ProgressBar>,
    /// What the percentage counts ("simulated", "of the runs").
    what: &'static str,
}

impl Bar {
    /// A bar for one run: the share of simulated time done.
    pub fn new(wanted: bool) -> Self {
        Bar::counting(wanted, "simulated")
    }

    /// A bar whose percentage is of `what` ("of the runs").
    pub fn counting(wanted: bool, what: &'static str) -> Self {
        Bar { enabled: wanted && std::io::stderr().is_terminal(), bar: None, what }
    }

    /// `fraction` done after `elapsed` wall time.
    pub fn update(&mut self, fraction: f64, elapsed: Duration) {
        if !self.enabled || elapsed < Duration::from_secs(1) {
            return;
        }
        let bar = self.bar.get_or_insert_with(|| {
            let b = ProgressBar::with_draw_target(Some(1000), ProgressDrawTarget::stderr());
            let template = format!("{{bar:40}} {{percent:>3}}% {}, {{elapsed}} elapsed, ~{{eta}} left", self.what);
            if let Ok(style) = ProgressStyle::with_template(&template) {
                b.set_style(style);
            }
            b
        });
        bar.set_position((fraction.clamp(0.0, 1.0) * 1000.0) as u64);
    }

    pub fn finish(&mut self) {
        if let Some(b) = self.bar.take() {
            b.finish_and_clear();
        }
    }
}
