//! Topology decoding and validation: the top level, services and
//! workloads of `shared/spec/format.md` (endpoint steps are in `compile`).
//!
//! Loading never stops at the first problem: every key is checked, every
//! reference resolved, and all problems come back together, sorted by
//! position. Keys of the format that are not built yet are errors saying
//! so, never silently ignored. `policies` and adaptive `max_in_flight` are
//! read in `policy`, `faults` in `fault`, `autoscale` in `autoscale`, keyed
//! `caches` in `caches`, `queues` (and the `lag` metric's check) in
//! `queues`, `cluster` and a service's `cpus` and `resources` in `cluster`.
//!
//! Defaults: `duration` 60 s ([`DEFAULT_DURATION`]), `warmup` 0 s, `seed`
//! 1, `name` the file name without extension; per service `replicas` 1,
//! `cpus` 1, unlimited `max_in_flight`, an unbounded FIFO queue,
//! `round_robin`; per workload `arrivals: poisson`.

use super::compile::{self, Site};
use super::decode::{Ctx, Fields, Loc, did_you_mean, listing, shown};
use super::keys;
use super::source::Loaded;
use super::yaml::{self, Node};
use super::{Diagnostic, Diagnostics, FileSource};
use crate::engine::SimDuration;
use crate::model::{
    Balancer, Discipline, Endpoint, EndpointId, Metric, Model, PublishId, QueueCfg, QueueId, Resources, Service,
    ServiceId,
};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// What loading needs besides the text.
pub struct LoadOptions<'a> {
    /// Folder that relative paths in the file are resolved against.
    pub base_dir: PathBuf,
    pub files: &'a dyn FileSource,
}

/// Simulated time when the file does not say.
pub const DEFAULT_DURATION: SimDuration = SimDuration::from_secs(60);
/// Upper bounds that keep a typo from allocating the machine away.
pub const MAX_REPLICAS: u32 = 100_000;
pub const MAX_CPUS: u32 = 10_000;
pub const MAX_USERS: u32 = 10_000_000;
/// Most iterations of one `repeat`: nested repeats multiply.
pub const MAX_REPEAT: u32 = 1_000_000;

/// Parses and checks a topology. `file_name` is used in diagnostics.
pub fn load_str(file_name: &str, text: &str, opts: &LoadOptions) -> Result<Model, Diagnostics> {
    load_parsed(file_name, yaml::parse(text), opts).map(|l| l.model)
}

/// Checks a topology already parsed into a tree (experiments patch trees).
pub fn load_tree(file_name: &str, root: &Node, opts: &LoadOptions) -> Result<Model, Diagnostics> {
    load_root(file_name, root, opts, Vec::new()).map(|l| l.model)
}

/// Checks what [`yaml::parse`] made of a file, its syntax problems first.
pub(super) fn load_parsed(file_name: &str, parsed: yaml::Parsed, opts: &LoadOptions) -> Result<Loaded, Diagnostics> {
    let early: Vec<Diagnostic> = parsed
        .errors
        .into_iter()
        .map(|e| Diagnostic {
            file: file_name.to_string(),
            line: e.line,
            column: e.col,
            path: e.path,
            message: e.message,
            hint: e.hint,
        })
        .collect();
    match parsed.root {
        Some(root) => load_root(file_name, &root, opts, early),
        None => Err(Diagnostics(early)),
    }
}

/// Checks a parsed topology, returning its tree too (experiments patch
/// copies of it).
pub(super) fn load_root_or_errors(
    file_name: &str,
    parsed: yaml::Parsed,
    opts: &LoadOptions,
) -> Result<(Node, Loaded), Diagnostics> {
    if !parsed.errors.is_empty() || parsed.root.is_none() {
        return Err(load_parsed(file_name, parsed, opts).err().unwrap_or_default());
    }
    let root = parsed.root.expect("checked above");
    let loaded = load_root(file_name, &root, opts, Vec::new())?;
    Ok((root, loaded))
}

