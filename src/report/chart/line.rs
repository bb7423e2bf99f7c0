//! A line chart of several named series over one x axis, with shaded
//! windows and lanes of marked windows; see [`LineChart`].

use super::{AXIS, FAULT, GRID, INK, MUTED, clip, color, failed, font, text_style, text_width};
use plotters::coord::Shift;
use plotters::coord::ranged1d::{AsRangedCoord, ValueFormatter};
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

/// One series: points `(x, y)`, `None` for a gap (no value there).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Line {
    pub name: String,
    /// Index into [`super::PALETTE`].
    pub color: usize,
    pub dashed: bool,
    /// A dot at each point (few points: a sweep).
    pub markers: bool,
    /// Dots only, not joined (a scatter of points, such as a frontier's
    /// candidates).
    pub scatter: bool,
    /// The dots' radius in pixels (0: the usual 3).
    pub marker_px: u32,
    pub points: Vec<(f64, Option<f64>)>,
    /// A shaded band `(x, low, high)` around the line (a 95% interval).
    pub band: Vec<(f64, f64, f64)>,
}

impl Line {
    pub fn new(name: impl Into<String>, color: usize, points: Vec<(f64, Option<f64>)>) -> Line {
        Line { name: name.into(), color, points, ..Line::default() }
    }
}

/// What a shaded window is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ShadeKind {
    /// A fault in force: red, labelled.
    Fault,
    /// The warm-up, left out of the statistics: grey.
    Quiet,
    /// Time not simulated (a partial run): hatched grey.
    Missing,
}

/// A window of x shaded across the plot, its label at the top.
#[derive(Clone, Debug, PartialEq)]
pub struct Shade {
    pub from: f64,
    pub to: f64,
    pub label: String,
    pub kind: ShadeKind,
}

/// A lane above the plot marking windows of x (a finding's windows).
#[derive(Clone, Debug, PartialEq)]
pub struct Mark {
    pub label: String,
    pub windows: Vec<(f64, f64)>,
    /// Index into [`super::PALETTE`].
    pub color: usize,
}

#[derive(Clone, Debug)]
pub struct LineChart {
    pub title: String,
    pub x_label: String,
    pub y_label: String,
    pub x_range: (f64, f64),
    /// A logarithmic y axis (for latencies spanning decades).
    pub log_y: bool,
    /// The top of the y axis when known (1 for a fraction); else from the data.
    pub y_max: Option<f64>,
    pub y_fmt: fn(f64) -> String,
    pub lines: Vec<Line>,
    pub shades: Vec<Shade>,
    pub marks: Vec<Mark>,
    /// Width of the SVG and height of the plot area, pixels.
    pub width: u32,
    pub plot_height: u32,
}

/// Plot margins and text sizes, pixels.
const TITLE_H: u32 = 26;
const LANE_H: u32 = 15;
const X_AXIS_H: u32 = 40;
const LEGEND_ROW_H: u32 = 18;
const LABEL_PX: f64 = 11.0;

impl LineChart {
    pub fn new(title: impl Into<String>, x_label: impl Into<String>, y_label: impl Into<String>) -> LineChart {
        LineChart {
            title: title.into(),
            x_label: x_label.into(),
            y_label: y_label.into(),
            x_range: (0.0, 1.0),
            log_y: false,
            y_max: None,
            y_fmt: plain,
            lines: Vec::new(),
            shades: Vec::new(),
            marks: Vec::new(),
            width: 600,
            plot_height: 210,
        }
    }

