//! A capacity search's result (`stormcast capacity`) as words and a table
//! for the terminal, a CSV of the latency–throughput curve, and that curve
//! as an SVG chart: p50 and p99 against the offered rate with their 95%
//! bands, the SLO's bounds, the rates beyond the capacity shaded, the
//! capacity and the knee in the title.
//!
//! What it does not: search (see `experiment::capacity`) or write files.

use super::chart::{Line, LineChart, Shade, ShadeKind};
use crate::experiment::capacity::Capacity;
use crate::experiment::stats::Estimate;
use std::fmt::Write;

fn rate(x: Option<f64>) -> String {
    x.map_or_else(|| "none".into(), |r| format!("{r:.1}/s"))
}

/// `mean ± half-width` to 2 decimals, scaled, or "—" without a value.
fn est(x: &Estimate, scale: f64) -> String {
    super::experiment_text::est(Some(x), scale, 2)
}

/// The capacity in words and the curve as a table.
pub fn capacity_text(c: &Capacity) -> String {
    let mut o = String::new();
    let _ = writeln!(o, "{} under {}:", c.workload, c.slo);
    let _ = writeln!(
        o,
        "  capacity {} (the highest rate meeting the SLOs), knee {} (where latency starts to climb)",
        rate(c.capacity_per_s),
        rate(c.knee_per_s)
    );
    let at_cap = c.capacity_per_s.and_then(|cap| c.points.iter().find(|p| p.rate_per_s == cap));
    if let Some(p) = at_cap.filter(|p| p.slo_pass_fraction < 1.0) {
        let _ = writeln!(
            o,
            "  (on the mean over replications; at {} only {:.0}% of them met the SLOs on their own — a rate where all do is lower)",
            rate(Some(p.rate_per_s)),
            p.slo_pass_fraction * 100.0
        );
    }
    let _ = writeln!(
        o,
        "\n  {:>10}  {:>18}  {:>18}  {:>14}  {:>10}  SLO (replications passing)",
        "rate/s", "p50 ms", "p99 ms", "success %", "goodput/s"
    );
    for p in &c.points {
        let _ = writeln!(
            o,
            "  {:>10.1}  {:>18}  {:>18}  {:>14}  {:>10.1}  {} ({:.0}%)",
            p.rate_per_s,
            est(&p.p50_ms, 1.0),
            est(&p.p99_ms, 1.0),
            est(&p.success, 100.0),
            p.goodput_per_s.mean,
            if p.meets_slo { "met" } else { "missed" },
            p.slo_pass_fraction * 100.0
        );
    }
    let _ = writeln!(o, "\n  (mean ± 95% interval over replications; SLOs judged on the means)");
    o
}

/// The curve, a row per rate tried.
pub fn capacity_csv(c: &Capacity) -> String {
    let mut o = String::from(
        "rate_per_s,meets_slo,slo_pass_fraction,p50_ms,p50_ms_low,p50_ms_high,p99_ms,p99_ms_low,p99_ms_high,\
         success,success_low,success_high,goodput_per_s\n",
    );
    let e = |x: &Estimate| {
        if x.n == 0 { ",,".to_string() } else { format!("{},{},{}", x.mean, x.ci95[0], x.ci95[1]) }
    };
    for p in &c.points {
        let _ = writeln!(
            o,
            "{},{},{},{},{},{},{}",
            p.rate_per_s,
            p.meets_slo,
            p.slo_pass_fraction,
            e(&p.p50_ms),
            e(&p.p99_ms),
            e(&p.success),
            p.goodput_per_s.mean
        );
    }
    o
}

