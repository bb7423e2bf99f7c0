//! A layered drawing of boxes and arrows, left to right (a topology:
//! clients, then the services they call, then theirs). Layers are longest
//! paths from the boxes nothing points to, ignoring the arrows that close
//! a cycle; within a layer boxes follow the mean position of their callers
//! (two sweeps), which untangles most service graphs.

use super::{FAULT, INK, MUTED, clip, failed, font, text_style, text_width};
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NodeKind {
    /// Where traffic comes from (a workload).
    Client,
    Service,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Node {
    pub kind: NodeKind,
    /// The first line is the box's title.
    pub lines: Vec<String>,
    /// How busy it is, 0 to 1: the box's colour (none: neutral).
    pub heat: Option<f64>,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Diagram {
    pub title: String,
    pub nodes: Vec<Node>,
    /// `(from, to, label)` by index into `nodes`.
    pub edges: Vec<(usize, usize, String)>,
}

/// Least room between columns; more where an arrow's label needs it.
const GAP_X: f64 = 80.0;
/// Longest arrow label, characters.
const LABEL_CHARS: usize = 44;
const GAP_Y: f64 = 22.0;
const LINE_H: f64 = 15.0;
const MARGIN: f64 = 16.0;
const TITLE_H: f64 = 28.0;
const LEGEND_H: f64 = 26.0;

/// Box placement: `(x, y, w, h)` per node.
type Boxes = Vec<(f64, f64, f64, f64)>;

impl Diagram {
    /// Each node's layer (column).
    fn layers(&self) -> Vec<usize> {
        let n = self.nodes.len();
        let forward = self.forward_edges();
        let mut indeg = vec![0; n];
        for &(_, b) in &forward {
            indeg[b] += 1;
        }
        let mut layer = vec![0; n];
        let mut ready: Vec<usize> = (0..n).filter(|&v| indeg[v] == 0).collect();
        let mut k = 0;
        while k < ready.len() {
            let v = ready[k];
            k += 1;
            for &(a, b) in &forward {
                if a == v {
                    layer[b] = layer[b].max(layer[a] + 1);
                    indeg[b] -= 1;
                    if indeg[b] == 0 {
                        ready.push(b);
                    }
                }
            }
        }
        layer
    }

    /// The edges without those that close a cycle (found by a depth-first
    /// walk from the nodes in order) and without self-loops.
    fn forward_edges(&self) -> Vec<(usize, usize)> {
        let n = self.nodes.len();
        let mut state = vec![0u8; n]; // 0 new, 1 on the stack, 2 done
        let mut back = Vec::new();
        for root in 0..n {
            if state[root] != 0 {
                continue;
            }
            let mut stack = vec![(root, 0usize)];
            state[root] = 1;
            while let Some(&mut (v, ref mut i)) = stack.last_mut() {
                let next = self.edges.iter().enumerate().filter(|(_, e)| e.0 == v).nth(*i);
                *i += 1;
                match next {
                    Some((k, &(_, w, _))) if state[w] == 1 => back.push(k),
                    Some((_, &(_, w, _))) if state[w] == 0 => {
                        state[w] = 1;
                        stack.push((w, 0));
                    }
                    Some(_) => {}
                    None => {
                        state[v] = 2;
                        stack.pop();
                    }
                }
            }
        }
        self.edges
            .iter()
            .enumerate()
            .filter(|(k, e)| !back.contains(k) && e.0 != e.1)
            .map(|(_, e)| (e.0, e.1))
            .collect()
    }

    /// Nodes per layer, ordered by the mean position of their callers.
    fn order(&self, layer: &[usize]) -> Vec<Vec<usize>> {
        let depth = layer.iter().copied().max().map_or(0, |m| m + 1);
        let mut cols: Vec<Vec<usize>> = vec![Vec::new(); depth];
        for (v, &l) in layer.iter().enumerate() {
            cols[l].push(v);
        }
        for _ in 0..2 {
            let mut pos = vec![0.0; layer.len()];
            for c in &cols {
                for (i, &v) in c.iter().enumerate() {
                    pos[v] = i as f64 / c.len().max(1) as f64;
                }
            }
            for c in cols.iter_mut().skip(1) {
                let key = |v: usize| {
                    let from: Vec<f64> = self.edges.iter().filter(|e| e.1 == v && e.0 != v).map(|e| pos[e.0]).collect();
                    if from.is_empty() { pos[v] } else { from.iter().sum::<f64>() / from.len() as f64 }
                };
                let mut keyed: Vec<(f64, usize)> = c.iter().map(|&v| (key(v), v)).collect();
                keyed.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
                *c = keyed.into_iter().map(|k| k.1).collect();
            }
        }
        cols
    }

    /// Where each box goes, and the size of the drawing.
    fn place(&self) -> (Boxes, (u32, u32)) {
        let layer = self.layers();
        let cols = self.order(&layer);
        let mut gap = vec![GAP_X; cols.len()];
        for (a, _, label) in &self.edges {
            gap[layer[*a]] = gap[layer[*a]].max(text_width(&clip(label, LABEL_CHARS), 10.0) + 36.0);
        }
        let lines = |v: usize| self.nodes[v].lines.iter().map(|l| clip(l, 34));
        let w = |v: usize| lines(v).map(|l| text_width(&l, 11.5)).fold(70.0, f64::max) + 20.0;
        let h = |v: usize| self.nodes[v].lines.len().max(1) as f64 * LINE_H + 12.0;
        let col_w: Vec<f64> = cols.iter().map(|c| c.iter().map(|&v| w(v)).fold(0.0, f64::max)).collect();
        let col_h: Vec<f64> = cols.iter().map(|c| c.iter().map(|&v| h(v) + GAP_Y).sum::<f64>() - GAP_Y).collect();
        let height = col_h.iter().copied().fold(0.0, f64::max);
        let mut boxes = vec![(0.0, 0.0, 0.0, 0.0); self.nodes.len()];
        let mut x = MARGIN;
        for (k, c) in cols.iter().enumerate() {
            let mut y = TITLE_H + (height - col_h[k]) / 2.0;
            for &v in c {
                boxes[v] = (x + (col_w[k] - w(v)) / 2.0, y, w(v), h(v));
                y += h(v) + GAP_Y;
            }
            x += col_w[k] + gap[k];
        }
        let width = (x - gap.last().copied().unwrap_or(0.0) + MARGIN).max(320.0);
        (boxes, (width.ceil() as u32, (TITLE_H + height + LEGEND_H + MARGIN).ceil() as u32))
    }

    pub fn to_svg(&self) -> String {
        let (boxes, size) = self.place();
        let mut svg = String::new();
        let drawn = {
            let root = SVGBackend::with_string(&mut svg, size).into_drawing_area();
            self.draw(&root, &boxes, size).and_then(|()| root.present().map_err(|e| e.to_string()))
        };
        match drawn {
            Ok(()) => svg,
            Err(e) => failed(size.0, &self.title, &e),
        }
    }

    fn draw(&self, root: &DrawingArea<SVGBackend, Shift>, boxes: &Boxes, size: (u32, u32)) -> Result<(), String> {
        let e = |e: DrawingAreaErrorKind<_>| e.to_string();
        root.fill(&WHITE).map_err(e)?;
        root.draw(&Text::new(self.title.clone(), (10, 6), font(13.5).style(FontStyle::Bold).color(&INK))).map_err(e)?;
        let mut labels = Vec::new();
        for (a, b, label) in &self.edges {
            let path = route(boxes[*a], boxes[*b]);
            root.draw(&PathElement::new(path.clone(), MUTED.stroke_width(1))).map_err(e)?;
            root.draw(&arrowhead(path[path.len() - 2], path[path.len() - 1])).map_err(e)?;
            if !label.is_empty() {
                let (p, q) = (path[path.len() / 2 - 1], path[path.len() / 2]);
                labels.push((((p.0 + q.0) / 2, (p.1 + q.1) / 2), clip(label, LABEL_CHARS)));
            }
        }
        for ((x, y), l) in labels {
            let half = (text_width(&l, 10.0) / 2.0) as i32 + 3;
            root.draw(&Rectangle::new([(x - half, y - 7), (x + half, y + 7)], WHITE.mix(0.85).filled())).map_err(e)?;
            let style = text_style(10.0, MUTED).pos(Pos::new(HPos::Center, VPos::Center));
            root.draw(&Text::new(l, (x, y), style)).map_err(e)?;
        }
        for (v, n) in self.nodes.iter().enumerate() {
            let (x, y, w, h) = boxes[v];
            let (fill, stroke) = colours(n);
            let corners = [(x as i32, y as i32), ((x + w) as i32, (y + h) as i32)];
            root.draw(&Rectangle::new(corners, fill.filled())).map_err(e)?;
            root.draw(&Rectangle::new(
                corners,
                stroke.stroke_width(if n.heat.is_some_and(|u| u >= 0.9) { 2 } else { 1 }),
            ))
            .map_err(e)?;
            for (i, l) in n.lines.iter().enumerate() {
                let style =
                    if i == 0 { font(12.0).style(FontStyle::Bold).color(&INK) } else { text_style(10.5, MUTED) };
                let pos = ((x + w / 2.0) as i32, (y + 6.0 + i as f64 * LINE_H) as i32);
                root.draw(&Text::new(clip(l, 34), pos, style.pos(Pos::new(HPos::Center, VPos::Top)))).map_err(e)?;
            }
        }
        let legend = "box colour: time-average core utilization — under 70%, 70–90%, 90% and over";
        let y = size.1 as i32 - LEGEND_H as i32;
        let mut x = 14;
        for heat in [0.0, 0.8, 0.95] {
            let (fill, stroke) = colours(&Node { kind: NodeKind::Service, lines: vec![], heat: Some(heat) });
            root.draw(&Rectangle::new([(x, y + 3), (x + 14, y + 15)], fill.filled())).map_err(e)?;
            root.draw(&Rectangle::new([(x, y + 3), (x + 14, y + 15)], stroke.stroke_width(1))).map_err(e)?;
            x += 18;
        }
        root.draw(&Text::new(legend, (x + 4, y + 3), text_style(10.5, MUTED))).map_err(e)?;
        Ok(())
    }
}

/// Fill and border of a box: clients grey; services by how busy.
fn colours(n: &Node) -> (RGBColor, RGBColor) {
    match (n.kind, n.heat) {
        (NodeKind::Client, _) => (RGBColor(240, 241, 243), RGBColor(140, 146, 152)),
        (_, Some(u)) if u >= 0.9 => (RGBColor(253, 226, 225), FAULT),
        (_, Some(u)) if u >= 0.7 => (RGBColor(255, 241, 204), RGBColor(191, 135, 0)),
        _ => (RGBColor(231, 241, 251), RGBColor(0, 114, 178)),
    }
}

/// An arrow from box `a` to box `b`: right side to left side when `b` is
/// further right; else under both boxes and back up.
fn route(a: (f64, f64, f64, f64), b: (f64, f64, f64, f64)) -> Vec<(i32, i32)> {
    let p = |x: f64, y: f64| (x.round() as i32, y.round() as i32);
    if b.0 > a.0 + a.2 {
        let (ax, ay, bx, by) = (a.0 + a.2, a.1 + a.3 / 2.0, b.0, b.1 + b.3 / 2.0);
        let mid = (ax + bx) / 2.0;
        vec![p(ax, ay), p(mid, ay), p(mid, by), p(bx, by)]
    } else {
        let (ax, bx) = (a.0 + a.2 / 2.0, b.0 + b.2 / 2.0 + 6.0);
        let low = (a.1 + a.3).max(b.1 + b.3) + GAP_Y / 2.0;
        vec![p(ax, a.1 + a.3), p(ax, low), p(bx, low), p(bx, b.1 + b.3)]
    }
}

/// A filled triangle at `to`, pointing along `from → to`.
fn arrowhead(from: (i32, i32), to: (i32, i32)) -> Polygon<(i32, i32)> {
    let (dx, dy) = ((to.0 - from.0) as f64, (to.1 - from.1) as f64);
    let len = (dx * dx + dy * dy).sqrt().max(1e-9);
    let (ux, uy) = (dx / len, dy / len);
    let back = |s: f64| ((to.0 as f64 - ux * 8.0 + uy * s) as i32, (to.1 as f64 - uy * 8.0 - ux * s) as i32);
    Polygon::new(vec![to, back(4.0), back(-4.0)], MUTED.filled())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(name: &str) -> Node {
        Node { kind: NodeKind::Service, lines: vec![name.into()], heat: None }
    }

    #[test]
    fn layers_follow_calls_and_survive_cycles() {
        let d = Diagram {
            title: "t".into(),
            nodes: vec![node("client"), node("web"), node("api"), node("db"), node("cache")],
            edges: vec![
                (0, 1, String::new()),
                (1, 2, String::new()),
                (2, 3, String::new()),
                (1, 3, String::new()),
                (3, 2, "a cycle".into()),
                (4, 4, "itself".into()),
            ],
        };
        assert_eq!(d.layers(), [0, 1, 2, 3, 0]);
        let svg = d.to_svg();
        assert!(svg.contains(">\na cycle\n</text>") && svg.contains(">\ndb\n</text>"), "{svg}");
    }
}
