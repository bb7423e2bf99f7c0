//! Inference servers (`inference:`): one engine per replica running one
//! iteration at a time with iteration-level (continuous) batching, as vLLM
//! and Orca do. A leaf: it decides what each iteration computes and how
//! long it takes, and returns the sequences that finished; `flow::generate`
//! schedules the iterations and wakes the strands.
//!
//! **A sequence** (one `generate` step) waits FCFS, is admitted to the
//! batch while `max_batch` and the KV cache allow, computes its prompt
//! (prefill; its last prefill iteration emits the first token), then emits
//! one token per decode iteration until its `output` tokens are out. It
//! holds `input + generated` tokens of KV cache (whole blocks of
//! `block_size`), reserved when the iteration that computes them is planned.
//!
//! **Planning an iteration** (at the end of the previous one, or when a
//! sequence arrives at an idle engine):
//! - *prefill first* (vLLM's default without chunking): if waiting prompts
//!   can be admitted (FCFS: batch room, their whole prompts within
//!   `max_batch_tokens` — a longer prompt runs alone —, KV room for prompt +
//!   first token) the iteration computes only those prefills; else it
//!   decodes every running sequence;
//! - *chunked prefill* (Sarathi-Serve, vLLM's chunked mode): every running
//!   sequence in admission order — decodes take 1 token of the
//!   `max_batch_tokens` budget, unfinished prompts a chunk of what is left —,
//!   then waiting prompts are admitted FCFS with a first chunk while the
//!   budget, the batch and the KV cache allow.
//!
//! When a running sequence's next tokens do not fit the KV cache, the
//! newest running sequence is preempted (its blocks freed, back to the
//! front of the waiting line, its prompt recomputed later with the tokens
//! it had generated: none is lost) until they fit — vLLM's recompute
//! preemption. No prompt is admitted in an iteration that preempted.
//!
//! Iteration time: `base + per_prefill_token × prompt tokens computed +
//! per_decode_seq × decoding sequences + per_context_token × their context
//! (input + generated before the iteration)`.
//!
//! A sequence whose whole length (`input + output`) exceeds the KV cache
//! could never finish: it is refused at once (`too_long`). Sequences whose
//! strand died (its attempt ended, a join above it resolved) are dropped at
//! the next planning, their blocks freed.
//!
//! **Cost:** one event per iteration (plus one to wake an idle engine, so
//! that sequences arriving at one instant share an iteration), and a pass
//! over the batch: simulated time grows with iterations, never with
//! tokens × requests.

use super::shared_cpu::Live;
use super::state::StrandKey;
use crate::engine::{Key, RngStream, SimDuration, SimTime, Slab};
use crate::metrics::{Hist, Integral};
use crate::model::{Inference, Model};
use std::collections::VecDeque;

type SeqKey = Key<Seq>;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    Waiting,
    Prefill,
    Decode,
}

/// One sequence (a `generate` step in progress).
struct Seq {
    strand: StrandKey,
    input: u32,
    output: u32,
    /// Tokens generated so far (kept across preemptions).
    generated: u32,
    /// Tokens to compute at its current admission: `input + generated` then.
    prompt: u32,
    /// Of them, computed so far.
    prefilled: u32,
    /// KV-cache tokens held (whole blocks), including what the planned
    /// iteration computes.
    kv: u64,
    phase: Phase,
    /// When it reached the server, and when it first got into a batch.
    arrived: SimTime,
    admitted: Option<SimTime>,
    first: Option<SimTime>,
    /// In the planned iteration: a prefill chunk (tokens), or a decode.
    chunk: u32,
    decoding: bool,
}

/// A sequence whose last token is out.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Finished {
    pub strand: StrandKey,
    /// When it reached the server, first got into a batch, emitted its first
    /// and its last token.
    pub arrived: SimTime,
    pub admitted: SimTime,
    pub first: SimTime,
    pub last: SimTime,
    pub tokens: u32,
}

/// What a submission found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Submit {
    /// Waiting; `kick`: the engine was idle — plan an iteration now.
    Queued { kick: bool },
    /// `input + output` exceeds the KV cache: it could never finish.
    TooLong,
}

