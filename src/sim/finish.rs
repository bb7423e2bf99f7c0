//! Turning the world's recorders into a [`RunResult`] at the end of a run.

use super::chain;
use super::detect::fault_subject;
use super::ids::WorkloadId;
use super::inference_report;
use super::platform_report;
use super::stats::origin_name;
use super::world::World;
use crate::engine::SimTime;
use crate::metrics::{
    CacheResult, ChainHop, Chains, ClientResult, CostResult, EdgeResult, EndpointResult, EngineResult, FailureCause,
    FailureCounts, FaultResult, Finding, FindingKind, Hist, LatencySummary, QueueGroupResult, QueueResult,
    ReplicaSummary, RunResult, ScaleEventResult, Series, ServiceResult, SloCheck, SloResult, StopReason, TraceReplay,
    Window, WorkloadResult,
};
use crate::model::{ConsumerMode, Slo, Stat};
use std::collections::BTreeMap;

impl World<'_> {
    pub(crate) fn finish(mut self, stopped_by: StopReason) -> RunResult {
        let complete = stopped_by == StopReason::Duration;
        let end = if complete { self.end } else { self.now() };
        let measured_ns = end.0.saturating_sub(self.warmup.0).max(1);
        let measured_s = measured_ns as f64 / 1e9;
        let m = self.m;

        let mut workloads = BTreeMap::new();
        for (i, wl) in m.workloads.iter().enumerate() {
            let s = &self.stats.workloads[i];
            let [timeout, error, rejected, short_circuited] = s.failed_by;
            let failures = FailureCounts { error, timeout, rejected, short_circuited };
            let mut causes: Vec<FailureCause> = s
                .causes
                .iter()
                .map(|(c, &count)| FailureCause { kind: c.kind.word().into(), at: origin_name(m, c.origin), count })
                .collect();
            causes.sort_by_key(|c| std::cmp::Reverse(c.count));
            let mut r = WorkloadResult {
                target: m.endpoints[wl.target.ix()].full_name.clone(),
                offered: s.offered,
                ok: s.ok,
                failed: failures.total(),
                in_flight_at_end: s.in_flight,
                goodput_per_s: s.ok as f64 / measured_s,
                latency_ms: s.latency.summary(),
                failures,
                causes,
                trace: trace_replay(wl, m.duration),
                client: wl.client.map(|_| client_result(s)),
                ttft_ms: None,
                tpot_ms: None,
                output_tokens_per_s: None,
                token_goodput: None,
            };
            inference_report::workload_fields(&self, i, &mut r, measured_s);
            workloads.insert(wl.name.clone(), r);
        }

        let offered_total: u64 = self.stats.workloads.iter().map(|w| w.offered).sum();
        let mut services = BTreeMap::new();
        let mut findings = Vec::new();
        let mut replica_hours_total = 0.0;
        let mut endpoints_of: Vec<Vec<usize>> = vec![Vec::new(); m.services.len()];
        for (k, ep) in m.endpoints.iter().enumerate() {
            endpoints_of[ep.service.ix()].push(k);
        }
        let serving: Vec<u128> = (0..m.services.len())
            .map(|i| self.fleet.rosters[i].serving.area_at(end.0) - self.fleet.rosters[i].serving_at_warmup)
            .collect();
        let mut platforms = platform_report::service_results(&mut self, end, &serving);
        let cluster = platform_report::cluster_result(&mut self, end);
        let mut inference = inference_report::service_results(&mut self, end, &serving, measured_s);
        for (i, svc) in m.services.iter().enumerate() {
            let (replicas, replica_hours, serving_ns) = replica_figures(&mut self, i, end);
            replica_hours_total += replica_hours;
            let scale_events = scale_events(&self, i);
            findings.extend(autoscaling_findings(&mut self, i));
            let s = &mut self.stats.services[i];
            let busy = (s.busy.area_at(end.0) - s.busy_at_warmup) as f64;
            let slots = (s.slots.area_at(end.0) - s.slots_at_warmup) as f64;
            let queue = (s.queue.area_at(end.0) - s.queue_at_warmup) as f64;
            let core_ns = f64::from(svc.cpus) * serving_ns as f64;
            let utilization = if core_ns > 0.0 { busy / core_ns } else { 0.0 };
            let r = ServiceResult {
                arrivals: s.arrivals,
                completed: s.completed,
                errors: s.errors,
                rejected: s.rejected,
                timeouts: s.timeouts,
                utilization,
                mean_in_system: (slots + queue) / measured_ns as f64,
                mean_queue_len: queue / measured_ns as f64,
                queue_len_max: s.queue_len_max,
                queue_wait_ms_mean: ratio(s.queue_wait_ns, s.admitted) / 1e6,
                cpu_wait_ms_mean: ratio(s.cpu_wait_ns, s.work_steps) / 1e6,
                wasted_cpu_s: s.wasted_cpu_ns as f64 / 1e9,
                deadline_dropped: s.deadline_dropped,
                amplification: s.arrivals as f64 / offered_total.max(1) as f64,
                replicas,
                replica_hours,
                scale_events,
                latency_ms: s.latency.summary(),
                endpoints: endpoints_of[i]
                    .iter()
                    .map(|&k| {
                        let r = if self.stats.several_endpoints[i] {
                            let e = &self.stats.endpoints[k];
                            EndpointResult { completed: e.completed, errors: e.errors, latency_ms: e.latency.summary() }
                        } else {
                            // The only endpoint: the service's own figures.
                            EndpointResult { completed: s.completed, errors: s.errors, latency_ms: s.latency.summary() }
                        };
                        (m.endpoints[k].name.clone(), r)
                    })
                    .collect(),
                platform: platforms[i].take(),
                inference: inference[i].take(),
            };
            services.insert(svc.name.clone(), r);
        }

        let mut edges: BTreeMap<String, EdgeResult> = BTreeMap::new();
        let mut edge_latency: BTreeMap<&str, Hist> = BTreeMap::new();
        for (i, e) in m.edges.iter().enumerate() {
            // Call sites that share a name add up.
            edges.entry(e.name.clone()).or_default().add(&self.stats.edges[i]);
            edge_latency.entry(e.name.as_str()).or_insert_with(|| Hist::new(2)).merge(&self.stats.edge_latency[i]);
        }
        for (name, h) in edge_latency {
            if let Some(e) = edges.get_mut(name) {
                e.latency_ms = h.summary();
            }
        }

        let mut caches: BTreeMap<String, CacheResult> = BTreeMap::new();
        for (i, c) in m.caches.iter().enumerate() {
            let r = caches.entry(c.name.clone()).or_default();
            r.hits += self.stats.caches[i].0;
            r.misses += self.stats.caches[i].1;
        }
        for (i, t) in self.keyed.totals().into_iter().enumerate() {
            let Some((n, entries)) = t else { continue };
            let r = caches.entry(m.caches[i].name.clone()).or_default();
            r.hits = n.hits;
            r.misses = n.lookups - n.hits;
            r.lookups = Some(n.lookups);
            r.hit_ratio = (n.lookups > 0).then(|| n.hits as f64 / n.lookups as f64);
            r.evictions = Some(n.evictions);
            r.expirations = Some(n.expirations);
            r.entries_end = Some(entries);
        }

        let mut chains = BTreeMap::new();
        for (i, wl) in m.workloads.iter().enumerate() {
            let c = self.chain_result(WorkloadId(i as u32));
            chains.insert(wl.name.clone(), c);
        }

        self.detect.finish(end);
        if let Some(span) = self.detect.take_judged() {
            self.detect.judge_slo(&m.slo, span, &mut self.stats.slo_windows);
        }
        self.detect.findings(m, &mut findings);
        let slo: Vec<SloResult> = m.slo.iter().map(|o| slo_result(o, &workloads[&o.name])).collect();
        let over_run: Vec<(bool, String)> = slo.iter().map(|r| (r.pass, measured(r))).collect();
        self.detect.slo_findings(&m.slo, &over_run, &mut findings);
        let mut slo = slo;
        for (r, f) in slo.iter_mut().zip(&m.slo) {
            r.windows_missed = findings
                .iter()
                .find(|x| x.kind == FindingKind::SloViolation && x.subject == f.name)
                .map_or(0, |x| x.windows.len());
        }
        if !complete {
            findings.push(Finding {
                kind: FindingKind::StoppedEarly,
                subject: "engine".into(),
                from_s: end.as_secs_f64(),
                to_s: self.end.as_secs_f64(),
                windows: vec![Window { from_s: end.as_secs_f64(), to_s: self.end.as_secs_f64() }],
                message: format!(
                    "the run hit its {stopped_by} limit at {:.3} s of {:.3} s: every number here is partial",
                    end.as_secs_f64(),
                    self.end.as_secs_f64()
                ),
            });
        }

        let queues = self.queue_results(end, measured_s, &mut findings);
        let series = Series {
            interval_s: self.opts.interval.as_secs_f64(),
            workload_names: m.workloads.iter().map(|w| w.name.clone()).collect(),
            service_names: m.services.iter().map(|s| s.name.clone()).collect(),
            workloads: std::mem::take(&mut self.obs.wl_rows),
            services: std::mem::take(&mut self.obs.svc_rows),
            cache_names: m.caches.iter().filter(|c| c.keyed.is_some()).map(|c| c.name.clone()).collect(),
            caches: std::mem::take(&mut self.obs.cache_rows),
            queue_names: self.queue_names(),
            queues: std::mem::take(&mut self.obs.queue_rows),
            pool_names: m.cluster.iter().flat_map(|c| c.pools.iter().map(|p| p.name.clone())).collect(),
            pools: std::mem::take(&mut self.obs.pool_rows),
            node_names: platform_report::node_names(&self),
            replicas: std::mem::take(&mut self.obs.replica_rows),
            inference: std::mem::take(&mut self.obs.inference_rows),
            tokens: std::mem::take(&mut self.obs.token_rows),
        };

        RunResult {
            name: m.name.clone(),
            seed: self.seed,
            duration_s: SimTime(self.end.0).as_secs_f64(),
            warmup_s: self.warmup.as_secs_f64(),
            complete,
            workloads,
            services,
            edges,
            caches,
            queues,
            cluster,
            chains,
            findings,
            slo,
            faults: self.fault_results(),
            cost: m.cost_per_replica_hour.map(|p| CostResult {
                per_replica_hour: p,
                replica_hours: replica_hours_total,
                total: p * replica_hours_total,
            }),
            engine: EngineResult {
                events: self.count.events,
                stopped_by,
                digest: format!("{:016x}", self.count.digest),
                sim_time_s: end.as_secs_f64(),
                peak_in_flight: self.count.peak_requests_in_flight,
            },
            series,
            invariant_violations: std::mem::take(&mut self.check.violations),
        }
    }

    /// The mean and tail chains of workload `wl`.
    fn chain_result(&self, wl: WorkloadId) -> Chains {
        let m = self.m;
        let order = self.chains.preorder(m, wl);
        let hops = |t: &chain::Totals| -> Vec<ChainHop> {
            if t.requests == 0 {
                return Vec::new();
            }
            let n = t.requests as f64;
            let ms = |v: u64| v as f64 / n / 1e6;
            order
                .iter()
                .filter(|&&node| t.visits[node as usize] > 0 || t.ns[node as usize].iter().any(|&v| v > 0))
                .map(|&node| {
                    let info = &self.chains.nodes[node as usize];
                    let ep = &m.endpoints[info.endpoint as usize];
                    let ns = &t.ns[node as usize];
                    ChainHop {
                        service: m.services[ep.service.ix()].name.clone(),
                        endpoint: ep.name.clone(),
                        depth: info.depth,
                        visits: t.visits[node as usize] as f64 / n,
                        queue_ms: ms(ns[chain::Part::Queue as usize]),
                        cpu_ms: ms(ns[chain::Part::Cpu as usize]),
                        network_ms: ms(ns[chain::Part::Network as usize]),
                        backoff_ms: ms(ns[chain::Part::Backoff as usize]),
                        wasted_ms: ms(ns[chain::Part::Wasted as usize]),
                        delay_ms: ms(ns[chain::Part::Delay as usize]),
                        throttled_ms: ms(ns[chain::Part::Throttled as usize]),
                    }
                })
                .collect()
        };
        Chains {
            mean: hops(&self.chains.mean[wl.ix()]),
            p50: hops(&self.chains.median[wl.ix()]),
            p99: hops(&self.chains.tail[wl.ix()]),
        }
    }

    /// The schedule as it ran, for the result.
    fn fault_results(&self) -> Vec<FaultResult> {
        self.m
            .faults
            .iter()
            .filter(|f| f.at <= self.end)
            .map(|f| FaultResult {
                kind: f.kind.word().into(),
                subject: fault_subject(self.m, &f.kind),
                at_s: f.at.as_secs_f64(),
                end_s: f.end().filter(|&e| e <= self.end).map(|e| e.as_secs_f64()),
            })
            .collect()
    }
}

