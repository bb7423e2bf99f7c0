//! Compiling endpoint steps into flat instruction lists ([`Instr`]).
//!
//! Layout of the compiled code (pcs are absolute indices):
//! - `parallel`: `Fork(f)`, then each branch followed by `EndBranch`; the
//!   fork's `join_pc` is the pc after the last `EndBranch`.
//! - `branch`: `Branch(t)`, then each alternative followed by `Jump(end)`.
//! - `repeat`: `RepeatInit { slot, count, exit }`, the body,
//!   `RepeatNext { slot, body }`; `exit` is the pc after `RepeatNext`. The
//!   slot is the repeat's nesting depth counted from the endpoint root or
//!   the nearest enclosing parallel branch (at most [`MAX_LOOP_DEPTH`]).
//! - `cache`: `Cache { cache, miss }`, the hit steps, `Jump(end)`, the miss
//!   steps; on a keyed cache `CacheLookup { site, slot, miss }`, the hit
//!   steps, `Jump(end)`, the miss steps, `CacheFill { site, slot }` (the
//!   slot: the keyed cache's nesting depth, at most [`MAX_CACHE_DEPTH`]);
//!   `invalidate`: `CacheInvalidate { site }`.
//! - `publish`: `Publish(p)`, `p` indexing `Model::publishes` (its `key`
//!   is resolved after the workloads, in `queues::resolve_keys`).
//! - `generate`: `Generate(g)`, `g` indexing `Model::generates` (its
//!   `tokens(ATTR)` slots are resolved after the workloads, in
//!   `inference::resolve_tokens`).
//! - the endpoint ends with `Respond`.
//!
//! Problems are reported through [`Build`]; code compiled from a file with
//! problems is never used.

use super::decode::{Fields, Loc, did_you_mean, listing, shown};
use super::keys::{ALTERNATIVE, CACHE, ENDPOINT, GENERATE, REPEAT, REPLY, STEP};
use super::topology::{Build, MAX_REPEAT};
use super::yaml::Node;
use crate::model::{
    BranchId, BranchTable, Cache, CacheId, CacheSite, CacheSiteId, Edge, EndpointId, Fork, ForkId, Generate,
    GenerateId, Instr, MAX_CACHE_DEPTH, MAX_LOOP_DEPTH, Publish, PublishId, QueueId, Tokens, Wait,
};

/// Where a `call` is written.
#[derive(Clone, Debug)]
pub struct Site {
    pub loc: Loc,
    pub path: String,
}

const STEPS_HINT: &str = "write each step on its own line starting with '- '";

/// Compiles one endpoint (`{ work: … }` or `{ steps: [...] }`).
pub(super) fn endpoint(b: &mut Build, id: EndpointId, v: &Node, path: &str, at: Loc) -> Vec<Instr> {
    let mut e = Emitter { b, ep: id, code: Vec::new(), cache_depth: 0 };
    if let Some(f) = e.b.cx.fields(v, path, at, &ENDPOINT) {
        match (f.get("work"), f.get("steps")) {
            (Some(_), Some(s)) => {
                let msg = "an endpoint has either 'work' (a shorthand) or 'steps', not both";
                let hint = Some("move the work into the steps: - work: …".into());
                e.b.cx.error(s.loc(), &f.at("steps"), msg, hint);
            }
            (Some(w), None) => {
                if let Some(d) = e.b.cx.dist(w, &f.at("work")) {
                    e.code.push(Instr::Work(d));
                }
            }
            (None, Some(s)) => e.steps(s, &f.at("steps"), 0),
            // With unknown keys, their errors already list 'work' and 'steps'.
            (None, None) if v.as_map().is_some_and(|m| m.iter().any(|(k, _)| ENDPOINT.key(&k.text).is_none())) => {}
            (None, None) => {
                let hint = Some("e.g. work: exp(5ms), or steps: [ { work: 2ms }, { call: db.query } ]".into());
                e.b.cx.error(at, path, "an endpoint needs 'work' or 'steps'", hint);
            }
        }
    }
    e.code.push(Instr::Respond);
    e.code
}