/// What the end of an iteration caused.
#[derive(Default)]
pub(crate) struct IterationOut {
    pub finished: Vec<Finished>,
    /// Sequences dropped because their strand died.
    pub dropped: Vec<StrandKey>,
    /// The next iteration ends then (`None`: the engine is idle).
    pub next_end: Option<SimTime>,
}

/// One replica's inference server.
pub(crate) struct Engine {
    seqs: Slab<Seq>,
    waiting: VecDeque<SeqKey>,
    /// Admitted sequences, oldest admission first.
    running: Vec<SeqKey>,
    /// The sequences the iteration in progress works on.
    batch: Vec<SeqKey>,
    kv_used: u64,
    /// An iteration (or a wake-up) is scheduled.
    scheduled: bool,
    /// An iteration is running (for the busy share).
    computing: bool,
}

/// An inference service's counters and levels (all its replicas).
pub(crate) struct ServiceStats {
    pub iterations: u64,
    pub batch_sum: u64,
    pub batch_max: u64,
    pub preemptions: u64,
    pub sequences: u64,
    pub too_long: u64,
    pub prefill_tokens: u64,
    pub output_tokens: u64,
    pub model_loads: u64,
    pub model_load_ns: u128,
    /// Levels summed over replicas: iterations running, sequences waiting,
    /// KV tokens held.
    pub busy: Integral,
    pub waiting: Integral,
    pub kv: Integral,
    pub waiting_max: u64,
    /// Highest KV share of one replica.
    pub kv_share_max: f64,
    /// The same, for the series interval in progress (areas at its start).
    pub iv: Interval,
    /// `model_load` draws.
    pub load_rng: RngStream,
}

#[derive(Clone, Copy, Default)]
pub(crate) struct Interval {
    pub iterations: u64,
    pub batch_sum: u64,
    pub preemptions: u64,
    pub output_tokens: u64,
    pub busy_start: u128,
    pub waiting_start: u128,
    pub kv_start: u128,
    pub serving_start: u128,
}

/// A workload's token figures (requests that generated tokens).
pub(crate) struct TokenStats {
    pub ttft: Hist,
    pub tpot: Hist,
    pub tokens: u64,
    /// Met the SLO thresholds (when the workload has some).
    pub met: u64,
    /// Thresholds for the token goodput, from the workload's SLOs.
    pub ttft_bound: Option<SimDuration>,
    pub tpot_bound: Option<SimDuration>,
    /// Some request of the workload can reach a `generate` step.
    pub reaches: bool,
    pub iv_ttft: Hist,
    pub iv_tpot: Hist,
    pub iv_tokens: u64,
}

impl ServiceStats {
    pub fn new(load_rng: RngStream) -> ServiceStats {
        ServiceStats {
            iterations: 0,
            batch_sum: 0,
            batch_max: 0,
            preemptions: 0,
            sequences: 0,
            too_long: 0,
            prefill_tokens: 0,
            output_tokens: 0,
            model_loads: 0,
            model_load_ns: 0,
            busy: Integral::default(),
            waiting: Integral::default(),
            kv: Integral::default(),
            waiting_max: 0,
            kv_share_max: 0.0,
            iv: Interval::default(),
            load_rng,
        }
    }
}

/// Every inference server of a run.
pub(crate) struct Gpus {
    /// Some service has `inference:`.
    pub any: bool,
    /// By replica index; created on first use.
    engines: Vec<Option<Box<Engine>>>,
    /// By service; `Some` for inference services.
    pub services: Vec<Option<ServiceStats>>,
    /// By workload.
    pub workloads: Vec<TokenStats>,
}

