//! Latency chains: where a request's time went, hop by hop, on its critical
//! path.
//!
//! Each workload's entry endpoint unfolds into a static call tree (one node
//! per call site along every path). While a counted request runs, each strand
//! of each attempt holds a small buffer of [`Hop`]s — its node and the
//! nanoseconds spent queueing, on a core, on the network, in delays and in
//! wasted (timed-out) attempts. A returning call appends the callee's buffer
//! to the caller strand's; a join keeps only the buffer of the branch it
//! waited for. When a request ends well, its buffer is summed per node into
//! the workload's totals (the mean chain), if its latency lies between the
//! running p45 and p55 estimates into the median totals (the median chain),
//! and if it is at or above the running p99 estimate into the tail totals
//! (the p99 chain). Buffers
//! are pooled: memory is bounded by the requests in flight.

use crate::engine::SimDuration;
use crate::model::{EdgeId, Instr, Model, WorkloadId};
use std::collections::VecDeque;

/// Which latency chains a successful, counted request joins besides the
/// mean: the median chain (between the running p45 and p55) and the tail
/// chain (at or above the running p99). Both estimates are refreshed at
/// each power of two of successes from 1,024, then every 65,536.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Bands {
    pub median: bool,
    pub tail: bool,
}

/// A node of a workload's static call tree.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct NodeId(u32);

impl NodeId {
    #[inline]
    pub fn ix(self) -> usize {
        self.0 as usize
    }
}

/// A pooled buffer of hops (one per strand, attempt or call that holds one).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Buf(u32);
/// A workload whose call tree is larger than this gets no chain.
const MAX_NODES_PER_WORKLOAD: usize = 20_000;
/// Pooled buffers larger than this are shrunk when recycled.
const MAX_POOLED_CAPACITY: usize = 1024;

/// The parts of a hop's time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Part {
    Queue = 0,
    Cpu = 1,
    Network = 2,
    Backoff = 3,
    Wasted = 4,
    Delay = 5,
    /// Waiting out a CFS period after the replica's CPU quota ran out.
    Throttled = 6,
}
pub(crate) const PARTS: usize = 7;

#[derive(Clone, Copy, Debug)]
pub(crate) struct Hop {
    node: u32,
    /// 1 for the hop that opens an attempt's visit, else 0.
    visit: u32,
    ns: [u64; PARTS],
}

pub(crate) struct Node {
    pub endpoint: u32,
    pub depth: u32,
    /// Index of the first child; the child for the endpoint's k-th call site is `first_child + k`.
    first_child: u32,
}

/// Per-workload sums over requests.
#[derive(Clone, Default)]
pub(crate) struct Totals {
    pub requests: u64,
    /// Per node: visits and nanoseconds per part.
    pub visits: Vec<u64>,
    pub ns: Vec<[u64; PARTS]>,
}

pub(crate) struct Chains {
    pub nodes: Vec<Node>,
    /// Per workload: its root node (`None` if its tree was too large).
    pub roots: Vec<Option<NodeId>>,
    /// Per edge: its ordinal among its caller endpoint's call sites.
    edge_ordinal: Vec<u32>,
    pool: Vec<VecDeque<Hop>>,
    free: Vec<u32>,
    pub mean: Vec<Totals>,
    pub median: Vec<Totals>,
    pub tail: Vec<Totals>,
}

impl Chains {
    pub fn new(m: &Model) -> Self {
        let mut edge_ordinal = vec![0; m.edges.len()];
        let mut sites: Vec<Vec<u32>> = vec![Vec::new(); m.endpoints.len()];
        for (ep, site_list) in m.endpoints.iter().zip(sites.iter_mut()) {
            for ins in &ep.code {
                if let Instr::Call(e) = ins {
                    edge_ordinal[e.ix()] = site_list.len() as u32;
                    site_list.push(e.0);
                }
            }
        }
        let mut nodes = Vec::new();
        let mut roots = Vec::new();
        for w in &m.workloads {
            let start = nodes.len();
            let ok = unfold(m, &sites, w.target.0, 0, &mut nodes, start + MAX_NODES_PER_WORKLOAD);
            if ok {
                roots.push(Some(NodeId(start as u32)));
            } else {
                nodes.truncate(start);
                roots.push(None);
            }
        }
        let totals = |n: usize| Totals { requests: 0, visits: vec![0; n], ns: vec![[0; PARTS]; n] };
        Chains {
            mean: (0..m.workloads.len()).map(|_| totals(nodes.len())).collect(),
            median: (0..m.workloads.len()).map(|_| totals(nodes.len())).collect(),
            tail: (0..m.workloads.len()).map(|_| totals(nodes.len())).collect(),
            nodes,
            roots,
            edge_ordinal,
            pool: Vec::new(),
            free: Vec::new(),
        }
    }