/// A latency statistic of a summary, in ms.
pub(crate) fn stat_ms(l: &LatencySummary, s: Stat) -> Option<f64> {
    match s {
        Stat::Mean => l.mean,
        Stat::P50 => l.p50,
        Stat::P90 => l.p90,
        Stat::P95 => l.p95,
        Stat::P99 => l.p99,
        Stat::P999 => l.p999,
        Stat::Max => l.max,
    }
}

/// One SLO judged on a workload's result over the measured run. A latency
/// bound with no successful request to measure fails (nothing met it);
/// success is ok over the requests that ended.
pub(crate) fn slo_result(o: &Slo, w: &WorkloadResult) -> SloResult {
    let mut checks: Vec<SloCheck> = o
        .latency
        .iter()
        .map(|(s, bound)| {
            let value = stat_ms(&w.latency_ms, *s);
            let limit = bound.as_millis_f64();
            SloCheck { stat: s.word().into(), limit, value, pass: value.is_some_and(|v| v <= limit) }
        })
        .collect();
    for (prefix, bounds, summary) in [("ttft", &o.ttft, &w.ttft_ms), ("tpot", &o.tpot, &w.tpot_ms)] {
        for (s, bound) in bounds {
            let value = summary.as_ref().and_then(|l| stat_ms(l, *s));
            let limit = bound.as_millis_f64();
            let stat = format!("{prefix}_{}", s.word());
            checks.push(SloCheck { stat, limit, value, pass: value.is_some_and(|v| v <= limit) });
        }
    }
    if let Some(least) = o.success {
        let ended = w.ok + w.failed;
        let value = (ended > 0).then(|| w.ok as f64 / ended as f64);
        checks.push(SloCheck { stat: "success".into(), limit: least, value, pass: value.is_some_and(|v| v >= least) });
    }
    SloResult {
        workload: o.name.clone(),
        objective: o.describe(),
        pass: checks.iter().all(|c| c.pass),
        checks,
        windows_missed: 0,
    }
}

