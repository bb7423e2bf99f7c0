//! Running an endpoint's compiled code for one attempt.
//!
//! A *strand* is a program counter over [`Instr`]s. The root strand starts
//! when the attempt is admitted; a `Fork` starts one child strand per branch
//! and parks the parent on a [`Join`] until enough branches finished. A
//! strand runs until a step needs the world (work, delay, call, fork, the
//! response): [`next_step`] is the pure interpreter of everything else
//! (jumps, branches, repeats, failure draws), the functions below act on
//! the step it stops at.
//!
//! Abandonment is lazy: when an attempt is done (responded, failed,
//! cancelled) or a join resolved early (`wait: any`), the strands still out
//! notice at their next event and free themselves; their in-progress work
//! finishes on its core (it cannot be preempted).

use super::super::chain::{Buf, Part};
use super::super::event::Event;
use super::super::ids::EdgeId;
use super::super::keyed::Lookup;
use super::super::state::{Attempt, AttemptKey, JoinKey, StrandKey};
use super::super::state::{AttemptState, Cause, Join, Origin, Outcome, Strand};
use super::super::world::World;
use super::{Close, answer, close, send, serve};
use crate::engine::{RngStream, Slab};
use crate::model::{
    CacheId, CacheSiteId, DistId, FailureKind, ForkId, GenerateId, Instr, MAX_CACHE_DEPTH, MAX_LOOP_DEPTH, Model,
    PublishId, Wait,
};

/// The step a strand stopped at.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Step {
    Work(DistId),
    Delay(DistId),
    Call(EdgeId),
    Publish(PublishId),
    Generate(GenerateId),
    Fork(ForkId),
    EndBranch,
    Respond,
    /// A `fail` step fired.
    Fail,
    Cache {
        cache: CacheId,
        miss: u32,
    },
    CacheLookup {
        site: CacheSiteId,
        slot: u8,
        miss: u32,
    },
    CacheFill {
        site: CacheSiteId,
        slot: u8,
    },
    CacheInvalidate {
        site: CacheSiteId,
    },
}

/// Runs control flow from `s.pc` (branches, jumps, repeats, failure draws
/// from the endpoint's `choice` stream) and stops at the first step that
/// needs the world; `s.pc` points at it.
pub(crate) fn next_step(m: &Model, code: &[Instr], s: &mut Strand, choice: &mut RngStream) -> Step {
    let mut pc = s.pc;
    let step = loop {
        match code[pc as usize] {
            Instr::Work(d) => break Step::Work(d),
            Instr::Delay(d) => break Step::Delay(d),
            Instr::Call(e) => break Step::Call(e),
            Instr::Publish(p) => break Step::Publish(p),
            Instr::Generate(g) => break Step::Generate(g),
            Instr::Fork(f) => break Step::Fork(f),
            Instr::EndBranch => break Step::EndBranch,
            Instr::Respond => break Step::Respond,
            Instr::Cache { cache, miss } => break Step::Cache { cache, miss },
            Instr::CacheLookup { site, slot, miss } => break Step::CacheLookup { site, slot, miss },
            Instr::CacheFill { site, slot } => break Step::CacheFill { site, slot },
            Instr::CacheInvalidate { site } => break Step::CacheInvalidate { site },
            Instr::Branch(b) => {
                let t = &m.branches[b.ix()];
                let u = choice.unit();
                let k = t.cumulative.iter().position(|&c| u < c).unwrap_or(t.starts.len() - 1);
                pc = t.starts[k];
            }
            Instr::Jump(to) => pc = to,
            Instr::RepeatInit { slot, count, exit } => {
                if count == 0 {
                    pc = exit;
                } else {
                    s.counters[slot as usize] = count;
                    pc += 1;
                }
            }
            Instr::RepeatNext { slot, body } => {
                let c = &mut s.counters[slot as usize];
                *c -= 1;
                pc = if *c > 0 { body } else { pc + 1 };
            }
            Instr::Fail { p } => {
                if choice.chance(p) {
                    break Step::Fail;
                }
                pc += 1;
            }
        }
    };
    s.pc = pc;
    step
}

/// An admitted attempt starts its endpoint: its root strand runs.
pub(crate) fn start_root(w: &mut World, attempt: AttemptKey, chain: Option<Buf>) {
    let now = w.now();
    w.attempts.get_mut(attempt).expect("live").strands += 1;
    let s = w.strands.insert(Strand {
        attempt,
        join: None,
        pc: 0,
        counters: [0; MAX_LOOP_DEPTH],
        keys: [0; MAX_CACHE_DEPTH],
        chain,
        t0: now,
    });
    run_strand(w, s);
}