/// The model under construction plus what errors need to point at.
pub(super) struct Build<'a> {
    pub cx: Ctx<'a>,
    pub model: Model,
    /// Where each edge's `call` is, parallel to `model.edges`.
    pub edge_sites: Vec<Site>,
    /// Where each cache was first named, parallel to `model.caches`.
    pub cache_sites: Vec<Loc>,
    /// Policies and where shared resilience state was configured.
    pub resil: super::policy::State,
    /// Services, endpoints (by full name) and caches by name: a lookup is
    /// never a scan, whatever the size of the file.
    pub services_by_name: BTreeMap<String, ServiceId>,
    pub endpoints_by_name: BTreeMap<String, EndpointId>,
    pub caches_by_name: BTreeMap<String, usize>,
    /// The keyed caches of `caches:`, by name.
    pub keyed_caches: BTreeMap<String, crate::model::CacheId>,
    /// The queues of `queues:`, by name (declared before the services, so
    /// that `publish` steps can name them).
    pub queues_by_name: BTreeMap<String, QueueId>,
    /// `queues:` is not a map (reported): `publish` steps naming a queue
    /// get no second complaint.
    pub queues_unreadable: bool,
    /// Each `publish` step's `key` (where, its path, the attribute),
    /// resolved once the workloads' attributes are known.
    pub publish_keys: Vec<(PublishId, Loc, String, String)>,
    /// Where each `lag` autoscaling metric is written, per service.
    pub lag_sites: Vec<(ServiceId, Loc, String)>,
    /// `cluster:` is written (faults on nodes need it).
    pub cluster_written: bool,
    /// `cluster:` was read without a problem: requests are checked against
    /// its nodes and `node_down` names against its pools.
    pub cluster_complete: bool,
    /// Services with `inference:` written (read or not): a `generate` step
    /// of one whose block had a problem gets no second complaint.
    pub inference_written: std::collections::BTreeSet<ServiceId>,
    /// Each `tokens(ATTR)` of a `generate` step, resolved after the workloads.
    pub token_attrs: Vec<super::inference::TokenAttr>,
}

pub(super) fn load_root(
    file_name: &str,
    root: &Node,
    opts: &LoadOptions,
    early: Vec<Diagnostic>,
) -> Result<Loaded, Diagnostics> {
    let stem = Path::new(file_name).file_stem().map_or("topology".into(), |s| s.to_string_lossy().into_owned());
    let mut b = Build {
        cx: Ctx {
            file: file_name,
            files: opts.files,
            base_dir: &opts.base_dir,
            diags: early,
            notes: Vec::new(),
            dists: Vec::new(),
            pers: Vec::new(),
        },
        model: Model {
            name: stem,
            duration: DEFAULT_DURATION,
            warmup: SimDuration::ZERO,
            seed: 1,
            network_latency: None,
            cluster: None,
            services: Vec::new(),
            endpoints: Vec::new(),
            edges: Vec::new(),
            workloads: Vec::new(),
            dists: Vec::new(),
            forks: Vec::new(),
            branches: Vec::new(),
            caches: Vec::new(),
            cache_sites: Vec::new(),
            breakers: Vec::new(),
            budgets: Vec::new(),
            throttles: Vec::new(),
            faults: Vec::new(),
            cost_per_replica_hour: None,
            slo: Vec::new(),
            attributes: Vec::new(),
            queues: Vec::new(),
            publishes: Vec::new(),
            generates: Vec::new(),
        },
        edge_sites: Vec::new(),
        cache_sites: Vec::new(),
        resil: Default::default(),
        services_by_name: BTreeMap::new(),
        endpoints_by_name: BTreeMap::new(),
        caches_by_name: BTreeMap::new(),
        keyed_caches: BTreeMap::new(),
        queues_by_name: BTreeMap::new(),
        queues_unreadable: false,
        publish_keys: Vec::new(),
        lag_sites: Vec::new(),
        cluster_written: false,
        cluster_complete: false,
        inference_written: Default::default(),
        token_attrs: Vec::new(),
    };
    top_level(&mut b, root);
    super::cycles::report_cycles(&mut b);
    super::trace::resolve_per(&mut b);
    super::inference::resolve_tokens(&mut b);
    super::queues::resolve_keys(&mut b);
    let mut diags = Diagnostics(std::mem::take(&mut b.cx.diags));
    if !diags.is_empty() {
        diags.sort();
        return Err(diags);
    }
    b.model.dists = std::mem::take(&mut b.cx.dists);
    Ok(Loaded { model: b.model, notes: Diagnostics(b.cx.notes) })
}