/// What an SLO's checks measured: "p99 412 ms, success 99.95%".
fn measured(r: &SloResult) -> String {
    let parts: Vec<String> = r
        .checks
        .iter()
        .map(|c| match (c.stat.as_str(), c.value) {
            ("success", Some(v)) => format!("success {:.2}%", 100.0 * v),
            (s, Some(v)) => format!("{s} {} ms", crate::metrics::format_ms(v)),
            (s, None) => format!("{s} unmeasured (nothing succeeded)"),
        })
        .collect();
    parts.join(", ")
}

fn ratio(sum: u128, n: u64) -> f64 {
    if n == 0 { 0.0 } else { sum as f64 / n as f64 }
}

/// Replica counts of service `s` over the measured period `[warmup, end]`:
/// the summary, replica-hours, and the serving replica-nanoseconds (the
/// denominator of utilization, with `cpus`).
fn replica_figures(w: &mut World, s: usize, end: SimTime) -> (ReplicaSummary, f64, u128) {
    let measured_ns = end.0.saturating_sub(w.warmup.0).max(1);
    let f = &mut w.fleet.rosters[s];
    let total = f.total.area_at(end.0) - f.total_at_warmup;
    let serving = f.serving.area_at(end.0) - f.serving_at_warmup;
    let summary = ReplicaSummary { min: f.total_min, mean: total as f64 / measured_ns as f64, max: f.total_max };
    (summary, total as f64 / 3.6e12, serving)
}