    /// Every y value of the lines and bands.
    fn ys(&self) -> impl Iterator<Item = f64> + '_ {
        let pts = self.lines.iter().flat_map(|l| l.points.iter().filter_map(|p| p.1));
        let bands = self.lines.iter().flat_map(|l| l.band.iter().flat_map(|b| [b.1, b.2]));
        pts.chain(bands).filter(|y| y.is_finite())
    }

    /// The legend laid out in rows that fit the width: `(row, x, line)`.
    fn legend(&self) -> Vec<(u32, f64, usize)> {
        let (mut row, mut x) = (0, 60.0);
        let mut out = Vec::new();
        for (i, l) in self.lines.iter().enumerate() {
            let w = 28.0 + text_width(&clip(&l.name, 40), LABEL_PX) + 18.0;
            if x + w > self.width as f64 - 8.0 && x > 60.0 {
                (row, x) = (row + 1, 60.0);
            }
            out.push((row, x, i));
            x += w;
        }
        out
    }

    /// The chart as an SVG document.
    pub fn to_svg(&self) -> String {
        let legend_rows = self.legend().last().map_or(0, |l| l.0 + 1);
        let lanes = self.marks.len() as u32;
        let height = TITLE_H + lanes * LANE_H + self.plot_height + X_AXIS_H + legend_rows * LEGEND_ROW_H + 6;
        let mut svg = String::new();
        let drawn = {
            let root = SVGBackend::with_string(&mut svg, (self.width, height)).into_drawing_area();
            self.draw(&root, legend_rows).and_then(|()| root.present().map_err(|e| e.to_string()))
        };
        match drawn {
            Ok(()) => svg,
            Err(e) => failed(self.width, &self.title, &e),
        }
    }

    fn draw(&self, root: &DrawingArea<SVGBackend, Shift>, legend_rows: u32) -> Result<(), String> {
        let e = |e: DrawingAreaErrorKind<_>| e.to_string();
        root.fill(&WHITE).map_err(e)?;
        root.draw(&Text::new(self.title.clone(), (10, 6), font(13.5).style(FontStyle::Bold).color(&INK))).map_err(e)?;
        let top = TITLE_H + self.marks.len() as u32 * LANE_H;
        let (_, rest) = root.split_vertically(top);
        let (body, foot) = rest.split_vertically(self.plot_height + X_AXIS_H);
        let (x0, x1) = self.x_range;
        let x1 = if x1 > x0 { x1 } else { x0 + 1.0 };
        let ys: Vec<f64> = self.ys().collect();
        let max = ys.iter().copied().fold(f64::NAN, f64::max);
        if self.log_y {
            let pos = ys.iter().copied().filter(|&y| y > 0.0);
            let min = pos.clone().fold(f64::NAN, f64::min);
            let (lo, hi) = if min.is_nan() { (1.0, 10.0) } else { decades(min, max) };
            self.plot(root, &body, x0..x1, (lo..hi).log_scale())?;
        } else {
            let hi = self.y_max.unwrap_or(if max.is_nan() || max <= 0.0 { 1.0 } else { max * 1.08 });
            self.plot(root, &body, x0..x1, 0.0..hi)?;
        }
        self.draw_legend(&foot, legend_rows)
    }

    /// Axes, shades, bands, lines and the lanes above the plot.
    fn plot<Y>(
        &self,
        root: &DrawingArea<SVGBackend, Shift>,
        area: &DrawingArea<SVGBackend, Shift>,
        x: std::ops::Range<f64>,
        y: Y,
    ) -> Result<(), String>
    where
        Y: AsRangedCoord<Value = f64>,
        Y::CoordDescType: ValueFormatter<f64>,
    {
        let e = |e: DrawingAreaErrorKind<_>| e.to_string();
        let y_labels: f64 = 9.0 * 7.0;
        let mut chart = ChartBuilder::on(area)
            .margin_right(16)
            .margin_top(4)
            .x_label_area_size(X_AXIS_H - 4)
            .y_label_area_size(y_labels as u32)
            .build_cartesian_2d(x.clone(), y)
            .map_err(e)?;
        let y_fmt = self.y_fmt;
        chart
            .configure_mesh()
            .max_light_lines(1)
            .light_line_style(GRID.mix(0.5))
            .bold_line_style(GRID)
            .axis_style(AXIS)
            .label_style(text_style(LABEL_PX, MUTED))
            .axis_desc_style(text_style(LABEL_PX, MUTED))
            .x_labels(8)
            .y_labels(6)
            .x_desc(self.x_label.clone())
            .y_desc(self.y_label.clone())
            .x_label_formatter(&|v| plain(*v))
            .y_label_formatter(&|v| y_fmt(*v))
            .draw()
            .map_err(e)?;
        let yr = chart.y_range();
        let (ylo, yhi) = (yr.start, yr.end);
        let clamp = |v: f64| v.clamp(x.start, x.end);
        for s in &self.shades {
            let (from, to) = (clamp(s.from), clamp(s.to));
            let style = match s.kind {
                ShadeKind::Fault => FAULT.mix(0.13).filled(),
                ShadeKind::Quiet => RGBColor(120, 120, 120).mix(0.10).filled(),
                ShadeKind::Missing => RGBColor(120, 120, 120).mix(0.28).filled(),
            };
            if to > from {
                chart.draw_series(std::iter::once(Rectangle::new([(from, ylo), (to, yhi)], style))).map_err(e)?;
            } else {
                let line = PathElement::new(vec![(from, ylo), (from, yhi)], FAULT.stroke_width(2));
                chart.draw_series(std::iter::once(line)).map_err(e)?;
            }
        }
        for l in &self.lines {
            if l.band.len() >= 2 {
                let mut poly: Vec<(f64, f64)> = l.band.iter().map(|b| (b.0, b.1.max(ylo))).collect();
                poly.extend(l.band.iter().rev().map(|b| (b.0, b.2.min(yhi))));
                chart.draw_series(std::iter::once(Polygon::new(poly, color(l.color).mix(0.18).filled()))).map_err(e)?;
            }
        }
        for l in &self.lines {
            let style = color(l.color).stroke_width(2);
            let radius = if l.marker_px > 0 { l.marker_px as i32 } else { 3 };
            for run in runs(&l.points, ylo) {
                if l.scatter {
                    let dots = run.iter().map(|&p| Circle::new(p, radius, color(l.color).filled()));
                    chart.draw_series(dots).map_err(e)?;
                    continue;
                }
                if l.dashed {
                    chart.draw_series(DashedLineSeries::new(run.clone(), 6, 4, style)).map_err(e)?;
                } else {
                    chart.draw_series(LineSeries::new(run.clone(), style)).map_err(e)?;
                }
                if l.markers || run.len() == 1 {
                    let dots = run.iter().map(|&p| Circle::new(p, radius, color(l.color).filled()));
                    chart.draw_series(dots).map_err(e)?;
                }
            }
        }
        // Labels of the shades, inside the top of the plot, staggered.
        let mut n = 0;
        for s in &self.shades {
            if s.label.is_empty() || clamp(s.from) >= x.end {
                continue;
            }
            let (px, py) = chart.backend_coord(&(clamp(s.from), yhi));
            let c = if s.kind == ShadeKind::Fault { FAULT } else { MUTED };
            let pos = (px + 3, py + 3 + (n % 3) * 13);
            root.draw(&Text::new(clip(&s.label, 40), pos, text_style(10.5, c))).map_err(e)?;
            n += 1;
        }
        self.draw_lanes(root, &|v| chart.backend_coord(&(clamp(v), yhi)).0)
    }

    /// One lane per mark between the title and the plot: a bar over each
    /// window, the label at the first one.
    fn draw_lanes(&self, root: &DrawingArea<SVGBackend, Shift>, px: &dyn Fn(f64) -> i32) -> Result<(), String> {
        let e = |e: DrawingAreaErrorKind<_>| e.to_string();
        for (i, m) in self.marks.iter().enumerate() {
            let y = (TITLE_H + i as u32 * LANE_H) as i32;
            let c = color(m.color);
            for &(from, to) in &m.windows {
                let (a, b) = (px(from), px(to).max(px(from) + 2));
                root.draw(&Rectangle::new([(a, y + 1), (b, y + LANE_H as i32 - 2)], c.mix(0.30).filled()))
                    .map_err(e)?;
            }
            // At the first window, or ending at the plot's right edge when
            // it would run past it.
            let at = m.windows.first().map_or(px(0.0), |w| px(w.0)) + 3;
            let right = px(f64::INFINITY) - 3;
            let (x, pos) = if at as f64 + text_width(&m.label, 10.0) > right as f64 {
                (right, Pos::new(HPos::Right, VPos::Top))
            } else {
                (at, Pos::new(HPos::Left, VPos::Top))
            };
            root.draw(&Text::new(m.label.clone(), (x, y + 2), text_style(10.0, INK).pos(pos))).map_err(e)?;
        }
        Ok(())
    }

    fn draw_legend(&self, foot: &DrawingArea<SVGBackend, Shift>, rows: u32) -> Result<(), String> {
        let e = |e: DrawingAreaErrorKind<_>| e.to_string();
        if rows == 0 {
            return Ok(());
        }
        for (row, x, i) in self.legend() {
            let l = &self.lines[i];
            let y = (row * LEGEND_ROW_H + 9) as i32;
            let x = x as i32;
            let style = color(l.color).stroke_width(if l.dashed { 2 } else { 3 });
            if l.scatter {
                foot.draw(&Circle::new((x + 11, y), 4, color(l.color).filled())).map_err(e)?;
            } else if l.dashed {
                for k in 0..3 {
                    foot.draw(&PathElement::new(vec![(x + k * 8, y), (x + k * 8 + 5, y)], style)).map_err(e)?;
                }
            } else {
                foot.draw(&PathElement::new(vec![(x, y), (x + 22, y)], style)).map_err(e)?;
            }
            foot.draw(&Text::new(clip(&l.name, 40), (x + 28, y - 7), text_style(LABEL_PX, INK))).map_err(e)?;
        }
        Ok(())
    }
}

