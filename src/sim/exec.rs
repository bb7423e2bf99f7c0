//! Running an endpoint's compiled code for one attempt.
//!
//! A *strand* is a program counter over [`Instr`]s. The root strand starts
//! when the attempt is admitted; a `Fork` starts one child strand per branch
//! and parks the parent on a [`Join`] until enough branches finished. A
//! strand runs instructions until one blocks (work, delay, call, fork).
//!
//! Abandonment is lazy: when an attempt is done (responded, failed,
//! cancelled) or a join resolved early (`wait: any`), the strands still out
//! notice at their next event and free themselves; their in-progress work
//! finishes on its core (it cannot be preempted).

use super::{AttemptState, Event, Join, Outcome, Strand, World, calls, chain, replica};
use crate::engine::SlabKey;
use crate::model::{Instr, MAX_LOOP_DEPTH, Wait};

pub(crate) fn on_attempt_starts(w: &mut World, attempt: SlabKey) {
    let now = w.now();
    let Some(a) = w.attempts.get_mut(attempt) else { return };
    if a.state != AttemptState::Running {
        return;
    }
    let (counted, node, arrived, service) = (a.counted, a.node, a.arrived, a.service);
    let wait = now.since(arrived);
    super::stats::admitted(w, service, wait);
    if super::faults::fails_now(w, service) {
        return calls::respond(w, attempt, Outcome::Error);
    }
    w.attempts.get_mut(attempt).expect("live").strands += 1;
    let chain = w.chains.new_buffer(counted, node);
    w.chains.begin_visit(chain, node, wait);
    let s = w.strands.insert(Strand {
        attempt,
        join: SlabKey::NONE,
        pc: 0,
        counters: [0; MAX_LOOP_DEPTH],
        chain,
        t0: now,
        t1: now,
        pause_mark: 0,
    });
    run_strand(w, s);
}

/// True if the strand still has a reason to run: its attempt is running and
/// no join above it has resolved.
pub(crate) fn strand_live(w: &World, key: SlabKey) -> bool {
    let Some(s) = w.strands.get(key) else {
        return false;
    };
    if w.attempts.get(s.attempt).is_none_or(|a| a.state != AttemptState::Running) {
        return false;
    }
    let mut j = s.join;
    while !j.is_none() {
        let join = w.joins.get(j).expect("a strand's join outlives it");
        if join.resolved {
            return false;
        }
        j = w.strands.get(join.parent).expect("a join's parent waits on it").join;
    }
    true
}

/// Frees an abandoned strand (it will not run again).
pub(crate) fn drop_strand(w: &mut World, key: SlabKey) {
    end_strand(w, key, false);
}

/// Moves past the instruction a strand was blocked on, then runs it.
pub(crate) fn advance(w: &mut World, key: SlabKey) {
    if !strand_live(w, key) {
        return drop_strand(w, key);
    }
    w.strands.get_mut(key).expect("live").pc += 1;
    run_strand(w, key);
}

pub(crate) fn on_delay_done(w: &mut World, key: SlabKey) {
    let now = w.now();
    if let Some(s) = w.strands.get(key) {
        let node = w.attempts.get(s.attempt).map_or(chain::NO_NODE, |a| a.node);
        let (c, t0) = (s.chain, s.t0);
        w.chains.add(c, node, chain::Part::Delay, now.since(t0));
    }
    advance(w, key);
}

/// A call made by `key` ended; `ok` says whether the strand goes on.
pub(crate) fn call_returned(w: &mut World, key: SlabKey, ok: bool, callee_chain: u32) {
    let mine = w.strands.get(key).map_or(chain::NO_CHAIN, |s| s.chain);
    w.chains.append(mine, callee_chain);
    if !strand_live(w, key) {
        return drop_strand(w, key);
    }
    if ok { advance(w, key) } else { fail_strand(w, key) }
}