fn top_level(b: &mut Build, root: &Node) {
    let Some(f) = b.cx.fields(root, "", root.loc(), &keys::TOPOLOGY) else {
        return;
    };
    if let Some(n) = f.get("name")
        && let Some(name) = b.cx.text(n, "name", "a name")
    {
        b.model.name = name.to_string();
    }
    run_length(b, &f);
    if let Some(n) = f.get("seed")
        && let Some(seed) = b.cx.uint(n, "seed", 0, u64::MAX)
    {
        b.model.seed = seed;
    }
    if let Some(n) = f.get("network")
        && let Some(nf) = b.cx.fields(n, "network", f.key("network").map_or(n.loc(), |k| k.loc()), &keys::NETWORK)
        && let Some(lat) = nf.get("latency")
    {
        b.model.network_latency = b.cx.dist(lat, "network.latency");
    }
    if let Some(p) = f.get("policies") {
        super::policy::policies(b, p);
    }
    if let Some(c) = f.get("caches") {
        super::caches::caches(b, c);
    }
    if let Some(c) = f.get("cluster") {
        super::cluster::cluster(b, c, f.key("cluster").map_or(c.loc(), |k| k.loc()));
    }
    let queues = f.get("queues");
    if let Some(q) = queues {
        super::queues::declare(b, q);
    }
    let hint = Some("add services: { name: { endpoints: { … } } }");
    if let Some(s) = b.cx.require(&f, "services", hint) {
        services(b, s, f.key("services").map_or(s.loc(), |k| k.loc()));
    }
    let complete = queues.is_none_or(|q| super::queues::queues(b, q));
    super::queues::check_lag(b, complete);
    let hint = Some("add workload: [ { name: web, target: service.endpoint, rate: 100/s } ]");
    if let Some(w) = b.cx.require(&f, "workload", hint) {
        super::workload::workloads(b, w);
    }
    if let Some(n) = f.get("faults") {
        super::fault::faults(b, n);
    }
    if let Some(n) = f.get("slo") {
        b.model.slo = super::slo::slos(&mut b.cx, &b.model.workloads, n, "slo");
    }
    if let Some(n) = f.get("cost")
        && let Some(cf) = b.cx.fields(n, "cost", f.key("cost").map_or(n.loc(), |k| k.loc()), &keys::COST)
        && let Some(p) = b.cx.req(&cf, "per_replica_hour", Ctx::factor)
    {
        b.model.cost_per_replica_hour = Some(p);
    }
}

fn run_length(b: &mut Build, f: &Fields) {
    if let Some(n) = f.get("duration")
        && let Some(d) = b.cx.positive_duration(n, "duration")
    {
        b.model.duration = d;
    }
    let Some(n) = f.get("warmup") else { return };
    let Some(w) = b.cx.duration(n, "warmup") else {
        return;
    };
    b.model.warmup = w;
    if w >= b.model.duration && b.cx.diags.iter().all(|d| d.path != "duration") {
        let hint = if f.get("duration").is_none() {
            format!("'duration' defaults to {DEFAULT_DURATION}; set it longer than the warm-up")
        } else {
            "the warm-up is part of the duration; statistics cover what follows it".into()
        };
        let msg = format!("warmup ({w}) must be shorter than duration ({})", b.model.duration);
        b.cx.error(n.loc(), "warmup", msg, Some(hint));
    }
}