/// Whole decades around `[min, max]` for a logarithmic axis.
fn decades(min: f64, max: f64) -> (f64, f64) {
    let lo = 10f64.powf(min.log10().floor());
    let hi = 10f64.powf(max.log10().ceil());
    if hi > lo { (lo, hi) } else { (lo, lo * 10.0) }
}

/// The runs of consecutive points with a value (a gap splits a line); on a
/// logarithmic axis values at or below its floor are gaps too.
fn runs(points: &[(f64, Option<f64>)], floor: f64) -> Vec<Vec<(f64, f64)>> {
    let mut out: Vec<Vec<(f64, f64)>> = vec![Vec::new()];
    for &(x, y) in points {
        match y.filter(|y| y.is_finite() && (floor <= 0.0 || *y >= floor)) {
            Some(y) => out.last_mut().expect("one run at least").push((x, y)),
            None if out.last().is_some_and(|r| !r.is_empty()) => out.push(Vec::new()),
            None => {}
        }
    }
    out.retain(|r| !r.is_empty());
    out
}

/// A number as an axis shows it: no needless decimals, `k`/`M` above ten
/// thousand.
pub fn plain(v: f64) -> String {
    let a = v.abs();
    if a >= 1e6 {
        format!("{}M", trim(v / 1e6))
    } else if a >= 1e4 {
        format!("{}k", trim(v / 1e3))
    } else {
        trim(v)
    }
}

