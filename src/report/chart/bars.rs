//! Horizontal stacked bars, each starting at an offset: with offsets that
//! add up the bars before, a waterfall (where a request's time goes hop by
//! hop); with offsets of zero, stacked bars to compare (one per variant).

use super::{AXIS, GRID, INK, MUTED, clip, color, failed, font, text_style, text_width};
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

/// One bar: its label, where it starts, and one value per part.
#[derive(Clone, Debug, PartialEq)]
pub struct Bar {
    pub label: String,
    pub offset: f64,
    pub values: Vec<f64>,
}

#[derive(Clone, Debug)]
pub struct Bars {
    pub title: String,
    pub x_label: String,
    /// The parts each bar stacks, coloured by index (see [`super::PALETTE`]).
    pub parts: Vec<String>,
    /// A palette index per part, where it is not the part's position
    /// (empty: by position).
    pub colors: Vec<usize>,
    pub bars: Vec<Bar>,
    /// Writes a bar's total after its end.
    pub fmt: fn(f64) -> String,
    pub width: u32,
}

const TITLE_H: u32 = 26;
const ROW_H: u32 = 26;
const X_AXIS_H: u32 = 40;
const LEGEND_H: u32 = 22;

impl Bars {
    /// A waterfall: each bar starts where the one before ended.
    pub fn waterfall(title: impl Into<String>, x_label: impl Into<String>, parts: Vec<String>) -> Bars {
        Bars {
            title: title.into(),
            x_label: x_label.into(),
            parts,
            colors: Vec::new(),
            bars: Vec::new(),
            fmt: super::line::plain,
            width: 600,
        }
    }

    /// Adds a bar after the last one ends.
    pub fn push_next(&mut self, label: impl Into<String>, values: Vec<f64>) {
        let offset = self.bars.last().map_or(0.0, |b| b.offset + b.values.iter().sum::<f64>());
        self.bars.push(Bar { label: label.into(), offset, values });
    }

    /// The colour of part `k`.
    fn part_color(&self, k: usize) -> RGBColor {
        color(self.colors.get(k).copied().unwrap_or(k))
    }

    pub fn to_svg(&self) -> String {
        let height = TITLE_H + self.bars.len().max(1) as u32 * ROW_H + X_AXIS_H + LEGEND_H + 6;
        let mut svg = String::new();
        let drawn = {
            let root = SVGBackend::with_string(&mut svg, (self.width, height)).into_drawing_area();
            self.draw(&root).and_then(|()| root.present().map_err(|e| e.to_string()))
        };
        match drawn {
            Ok(()) => svg,
            Err(e) => failed(self.width, &self.title, &e),
        }
    }

    fn draw(&self, root: &DrawingArea<SVGBackend, Shift>) -> Result<(), String> {
        let e = |e: DrawingAreaErrorKind<_>| e.to_string();
        root.fill(&WHITE).map_err(e)?;
        root.draw(&Text::new(self.title.clone(), (10, 6), font(13.5).style(FontStyle::Bold).color(&INK))).map_err(e)?;
        let n = self.bars.len();
        let (_, rest) = root.split_vertically(TITLE_H);
        let (body, foot) = rest.split_vertically(n.max(1) as u32 * ROW_H + X_AXIS_H);
        let labels: Vec<String> = self.bars.iter().map(|b| clip(&b.label, 40)).collect();
        let label_w = labels.iter().map(|l| text_width(l, 11.0)).fold(60.0, f64::max) + 14.0;
        let end = self.bars.iter().map(|b| b.offset + b.values.iter().sum::<f64>()).fold(0.0, f64::max);
        let x_end = if end > 0.0 { end * 1.16 } else { 1.0 };
        let mut chart = ChartBuilder::on(&body)
            .margin_right(16)
            .x_label_area_size(X_AXIS_H - 4)
            .y_label_area_size(label_w as u32)
            .build_cartesian_2d(0.0..x_end, 0.0..n.max(1) as f64)
            .map_err(e)?;
        chart
            .configure_mesh()
            .disable_y_mesh()
            .y_labels(0)
            .max_light_lines(1)
            .light_line_style(GRID.mix(0.5))
            .bold_line_style(GRID)
            .axis_style(AXIS)
            .label_style(text_style(11.0, MUTED))
            .axis_desc_style(text_style(11.0, MUTED))
            .x_desc(self.x_label.clone())
            .x_label_formatter(&|v| super::line::plain(*v))
            .draw()
            .map_err(e)?;
        for (i, b) in self.bars.iter().enumerate() {
            let y = (n - i - 1) as f64;
            let mut x = b.offset;
            for (k, &v) in b.values.iter().enumerate() {
                if v > 0.0 {
                    let r = Rectangle::new([(x, y + 0.2), (x + v, y + 0.8)], self.part_color(k).filled());
                    chart.draw_series(std::iter::once(r)).map_err(e)?;
                }
                x += v.max(0.0);
            }
            let (px, py) = chart.backend_coord(&(x, y + 0.5));
            let total = (self.fmt)(b.values.iter().sum());
            root.draw(&Text::new(total, (px + 5, py), text_style(10.5, MUTED).pos(Pos::new(HPos::Left, VPos::Center))))
                .map_err(e)?;
            let (lx, _) = chart.backend_coord(&(0.0, y));
            let style = text_style(11.0, INK).pos(Pos::new(HPos::Right, VPos::Center));
            root.draw(&Text::new(labels[i].clone(), (lx - 6, py), style)).map_err(e)?;
        }
        self.legend(&foot)
    }

    /// The parts that appear in some bar, each with its colour.
    fn legend(&self, foot: &DrawingArea<SVGBackend, Shift>) -> Result<(), String> {
        let e = |e: DrawingAreaErrorKind<_>| e.to_string();
        let mut x = 14;
        for (k, name) in self.parts.iter().enumerate() {
            if !self.bars.iter().any(|b| b.values.get(k).is_some_and(|v| *v > 0.0)) {
                continue;
            }
            foot.draw(&Rectangle::new([(x, 4), (x + 14, 16)], self.part_color(k).filled())).map_err(e)?;
            foot.draw(&Text::new(name.clone(), (x + 19, 3), text_style(11.0, INK))).map_err(e)?;
            x += 19 + text_width(name, 11.0) as i32 + 18;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_waterfall_starts_each_bar_where_the_last_ended() {
        let mut b = Bars::waterfall("chain", "ms", vec!["queue".into(), "cpu".into(), "network".into()]);
        b.push_next("web.home", vec![0.0, 0.2, 0.0]);
        b.push_next("  api.get", vec![0.0, 0.3, 0.0]);
        b.push_next("    db.query", vec![1.1, 2.1, 0.0]);
        assert_eq!(b.bars.iter().map(|b| (b.offset * 10.0).round() / 10.0).collect::<Vec<_>>(), [0.0, 0.2, 0.5]);
        let svg = b.to_svg();
        assert!(svg.contains("db.query") && svg.contains(">\nqueue\n</text>"), "{svg}");
        assert!(!svg.contains(">\nnetwork\n</text>"), "a part no bar has stays out of the legend: {svg}");
        b.colors = vec![0, 7, 2];
        let black = b.to_svg();
        assert!(black.contains("fill=\"#000000\"") && !svg.contains("fill=\"#000000\""), "{black}");
    }
}