/// True if the strand still has a reason to run: its attempt is running and
/// no join above it has resolved.
pub(crate) fn strand_live(w: &World, key: StrandKey) -> bool {
    live_in(&w.strands, &w.attempts, &w.joins, key)
}

/// [`strand_live`] from the slabs alone (while another part of the world
/// is borrowed).
pub(crate) fn live_in(strands: &Slab<Strand>, attempts: &Slab<Attempt>, joins: &Slab<Join>, key: StrandKey) -> bool {
    let Some(s) = strands.get(key) else {
        return false;
    };
    if attempts.get(s.attempt).is_none_or(|a| a.state != AttemptState::Running) {
        return false;
    }
    let mut j = s.join;
    while let Some(jk) = j {
        let join = joins.get(jk).expect("a strand's join outlives it");
        if join.resolved {
            return false;
        }
        j = strands.get(join.parent).expect("a join's parent waits on it").join;
    }
    true
}

/// How a strand ended, as its join counts it.
#[derive(Clone, Copy, Debug)]
enum End {
    /// It completed its branch.
    Completed,
    /// It failed with this root cause.
    Failed(Cause),
    /// Nobody needs it any more (its attempt ended or a join above it
    /// resolved): counts as not completed, and can decide no live join.
    Abandoned,
}

/// Frees an abandoned strand (it will not run again).
pub(crate) fn drop_strand(w: &mut World, key: StrandKey) {
    end_strand(w, key, End::Abandoned);
}

/// Moves past the step a strand was blocked on, then runs it.
pub(crate) fn advance(w: &mut World, key: StrandKey) {
    if !strand_live(w, key) {
        return drop_strand(w, key);
    }
    w.strands.get_mut(key).expect("live").pc += 1;
    run_strand(w, key);
}

pub(crate) fn on_delay_done(w: &mut World, key: StrandKey) {
    let now = w.now();
    if let Some(s) = w.strands.get(key) {
        let node = w.attempts.get(s.attempt).and_then(|a| a.node);
        let (c, t0) = (s.chain, s.t0);
        w.chains.add(c, node, Part::Delay, now.since(t0));
    }
    advance(w, key);
}

/// A call made by `key` ended: the strand goes on (`Ok`) or fails with the
/// call's root cause.
pub(crate) fn call_returned(w: &mut World, key: StrandKey, result: Result<(), Cause>, callee_chain: Option<Buf>) {
    let mine = w.strands.get(key).and_then(|s| s.chain);
    w.chains.append(mine, callee_chain);
    if !strand_live(w, key) {
        return drop_strand(w, key);
    }
    match result {
        Ok(()) => advance(w, key),
        Err(cause) => fail_strand(w, key, cause),
    }
}

/// A publish made by `key` ended: the wait counts as `part` in the
/// latency chain, and the strand goes on (`Ok`) or fails.
pub(crate) fn publish_returned(w: &mut World, key: StrandKey, result: Result<(), Cause>, part: Part) {
    let now = w.now();
    if let Some(s) = w.strands.get(key) {
        let node = w.attempts.get(s.attempt).and_then(|a| a.node);
        let (c, t0) = (s.chain, s.t0);
        w.chains.add(c, node, part, now.since(t0));
    }
    call_returned(w, key, result, None);
}