fn trim(v: f64) -> String {
    let s = if v.abs() >= 100.0 || v == v.round() {
        format!("{v:.0}")
    } else if v.abs() >= 1.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.3}")
    };
    let s = if s.contains('.') { s.trim_end_matches('0').trim_end_matches('.').to_string() } else { s };
    if s == "-0" { "0".into() } else { s }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chart() -> LineChart {
        let mut c = LineChart::new("goodput", "time (s)", "requests/s");
        c.x_range = (0.0, 100.0);
        let pts = (0..100).map(|i| (i as f64 + 0.5, (i % 7 != 3).then_some(i as f64))).collect();
        c.lines.push(Line::new("ok/s", 0, pts));
        c.shades.push(Shade { from: 40.0, to: 60.0, label: "slowdown db".into(), kind: ShadeKind::Fault });
        c.marks.push(Mark { label: "retry_storm api".into(), windows: vec![(61.0, 70.0), (71.0, 100.0)], color: 1 });
        c
    }

    /// The fault window is a shaded rectangle spanning 40–60 s of the x
    /// axis, and its label is there.
    #[test]
    fn a_fault_window_is_shaded_where_it_was() {
        let c = chart();
        let svg = c.to_svg();
        assert!(svg.starts_with("<svg"), "{svg}");
        assert!(svg.contains(">\nslowdown db\n</text>"), "{svg}");
        assert!(svg.contains(">\nretry_storm api\n</text>"), "{svg}");
        // The red shade: one rect in the fault colour from the x of the
        // axis label 40 to that of 60.
        let rect = svg.lines().find(|l| l.starts_with("<rect") && l.contains("fill=\"#DC2626\"")).expect("shade");
        let attr = |l: &str, a: &str| -> f64 {
            let i = l.find(&format!(" {a}=\"")).expect("attribute") + a.len() + 3;
            l[i..i + l[i..].find('"').expect("quote")].parse().expect("number")
        };
        let lines: Vec<&str> = svg.lines().collect();
        let tick = |label: &str| {
            let k = (1..lines.len())
                .find(|&k| lines[k] == label && lines[k - 1].contains("text-anchor=\"middle\""))
                .expect("an x axis label");
            attr(lines[k - 1], "x")
        };
        let (x40, x60) = (tick("40"), tick("60"));
        assert!(x60 - x40 > 60.0, "20 s of a 100 s axis: {x40} {x60}");
        assert!((attr(rect, "x") - x40).abs() <= 1.0, "{rect} starts at {x40}");
        assert!((attr(rect, "x") + attr(rect, "width") - x60).abs() <= 1.0, "{rect} ends at {x60}");
    }

    #[test]
    fn gaps_split_lines_and_logs_drop_zeros() {
        let pts = [(0.0, Some(1.0)), (1.0, None), (2.0, Some(2.0)), (3.0, Some(0.0)), (4.0, Some(3.0))];
        assert_eq!(runs(&pts, 0.0).len(), 2);
        assert_eq!(runs(&pts, 0.1), vec![vec![(0.0, 1.0)], vec![(2.0, 2.0)], vec![(4.0, 3.0)]]);
        assert_eq!(decades(0.568, 2875.0), (0.1, 10000.0));
        assert_eq!(
            [plain(0.25), plain(12.5), plain(300.0), plain(25000.0), plain(2.5e6)],
            ["0.25", "12.5", "300", "25k", "2.5M"]
        );
    }

    /// An experiment's chart of a result against a swept value: a line per
    /// variant with a dot per point and its 95% band.
    #[test]
    fn a_sweep_has_markers_and_bands() {
        let mut c = LineChart::new("p99 against db replicas", "db replicas", "ms");
        c.x_range = (1.0, 4.0);
        for (i, name) in ["baseline", "retry budget"].into_iter().enumerate() {
            let y = |x: f64, k: f64| k / x + i as f64;
            let mut l = Line::new(name, i, (1..=4).map(|x| (x as f64, Some(y(x as f64, 10.0)))).collect());
            l.markers = true;
            l.band = (1..=4).map(|x| (x as f64, y(x as f64, 9.0), y(x as f64, 11.0))).collect();
            c.lines.push(l);
        }
        let svg = c.to_svg();
        assert_eq!(svg.matches("<circle").count(), 8, "{svg}");
        assert_eq!(svg.matches("<polygon").count(), 2, "{svg}");
        assert!(svg.contains(">\nretry budget\n</text>"), "the legend names the variants");
    }

    #[test]
    fn an_empty_chart_still_draws() {
        let mut c = LineChart::new("nothing", "x", "y");
        c.log_y = true;
        c.lines.push(Line::new("none", 0, vec![(0.0, None)]));
        let svg = c.to_svg();
        assert!(svg.contains("nothing") && !svg.contains("could not be drawn"), "{svg}");
    }
}