    pub fn root_node(&self, wl: WorkloadId) -> Option<NodeId> {
        self.roots[wl.ix()]
    }

    #[inline]
    pub fn child_node(&self, node: Option<NodeId>, edge: EdgeId) -> Option<NodeId> {
        node.map(|n| NodeId(self.nodes[n.ix()].first_child + self.edge_ordinal[edge.ix()]))
    }

    /// A new empty buffer, if the attempt is counted and has a node.
    pub fn new_buffer(&mut self, counted: bool, node: Option<NodeId>) -> Option<Buf> {
        if !counted || node.is_none() {
            return None;
        }
        Some(match self.free.pop() {
            Some(id) => Buf(id),
            None => {
                self.pool.push(VecDeque::with_capacity(8));
                Buf((self.pool.len() - 1) as u32)
            }
        })
    }

    pub fn recycle(&mut self, chain: Option<Buf>) {
        if let Some(Buf(b)) = chain {
            let buf = &mut self.pool[b as usize];
            buf.clear();
            // A buffer that once held a deep chain does not keep its size
            // in the pool: pooled memory stays bounded by what is in flight.
            if buf.capacity() > MAX_POOLED_CAPACITY {
                buf.shrink_to(8);
            }
            self.free.push(b);
        }
    }

    /// Adds `d` to `part` of `node` in buffer `chain`.
    #[inline]
    pub fn add(&mut self, chain: Option<Buf>, node: Option<NodeId>, part: Part, d: SimDuration) {
        let (Some(Buf(chain)), Some(NodeId(node))) = (chain, node) else { return };
        let buf = &mut self.pool[chain as usize];
        match buf.back_mut() {
            Some(h) if h.node == node => h.ns[part as usize] += d.0,
            _ => {
                let mut ns = [0; PARTS];
                ns[part as usize] = d.0;
                buf.push_back(Hop { node, visit: 0, ns });
            }
        }
    }

    /// Opens a visit of `node` (an attempt started running) with its
    /// admission wait.
    pub fn begin_visit(&mut self, chain: Option<Buf>, node: Option<NodeId>, queued: SimDuration) {
        let (Some(Buf(chain)), Some(NodeId(node))) = (chain, node) else { return };
        let mut ns = [0; PARTS];
        ns[Part::Queue as usize] = queued.0;
        self.pool[chain as usize].push_back(Hop { node, visit: 1, ns });
    }

    /// Adds network time to the callee's buffer and returns it.
    pub fn add_network(&mut self, chain: Option<Buf>, node: Option<NodeId>, d: SimDuration) -> Option<Buf> {
        self.add(chain, node, Part::Network, d);
        chain
    }

    /// A buffer holding only wasted time at `node` (a timed-out call).
    pub fn wasted(&mut self, node: Option<NodeId>, d: SimDuration, counted: bool) -> Option<Buf> {
        let c = self.new_buffer(counted, node);
        self.add(c, node, Part::Wasted, d);
        c
    }

    /// `a` followed by `b` (either may be `None`).
    pub fn join(&mut self, a: Option<Buf>, b: Option<Buf>) -> Option<Buf> {
        if a.is_none() {
            return b;
        }
        self.append(a, b);
        a
    }