/// Rescales of service `s` after the warm-up.
fn scale_events(w: &World, s: usize) -> Vec<ScaleEventResult> {
    let Some(a) = &w.scaling.hpas[s] else { return Vec::new() };
    a.events
        .iter()
        .filter(|e| e.at >= w.warmup)
        .map(|e| ScaleEventResult { t_s: e.at.as_secs_f64(), from: e.from, to: e.to, reason: e.reason.clone() })
        .collect()
}

/// The autoscaling findings of service `s`.
fn autoscaling_findings(w: &mut World, s: usize) -> Vec<Finding> {
    let Some(a) = w.scaling.hpas[s].as_deref_mut() else { return Vec::new() };
    let max = w.m.services[s].autoscale.as_ref().map_or(0, |c| c.max as i32);
    let (period, delay) = (a.sync_period, a.metrics_delay);
    a.episodes.findings(&w.m.services[s].name, max, period, delay, &a.events)
}

/// What a `trace:` workload's result says of its replay.
fn trace_replay(wl: &crate::model::Workload, run: crate::engine::SimDuration) -> Option<TraceReplay> {
    let crate::model::WorkloadKind::Trace(t) = &wl.kind else { return None };
    let window_s = t.period.as_secs_f64() / t.speed;
    let (run_s, passes) = (run.as_secs_f64(), run.as_secs_f64() / window_s);
    let on_end = if t.on_end == crate::model::OnEnd::Loop { "loop" } else { "stop" };
    let note = match t.on_end {
        _ if passes <= 1.0 => String::new(),
        crate::model::OnEnd::Stop => {
            format!(
                "the trace's window ({window_s:.1} s) ended before the run ({run_s:.1} s): no requests after it (on_end: stop)"
            )
        }
        crate::model::OnEnd::Loop => {
            format!("the trace's window ({window_s:.1} s) was replayed {passes:.2} times over the run (on_end: loop)")
        }
    };
    Some(TraceReplay {
        file: t.file.clone(),
        window_requests: t.window_count,
        window_s,
        on_end: on_end.into(),
        passes,
        note,
    })
}