impl Gpus {
    pub fn new(m: &Model, seed: u64, reaches: &[bool]) -> Gpus {
        let services: Vec<Option<ServiceStats>> = m
            .services
            .iter()
            .map(|s| s.inference.as_ref().map(|_| ServiceStats::new(RngStream::derive(seed, "model_load", &s.name))))
            .collect();
        let bound = |wl: usize, ttft: bool| {
            m.slo
                .iter()
                .filter(|o| o.workload.ix() == wl)
                .flat_map(|o| if ttft { o.ttft.iter() } else { o.tpot.iter() })
                .map(|&(_, d)| d)
                .min()
        };
        let workloads = (0..m.workloads.len())
            .map(|i| TokenStats {
                ttft: Hist::new(2),
                tpot: Hist::new(2),
                tokens: 0,
                met: 0,
                ttft_bound: bound(i, true),
                tpot_bound: bound(i, false),
                reaches: reaches.get(i).copied().unwrap_or(false),
                iv_ttft: Hist::new(2),
                iv_tpot: Hist::new(2),
                iv_tokens: 0,
            })
            .collect();
        Gpus { any: services.iter().any(Option::is_some), engines: Vec::new(), services, workloads }
    }

    /// The engine of replica `r` and its service's stats, borrowed together.
    pub fn engine_and_stats(&mut self, r: usize, service: usize) -> (&mut Engine, &mut ServiceStats) {
        if self.engines.len() <= r {
            self.engines.resize_with(r + 1, || None);
        }
        let e = self.engines[r].get_or_insert_with(|| Box::new(Engine::new()));
        (e, self.services[service].as_mut().expect("an inference service"))
    }

    /// Every engine that exists, by replica index.
    pub fn engines(&self) -> impl Iterator<Item = (usize, &Engine)> {
        self.engines.iter().enumerate().filter_map(|(i, e)| e.as_deref().map(|e| (i, e)))
    }

    /// The warm-up ended: counts restart, levels stay.
    pub fn warmup_ends(&mut self, now: SimTime) {
        for s in self.services.iter_mut().flatten() {
            s.iterations = 0;
            s.batch_sum = 0;
            s.batch_max = 0;
            s.preemptions = 0;
            s.sequences = 0;
            s.too_long = 0;
            s.prefill_tokens = 0;
            s.output_tokens = 0;
            s.model_loads = 0;
            s.model_load_ns = 0;
            s.busy.restart(now.0);
            s.waiting.restart(now.0);
            s.kv.restart(now.0);
            s.waiting_max = s.waiting.level.max(0) as u64;
            s.kv_share_max = 0.0;
            s.iv = Interval::default();
        }
    }

    /// A request of workload `wl` succeeded with its stream seen by the
    /// edge client from `first` to `last` (`tokens` output tokens), having
    /// started at `start`.
    pub fn request_streamed(&mut self, wl: usize, start: SimTime, first: SimTime, last: SimTime, tokens: u32) {
        let t = &mut self.workloads[wl];
        let ttft = first.since(start);
        t.ttft.record(ttft.0);
        t.iv_ttft.record(ttft.0);
        t.tokens += u64::from(tokens);
        t.iv_tokens += u64::from(tokens);
        let tpot = (tokens > 1).then(|| SimDuration(last.since(first).0 / u64::from(tokens - 1)));
        if let Some(tp) = tpot {
            t.tpot.record(tp.0);
            t.iv_tpot.record(tp.0);
        }
        let ttft_ok = t.ttft_bound.is_none_or(|b| ttft <= b);
        let tpot_ok = t.tpot_bound.is_none_or(|b| tpot.is_none_or(|tp| tp <= b));
        if ttft_ok && tpot_ok {
            t.met += 1;
        }
    }
}

/// Per workload: can its requests reach a `generate` step (through calls)?
pub(crate) fn reaching(m: &Model) -> Vec<bool> {
    let generates: Vec<bool> =
        m.endpoints.iter().map(|e| e.code.iter().any(|i| matches!(i, crate::model::Instr::Generate(_)))).collect();
    if !generates.iter().any(|&g| g) {
        return vec![false; m.workloads.len()];
    }
    let mut out: Vec<Vec<usize>> = vec![Vec::new(); m.endpoints.len()];
    for e in &m.edges {
        out[e.caller.ix()].push(e.callee.ix());
    }
    m.workloads
        .iter()
        .map(|wl| {
            let mut seen = vec![false; m.endpoints.len()];
            let mut todo = vec![wl.target.ix()];
            while let Some(e) = todo.pop() {
                if std::mem::replace(&mut seen[e], true) {
                    continue;
                }
                if generates[e] {
                    return true;
                }
                todo.extend(out[e].iter().copied());
            }
            false
        })
        .collect()
}