/// Registers every service and endpoint name first, so that calls can be
/// resolved whatever order the services are written in.
fn declare(b: &mut Build, entries: &[(yaml::Key, Node)]) {
    for (sk, sv) in entries {
        let sid = ServiceId(b.model.services.len() as u32);
        let mut eps = Vec::new();
        if let Some(emap) = sv.get("endpoints").and_then(Node::as_map) {
            for (ek, _) in emap {
                let id = EndpointId(b.model.endpoints.len() as u32);
                eps.push(id);
                let full_name = format!("{}.{}", sk.text, ek.text);
                b.endpoints_by_name.entry(full_name.clone()).or_insert(id);
                b.model.endpoints.push(Endpoint { service: sid, name: ek.text.clone(), full_name, code: Vec::new() });
            }
        }
        b.services_by_name.entry(sk.text.clone()).or_insert(sid);
        b.model.services.push(Service {
            name: sk.text.clone(),
            replicas: 1,
            cpus: 1,
            max_in_flight: None,
            adaptive: None,
            queue: QueueCfg { capacity: None, discipline: Discipline::Fifo, max_wait: None },
            balancer: Balancer::RoundRobin,
            endpoints: eps,
            autoscale: None,
            resources: Resources { cpu_request_milli: 1000, ..Resources::default() },
            memory_per_request: None,
            priority: 0,
            inference: None,
        });
    }
}

fn services(b: &mut Build, n: &Node, at: Loc) {
    let hint = "services is a map from service name to its settings";
    let Some(entries) = n.as_map() else {
        b.cx.error(
            n.loc(),
            "services",
            format!("expected a map of services, found {}", super::decode::found(n)),
            Some(hint.into()),
        );
        return;
    };
    if entries.is_empty() {
        b.cx.error(at, "services", "no services: a topology needs at least one", Some(hint.into()));
    }
    let services: Vec<(yaml::Key, Node)> =
        entries.iter().filter(|(k, v)| !misplaced_service_key(b, k, v)).cloned().collect();
    declare(b, &services);
    for (i, (k, v)) in services.iter().enumerate() {
        let path = format!("services.{}", k.text);
        check_name(b, k, &path, "service");
        service(b, ServiceId(i as u32), k.loc(), v, &path);
    }
}

/// A key of a service written directly under `services` (a forgotten
/// service name, or one indentation level missing): one error that says
/// so, rather than treating it as a service called `endpoints`. A service
/// may still be called `queue`: its value then has service keys.
fn misplaced_service_key(b: &mut Build, k: &yaml::Key, v: &Node) -> bool {
    if keys::SERVICE.key(&k.text).is_none() {
        return false;
    }
    let looks_like_a_service = v.as_map().is_some_and(|m| m.iter().any(|(x, _)| keys::SERVICE.key(&x.text).is_some()));
    if looks_like_a_service {
        return false;
    }
    let msg = format!("'{}' is a key of a service, not a service name", k.text);
    let hint = format!(
        "services maps each service's name to its settings: services: {{ api: {{ {}: … }} }}; check the indentation",
        k.text
    );
    b.cx.error(k.loc(), &format!("services.{}", k.text), msg, Some(hint));
    true
}

/// Names are used in `service.endpoint` references, result keys, CSV
/// columns and diagrams: letters and digits of any script (`café`,
/// `注文`), `_` and `-`; nothing that would need quoting or escaping.
fn check_name(b: &mut Build, k: &yaml::Key, path: &str, what: &str) {
    check_name_text(b, &k.text, k.loc(), path, what);
}