fn client_result(s: &super::stats::WorkloadStats) -> ClientResult {
    let amplification = if s.offered > 0 { s.client.attempts as f64 / s.offered as f64 } else { 0.0 };
    ClientResult { amplification, ..s.client }
}

impl World<'_> {
    /// `queue/group` per consumer group, as the series rows name them.
    fn queue_names(&self) -> Vec<String> {
        let m = self.m;
        self.queues
            .groups
            .iter()
            .map(|g| {
                format!("{}/{}", m.queues[g.queue.ix()].name, m.queues[g.queue.ix()].consumers[g.index as usize].group)
            })
            .collect()
    }

    /// Each queue's result, and the `backlog` and `dead_letters` findings.
    fn queue_results(
        &mut self,
        end: SimTime,
        measured_s: f64,
        findings: &mut Vec<Finding>,
    ) -> BTreeMap<String, QueueResult> {
        let m = self.m;
        let mut out = BTreeMap::new();
        for (qi, q) in m.queues.iter().enumerate() {
            let mut groups = BTreeMap::new();
            let (mut processed, mut dlq, mut redelivered, mut dropped) = (0, 0, 0, 0);
            let (mut depth_max, mut depth_end, mut lag_max_s) = (0, 0, 0.0f64);
            for gi in self.queues.of_queue[qi].clone() {
                super::flow::messages::meter_consumers(self, gi, end);
                let g = &self.queues.groups[gi as usize];
                let c = &q.consumers[g.index as usize];
                let lag_end_s = g.lag_s(end);
                let s = &g.stats;
                let lag = s.lag_max_s.max(lag_end_s);
                processed += s.processed;
                dlq += s.dead_lettered;
                redelivered += s.redelivered;
                dropped += s.dropped;
                depth_max = depth_max.max(s.depth_max);
                depth_end = depth_end.max(g.waiting);
                lag_max_s = lag_max_s.max(lag);
                let name = format!("{}/{}", q.name, c.group);
                // Lag that grows without bound: the oldest message waited
                // over a quarter of the measured run (and 10 s), and more
                // wait than half-way through.
                if lag_end_s >= 10.0 && lag_end_s >= 0.25 * measured_s && g.waiting > s.depth_mid.unwrap_or(0) {
                    let half = measured_s / 2.0;
                    let growth = (g.waiting - s.depth_mid.unwrap_or(0)) as f64 / half.max(1e-9);
                    findings.push(Finding {
                        kind: FindingKind::Backlog,
                        subject: name.clone(),
                        from_s: self.warmup.as_secs_f64(),
                        to_s: end.as_secs_f64(),
                        message: format!(
                            "{} messages waiting at the end, the oldest for {:.1} s, growing by {:.1}/s over the second half: its consumers fall behind",
                            g.waiting, lag_end_s, growth
                        ),
                        windows: Vec::new(),
                    });
                }
                if s.dead_lettered > 0 {
                    findings.push(Finding {
                        kind: FindingKind::DeadLetters,
                        subject: name.clone(),
                        from_s: s.first_dlq.unwrap_or(end).as_secs_f64(),
                        to_s: s.last_dlq.max(s.first_dlq.unwrap_or(end)).as_secs_f64(),
                        message: format!(
                            "{} messages went to the dead-letter queue after {} deliveries each",
                            s.dead_lettered, q.max_deliveries
                        ),
                        windows: Vec::new(),
                    });
                }
                let utilization = if s.capacity_ns > 0 { s.busy_ns as f64 / s.capacity_ns as f64 } else { 0.0 };
                groups.insert(
                    c.group.clone(),
                    QueueGroupResult {
                        endpoint: m.endpoints[c.endpoint.ix()].full_name.clone(),
                        mode: match c.mode {
                            ConsumerMode::Partitioned => "partitioned".into(),
                            ConsumerMode::Competing => "competing".into(),
                        },
                        processed: s.processed,
                        dead_lettered: s.dead_lettered,
                        redelivered: s.redelivered,
                        dropped: s.dropped,
                        depth_max: s.depth_max,
                        depth_end: g.waiting,
                        lag_end: g.unfinished(),
                        lag_max_s: lag,
                        consumer_utilization: utilization,
                        time_to_processed_ms: s.ttp.as_ref().map(|h| h.summary()).unwrap_or_default(),
                    },
                );
            }
            let qs = &self.queues.stats[qi];
            out.insert(
                q.name.clone(),
                QueueResult {
                    published: qs.published,
                    processed,
                    dead_lettered: dlq,
                    redelivered,
                    rejected: qs.rejected,
                    dropped: dropped + qs.dropped,
                    blocked: qs.blocked,
                    blocked_ms_mean: self.queues.blocked_ms_mean(crate::model::QueueId(qi as u32)),
                    depth_max,
                    depth_end,
                    lag_max_s,
                    time_to_processed_ms: qs.ttp.as_ref().map(|h| h.summary()).unwrap_or_default(),
                    groups,
                },
            );
        }
        out
    }
}
