//! Charts as SVG text, drawn with plotters' SVG backend (no fonts, no
//! system libraries): the building blocks of every report.
//!
//! - [`LineChart`]: several named lines over one x axis (time, or a swept
//!   value), each with optional 95% bands and point markers; shaded windows
//!   (faults, the warm-up, time not simulated) and lanes of marked windows
//!   (findings) above the plot.
//! - [`Bars`]: horizontal stacked bars, each from an offset: a waterfall of
//!   a latency chain, or plain stacked bars side by side.
//! - [`Diagram`]: a layered drawing of boxes and arrows (the topology).
//!
//! What it does not: read results or choose what to plot (the report
//! modules do), or format a page. A chart that cannot be drawn becomes a
//! small SVG that says why, never a panic.

mod bars;
mod diagram;
mod line;

pub use bars::{Bar, Bars};
pub use diagram::{Diagram, Node, NodeKind};
pub use line::{Line, LineChart, Mark, Shade, ShadeKind, plain};

use plotters::style::{FontDesc, IntoFont, RGBColor, TextStyle};

/// Line and segment colours (Okabe–Ito, readable by colour-blind readers
/// and in grey print), by index modulo their number.
pub const PALETTE: [RGBColor; 8] = [
    RGBColor(0, 114, 178),   // blue
    RGBColor(213, 94, 0),    // vermillion
    RGBColor(0, 158, 115),   // green
    RGBColor(204, 121, 167), // purple
    RGBColor(230, 159, 0),   // orange
    RGBColor(86, 180, 233),  // sky
    RGBColor(120, 120, 120), // grey
    RGBColor(0, 0, 0),       // black
];

/// A palette colour by index.
pub fn color(i: usize) -> RGBColor {
    PALETTE[i % PALETTE.len()]
}

pub(super) const INK: RGBColor = RGBColor(27, 31, 36);
pub(super) const MUTED: RGBColor = RGBColor(87, 96, 106);
pub(super) const GRID: RGBColor = RGBColor(234, 238, 242);
pub(super) const AXIS: RGBColor = RGBColor(160, 166, 172);
/// Fault windows.
pub(super) const FAULT: RGBColor = RGBColor(220, 38, 38);

/// A sans-serif font `px` pixels high (plotters' SVG backend writes
/// `font-size` as the size over 1.24).
pub(super) fn font(px: f64) -> FontDesc<'static> {
    ("sans-serif", px * 1.24).into_font()
}

pub(super) fn text_style(px: f64, c: RGBColor) -> TextStyle<'static> {
    font(px).color(&c)
}

/// About how wide `s` is at `px` (sans-serif averages ~0.56 em; the SVG
/// viewer measures the real width, this only makes room).
pub(super) fn text_width(s: &str, px: f64) -> f64 {
    s.chars().count() as f64 * px * 0.56
}

/// `s` cut to `n` characters with `…`.
pub(super) fn clip(s: &str, n: usize) -> String {
    if s.chars().count() <= n { s.to_string() } else { s.chars().take(n.saturating_sub(1)).collect::<String>() + "…" }
}

/// An SVG that says a chart could not be drawn, and why.
pub(super) fn failed(width: u32, title: &str, why: &str) -> String {
    let esc = super::page::esc;
    format!(
        "<svg width=\"{width}\" height=\"60\" viewBox=\"0 0 {width} 60\" xmlns=\"http://www.w3.org/2000/svg\">\n\
         <text x=\"8\" y=\"24\" font-family=\"sans-serif\" font-size=\"13\">{}</text>\n\
         <text x=\"8\" y=\"44\" font-family=\"sans-serif\" font-size=\"12\" fill=\"#b42318\">could not be drawn: {}</text>\n</svg>\n",
        esc(title),
        esc(why)
    )
}
