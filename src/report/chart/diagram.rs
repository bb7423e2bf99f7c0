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

/// Box placement: `(x, y, w, h)` per vertex.
type Boxes = Vec<(f64, f64, f64, f64)>;

/// Height of a dummy vertex: where an arrow crosses a layer.
const DUMMY_H: f64 = 10.0;

/// A drawing's geometry.
struct Layout {
    boxes: Boxes,
    /// Per edge, the points of its arrow.
    routes: Vec<Vec<(f64, f64)>>,
    size: (u32, u32),
}

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

    /// Where every box and arrow goes.
    fn layout(&self) -> Layout {
        let layer = self.layers();
        // Vertices: the nodes, then a dummy per layer an arrow crosses.
        let mut vlayer = layer.clone();
        let chains: Vec<Vec<usize>> = self
            .edges
            .iter()
            .map(|&(a, b, _)| {
                let mut c = vec![a];
                if layer[b] > layer[a] {
                    for l in layer[a] + 1..layer[b] {
                        vlayer.push(l);
                        c.push(vlayer.len() - 1);
                    }
                }
                c.push(b);
                c
            })
            .collect();
        let forward = |k: usize| layer[self.edges[k].1] > layer[self.edges[k].0];
        let segs: Vec<(usize, usize)> = (0..chains.len())
            .filter(|&k| forward(k))
            .flat_map(|k| chains[k].windows(2).map(|w| (w[0], w[1])))
            .collect();
        let cols = order(&vlayer, &segs);
        let n = self.nodes.len();
        let lines = |v: usize| self.nodes[v].lines.iter().map(|l| clip(l, 34));
        let size = |v: usize| -> (f64, f64) {
            if v >= n {
                return (0.0, DUMMY_H);
            }
            let w = lines(v).map(|l| text_width(&l, 11.5)).fold(70.0, f64::max) + 20.0;
            (w, self.nodes[v].lines.len().max(1) as f64 * LINE_H + 12.0)
        };
        let mut gap = vec![GAP_X; cols.len()];
        for (k, (_, b, label)) in self.edges.iter().enumerate() {
            if forward(k) && layer[*b] > 0 {
                let need = text_width(&clip(label, LABEL_CHARS), 10.0) + 44.0;
                gap[layer[*b] - 1] = gap[layer[*b] - 1].max(need);
            }
        }
        let step = |v: usize| size(v).1 + if v < n { GAP_Y } else { 8.0 };
        let col_w: Vec<f64> = cols.iter().map(|c| c.iter().map(|&v| size(v).0).fold(0.0, f64::max)).collect();
        let col_h: Vec<f64> = cols.iter().map(|c| c.iter().map(|&v| step(v)).sum::<f64>()).collect();
        let height = col_h.iter().copied().fold(0.0, f64::max);
        let mut rects = vec![(0.0, 0.0, 0.0, 0.0); vlayer.len()];
        let mut x = MARGIN;
        for (k, c) in cols.iter().enumerate() {
            let mut y = TITLE_H + (height - col_h[k]) / 2.0;
            for &v in c {
                let (w, h) = size(v);
                rects[v] = (x + (col_w[k] - w) / 2.0, y, w, h);
                y += step(v);
            }
            x += col_w[k] + gap[k];
        }
        let width = (x - gap.last().copied().unwrap_or(0.0) + MARGIN).max(320.0);
        let routes = self.routes(&chains, &rects, &forward);
        let size = (width.ceil() as u32, (TITLE_H + height + GAP_Y + LEGEND_H + MARGIN).ceil() as u32);
        rects.truncate(n);
        Layout { boxes: rects, routes, size }
    }

    /// The arrows: forward ones from a port on the caller's right side
    /// through their dummies to a port on the callee's left side (ports
    /// spread along the side in the order of the other ends); the others
    /// under both boxes.
    fn routes(&self, chains: &[Vec<usize>], r: &Boxes, forward: &dyn Fn(usize) -> bool) -> Vec<Vec<(f64, f64)>> {
        let mid = |v: usize| r[v].1 + r[v].3 / 2.0;
        let mut out_port = vec![0.0; chains.len()];
        let mut in_port = vec![0.0; chains.len()];
        for (v, &(_, top, _, h)) in r.iter().enumerate().take(self.nodes.len()) {
            let side = |ks: Vec<(f64, usize)>, port: &mut Vec<f64>| {
                let mut ks = ks;
                ks.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
                for (i, &(_, k)) in ks.iter().enumerate() {
                    port[k] = top + h * (i + 1) as f64 / (ks.len() + 1) as f64;
                }
            };
            let fw = |k: &usize| forward(*k);
            side(
                (0..chains.len()).filter(fw).filter(|&k| chains[k][0] == v).map(|k| (mid(chains[k][1]), k)).collect(),
                &mut out_port,
            );
            let prev = |k: usize| chains[k][chains[k].len() - 2];
            side(
                (0..chains.len())
                    .filter(fw)
                    .filter(|&k| chains[k].last() == Some(&v))
                    .map(|k| (mid(prev(k)), k))
                    .collect(),
                &mut in_port,
            );
        }
        (0..chains.len())
            .map(|k| {
                let (a, b) = (chains[k][0], *chains[k].last().expect("two ends"));
                if forward(k) {
                    let mut p = vec![(r[a].0 + r[a].2, out_port[k])];
                    p.extend(chains[k][1..chains[k].len() - 1].iter().map(|&d| (r[d].0, mid(d))));
                    p.push((r[b].0, in_port[k]));
                    p
                } else {
                    let (ax, bx) = (r[a].0 + r[a].2 / 2.0, r[b].0 + r[b].2 / 2.0 + 6.0);
                    let low = (r[a].1 + r[a].3).max(r[b].1 + r[b].3) + GAP_Y / 2.0;
                    vec![(ax, r[a].1 + r[a].3), (ax, low), (bx, low), (bx, r[b].1 + r[b].3)]
                }
            })
            .collect()
    }

    pub fn to_svg(&self) -> String {
        let l = self.layout();
        let mut svg = String::new();
        let drawn = {
            let root = SVGBackend::with_string(&mut svg, l.size).into_drawing_area();
            self.draw(&root, &l).and_then(|()| root.present().map_err(|e| e.to_string()))
        };
        match drawn {
            Ok(()) => svg,
            Err(e) => failed(l.size.0, &self.title, &e),
        }
    }

    fn draw(&self, root: &DrawingArea<SVGBackend, Shift>, l: &Layout) -> Result<(), String> {
        let e = |e: DrawingAreaErrorKind<_>| e.to_string();
        root.fill(&WHITE).map_err(e)?;
        root.draw(&Text::new(self.title.clone(), (10, 6), font(13.5).style(FontStyle::Bold).color(&INK))).map_err(e)?;
        let px = |p: &(f64, f64)| (p.0.round() as i32, p.1.round() as i32);
        let mut labels = Vec::new();
        for ((_, _, label), route) in self.edges.iter().zip(&l.routes) {
            let path: Vec<(i32, i32)> = route.iter().map(px).collect();
            root.draw(&PathElement::new(path.clone(), MUTED.stroke_width(1))).map_err(e)?;
            root.draw(&arrowhead(path[path.len() - 2], path[path.len() - 1])).map_err(e)?;
            if !label.is_empty() {
                // Forward: above the arrow's end, ending before the box;
                // under the boxes: in the middle of the bottom run.
                let (end, pos) = if path[0].0 < path[path.len() - 1].0 && path.len() >= 2 {
                    let (x, y) = path[path.len() - 1];
                    ((x - 10, y - 2), Pos::new(HPos::Right, VPos::Bottom))
                } else {
                    (((path[1].0 + path[2].0) / 2, path[1].1 + 2), Pos::new(HPos::Center, VPos::Top))
                };
                labels.push((end, pos, clip(label, LABEL_CHARS)));
            }
        }
        for (at, pos, text) in labels {
            let w = text_width(&text, 10.0) as i32 + 4;
            let x0 = match pos.h_pos {
                HPos::Right => at.0 - w + 2,
                HPos::Center => at.0 - w / 2,
                HPos::Left => at.0 - 2,
            };
            let y0 = if matches!(pos.v_pos, VPos::Bottom) { at.1 - 12 } else { at.1 };
            root.draw(&Rectangle::new([(x0, y0), (x0 + w, y0 + 12)], WHITE.mix(0.8).filled())).map_err(e)?;
            root.draw(&Text::new(text, at, text_style(10.0, MUTED).pos(pos))).map_err(e)?;
        }
        self.draw_boxes(root, &l.boxes)?;
        self.draw_legend(root, l.size)
    }

    fn draw_boxes(&self, root: &DrawingArea<SVGBackend, Shift>, boxes: &Boxes) -> Result<(), String> {
        let e = |e: DrawingAreaErrorKind<_>| e.to_string();
        for (v, n) in self.nodes.iter().enumerate() {
            let (x, y, w, h) = boxes[v];
            let (fill, stroke) = colours(n);
            let corners = [(x as i32, y as i32), ((x + w) as i32, (y + h) as i32)];
            root.draw(&Rectangle::new(corners, fill.filled())).map_err(e)?;
            let width = if n.heat.is_some_and(|u| u >= 0.9) { 2 } else { 1 };
            root.draw(&Rectangle::new(corners, stroke.stroke_width(width))).map_err(e)?;
            for (i, l) in n.lines.iter().enumerate() {
                let style =
                    if i == 0 { font(12.0).style(FontStyle::Bold).color(&INK) } else { text_style(10.5, MUTED) };
                let pos = ((x + w / 2.0) as i32, (y + 6.0 + i as f64 * LINE_H) as i32);
                root.draw(&Text::new(clip(l, 34), pos, style.pos(Pos::new(HPos::Center, VPos::Top)))).map_err(e)?;
            }
        }
        Ok(())
    }

    fn draw_legend(&self, root: &DrawingArea<SVGBackend, Shift>, size: (u32, u32)) -> Result<(), String> {
        let e = |e: DrawingAreaErrorKind<_>| e.to_string();
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

/// The vertices of each layer, ordered to untangle the segments: starting
/// in index order, sweeps down (by the mean position of the vertices before)
/// and up (after), four times each.
fn order(vlayer: &[usize], segs: &[(usize, usize)]) -> Vec<Vec<usize>> {
    let depth = vlayer.iter().copied().max().map_or(0, |m| m + 1);
    let mut cols: Vec<Vec<usize>> = vec![Vec::new(); depth];
    for (v, &l) in vlayer.iter().enumerate() {
        cols[l].push(v);
    }
    let mut pos = vec![0.0; vlayer.len()];
    let place = |cols: &Vec<Vec<usize>>, pos: &mut Vec<f64>| {
        for c in cols {
            for (i, &v) in c.iter().enumerate() {
                pos[v] = (i as f64 + 0.5) / c.len() as f64;
            }
        }
    };
    for _ in 0..4 {
        for down in [true, false] {
            place(&cols, &mut pos);
            let range: Vec<usize> =
                if down { (1..depth).collect() } else { (0..depth.saturating_sub(1)).rev().collect() };
            for l in range {
                let key = |v: usize| {
                    let near: Vec<f64> = segs
                        .iter()
                        .filter_map(|&(a, b)| if down { (b == v).then_some(a) } else { (a == v).then_some(b) })
                        .map(|u| pos[u])
                        .collect();
                    if near.is_empty() { pos[v] } else { near.iter().sum::<f64>() / near.len() as f64 }
                };
                let mut keyed: Vec<(f64, usize)> = cols[l].iter().map(|&v| (key(v), v)).collect();
                keyed.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
                cols[l] = keyed.into_iter().map(|k| k.1).collect();
                for (i, &v) in cols[l].iter().enumerate() {
                    pos[v] = (i as f64 + 0.5) / cols[l].len() as f64;
                }
            }
        }
    }
    cols
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