struct Emitter<'b, 'a> {
    b: &'b mut Build<'a>,
    ep: EndpointId,
    code: Vec<Instr>,
    /// Keyed `cache` steps open around the step being compiled.
    cache_depth: usize,
}

impl Emitter<'_, '_> {
    fn pc(&self) -> u32 {
        self.code.len() as u32
    }

    fn steps(&mut self, n: &Node, path: &str, depth: usize) {
        let Some(items) = self.b.cx.list(n, path, "a list of steps", STEPS_HINT) else {
            return;
        };
        for (i, s) in items.iter().enumerate() {
            self.step(s, &format!("{path}[{i}]"), depth);
        }
    }

    fn step(&mut self, n: &Node, path: &str, depth: usize) {
        let Some(k) = self.b.cx.variant_by_key(n, path, &STEP) else { return };
        let Some(f) = self.b.cx.fields_planned(n, path, n.loc(), STEP.variants[k], STEP.later) else {
            return;
        };
        let kind = STEP.tag_of(k);
        let (Some(v), Some(key)) = (f.get(kind), f.key(kind)) else {
            return;
        };
        let vpath = f.at(kind);
        match kind {
            "work" => {
                if let Some(d) = self.b.cx.dist(v, &vpath) {
                    self.code.push(Instr::Work(d));
                }
            }
            "delay" => {
                if let Some(d) = self.b.cx.dist(v, &vpath) {
                    self.code.push(Instr::Delay(d));
                }
            }
            "fail" => {
                if let Some(p) = self.b.cx.probability(v, &vpath) {
                    self.code.push(Instr::Fail { p });
                }
            }
            "call" => self.call(&f, v, &vpath),
            "parallel" => self.parallel(&f, v, &vpath),
            "sequence" => self.steps(v, &vpath, depth),
            "branch" => self.branch(v, &vpath, key.loc(), depth),
            "repeat" => self.repeat(v, &vpath, key.loc(), depth),
            "publish" => self.publish(&f, v, &vpath),
            "generate" => self.generate(v, &vpath, key.loc()),
            _ => self.cache(v, &vpath, key.loc(), depth),
        }
    }

    fn call(&mut self, f: &Fields, v: &Node, vpath: &str) {
        let callee = self.b.target(v, vpath);
        let policy = super::policy::call_policy(self.b, f);
        let cx = &mut self.b.cx;
        let probability = f.get("probability").and_then(|n| cx.probability(n, &f.at("probability")));
        let Some(callee) = callee else { return };
        let m = &self.b.model;
        let caller_service = &m.services[m.service_of(self.ep).ix()].name;
        let name = format!("{caller_service}->{}", m.endpoints[callee.ix()].full_name);
        let mut edge = Edge {
            caller: self.ep,
            callee,
            name,
            timeout: None,
            probability: probability.unwrap_or(1.0),
            continue_on_failure: false,
            latency: None,
            cancel: false,
            retry: None,
            hedge: None,
            breaker: None,
            throttle: None,
            deadline_propagate: false,
            timeout_total: None,
        };
        super::policy::apply(self.b, &mut edge, policy);
        let id = self.b.model.edges.len() as u32;
        self.b.model.edges.push(edge);
        self.b.edge_sites.push(Site { loc: v.loc(), path: vpath.to_string() });
        self.code.push(Instr::Call(crate::model::EdgeId(id)));
    }

