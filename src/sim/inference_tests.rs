//! The engine alone, with exact arithmetic: iteration times from the
//! formula, batching, the KV cap, preemption, chunked prefill.

use super::*;
use crate::model::IterationCost;

const MS: f64 = 1e6;

fn cfg(kv: u64, chunked: bool, budget: u32) -> Inference {
    Inference {
        max_batch: 256,
        max_batch_tokens: budget,
        kv_cache_tokens: kv,
        block_size: 1,
        chunked_prefill: chunked,
        // base 10 ms, 0.1 ms per prompt token, 1 ms per decoding sequence,
        // 0.01 ms per context token.
        iteration: IterationCost {
            base_ns: 10.0 * MS,
            per_prefill_token_ns: 0.1 * MS,
            per_decode_seq_ns: 1.0 * MS,
            per_context_token_ns: 0.01 * MS,
        },
        model_load: None,
    }
}

fn strand(i: u32) -> StrandKey {
    StrandKey::for_tests(i)
}

/// Submits `(input, output)` sequences at time 0 and runs the engine to
/// idle: the finished sequences by strand index, and the stats.
struct Run {
    finished: Vec<(u32, Finished)>,
    st: ServiceStats,
    engine: Engine,
}

fn run(c: &Inference, seqs: &[(u32, u32)]) -> Run {
    let mut e = Engine::new();
    let mut st = ServiceStats::new(RngStream::derive(1, "t", "t"));
    let mut out = IterationOut::default();
    let mut next = None;
    for (i, &(input, output)) in seqs.iter().enumerate() {
        match e.submit(c, &mut st, SimTime::ZERO, strand(i as u32 + 1), input, output) {
            Submit::Queued { kick: true } => next = Some(SimTime::ZERO),
            Submit::Queued { kick: false } => {}
            Submit::TooLong => {}
        }
    }
    let mut finished = Vec::new();
    let mut guard = 0;
    while let Some(t) = next {
        e.iteration_ends(c, &mut st, t, &|_| true, &mut out);
        let mut problems = Vec::new();
        e.check(c, &mut problems, "engine");
        assert!(problems.is_empty(), "{problems:?}");
        for f in &out.finished {
            finished.push((f.strand.index(), *f));
        }
        next = out.next_end;
        guard += 1;
        assert!(guard < 100_000, "the engine never went idle");
    }
    Run { finished, st, engine: e }
}

fn ms(t: SimTime) -> f64 {
    t.0 as f64 / MS
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-6
}

#[test]
fn one_sequence_alone_follows_the_formula() {
    let r = run(&cfg(10_000, false, 8192), &[(100, 5)]);
    // Prefill: 10 + 0.1 × 100 = 20 ms, first token. Then 4 decodes with
    // context 101, 102, 103, 104: 10 + 1 + 0.01 × context each.
    let f = r.finished[0].1;
    assert!(close(ms(f.first), 20.0), "{}", ms(f.first));
    let end = 20.0 + (11.0 + 1.01) + (11.0 + 1.02) + (11.0 + 1.03) + (11.0 + 1.04);
    assert!(close(ms(f.last), end), "{} vs {end}", ms(f.last));
    assert_eq!(f.tokens, 5);
    assert_eq!(r.st.iterations, 5);
    assert_eq!(r.st.output_tokens, 5);
    assert_eq!(r.st.prefill_tokens, 100);
}

#[test]
fn one_output_token_ends_at_prefill() {
    let r = run(&cfg(10_000, false, 8192), &[(50, 1)]);
    let f = r.finished[0].1;
    assert!(close(ms(f.first), 15.0) && f.first == f.last);
}

#[test]
fn identical_sequences_arriving_together_share_every_iteration() {
    let r = run(&cfg(10_000, false, 8192), &[(100, 3); 4]);
    // One prefill iteration of 400 prompt tokens: 10 + 40 = 50 ms; then two
    // decodes of 4 sequences: 10 + 4 + 0.01 × 4 × 101 = 18.04 ms, and
    // 10 + 4 + 0.01 × 4 × 102 = 18.08 ms.
    assert_eq!(r.finished.len(), 4);
    for (_, f) in &r.finished {
        assert!(close(ms(f.first), 50.0));
        assert!(close(ms(f.last), 50.0 + 18.04 + 18.08), "{}", ms(f.last));
    }
    assert_eq!(r.st.iterations, 3);
    assert_eq!(r.st.batch_max, 4);
}

#[test]
fn the_prefill_budget_splits_admission_in_prefill_first_mode() {
    // Budget 250 prompt tokens: two prompts of 100 per prefill iteration.
    let r = run(&cfg(10_000, false, 250), &[(100, 2); 3]);
    let first: Vec<f64> = r.finished.iter().map(|(_, f)| ms(f.first)).collect();
    // Iteration 1: prefill of #1, #2 (10 + 20 = 30 ms). Iteration 2: prefill
    // of #3 (prefill first: 10 + 10 = 20 ms → 50 ms).
    assert!(close(first[0], 30.0) && close(first[1], 30.0), "{first:?}");
    assert!(r.finished.iter().any(|(i, f)| *i == 3 && close(ms(f.first), 50.0)), "{first:?}");
}

#[test]
fn a_prompt_longer_than_the_budget_runs_alone() {
    let r = run(&cfg(10_000, false, 64), &[(100, 1)]);
    assert!(close(ms(r.finished[0].1.first), 20.0));
}