/// Runs `key` from its pc until it blocks or ends.
pub(crate) fn run_strand(w: &mut World, key: SlabKey) {
    if !strand_live(w, key) {
        return drop_strand(w, key);
    }
    let m = w.m;
    let (attempt_key, mut pc) = {
        let s = w.strands.get(key).expect("live");
        (s.attempt, s.pc)
    };
    let a = w.attempts.get(attempt_key).expect("live");
    let (endpoint, replica, node, counted, deadline) = (a.endpoint as usize, a.replica, a.node, a.counted, a.deadline);
    let service = a.service;
    let code = &m.endpoints[endpoint].code;
    loop {
        match code[pc as usize] {
            Instr::Work(_) => {
                w.strands.get_mut(key).expect("live").pc = pc;
                return replica::request_core(w, key, replica);
            }
            Instr::Delay(d) => {
                let dur = m.dist(d).sample(&mut w.ep_rng[endpoint].time);
                let dur = super::faults::scale(w, service, dur, false);
                let s = w.strands.get_mut(key).expect("live");
                s.pc = pc;
                s.t0 = w.q.now();
                w.after(dur, Event::DelayDone { strand: key });
                return;
            }
            Instr::Call(edge) => {
                w.strands.get_mut(key).expect("live").pc = pc;
                if calls::start_call(w, key, edge.0, node, counted, deadline) {
                    return;
                }
                pc += 1;
            }
            Instr::Fork(f) => {
                w.strands.get_mut(key).expect("live").pc = pc;
                return fork(w, key, f.ix(), attempt_key, counted, node);
            }
            Instr::EndBranch => return end_strand(w, key, true),
            Instr::Branch(b) => {
                let t = &m.branches[b.ix()];
                let u = w.ep_rng[endpoint].choice.unit();
                let k = t.cumulative.iter().position(|&c| u < c).unwrap_or(t.starts.len() - 1);
                pc = t.starts[k];
            }
            Instr::Jump(to) => pc = to,
            Instr::RepeatInit { slot, count, exit } => {
                if count == 0 {
                    pc = exit;
                } else {
                    w.strands.get_mut(key).expect("live").counters[slot as usize] = count;
                    pc += 1;
                }
            }
            Instr::RepeatNext { slot, body } => {
                let c = &mut w.strands.get_mut(key).expect("live").counters[slot as usize];
                *c -= 1;
                pc = if *c > 0 { body } else { pc + 1 };
            }
            Instr::Fail { p } => {
                if w.ep_rng[endpoint].choice.chance(p) {
                    return fail_strand(w, key);
                }
                pc += 1;
            }
            Instr::Cache { cache, miss } => {
                let hit = w.ep_rng[endpoint].choice.chance(m.caches[cache.ix()].hit_ratio);
                w.stats.cache_lookup(cache.ix(), hit);
                pc = if hit { pc + 1 } else { miss };
            }
            Instr::Respond => {
                w.strands.get_mut(key).expect("live").pc = pc;
                return finish_attempt(w, key, Outcome::Ok);
            }
        }
    }
}

/// The root strand finished (or failed): the attempt responds.
fn finish_attempt(w: &mut World, root: SlabKey, outcome: Outcome) {
    let s = w.strands.get(root).expect("live");
    let attempt = s.attempt;
    let chain = s.chain;
    w.strands.get_mut(root).expect("live").chain = chain::NO_CHAIN;
    w.attempts.get_mut(attempt).expect("live").chain = chain;
    calls::respond(w, attempt, outcome);
    end_strand(w, root, false);
}

/// A strand failed (a `fail` step, or a call that failed with `on_failure: fail`).
fn fail_strand(w: &mut World, key: SlabKey) {
    let join = w.strands.get(key).expect("live").join;
    if join.is_none() { finish_attempt(w, key, Outcome::Error) } else { end_strand(w, key, false) }
}

fn fork(w: &mut World, parent: SlabKey, f: usize, attempt: SlabKey, counted: bool, node: u32) {
    let fk = &w.m.forks[f];
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
    for i in 0..fk.starts.len() {
        let start = w.m.forks[f].starts[i];
        let chain = w.chains.new_buffer(counted, node);
        let child = w.strands.insert(Strand {
            attempt,
            join,
            pc: start,
            counters: [0; MAX_LOOP_DEPTH],
            chain,
            t0: now,
            t1: now,
            pause_mark: 0,
        });
        w.attempts.get_mut(attempt).expect("live").strands += 1;
        w.ready.push_back(Event::StrandReady { strand: child });
    }
}

/// A strand ends: `ok` if it completed its branch. Frees it, tells its join,
/// and frees the attempt if nothing else refers to it.
fn end_strand(w: &mut World, key: SlabKey, ok: bool) {
    let Some(s) = w.strands.remove(key) else {
        return;
    };
    let attempt = s.attempt;
    if let Some(a) = w.attempts.get_mut(attempt) {
        a.strands -= 1;
    }
    if s.join.is_none() {
        w.chains.recycle(s.chain);
    } else {
        branch_ended(w, s.join, ok, s.chain);
    }
    calls::release_attempt_if_idle(w, attempt);
}

/// One branch of a join ended (completed if `ok`). When this decides the
/// join, the parent goes on at the join (success) or fails; a join decided
/// earlier (`wait: any`) only counts its stragglers down.
fn branch_ended(w: &mut World, jk: SlabKey, ok: bool, branch_chain: u32) {
    let j = w.joins.get_mut(jk).expect("a branch's join is live");
    j.outstanding -= 1;
    let mut decided = None;
    if !j.resolved {
        if ok {
            j.ok += 1;
        } else {
            j.failed += 1;
        }
        if j.ok >= j.need {
            decided = Some(true);
        } else if j.failed > j.total - j.need {
            decided = Some(false);
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
        Some(true) if strand_live(w, parent) => {
            // The branch that completed the join is on the critical path.
            let pchain = w.strands.get(parent).expect("live").chain;
            w.chains.append(pchain, branch_chain);
            chain_used = true;
            w.strands.get_mut(parent).expect("live").pc = join_pc;
            w.ready.push_back(Event::StrandReady { strand: parent });
        }
        Some(false) if strand_live(w, parent) => fail_strand(w, parent),
        Some(_) => drop_strand(w, parent),
        None => {}
    }
    if !chain_used {
        w.chains.recycle(branch_chain);
    }
}
