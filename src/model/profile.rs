//! A piecewise-linear function of simulated time: the rate of k6 stages,
//! k6 scenarios and Prometheus samples, and the user count of k6's
//! virtual-user executors.
//!
//! Points are `(time, value)` with times non-decreasing; between two points
//! the value is linear, two points at one time make a jump, before the first
//! point the value is the first value, after the last it is the last value
//! (an import that *stops* ends with a jump to 0). It knows nothing of
//! workloads; `spec` builds profiles and `sim` reads them.

use crate::engine::SimTime;

#[derive(Clone, Debug, PartialEq)]
pub struct Profile {
    points: Vec<(SimTime, f64)>,
}

impl Profile {
    /// A profile through `points`; `None` if there are none, a time goes
    /// back, or a value is negative or not finite.
    pub fn new(points: Vec<(SimTime, f64)>) -> Option<Profile> {
        let ok = !points.is_empty()
            && points.windows(2).all(|w| w[0].0 <= w[1].0)
            && points.iter().all(|p| p.1.is_finite() && p.1 >= 0.0);
        ok.then_some(Profile { points })
    }

    pub fn points(&self) -> &[(SimTime, f64)] {
        &self.points
    }

    /// The largest value.
    pub fn max(&self) -> f64 {
        self.points.iter().map(|p| p.1).fold(0.0, f64::max)
    }

    /// The same profile with every value multiplied by `k` (≥ 0).
    pub fn scaled(&self, k: f64) -> Profile {
        Profile { points: self.points.iter().map(|&(t, v)| (t, v * k)).collect() }
    }

    /// The value at `t` (at a jump, the value after it).
    pub fn at(&self, t: SimTime) -> f64 {
        let i = self.points.partition_point(|p| p.0 <= t);
        if i == 0 {
            return self.points[0].1;
        }
        if i == self.points.len() {
            return self.points[i - 1].1;
        }
        let ((t0, v0), (t1, v1)) = (self.points[i - 1], self.points[i]);
        v0 + (v1 - v0) * (t.0 - t0.0) as f64 / (t1.0 - t0.0) as f64
    }

    /// The integral over [0, t] in value-seconds (for tests and estimates).
    pub fn integral(&self, t: SimTime) -> f64 {
        let secs = |a: SimTime| a.as_secs_f64();
        let first = self.points[0];
        let mut sum = first.1 * secs(first.0.min(t));
        for w in self.points.windows(2) {
            let ((t0, v0), (t1, v1)) = (w[0], w[1]);
            if t0 >= t {
                break;
            }
            let end = t1.min(t);
            sum += (v0 + (v0 + (v1 - v0) * (end.0 - t0.0) as f64 / (t1.0 - t0.0).max(1) as f64)) / 2.0
                * (secs(end) - secs(t0));
        }
        let last = self.points[self.points.len() - 1];
        if t > last.0 {
            sum += last.1 * (secs(t) - secs(last.0));
        }
        sum
    }

    /// The first time `≥ now` at which the value is at least `level`, if
    /// ever (the user numbered `level - 1` of a k6 VU profile starts then).
    pub fn first_at_least(&self, level: f64, now: SimTime) -> Option<SimTime> {
        if self.at(now) >= level {
            return Some(now);
        }
        for w in self.points.windows(2) {
            let ((t0, v0), (t1, v1)) = (w[0], w[1]);
            if t1 <= now {
                continue;
            }
            if v1 < level {
                continue;
            }
            if t0 == t1 {
                return Some(t1.max(now)); // a jump up to `level` or beyond
            }
            // v rises through `level` inside (t0, t1]: v0 + (v1 - v0) x = level.
            let x = if v1 > v0 { ((level - v0) / (v1 - v0)).clamp(0.0, 1.0) } else { 0.0 };
            let t = SimTime(t0.0 + ((t1.0 - t0.0) as f64 * x).ceil() as u64);
            return Some(t.max(now));
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(x: u64) -> SimTime {
        SimTime(x * 1_000_000_000)
    }

    #[test]
    fn linear_between_points_with_jumps_and_flat_ends() {
        let p = Profile::new(vec![(s(0), 0.0), (s(10), 10.0), (s(20), 10.0), (s(20), 0.0)]).unwrap();
        assert_eq!(p.at(s(5)), 5.0);
        assert_eq!(p.at(s(15)), 10.0);
        assert_eq!(p.at(s(20)), 0.0);
        assert_eq!(p.at(s(99)), 0.0);
        assert!((p.integral(s(30)) - 150.0).abs() < 1e-9);
        assert!((p.integral(s(10)) - 50.0).abs() < 1e-9);
        assert_eq!(p.max(), 10.0);
        assert!(Profile::new(vec![(s(2), 1.0), (s(1), 1.0)]).is_none());
        assert!(Profile::new(vec![(s(2), -1.0)]).is_none());
    }

    #[test]
    fn first_time_a_level_is_reached() {
        let p = Profile::new(vec![(s(0), 0.0), (s(10), 10.0), (s(20), 10.0), (s(20), 0.0), (s(30), 0.0), (s(30), 5.0)])
            .unwrap();
        assert_eq!(p.first_at_least(3.0, s(0)), Some(s(3)));
        assert_eq!(p.first_at_least(3.0, s(12)), Some(s(12)));
        assert_eq!(p.first_at_least(3.0, s(21)), Some(s(30)));
        assert_eq!(p.first_at_least(6.0, s(21)), None);
    }
}