#[test]
fn the_kv_cache_caps_concurrent_sequences() {
    // 250 tokens: a sequence needs 101 to be admitted (prompt + first
    // token), so two run and the third waits for one to finish.
    let r = run(&cfg(250, false, 8192), &[(100, 10); 3]);
    assert_eq!(r.st.batch_max, 2);
    let third = r.finished.iter().find(|(i, _)| *i == 3).expect("finished").1;
    let others_last = r.finished.iter().filter(|(i, _)| *i != 3).map(|(_, f)| f.last).max().expect("two");
    assert!(third.admitted >= others_last, "the third got into a batch only after a sequence left");
    assert!(r.engine.levels() == (0, 0, 0));
}

#[test]
fn preemption_happens_exactly_when_the_cache_runs_out_and_loses_no_token() {
    // 210 tokens, two sequences of 100 + 20. After the prefill both hold
    // 101; each decode adds one to each: after 4 decodes they hold 105 each
    // = 210, and the 5th decode cannot fit both: the newest is preempted.
    let c = cfg(210, false, 8192);
    let mut e = Engine::new();
    let mut st = ServiceStats::new(RngStream::derive(1, "t", "t"));
    let mut out = IterationOut::default();
    e.submit(&c, &mut st, SimTime::ZERO, strand(1), 100, 20);
    e.submit(&c, &mut st, SimTime::ZERO, strand(2), 100, 20);
    let mut t = SimTime::ZERO;
    let mut iteration = 0;
    let mut preempted_at = None;
    let mut finished = Vec::new();
    loop {
        e.iteration_ends(&c, &mut st, t, &|_| true, &mut out);
        finished.extend(out.finished.iter().copied());
        if preempted_at.is_none() && st.preemptions > 0 {
            preempted_at = Some(iteration);
        }
        let Some(n) = out.next_end else { break };
        t = n;
        iteration += 1;
    }
    // Planned at the end of iteration 5 (1 prefill + 4 decodes).
    assert_eq!(preempted_at, Some(5));
    assert_eq!(finished.len(), 2);
    assert!(finished.iter().all(|f| f.tokens == 20), "no token lost");
    assert!(st.preemptions >= 1);
    // The recomputation counts as prefill again: more than the 200 prompt tokens.
    assert!(st.prefill_tokens > 200);
    // A recompute emits the next token; the tokens before it are kept.
    assert_eq!(st.output_tokens, 40);
}

#[test]
fn chunked_prefill_splits_a_long_prompt() {
    // Budget 256: a 600-token prompt takes chunks 256, 256, 88.
    let r = run(&cfg(10_000, true, 256), &[(600, 2)]);
    let f = r.finished[0].1;
    let first = (10.0 + 25.6) + (10.0 + 25.6) + (10.0 + 8.8);
    assert!(close(ms(f.first), first), "{} vs {first}", ms(f.first));
    assert_eq!(r.st.prefill_tokens, 600);
}

#[test]
fn chunked_prefill_mixes_decodes_with_a_new_prompt() {
    // #1 (10 tokens) is decoding when #2 (300) arrives: the next iteration
    // decodes #1 and computes 255 tokens of #2 (budget 256 − 1 decode).
    let c = cfg(10_000, true, 256);
    let mut e = Engine::new();
    let mut st = ServiceStats::new(RngStream::derive(1, "t", "t"));
    let mut out = IterationOut::default();
    e.submit(&c, &mut st, SimTime::ZERO, strand(1), 10, 50);
    e.iteration_ends(&c, &mut st, SimTime::ZERO, &|_| true, &mut out);
    let t1 = out.next_end.expect("prefill of #1");
    assert!(close(ms(t1), 11.0));
    e.submit(&c, &mut st, t1, strand(2), 300, 5);
    e.iteration_ends(&c, &mut st, t1, &|_| true, &mut out);
    let t2 = out.next_end.expect("mixed iteration");
    // 10 + 0.1 × 255 + 1 + 0.01 × 11 = 36.61 ms.
    assert!(close(ms(t2) - ms(t1), 36.61), "{}", ms(t2) - ms(t1));
}

#[test]
fn a_sequence_larger_than_the_cache_is_refused() {
    let c = cfg(1000, false, 8192);
    let mut e = Engine::new();
    let mut st = ServiceStats::new(RngStream::derive(1, "t", "t"));
    assert_eq!(e.submit(&c, &mut st, SimTime::ZERO, strand(1), 900, 101), Submit::TooLong);
    assert_eq!(e.submit(&c, &mut st, SimTime::ZERO, strand(2), 900, 100), Submit::Queued { kick: true });
    assert_eq!(st.too_long, 1);
}

#[test]
fn blocks_round_the_cache_up() {
    let mut c = cfg(64, false, 8192);
    c.block_size = 16;
    assert_eq!(c.kv_of(17), 32);
    // 40 + 1 tokens hold 48; a second such sequence does not fit in 64.
    let r = run(&c, &[(40, 2); 2]);
    assert_eq!(r.st.batch_max, 1);
}

#[test]
fn dead_strands_are_dropped_and_free_their_cache() {
    let c = cfg(10_000, false, 8192);
    let mut e = Engine::new();
    let mut st = ServiceStats::new(RngStream::derive(1, "t", "t"));
    let mut out = IterationOut::default();
    e.submit(&c, &mut st, SimTime::ZERO, strand(1), 100, 50);
    e.submit(&c, &mut st, SimTime::ZERO, strand(2), 100, 50);
    e.iteration_ends(&c, &mut st, SimTime::ZERO, &|_| true, &mut out);
    let t = out.next_end.expect("prefill");
    e.iteration_ends(&c, &mut st, t, &|k| k != strand(2), &mut out);
    assert_eq!(out.dropped, vec![strand(2)]);
    assert_eq!(e.levels(), (0, 1, 102));
    assert_eq!(st.kv.level, 102);
}