impl Engine {
    fn new() -> Engine {
        Engine {
            seqs: Slab::new(),
            waiting: VecDeque::new(),
            running: Vec::new(),
            batch: Vec::new(),
            kv_used: 0,
            scheduled: false,
            computing: false,
        }
    }

    /// A sequence of `input` prompt tokens generating `output` tokens
    /// (both at least 1) arrives for `strand`.
    pub fn submit(
        &mut self,
        cfg: &Inference,
        st: &mut ServiceStats,
        now: SimTime,
        strand: StrandKey,
        input: u32,
        output: u32,
    ) -> Submit {
        if cfg.kv_of(u64::from(input) + u64::from(output)) > cfg.kv_cache_tokens {
            st.too_long += 1;
            return Submit::TooLong;
        }
        let k = self.seqs.insert(Seq {
            strand,
            input,
            output,
            generated: 0,
            prompt: input,
            prefilled: 0,
            kv: 0,
            phase: Phase::Waiting,
            arrived: now,
            admitted: None,
            first: None,
            chunk: 0,
            decoding: false,
        });
        self.waiting.push_back(k);
        st.waiting.add(now.0, 1);
        st.waiting_max = st.waiting_max.max(st.waiting.level.max(0) as u64);
        let kick = !self.scheduled;
        self.scheduled = true;
        Submit::Queued { kick }
    }

    /// The iteration in progress (or a wake-up) ended at `now`: tokens are
    /// emitted, finished sequences leave, and the next iteration is planned.
    pub fn iteration_ends(
        &mut self,
        cfg: &Inference,
        st: &mut ServiceStats,
        now: SimTime,
        live: Live,
        out: &mut IterationOut,
    ) {
        out.finished.clear();
        out.dropped.clear();
        for i in 0..self.batch.len() {
            let k = self.batch[i];
            let s = self.seqs.get_mut(k).expect("a batch member is live");
            if s.decoding {
                s.generated += 1;
                st.output_tokens += 1;
                st.iv.output_tokens += 1;
            } else {
                s.prefilled += s.chunk;
                st.prefill_tokens += u64::from(s.chunk);
                if s.prefilled == s.prompt {
                    s.phase = Phase::Decode;
                    s.generated += 1;
                    st.output_tokens += 1;
                    st.iv.output_tokens += 1;
                    s.first.get_or_insert(now);
                }
            }
            s.chunk = 0;
            s.decoding = false;
            if s.phase == Phase::Decode && s.generated >= s.output {
                let s = self.seqs.remove(k).expect("live");
                self.kv_used -= s.kv;
                st.kv.add(now.0, -(s.kv as i64));
                st.sequences += 1;
                out.finished.push(Finished {
                    strand: s.strand,
                    arrived: s.arrived,
                    admitted: s.admitted.unwrap_or(now),
                    first: s.first.unwrap_or(now),
                    last: now,
                    tokens: s.generated,
                });
            }
        }
        if !out.finished.is_empty() {
            let seqs = &self.seqs;
            self.running.retain(|&k| seqs.contains(k));
        }
        if self.computing {
            self.computing = false;
            st.busy.add(now.0, -1);
        }
        self.batch.clear();
        self.drop_dead(st, now, live, out);
        match self.plan(cfg, st, now) {
            Some(d) => {
                self.computing = true;
                st.busy.add(now.0, 1);
                st.iterations += 1;
                st.iv.iterations += 1;
                let n = self.batch.len() as u64;
                st.batch_sum += n;
                st.iv.batch_sum += n;
                st.batch_max = st.batch_max.max(n);
                let share = self.kv_used as f64 / cfg.kv_cache_tokens as f64;
                st.kv_share_max = st.kv_share_max.max(share);
                out.next_end = Some(now + d);
            }
            None => {
                self.scheduled = false;
                out.next_end = None;
            }
        }
    }