    fn publish(&mut self, f: &Fields, v: &Node, vpath: &str) {
        let queue = self.queue_named(v, vpath);
        let cx = &mut self.b.cx;
        let key = match f.get("key") {
            Some(n) => match cx.text(n, &f.at("key"), "a request attribute's name") {
                Some(t) => Some((n.loc(), t.to_string())),
                None => return,
            },
            None => None,
        };
        let timeout = match f.get("timeout") {
            Some(n) => cx.positive_duration(n, &f.at("timeout")),
            None => Some(super::queues::DEFAULT_PUBLISH_TIMEOUT),
        };
        let reply = match (f.get("reply"), f.key("reply")) {
            (Some(n), Some(k)) => {
                let rpath = f.at("reply");
                let Some(rf) = cx.fields(n, &rpath, k.loc(), &REPLY) else { return };
                let hint = Some("how long the publisher waits for the consumer's result, e.g. reply: { timeout: 2s }");
                let Some(t) = cx.require(&rf, "timeout", hint) else { return };
                let Some(t) = cx.positive_duration(t, &rf.at("timeout")) else { return };
                Some(t)
            }
            _ => None,
        };
        let (Some(queue), Some(timeout)) = (queue, timeout) else { return };
        let id = PublishId(self.b.model.publishes.len() as u32);
        self.b.model.publishes.push(Publish { queue, key: None, timeout: Some(timeout), reply });
        if let Some((at, name)) = key {
            self.b.publish_keys.push((id, at, f.at("key"), name));
        }
        self.code.push(Instr::Publish(id));
    }

    /// A `generate` step: `Generate(g)`, `g` indexing `Model::generates`
    /// (a `tokens(ATTR)`'s slot is set after the workloads, in
    /// `inference::resolve_tokens`).
    fn generate(&mut self, v: &Node, vpath: &str, at: Loc) {
        let Some(f) = self.b.cx.fields(v, vpath, at, &GENERATE) else { return };
        let read = |b: &mut Build, key: &str| {
            let n = b.cx.require(&f, key, Some(GENERATE.hint))?;
            let path = f.at(key);
            super::inference::tokens(b, n, &path).map(|t| (t, (n.loc(), path)))
        };
        let input = read(self.b, "input");
        let output = read(self.b, "output");
        let (Some((input, isite)), Some((output, osite))) = (input, output) else { return };
        let service = self.b.model.service_of(self.ep);
        super::inference::check_generate(self.b, service, (&input, &output), at, vpath, [isite.clone(), osite.clone()]);
        let id = GenerateId(self.b.model.generates.len() as u32);
        for (t, (loc, path), output) in [(&input, isite, false), (&output, osite, true)] {
            if matches!(t, Tokens::Attr { .. }) {
                let ta = super::inference::TokenAttr { generate: id, endpoint: self.ep, output, at: loc, path };
                self.b.token_attrs.push(ta);
            }
        }
        self.b.model.generates.push(Generate { service, input, output });
        self.code.push(Instr::Generate(id));
    }

    /// The queue a `publish` names.
    fn queue_named(&mut self, n: &Node, path: &str) -> Option<QueueId> {
        let name = self.b.cx.text(n, path, "a queue name")?;
        if let Some(&id) = self.b.queues_by_name.get(name) {
            return Some(id);
        }
        if self.b.queues_unreadable {
            return None; // `queues` itself has a problem, reported there
        }
        let queues = &self.b.model.queues;
        let (msg, hint) = if queues.is_empty() {
            (
                format!("no queue '{}': the topology declares no queues", shown(name)),
                format!(
                    "declare it at the top level: queues: {{ {}: {{ consumers: [ {{ endpoint: service.endpoint }} ] }} }}",
                    shown(name)
                ),
            )
        } else {
            let names = || queues.iter().map(|q| q.name.as_str());
            (
                format!("no queue '{}'{}", shown(name), did_you_mean(name, names())),
                format!("queues: {}", listing(names())),
            )
        };
        self.b.cx.error(n.loc(), path, msg, Some(hint));
        None
    }