/// [`check_name`] of a name written at `at`.
pub(super) fn check_name_text(b: &mut Build, t: &str, at: Loc, path: &str, what: &str) {
    let bad = t.chars().find(|&c| !(c.is_alphanumeric() || c == '_' || c == '-'));
    if t.is_empty() || bad.is_some() {
        let found = match bad {
            None => "it is empty".to_string(),
            Some(c) if c.is_whitespace() || c.is_control() => format!("it has the character U+{:04X}", c as u32),
            Some(c) => format!("it has '{c}'"),
        };
        let msg = format!("{what} name '{}' is not a name: {found}", super::decode::shown(t));
        let hint = "names are letters and digits (any script), '_' and '-'; '.' separates service and endpoint \
                    in calls (cart.get)";
        b.cx.error(at, path, msg, Some(hint.into()));
    }
}

fn service(b: &mut Build, sid: ServiceId, at: Loc, v: &Node, path: &str) {
    let Some(f) = b.cx.fields(v, path, at, &keys::SERVICE) else {
        return;
    };
    let mut s = b.model.services[sid.ix()].clone();
    let mut replicas_read = true;
    if let Some(n) = f.get("replicas") {
        let r = b.cx.u32(n, &f.at("replicas"), 1, MAX_REPLICAS);
        replicas_read = r.is_some();
        s.replicas = r.unwrap_or(1);
    }
    super::cluster::service_resources(b, &f, at, &mut s);
    if let Some(n) = f.get("max_in_flight") {
        if n.as_map().is_some() {
            let at = f.key("max_in_flight").map_or(n.loc(), |k| k.loc());
            s.adaptive = super::policy::adaptive(&mut b.cx, n, &f.at("max_in_flight"), at);
        } else {
            s.max_in_flight = b.cx.u32(n, &f.at("max_in_flight"), 1, u32::MAX);
        }
    }
    if let Some(n) = f.get("queue") {
        let at = f.key("queue").map_or(n.loc(), |k| k.loc());
        s.queue = queue(b, n, &f.at("queue"), at);
    }
    if let Some(n) = f.get("balancer") {
        let options = [
            ("round_robin", Balancer::RoundRobin),
            ("random", Balancer::Random),
            ("least_request", Balancer::LeastRequest),
            ("p2c", Balancer::P2c),
        ];
        s.balancer = b.cx.choice(n, &f.at("balancer"), "balancer", &options).unwrap_or(Balancer::RoundRobin);
    }
    s.autoscale = super::autoscale::service_autoscale(&mut b.cx, &f, &mut s.replicas, replicas_read);
    if s.autoscale.as_ref().is_some_and(|a| a.metrics.iter().any(|m| matches!(m, Metric::Lag { .. }))) {
        lag_sites(b, sid, &f);
    }
    s.inference = super::inference::service_inference(b, sid, &f, at);
    b.model.services[sid.ix()] = s;
    let hint = Some("add endpoints: { get: { work: exp(5ms) } }");
    if let Some(n) = b.cx.require(&f, "endpoints", hint) {
        endpoints(b, sid, n, &f.at("endpoints"), f.key("endpoints").map_or(at, |k| k.loc()));
    }
}

/// Where the `lag` metrics of a service's `autoscale.metrics` are written.
fn lag_sites(b: &mut Build, sid: ServiceId, f: &Fields) {
    let metrics = f.get("autoscale").and_then(|a| a.get("metrics")).and_then(Node::as_seq).unwrap_or(&[]);
    for (i, m) in metrics.iter().enumerate() {
        if let Some((k, _)) = m.as_map().and_then(|e| e.iter().find(|(k, _)| k.text == "lag")) {
            let path = format!("{}.metrics[{i}].lag", f.at("autoscale"));
            b.lag_sites.push((sid, k.loc(), path));
        }
    }
}

