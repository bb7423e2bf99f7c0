//! Invariants checked after every event when `check_invariants` is on
//! (tests): capacities respected, time monotone, every count equal to what
//! it counts. A violation is recorded (the first 20) rather than panicking,
//! so a test can print all of them with the seed.

use super::replica::ReplicaState;
use super::state::AttemptState;
use super::world::World;

const MAX_RECORDED: usize = 20;

pub(crate) fn check(w: &mut World) {
    let now = w.now();
    let mut found = Vec::new();
    if now < w.check.last_time {
        found.push(format!("time went backwards: {} ns after {} ns", now.0, w.check.last_time.0));
    }
    w.check.last_time = now;
    replicas(w, &mut found);
    // Counting every attempt walks the slabs (their peak size): done every
    // `peak / 16` events, so checking stays O(1) per event amortized. A
    // broken count persists, so it is still caught.
    let every = ((w.attempts.peak() + w.calls.peak()) as u64 / 16).max(1);
    if w.count.events.is_multiple_of(every) {
        attempts(w, &mut found);
        queues(w, &mut found);
        gpus(w, &mut found);
    }
    let live_requests: u64 = w.stats.wl_live.iter().sum();
    if live_requests != w.count.requests_in_flight {
        found.push(format!("requests in flight {} != per-workload sum {}", w.count.requests_in_flight, live_requests));
    }
    if w.calls.len() < w.count.requests_in_flight as usize {
        found.push(format!("{} requests in flight but only {} calls live", w.count.requests_in_flight, w.calls.len()));
    }
    // Chain buffers are held by strands, attempts that responded and calls
    // that timed out: never more than those alive.
    let holders = w.strands.len() + w.attempts.len() + w.calls.len();
    if w.chains.buffers_in_use() > holders {
        found.push(format!("{} chain buffers in use for {holders} holders: a leak", w.chains.buffers_in_use()));
    }
    nodes(w, &mut found);
    for f in found {
        if w.check.violations.len() < MAX_RECORDED {
            w.check.violations.push(format!("t={} ns: {f}", now.0));
        }
    }
}

/// Per node: no more steps on cores than cores, none idle while a replica
/// that may run has a step waiting, no replica above its threads.
fn nodes(w: &World, found: &mut Vec<String>) {
    for (i, cpu) in w.fleet.cpus.iter().enumerate() {
        let super::cpu::Cpu::Shared(node) = cpu else { continue };
        if node.busy() > node.cores() || node.running_total() != node.busy() {
            found.push(format!(
                "node executor {i}: {} busy, {} running, {} cores",
                node.busy(),
                node.running_total(),
                node.cores()
            ));
        }
        if node.idle_with_work() {
            found.push(format!("node executor {i} has an idle core while a replica's step waits"));
        }
        if let Some(r) = node.over_threads() {
            found.push(format!("replica {} runs more steps than its threads on node executor {i}", r.0));
        }
    }
}

fn replicas(w: &World, found: &mut Vec<String>) {
    for (i, r) in w.fleet.replicas.iter().enumerate() {
        let svc = &w.m.services[r.service.ix()];
        let cpu = &w.fleet.cpus[r.cpu.ix()];
        if cpu.busy() > cpu.cores() {
            found.push(format!("replica {i} of {} uses {} cores of {}", svc.name, cpu.busy(), cpu.cores()));
        }
        if let Some(max) = svc.max_in_flight
            && r.adm.in_flight > max
        {
            found.push(format!("replica {i} of {} admitted {} of max_in_flight {}", svc.name, r.adm.in_flight, max));
        }
        if let Some(cap) = svc.queue.capacity
            && r.adm.queue_len > cap
        {
            found.push(format!("replica {i} of {} queues {} of capacity {}", svc.name, r.adm.queue_len, cap));
        }
        if (r.adm.queue_entries() as u32) < r.adm.queue_len {
            found.push(format!(
                "replica {i} of {}: queue_len {} > entries {}",
                svc.name,
                r.adm.queue_len,
                r.adm.queue_entries()
            ));
        }
        if let super::cpu::Cpu::Dedicated(c) = cpu
            && c.busy() < cpu.cores()
            && c.waiting().any(|s| super::flow::strand::strand_live(w, s))
        {
            found.push(format!("replica {i} of {} has an idle core while strands wait for one", svc.name));
        }
        // No attempt is admitted, queued or working at a replica that is
        // starting or gone.
        let busy = w.fleet.busy_of(super::ids::ReplicaId(i as u32));
        if matches!(r.state, ReplicaState::Starting | ReplicaState::Gone) && (r.in_system() > 0 || busy > 0) {
            found.push(format!(
                "{:?} replica {i} of {} holds work: {} admitted, {} queued, {} cores busy",
                r.state, svc.name, r.adm.in_flight, r.adm.queue_len, busy
            ));
        }
        // (That a starting replica is sent nothing while its service has a
        // routable one is asserted where attempts are routed: an attempt
        // sent while none was routable may still be on its way when one
        // becomes ready.)
        let ready = &w.fleet.services[r.service.ix()].ready;
        // The balancer picks among live, ready replicas only.
        let listed = ready.iter().filter(|x| x.ix() == i).count();
        if listed != usize::from(r.routable()) {
            found.push(format!(
                "{:?} replica {i} of {} (down: {}) is {listed} times in the balancer's list",
                r.state, svc.name, r.down
            ));
        }
        if !ready.is_sorted() {
            found.push(format!("the balancer's list of {} is not sorted: {ready:?}", svc.name));
        }
    }
    for (s, f) in w.fleet.rosters.iter().enumerate() {
        let state = |st: ReplicaState| f.members.iter().filter(|&&r| w.fleet.replica(r).state == st).count() as i64;
        let (starting, ready, draining) =
            (state(ReplicaState::Starting), state(ReplicaState::Ready), state(ReplicaState::Draining));
        if f.total.level != starting + ready + draining || f.serving.level != ready + draining {
            found.push(format!(
                "service {s}: replica counts total {} serving {} but {starting} starting, {ready} ready, {draining} draining",
                f.total.level, f.serving.level
            ));
        }
    }
}