    /// Frees the sequences whose strand died.
    fn drop_dead(&mut self, st: &mut ServiceStats, now: SimTime, live: Live, out: &mut IterationOut) {
        let seqs = &mut self.seqs;
        let mut freed = 0u64;
        let mut gone_waiting = 0i64;
        let mut keep = |k: &SeqKey| {
            let s = seqs.get(*k).expect("listed sequences are live");
            if live(s.strand) {
                return true;
            }
            let s = seqs.remove(*k).expect("live");
            freed += s.kv;
            if s.phase == Phase::Waiting {
                gone_waiting += 1;
            }
            out.dropped.push(s.strand);
            false
        };
        self.running.retain(&mut keep);
        self.waiting.retain(&mut keep);
        if freed > 0 {
            self.kv_used -= freed;
            st.kv.add(now.0, -(freed as i64));
        }
        if gone_waiting > 0 {
            st.waiting.add(now.0, -gone_waiting);
        }
    }

    /// Plans the next iteration into `batch`, reserving its KV; its
    /// duration, or `None` when there is nothing to compute.
    fn plan(&mut self, cfg: &Inference, st: &mut ServiceStats, now: SimTime) -> Option<SimDuration> {
        let mut budget = u64::from(cfg.max_batch_tokens);
        if !cfg.chunked_prefill && self.admit(cfg, st, now, &mut budget, true) {
            return Some(self.duration(cfg));
        }
        let preempted = self.continue_running(cfg, st, now, &mut budget);
        if cfg.chunked_prefill && !preempted {
            self.admit(cfg, st, now, &mut budget, false);
        }
        (!self.batch.is_empty()).then(|| self.duration(cfg))
    }

    /// Every running sequence's next step (a decode, or its prompt's next
    /// chunk), preempting the newest while the KV cache is short. True if
    /// it preempted.
    fn continue_running(&mut self, cfg: &Inference, st: &mut ServiceStats, now: SimTime, budget: &mut u64) -> bool {
        let mut preempted = false;
        let mut i = 0;
        while i < self.running.len() {
            let k = self.running[i];
            let s = self.seqs.get(k).expect("running is live");
            let (chunk, after) = match s.phase {
                Phase::Decode => (0, u64::from(s.input) + u64::from(s.generated) + 1),
                _ => {
                    let left = u64::from(s.prompt - s.prefilled);
                    let chunk = left.min(*budget);
                    if chunk == 0 {
                        i += 1;
                        continue;
                    }
                    let done = u64::from(chunk == left);
                    (chunk as u32, u64::from(s.prefilled) + chunk + done)
                }
            };
            let need = cfg.kv_of(after) - s.kv;
            let mut me_gone = false;
            while self.kv_used + need > cfg.kv_cache_tokens {
                let victim = *self.running.last().expect("a sequence is running");
                self.preempt(st, now, victim);
                preempted = true;
                if victim == k {
                    me_gone = true;
                    break;
                }
            }
            if me_gone {
                break; // it was the newest: nothing after it runs
            }
            let s = self.seqs.get_mut(k).expect("live");
            s.kv += need;
            self.kv_used += need;
            st.kv.add(now.0, need as i64);
            if s.phase == Phase::Decode {
                s.decoding = true;
                *budget = budget.saturating_sub(1);
            } else {
                s.chunk = chunk;
                *budget -= u64::from(chunk);
            }
            self.batch.push(k);
            i += 1;
        }
        preempted
    }