    /// Moves the hops of `src` to the end of `dst` and recycles `src`. The
    /// shorter side is copied into the longer (small-to-large), so a deep
    /// call chain costs O(n log n) copies, not O(n²).
    pub fn append(&mut self, dst: Option<Buf>, src: Option<Buf>) {
        let Some(Buf(s)) = src else { return };
        if let Some(Buf(d)) = dst {
            let (d, s) = (d as usize, s as usize);
            if self.pool[s].is_empty() {
                // Nothing to move.
            } else if self.pool[d].is_empty() {
                self.pool.swap(d, s);
            } else if self.pool[d].len() >= self.pool[s].len() {
                let moved = std::mem::take(&mut self.pool[s]);
                self.pool[d].extend(moved.iter().copied());
                self.pool[s] = moved;
            } else {
                let small = std::mem::take(&mut self.pool[d]);
                for h in small.iter().rev() {
                    self.pool[s].push_front(*h);
                }
                self.pool.swap(d, s);
                self.pool[s] = small;
            }
        }
        self.recycle(src);
    }

    /// A request of workload `wl` succeeded with this chain.
    pub fn finish_request(&mut self, wl: WorkloadId, chain: Option<Buf>, bands: Bands) {
        let Some(Buf(chain)) = chain else { return };
        let buf = std::mem::take(&mut self.pool[chain as usize]);
        let add_to = |t: &mut Totals| {
            t.requests += 1;
            for h in &buf {
                t.visits[h.node as usize] += h.visit as u64;
                for (acc, v) in t.ns[h.node as usize].iter_mut().zip(h.ns) {
                    *acc += v;
                }
            }
        };
        add_to(&mut self.mean[wl.ix()]);
        if bands.median {
            add_to(&mut self.median[wl.ix()]);
        }
        if bands.tail {
            add_to(&mut self.tail[wl.ix()]);
        }
        self.pool[chain as usize] = buf;
        self.recycle(Some(Buf(chain)));
    }

    /// The nodes of workload `wl`'s tree in call order (depth first).
    pub fn preorder(&self, m: &Model, wl: WorkloadId) -> Vec<u32> {
        let mut out = Vec::new();
        if let Some(NodeId(root)) = self.roots[wl.ix()] {
            self.walk(m, root, &mut out);
        }
        out
    }

    fn walk(&self, m: &Model, node: u32, out: &mut Vec<u32>) {
        out.push(node);
        let n = &self.nodes[node as usize];
        let calls = m.endpoints[n.endpoint as usize].code.iter().filter(|i| matches!(i, Instr::Call(_))).count();
        for k in 0..calls as u32 {
            self.walk(m, n.first_child + k, out);
        }
    }

    /// Buffers currently in use (for invariants: bounded by what is in flight).
    pub fn buffers_in_use(&self) -> usize {
        self.pool.len() - self.free.len()
    }
}

/// Appends the call tree of `endpoint`; false if it grew past `limit`.
/// Siblings are contiguous (so `first_child + ordinal` finds a child); use
/// [`Chains::preorder`] to walk it in call order.
fn unfold(m: &Model, sites: &[Vec<u32>], endpoint: u32, depth: u32, nodes: &mut Vec<Node>, limit: usize) -> bool {
    let me = nodes.len();
    nodes.push(Node { endpoint, depth, first_child: 0 });
    unfold_children(m, sites, me, endpoint, depth, nodes, limit)
}

/// Fills in the children of the existing node `at` (for `endpoint`), recursively.
fn unfold_children(
    m: &Model,
    sites: &[Vec<u32>],
    at: usize,
    endpoint: u32,
    depth: u32,
    nodes: &mut Vec<Node>,
    limit: usize,
) -> bool {
    let calls = &sites[endpoint as usize];
    let first = nodes.len();
    nodes[at].first_child = first as u32;
    for &e in calls {
        nodes.push(Node { endpoint: m.edges[e as usize].callee.0, depth: depth + 1, first_child: 0 });
    }
    if nodes.len() > limit {
        return false;
    }
    for (k, &e) in calls.iter().enumerate() {
        if !unfold_children(m, sites, first + k, m.edges[e as usize].callee.0, depth + 1, nodes, limit) {
            return false;
        }
    }
    true
}