    fn parallel(&mut self, f: &Fields, v: &Node, vpath: &str) {
        let hint = "write parallel: [ { call: a.x }, { call: b.y } ]: each item is one branch";
        let Some(items) = self.b.cx.list(v, vpath, "a list of branches", hint) else {
            return;
        };
        if items.is_empty() {
            self.b.cx.error(v.loc(), vpath, "'parallel' needs at least one branch", Some(hint.into()));
            return;
        }
        let wait = f.get("wait").map_or(Some(Wait::All), |w| self.wait(w, &f.at("wait"), items.len()));
        let fork = ForkId(self.b.model.forks.len() as u32);
        self.b.model.forks.push(Fork { starts: Vec::new(), wait: wait.unwrap_or(Wait::All), join_pc: 0 });
        self.code.push(Instr::Fork(fork));
        let mut starts = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            starts.push(self.pc());
            // Each branch runs with its own loop counters.
            self.step(item, &format!("{vpath}[{i}]"), 0);
            self.code.push(Instr::EndBranch);
        }
        let join_pc = self.pc();
        let fk = &mut self.b.model.forks[fork.ix()];
        fk.starts = starts;
        fk.join_pc = join_pc;
    }

    fn wait(&mut self, n: &Node, path: &str, branches: usize) -> Option<Wait> {
        match n.as_str() {
            Some("all") => return Some(Wait::All),
            Some("any") => return Some(Wait::Any),
            Some(t) if t.parse::<f64>().is_err() => {
                let msg = format!(
                    "'wait' is all, any or a number of branches, found '{t}'{}",
                    did_you_mean(t, ["all", "any"])
                );
                self.b.cx.error(n.loc(), path, msg, None);
                return None;
            }
            _ => {}
        }
        let k = self.b.cx.u32(n, path, 1, u32::MAX)?;
        if k as usize > branches {
            let msg = format!(
                "wait: {k}, but 'parallel' has only {branches} branch{}",
                if branches == 1 { "" } else { "es" }
            );
            let hint = Some("wait counts the branches that must succeed; it cannot exceed their number".into());
            self.b.cx.error(n.loc(), path, msg, hint);
            return None;
        }
        Some(Wait::K(k))
    }

    fn branch(&mut self, v: &Node, vpath: &str, at: Loc, depth: usize) {
        let hint = "write branch: [ { weight: 0.7, steps: [ … ] }, { weight: 0.3, steps: [ … ] } ]";
        let Some(items) = self.b.cx.list(v, vpath, "a list of alternatives", hint) else {
            return;
        };
        if items.is_empty() {
            self.b.cx.error(at, vpath, "'branch' needs at least one alternative", Some(hint.into()));
            return;
        }
        let table = BranchId(self.b.model.branches.len() as u32);
        self.b.model.branches.push(BranchTable { cumulative: Vec::new(), starts: Vec::new() });
        self.code.push(Instr::Branch(table));
        let (mut weights, mut starts, mut jumps) = (Vec::new(), Vec::new(), Vec::new());
        for (i, alt) in items.iter().enumerate() {
            let apath = format!("{vpath}[{i}]");
            let Some(af) = self.b.cx.fields(alt, &apath, alt.loc(), &ALTERNATIVE) else {
                continue;
            };
            let weight = self.b.cx.req(&af, "weight", super::decode::Ctx::positive);
            starts.push(self.pc());
            if let Some(s) = af.get("steps") {
                self.steps(s, &af.at("steps"), depth);
            }
            jumps.push(self.code.len());
            self.code.push(Instr::Jump(0));
            weights.push(weight.unwrap_or(1.0));
        }
        let end = self.pc();
        for j in jumps {
            self.code[j] = Instr::Jump(end);
        }
        let t = &mut self.b.model.branches[table.ix()];
        t.cumulative = cumulative(&weights);
        t.starts = starts;
    }

    fn repeat(&mut self, v: &Node, vpath: &str, at: Loc, depth: usize) {
        let Some(f) = self.b.cx.fields(v, vpath, at, &REPEAT) else {
            return;
        };
        if depth >= MAX_LOOP_DEPTH {
            let msg = format!("'repeat' is nested more than {MAX_LOOP_DEPTH} deep");
            let hint =
                Some("multiply the counts of nested loops, or move the inner loop into an endpoint of its own".into());
            self.b.cx.error(at, vpath, msg, hint);
            return;
        }
        let count = self.b.cx.require(&f, "count", None).and_then(|n| self.b.cx.u32(n, &f.at("count"), 0, MAX_REPEAT));
        let slot = depth as u8;
        let init = self.code.len();
        self.code.push(Instr::RepeatInit { slot, count: count.unwrap_or(0), exit: 0 });
        let body = self.pc();
        if let Some(s) = self.b.cx.require(&f, "steps", Some("write repeat: { count: 3, steps: [ … ] }")) {
            self.steps(s, &f.at("steps"), depth + 1);
        }
        self.code.push(Instr::RepeatNext { slot, body });
        let exit = self.pc();
        self.code[init] = Instr::RepeatInit { slot, count: count.unwrap_or(0), exit };
    }

    fn cache(&mut self, v: &Node, vpath: &str, at: Loc, depth: usize) {
        let Some(f) = self.b.cx.fields(v, vpath, at, &CACHE) else {
            return;
        };
        let name = self.b.cx.require(&f, "name", None).and_then(|n| self.b.cx.text(n, &f.at("name"), "a cache name"));
        let declared = name.and_then(|n| self.b.keyed_caches.get(n).copied());
        if f.get("hit_ratio").is_none() || declared.is_some() {
            return self.keyed(&f, name, declared, at, vpath, depth);
        }
        let ratio = f.get("hit_ratio").and_then(|n| self.b.cx.probability(n, &f.at("hit_ratio")));
        if let Some(n) = f.get("invalidate") {
            let msg = "'invalidate' applies to a keyed cache (declared under 'caches'), not to a fixed hit_ratio";
            self.b.cx.error(n.loc(), &f.at("invalidate"), msg, None);
        }
        let id = match (name, ratio) {
            (Some(name), Some(r)) => {
                self.cache_id(name, r, f.get("hit_ratio").map_or(at, Node::loc), &f.at("hit_ratio"))
            }
            _ => None,
        };
        let lookup = self.code.len();
        self.code.push(Instr::Cache { cache: CacheId(0), miss: 0 });
        let miss = self.hit_then_miss(&f, depth, None);
        self.code[lookup] = Instr::Cache { cache: id.unwrap_or(CacheId(0)), miss };
    }

    /// After a lookup instruction: the hit steps, a jump past the miss
    /// steps, the miss steps and `after_miss`. Returns where the miss
    /// steps start (for the lookup to jump to).
    fn hit_then_miss(&mut self, f: &Fields, depth: usize, after_miss: Option<Instr>) -> u32 {
        if let Some(h) = f.get("hit") {
            self.steps(h, &f.at("hit"), depth);
        }
        let jump = self.code.len();
        self.code.push(Instr::Jump(0));
        let miss = self.pc();
        if let Some(m) = f.get("miss") {
            self.steps(m, &f.at("miss"), depth);
        }
        self.code.extend(after_miss);
        let end = self.pc();
        self.code[jump] = Instr::Jump(end);
        miss
    }

    /// A `cache` step on a keyed cache: `CacheLookup`, the hit steps,
    /// `Jump(end)`, the miss steps, `CacheFill`; or a `CacheInvalidate`.
    fn keyed(&mut self, f: &Fields, name: Option<&str>, declared: Option<CacheId>, at: Loc, vpath: &str, depth: usize) {
        let site = match (name, declared) {
            (Some(_), Some(cache)) => Some(cache),
            (Some(n), None) => {
                let msg = format!("cache '{n}' has no 'hit_ratio' and is not declared under 'caches'");
                let hint = format!(
                    "declare it (caches: {{ {n}: {{ keys: 100000, zipf: 0.9, capacity: 20000 }} }}) or give it a hit ratio, e.g. hit_ratio: 90%"
                );
                self.b.cx.error(f.get("name").map_or(at, Node::loc), &f.at("name"), msg, Some(hint));
                None
            }
            _ => None,
        };
        if let Some(n) = f.get("hit_ratio") {
            let msg = format!(
                "cache '{}' is declared under 'caches': its hit ratio emerges from its keys",
                name.unwrap_or("")
            );
            let hint = Some("remove 'hit_ratio', or use another name for a fixed-ratio cache".into());
            self.b.cx.error(n.loc(), &f.at("hit_ratio"), msg, hint);
        }
        let site = site.map(|cache| self.site(cache, None));
        if let Some(n) = f.get("invalidate") {
            let p = self.b.cx.probability(n, &f.at("invalidate"));
            for k in ["hit", "miss"] {
                if let Some(x) = f.get(k) {
                    let msg = format!("an 'invalidate' cache step has no '{k}' steps: it only evicts a key");
                    self.b.cx.error(x.loc(), &f.at(k), msg, None);
                }
            }
            if let (Some(s), Some(p)) = (site, p) {
                self.b.model.cache_sites[s.ix()].invalidate = Some(p);
                self.code.push(Instr::CacheInvalidate { site: s });
            }
            return;
        }
        if self.cache_depth >= MAX_CACHE_DEPTH {
            let msg = format!("keyed cache steps nest at most {MAX_CACHE_DEPTH} deep");
            self.b.cx.error(at, vpath, msg, None);
            return;
        }
        let slot = self.cache_depth as u8;
        let site = site.unwrap_or(CacheSiteId(0));
        self.cache_depth += 1;
        let lookup = self.code.len();
        self.code.push(Instr::CacheLookup { site, slot, miss: 0 });
        let miss = self.hit_then_miss(f, depth, Some(Instr::CacheFill { site, slot }));
        self.code[lookup] = Instr::CacheLookup { site, slot, miss };
        self.cache_depth -= 1;
    }

    /// A new keyed cache site of this endpoint, named for its key stream.
    fn site(&mut self, cache: CacheId, invalidate: Option<f64>) -> CacheSiteId {
        let m = &mut self.b.model;
        let base = format!("{}@{}", m.caches[cache.ix()].name, m.endpoints[self.ep.ix()].full_name);
        // This endpoint's sites are the last ones pushed (endpoints compile
        // one at a time): count back over them only, not every site.
        let ordinal =
            m.cache_sites.iter().rev().take_while(|s| s.endpoint == self.ep).filter(|s| s.cache == cache).count();
        m.cache_sites.push(CacheSite { cache, endpoint: self.ep, name: format!("{base}#{ordinal}"), invalidate });
        CacheSiteId((m.cache_sites.len() - 1) as u32)
    }

    /// The id of the cache named `name`; the same name must mean the same
    /// hit ratio everywhere.
    fn cache_id(&mut self, name: &str, ratio: f64, at: Loc, path: &str) -> Option<CacheId> {
        let caches = &self.b.model.caches;
        if let Some(&i) = self.b.caches_by_name.get(name) {
            if caches[i].hit_ratio == ratio {
                return Some(CacheId(i as u32));
            }
            let first = self.b.cache_sites[i];
            let msg = format!(
                "cache '{name}' has hit_ratio {ratio} here but {} at line {}, column {}",
                caches[i].hit_ratio, first.line, first.col
            );
            let hint = Some("a named cache has one hit ratio; use another name for a different cache".into());
            self.b.cx.error(at, path, msg, hint);
            return None;
        }
        let id = CacheId(caches.len() as u32);
        self.b.caches_by_name.insert(name.to_string(), caches.len());
        self.b.model.caches.push(Cache { name: name.to_string(), hit_ratio: ratio, keyed: None });
        self.b.cache_sites.push(at);
        Some(id)
    }
}

/// Running sums of positive weights, normalised so that the last is 1.
fn cumulative(weights: &[f64]) -> Vec<f64> {
    let total: f64 = weights.iter().sum();
    if !(total > 0.0 && total.is_finite()) {
        return Vec::new();
    }
    let mut acc = 0.0;
    let mut out: Vec<f64> = weights
        .iter()
        .map(|w| {
            acc += w;
            acc / total
        })
        .collect();
    if let Some(last) = out.last_mut() {
        *last = 1.0;
    }
    out
}