/// Per replica, the counts kept incrementally equal what they count: open
/// attempts (outstanding), queued ones, running ones; every awaited
/// attempt of a call is live and awaited.
fn attempts(w: &World, found: &mut Vec<String>) {
    let n = w.fleet.replicas.len();
    let (mut open, mut queued, mut running) = (vec![0u32; n], vec![0u32; n], vec![0u32; n]);
    for (_, a) in w.attempts.iter() {
        let r = a.replica.ix();
        match a.state {
            AttemptState::Transit => open[r] += 1,
            AttemptState::Queued => {
                open[r] += 1;
                queued[r] += 1;
            }
            AttemptState::Running => {
                open[r] += 1;
                running[r] += 1;
            }
            AttemptState::Done => {}
        }
    }
    for (i, r) in w.fleet.replicas.iter().enumerate() {
        if (r.outstanding, r.adm.queue_len, r.adm.in_flight) != (open[i], queued[i], running[i]) {
            found.push(format!(
                "replica {i}: outstanding/queued/admitted {}/{}/{} but its attempts are {}/{}/{}",
                r.outstanding, r.adm.queue_len, r.adm.in_flight, open[i], queued[i], running[i]
            ));
        }
    }
    for (k, c) in w.calls.iter() {
        for a in c.live() {
            if !w.awaited(a) {
                found.push(format!("call {k:?} awaits attempt {a:?}, which is gone or orphaned"));
            }
        }
    }
}

/// Per consumer group: waiting equals what its partitions hold, in flight
/// the deliveries not yet settled, each replica's busy consumers those it
/// still runs, within `concurrency`; a partitioned group processes at most
/// one message per partition.
fn queues(w: &World, found: &mut Vec<String>) {
    let n = w.queues.groups.len();
    let mut in_flight = vec![0u64; n];
    let mut busy: Vec<std::collections::BTreeMap<u32, u32>> = vec![Default::default(); n];
    for (_, d) in w.queues.deliveries.iter() {
        if !d.expired {
            in_flight[d.group as usize] += 1;
        }
        if !d.consumer_gone {
            *busy[d.group as usize].entry(d.replica.0).or_default() += 1;
        }
    }
    for (i, g) in w.queues.groups.iter().enumerate() {
        let held: u64 = g.parts.iter().map(|p| p.len() as u64).sum();
        if held != g.waiting {
            found.push(format!("queue group {i}: waiting {} but its partitions hold {held}", g.waiting));
        }
        if in_flight[i] != g.in_flight {
            found.push(format!("queue group {i}: in flight {} but {} deliveries unsettled", g.in_flight, in_flight[i]));
        }
        for (r, &b) in busy[i].iter() {
            let counted = g.busy.get(*r as usize).copied().unwrap_or(0);
            if counted != b || b > g.concurrency {
                found.push(format!("queue group {i}: replica {r} runs {b} deliveries, counted {counted}"));
            }
        }
        let busy_parts = g.part_busy.iter().filter(|b| **b).count() as u64;
        if g.mode == crate::model::ConsumerMode::Partitioned && busy_parts != g.in_flight {
            found.push(format!("queue group {i}: {busy_parts} busy partitions for {} in flight", g.in_flight));
        }
    }
}
/// Inference servers: each engine's KV cache, batch and lists agree (see
/// `Engine::check`), and each service's waiting and KV levels are the sums
/// over its engines.
fn gpus(w: &World, found: &mut Vec<String>) {
    if !w.gpus.any {
        return;
    }
    let n = w.m.services.len();
    let (mut waiting, mut kv) = (vec![0i64; n], vec![0i64; n]);
    for (r, e) in w.gpus.engines() {
        let service = w.fleet.replica(crate::sim::ids::ReplicaId(r as u32)).service.ix();
        let Some(cfg) = w.m.services[service].inference.as_ref() else {
            found.push(format!("replica {r} of a service without inference has an engine"));
            continue;
        };
        e.check(cfg, found, &format!("engine of replica {r}"));
        let (wt, _, k) = e.levels();
        waiting[service] += wt as i64;
        kv[service] += k as i64;
    }
    for (i, st) in w.gpus.services.iter().enumerate() {
        let Some(st) = st else { continue };
        if st.waiting.level != waiting[i] || st.kv.level != kv[i] {
            found.push(format!(
                "{}: waiting level {} / KV level {} but engines hold {} / {}",
                w.m.services[i].name, st.waiting.level, st.kv.level, waiting[i], kv[i]
            ));
        }
    }
}