    /// Admits waiting prompts FCFS into the batch. `whole`: prefill first —
    /// whole prompts within the budget (a longer one only alone, as the
    /// iteration's first); else a first chunk of what the budget leaves.
    /// True if it admitted any.
    fn admit(&mut self, cfg: &Inference, st: &mut ServiceStats, now: SimTime, budget: &mut u64, whole: bool) -> bool {
        let mut admitted = false;
        while let Some(&k) = self.waiting.front() {
            if self.running.len() >= cfg.max_batch as usize || *budget == 0 {
                break;
            }
            let s = self.seqs.get(k).expect("waiting is live");
            let prompt = u64::from(s.input) + u64::from(s.generated);
            let chunk = if whole {
                if prompt > *budget && admitted {
                    break;
                }
                prompt
            } else {
                prompt.min(*budget)
            };
            let need = cfg.kv_of(chunk + u64::from(chunk == prompt));
            if self.kv_used + need > cfg.kv_cache_tokens {
                break;
            }
            self.waiting.pop_front();
            st.waiting.add(now.0, -1);
            let s = self.seqs.get_mut(k).expect("live");
            s.phase = Phase::Prefill;
            s.prompt = prompt as u32;
            s.prefilled = 0;
            s.chunk = chunk as u32;
            s.kv = need;
            s.admitted.get_or_insert(now);
            self.kv_used += need;
            st.kv.add(now.0, need as i64);
            *budget = budget.saturating_sub(chunk);
            self.running.push(k);
            self.batch.push(k);
            admitted = true;
        }
        admitted
    }

    /// Sends running sequence `k` back to the front of the waiting line,
    /// freeing its KV cache (recompute preemption).
    fn preempt(&mut self, st: &mut ServiceStats, now: SimTime, k: SeqKey) {
        let pos = self.running.iter().rposition(|&x| x == k).expect("a running sequence");
        self.running.remove(pos);
        if let Some(b) = self.batch.iter().position(|&x| x == k) {
            self.batch.remove(b);
        }
        let s = self.seqs.get_mut(k).expect("live");
        self.kv_used -= s.kv;
        st.kv.add(now.0, -(s.kv as i64));
        s.kv = 0;
        s.phase = Phase::Waiting;
        s.prefilled = 0;
        s.chunk = 0;
        s.decoding = false;
        self.waiting.push_front(k);
        st.waiting.add(now.0, 1);
        st.waiting_max = st.waiting_max.max(st.waiting.level.max(0) as u64);
        st.preemptions += 1;
        st.iv.preemptions += 1;
    }

    /// The planned iteration's time.
    fn duration(&self, cfg: &Inference) -> SimDuration {
        let (mut prefill, mut decode, mut context) = (0u64, 0u64, 0u64);
        for &k in &self.batch {
            let s = self.seqs.get(k).expect("live");
            if s.decoding {
                decode += 1;
                context += u64::from(s.input) + u64::from(s.generated);
            } else {
                prefill += u64::from(s.chunk);
            }
        }
        cfg.iteration.time(prefill, decode, context)
    }

    /// Sequences waiting, running; KV tokens held.
    pub fn levels(&self) -> (usize, usize, u64) {
        (self.waiting.len(), self.running.len(), self.kv_used)
    }

    /// Broken invariants of this engine (tests): the KV held is the sum of
    /// the sequences' and within capacity; the batch within `max_batch`;
    /// every sequence is waiting or running, once.
    pub fn check(&self, cfg: &Inference, out: &mut Vec<String>, name: &str) {
        let sum: u64 = self.running.iter().filter_map(|&k| self.seqs.get(k)).map(|s| s.kv).sum();
        if sum != self.kv_used {
            out.push(format!("{name}: KV held {} but its sequences hold {sum}", self.kv_used));
        }
        if self.kv_used > cfg.kv_cache_tokens {
            out.push(format!("{name}: KV held {} above capacity {}", self.kv_used, cfg.kv_cache_tokens));
        }
        if self.running.len() > cfg.max_batch as usize {
            out.push(format!("{name}: {} sequences running above max_batch {}", self.running.len(), cfg.max_batch));
        }
        if self.running.len() + self.waiting.len() != self.seqs.len() {
            out.push(format!(
                "{name}: {} running + {} waiting but {} sequences",
                self.running.len(),
                self.waiting.len(),
                self.seqs.len()
            ));
        }
        if self.waiting.iter().any(|&k| self.seqs.get(k).is_none_or(|s| s.kv != 0 || s.phase != Phase::Waiting)) {
            out.push(format!("{name}: a waiting sequence holds KV cache"));
        }
    }
}

#[cfg(test)]
#[path = "inference_tests.rs"]
mod tests;