/// The latency–throughput curve as an SVG chart.
pub fn capacity_svg(c: &Capacity) -> String {
    let title =
        format!("{} — capacity {}, knee {} ({})", c.workload, rate(c.capacity_per_s), rate(c.knee_per_s), c.slo);
    let mut chart = LineChart::new(title, "offered rate (requests/s)", "latency (ms)");
    let top = c.points.iter().map(|p| p.rate_per_s).fold(0.0, f64::max);
    chart.x_range = (0.0, top * 1.02);
    chart.log_y = true;
    chart.width = 760;
    chart.plot_height = 300;
    let line = |name: &str, color: usize, f: &dyn Fn(&crate::experiment::capacity::RatePoint) -> &Estimate| {
        let pts = c.points.iter().map(|p| (p.rate_per_s, (f(p).n > 0).then(|| f(p).mean))).collect();
        let mut l = Line::new(name, color, pts);
        l.markers = true;
        l.band = c.points.iter().filter(|p| f(p).n > 1).map(|p| (p.rate_per_s, f(p).ci95[0], f(p).ci95[1])).collect();
        l
    };
    chart.lines.push(line("p50", 0, &|p| &p.p50_ms));
    chart.lines.push(line("p99", 1, &|p| &p.p99_ms));
    for (k, (stat, bound)) in c.bounds_ms.iter().enumerate() {
        let mut l =
            Line::new(format!("SLO {stat} ≤ {bound} ms"), 6 + k, vec![(0.0, Some(*bound)), (top * 1.02, Some(*bound))]);
        l.dashed = true;
        chart.lines.push(l);
    }
    if let Some(cap) = c.capacity_per_s {
        chart.shades.push(Shade { from: cap, to: top * 1.02, label: "SLOs missed".into(), kind: ShadeKind::Fault });
    }
    if let Some(k) = c.knee_per_s {
        chart.shades.push(Shade { from: k, to: k, label: "knee".into(), kind: ShadeKind::Quiet });
    }
    chart.to_svg()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::experiment::capacity::RatePoint;

    fn cap() -> Capacity {
        let e = |m: f64| Estimate { mean: m, ci95: [m * 0.9, m * 1.1], sd: 0.0, n: 3 };
        let none = Estimate { mean: 0.0, ci95: [0.0, 0.0], sd: 0.0, n: 0 };
        let pt = |r: f64, p99: Option<f64>, ok: bool| RatePoint {
            rate_per_s: r,
            meets_slo: ok,
            slo_pass_fraction: if ok { 1.0 } else { 0.0 },
            p50_ms: p99.map_or(none, |v| e(v / 4.0)),
            p99_ms: p99.map_or(none, e),
            success: e(1.0),
            goodput_per_s: e(r),
        };
        Capacity {
            workload: "web".into(),
            slo: "p99 ≤ 50ms".into(),
            bounds_ms: [("p99".to_string(), 50.0)].into_iter().collect(),
            capacity_per_s: Some(900.0),
            knee_per_s: Some(700.0),
            points: vec![
                pt(100.0, Some(5.0), true),
                pt(700.0, Some(15.0), true),
                pt(900.0, Some(48.0), true),
                pt(990.0, None, false),
            ],
        }
    }

    #[test]
    fn the_text_the_csv_and_the_chart_say_the_same() {
        let c = cap();
        let t = capacity_text(&c);
        assert!(t.contains("capacity 900.0/s") && t.contains("knee 700.0/s"), "{t}");
        assert!(t.contains("missed (0%)") && t.contains("—"), "a rate with no p99 shows a dash: {t}");
        let csv = capacity_csv(&c);
        assert_eq!(csv.lines().count(), 1 + c.points.len());
        let cols = csv.lines().next().map_or(0, |h| h.split(',').count());
        assert!(csv.lines().all(|l| l.split(',').count() == cols), "{csv}");
        assert!(csv.lines().last().is_some_and(|l| l.starts_with("990,false,0,,,,,,,")), "{csv}");
        let svg = capacity_svg(&c);
        assert!(svg.starts_with("<svg") && svg.contains("SLO p99 ≤ 50 ms") && svg.contains("SLOs missed"), "{svg}");
    }
}