/// Runs `key` from its pc until it blocks or ends.
pub(crate) fn run_strand(w: &mut World, key: StrandKey) {
    if !strand_live(w, key) {
        return drop_strand(w, key);
    }
    let m = w.m;
    let attempt = w.strands.get(key).expect("live").attempt;
    let a = w.attempts.get(attempt).expect("live");
    let (endpoint, replica, service) = (a.endpoint, a.replica, a.service);
    let code = &m.endpoints[endpoint.ix()].code;
    loop {
        let s = w.strands.get_mut(key).expect("live");
        match next_step(m, code, s, &mut w.rng.choice[endpoint.ix()]) {
            Step::Work(d) => {
                let demand = match m.dist(d) {
                    crate::model::Dist::Per(_) => match per(w, attempt, m.dist(d)) {
                        Some(x) => x,
                        None => return fail_strand(w, key, missing_attribute(service)),
                    },
                    dist => dist.sample(&mut w.rng.work[endpoint.ix()]),
                };
                let demand = w.faults.scale(service, demand, true);
                return serve::request_core(w, key, replica, demand);
            }
            Step::Delay(d) => {
                let dur = match m.dist(d) {
                    crate::model::Dist::Per(_) => match per(w, attempt, m.dist(d)) {
                        Some(x) => x,
                        None => return fail_strand(w, key, missing_attribute(service)),
                    },
                    dist => dist.sample(&mut w.rng.work[endpoint.ix()]),
                };
                let dur = w.faults.scale(service, dur, false);
                w.strands.get_mut(key).expect("live").t0 = w.q.now();
                return w.after(dur, Event::DelayDone { strand: key });
            }
            Step::Call(edge) => {
                if send::start_call(w, key, edge) {
                    return;
                }
                w.strands.get_mut(key).expect("live").pc += 1;
            }
            Step::Publish(p) => return super::messages::start_publish(w, key, p),
            Step::Generate(g) => return super::generate::start(w, key, g),
            Step::Fork(f) => return fork(w, key, f, attempt),
            Step::EndBranch => return end_strand(w, key, End::Completed),
            Step::Respond => return finish_attempt(w, key, Outcome::Ok, None),
            Step::Fail => {
                return fail_strand(w, key, Cause { kind: FailureKind::Error, origin: Origin::Service(service) });
            }
            Step::Cache { cache, miss } => {
                let hit = w.rng.choice[endpoint.ix()].chance(m.caches[cache.ix()].hit_ratio);
                w.stats.cache_lookup(cache.ix(), hit);
                let s = w.strands.get_mut(key).expect("live");
                s.pc = if hit { s.pc + 1 } else { miss };
            }
            Step::CacheLookup { site, slot, miss } => {
                let k = w.keyed.draw(m, site);
                let (cache, now) = (m.cache_sites[site.ix()].cache, w.now());
                let found = w.keyed.lookup(cache, replica, k, now, key);
                let s = w.strands.get_mut(key).expect("live");
                s.keys[slot as usize] = k;
                match found {
                    Lookup::Hit => s.pc += 1,
                    Lookup::Miss => s.pc = miss,
                    Lookup::Parked => {
                        // Woken by `wake_parked` when the key is written.
                        s.t0 = now;
                        return;
                    }
                }
            }
            Step::CacheFill { site, slot } => {
                let s = w.strands.get_mut(key).expect("live");
                let k = s.keys[slot as usize];
                s.pc += 1;
                let (cache, now) = (m.cache_sites[site.ix()].cache, w.now());
                for waiter in w.keyed.fill(cache, replica, k, now, key) {
                    wake_parked(w, waiter, true);
                }
            }
            Step::CacheInvalidate { site } => {
                w.keyed.invalidate(m, site, replica);
                w.strands.get_mut(key).expect("live").pc += 1;
            }
        }
    }
}

/// A strand parked on a key another strand was fetching goes on: as a hit
/// (the key was written) or as a miss (the fetch failed), the wait counted
/// as delay in its latency chain.
fn wake_parked(w: &mut World, key: StrandKey, hit: bool) {
    let Some(s) = w.strands.get(key) else { return };
    let now = w.now();
    let a = w.attempts.get(s.attempt);
    let (node, endpoint) = (a.and_then(|a| a.node), a.map(|a| a.endpoint));
    let (c, t0, pc) = (s.chain, s.t0, s.pc);
    w.chains.add(c, node, Part::Delay, now.since(t0));
    let next = match (endpoint.map(|e| w.m.endpoints[e.ix()].code[pc as usize]), hit) {
        (Some(Instr::CacheLookup { miss, .. }), false) => miss,
        _ => pc + 1,
    };
    w.strands.get_mut(key).expect("live").pc = next;
    w.ready.push_back(Event::StrandReady { strand: key });
}

/// The duration of a `per(ATTR, …)` step for the request of `attempt`;
/// `None` when it does not carry the attribute.
fn per(w: &World, attempt: AttemptKey, d: &crate::model::Dist) -> Option<crate::engine::SimDuration> {
    let attrs = w.attempts.get(attempt).and_then(|a| a.attrs.as_deref()).map(Vec::as_slice);
    d.per_attribute(attrs)?.ok()
}

/// A `per(ATTR, …)` step in a request without that attribute (possible only
/// where the load-time check could not tell): the step fails as an error.
fn missing_attribute(service: crate::model::ServiceId) -> Cause {
    Cause { kind: FailureKind::Error, origin: Origin::Service(service) }
}