fn queue(b: &mut Build, n: &Node, path: &str, at: Loc) -> QueueCfg {
    let mut q = QueueCfg { capacity: None, discipline: Discipline::Fifo, max_wait: None };
    let Some(f) = b.cx.fields(n, path, at, &keys::QUEUE) else {
        return q;
    };
    if let Some(c) = f.get("capacity") {
        q.capacity = b.cx.u32(c, &f.at("capacity"), 0, u32::MAX);
    }
    if let Some(d) = f.get("discipline") {
        let options = [("fifo", Discipline::Fifo), ("lifo", Discipline::Lifo)];
        q.discipline = b.cx.choice(d, &f.at("discipline"), "discipline", &options).unwrap_or(Discipline::Fifo);
    }
    if let Some(w) = f.get("max_wait") {
        q.max_wait = b.cx.positive_duration(w, &f.at("max_wait"));
    }
    q
}

fn endpoints(b: &mut Build, sid: ServiceId, n: &Node, path: &str, at: Loc) {
    let Some(entries) = n.as_map() else {
        let msg = format!("expected a map of endpoints, found {}", super::decode::found(n));
        b.cx.error(n.loc(), path, msg, Some("write endpoints: { get: { work: exp(5ms) } }".into()));
        return;
    };
    if entries.is_empty() {
        b.cx.error(at, path, "a service needs at least one endpoint", None);
    }
    let ids = b.model.services[sid.ix()].endpoints.clone();
    for ((k, v), id) in entries.iter().zip(ids) {
        let epath = format!("{path}.{}", k.text);
        check_name(b, k, &epath, "endpoint");
        let code = compile::endpoint(b, id, v, &epath, k.loc());
        b.model.endpoints[id.ix()].code = code;
    }
}

impl Build<'_> {
    /// Resolves `service.endpoint`, reporting what is wrong with it.
    pub(super) fn target(&mut self, n: &Node, path: &str) -> Option<EndpointId> {
        let text = self.cx.text(n, path, "service.endpoint")?;
        let quoted = usize::from(matches!(&n.kind, yaml::NodeKind::Scalar { quoted: true, .. }));
        let Some((svc, ep)) = text.split_once('.') else {
            let hint = match self.service_named(text) {
                Some(s) => format!("'{text}' has: {}", self.endpoint_list(s)),
                None => "write the service and the endpoint separated by '.', e.g. cart.get".into(),
            };
            let msg = format!("'{text}' is not service.endpoint");
            self.cx.error(n.loc(), path, msg, Some(hint));
            return None;
        };
        let Some(sid) = self.service_named(svc) else {
            if self.model.services.is_empty() {
                return None; // `services` itself has a problem, reported there
            }
            let names = || self.model.services.iter().map(|s| s.name.as_str());
            let msg = format!("no service '{}'{}", shown(svc), did_you_mean(svc, names()));
            let hint = Some(format!("services: {}", listing(names())));
            self.cx.error(n.loc(), path, msg, hint);
            return None;
        };
        if let Some(&id) = self.endpoints_by_name.get(text) {
            return Some(id);
        }
        let ids = &self.model.services[sid.ix()].endpoints;
        let names = || ids.iter().map(|e| self.model.endpoints[e.ix()].name.as_str());
        let hint = super::diag::suggest(ep, names()).map(|s| format!("did you mean '{svc}.{s}'?"));
        let msg = format!("service '{svc}' has no endpoint '{}'; it has: {}", shown(ep), listing(names()));
        let at = Loc { line: n.line, col: n.col + quoted + svc.chars().count() + 1 };
        self.cx.error(at, path, msg, hint);
        None
    }

    pub(super) fn service_named(&self, name: &str) -> Option<ServiceId> {
        self.services_by_name.get(name).copied()
    }

    fn endpoint_list(&self, s: ServiceId) -> String {
        listing(self.model.services[s.ix()].endpoints.iter().map(|e| self.model.endpoints[e.ix()].name.as_str()))
    }
}