/// The root strand finished (or failed): the attempt responds.
fn finish_attempt(w: &mut World, root: StrandKey, outcome: Outcome, cause: Option<Cause>) {
    let s = w.strands.get_mut(root).expect("live");
    let (attempt, chain) = (s.attempt, s.chain.take());
    w.attempts.get_mut(attempt).expect("live").chain = chain;
    close(w, attempt, Close::Respond(outcome, cause));
    end_strand(w, root, End::Abandoned);
}

/// A strand failed (a `fail` step, or a call that failed with `on_failure: fail`).
pub(crate) fn fail_strand(w: &mut World, key: StrandKey, cause: Cause) {
    if w.strands.get(key).expect("live").join.is_none() {
        finish_attempt(w, key, Outcome::Error, Some(cause))
    } else {
        end_strand(w, key, End::Failed(cause))
    }
}

fn fork(w: &mut World, parent: StrandKey, f: ForkId, attempt: AttemptKey) {
    let fk = &w.m.forks[f.ix()];
    let total = fk.starts.len() as u32;
    let need = match fk.wait {
        Wait::All => total,
        Wait::Any => 1,
        Wait::K(k) => k.min(total),
    };
    let join = w.joins.insert(Join {
        parent,
        need,
        total,
        ok: 0,
        failed: 0,
        outstanding: total,
        resolved: false,
        join_pc: fk.join_pc,
    });
    let now = w.now();
    let (counted, node) = {
        let a = w.attempts.get(attempt).expect("live");
        (a.counted, a.node)
    };
    for i in 0..fk.starts.len() {
        let start = w.m.forks[f.ix()].starts[i];
        let chain = w.chains.new_buffer(counted, node);
        let child = w.strands.insert(Strand {
            attempt,
            join: Some(join),
            pc: start,
            counters: [0; MAX_LOOP_DEPTH],
            keys: [0; MAX_CACHE_DEPTH],
            chain,
            t0: now,
        });
        w.attempts.get_mut(attempt).expect("live").strands += 1;
        w.ready.push_back(Event::StrandReady { strand: child });
    }
}

/// A strand ends. Frees it, tells its join, and frees the attempt if
/// nothing else refers to it.
fn end_strand(w: &mut World, key: StrandKey, end: End) {
    let Some(s) = w.strands.remove(key) else {
        return;
    };
    if w.keyed.any {
        for waiter in w.keyed.strand_ended(key) {
            wake_parked(w, waiter, false);
        }
    }
    let attempt = s.attempt;
    if let Some(a) = w.attempts.get_mut(attempt) {
        a.strands -= 1;
    }
    match s.join {
        None => w.chains.recycle(s.chain),
        Some(j) => branch_ended(w, j, end, s.chain),
    }
    answer::release_if_idle(w, attempt);
}

/// One branch of a join ended. When this decides the join, the parent goes
/// on at the join (success) or fails with the branch's cause; a join
/// decided earlier (`wait: any`) only counts its stragglers down.
fn branch_ended(w: &mut World, jk: JoinKey, end: End, branch_chain: Option<Buf>) {
    let j = w.joins.get_mut(jk).expect("a branch's join is live");
    j.outstanding -= 1;
    let mut decided = None;
    if !j.resolved {
        if matches!(end, End::Completed) {
            j.ok += 1;
        } else {
            j.failed += 1;
        }
        if j.ok >= j.need {
            decided = Some(End::Completed);
        } else if j.failed > j.total - j.need {
            decided = Some(end);
        }
        j.resolved = decided.is_some();
    }
    let (parent, join_pc) = (j.parent, j.join_pc);
    if j.outstanding == 0 {
        debug_assert!(j.resolved, "a join with no branches left is decided");
        w.joins.remove(jk);
    }
    let mut chain_used = false;
    match decided {
        Some(End::Completed) if strand_live(w, parent) => {
            // The branch that completed the join is on the critical path.
            let pchain = w.strands.get(parent).expect("live").chain;
            w.chains.append(pchain, branch_chain);
            chain_used = true;
            w.strands.get_mut(parent).expect("live").pc = join_pc;
            w.ready.push_back(Event::StrandReady { strand: parent });
        }
        Some(End::Failed(cause)) if strand_live(w, parent) => fail_strand(w, parent, cause),
        Some(_) => drop_strand(w, parent),
        None => {}
    }
    if !chain_used {
        w.chains.recycle(branch_chain);
    }
}
