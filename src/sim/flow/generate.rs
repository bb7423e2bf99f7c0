//! `generate` steps on a replica's inference server: a strand's sequence
//! joins the server's waiting line; iterations run one at a time per
//! replica (`super::super::inference` decides what each one computes), and
//! the strand goes on when its last token is out. The token stream rides
//! on the attempt ([`Stream`]) back to the edge client, shifted by each
//! hop's network on the way, so a request's TTFT is when its first token
//! reaches the user.

use super::super::chain::Part;
use super::super::event::Event;
use super::super::ids::ReplicaId;
use super::super::inference::Submit;
use super::super::state::{AttemptKey, Cause, Origin, StrandKey, Stream};
use super::super::world::World;
use super::strand;
use crate::engine::SimDuration;
use crate::model::{Dist, FailureKind, GenerateId, Tokens};

/// A strand reached a `generate` step.
pub(crate) fn start(w: &mut World, key: StrandKey, g: GenerateId) {
    let now = w.now();
    let attempt = w.strands.get(key).expect("live").attempt;
    let a = w.attempts.get(attempt).expect("live");
    let (replica, service, endpoint) = (a.replica, a.service, a.endpoint);
    let fail = Cause { kind: FailureKind::Error, origin: Origin::Service(service) };
    let step = &w.m.generates[g.ix()];
    let (Some(input), Some(output)) =
        (count(w, attempt, &step.input, endpoint.ix()), count(w, attempt, &step.output, endpoint.ix()))
    else {
        // A `tokens(ATTR)` the request does not carry (only where the
        // load-time check could not tell): the step fails.
        return strand::fail_strand(w, key, fail);
    };
    let cfg = w.m.services[service.ix()].inference.as_ref().expect("generate runs on an inference service");
    w.strands.get_mut(key).expect("live").t0 = now;
    let (engine, st) = w.gpus.engine_and_stats(replica.ix(), service.ix());
    match engine.submit(cfg, st, now, key, input, output) {
        Submit::Queued { kick: true } => w.q.schedule_at(now, Event::IterationEnds { replica }),
        Submit::Queued { kick: false } => {}
        // It could never fit the KV cache: refused (a 400 from the server).
        Submit::TooLong => strand::fail_strand(w, key, fail),
    }
}

/// A token count for the request of `attempt`: rounded, at least 1;
/// `None` when a `tokens(ATTR)` attribute is missing.
fn count(w: &mut World, attempt: AttemptKey, t: &Tokens, endpoint: usize) -> Option<u32> {
    let x = match t {
        Tokens::Fixed(n) => f64::from(*n),
        Tokens::Drawn(d) => match w.m.dist(*d) {
            Dist::Per(_) => return None,
            dist => dist.sample(&mut w.rng.work[endpoint]).0 as f64,
        },
        Tokens::Attr { slot, .. } => {
            let attrs = w.attempts.get(attempt).and_then(|a| a.attrs.as_deref())?;
            let v = *attrs.get(usize::from(*slot))?;
            if !v.is_finite() {
                return None;
            }
            v
        }
    };
    Some(x.round().clamp(1.0, f64::from(u32::MAX)) as u32)
}

/// The iteration of `replica`'s server ended (or the idle server woke):
/// tokens are out, finished strands go on, the next iteration is planned.
pub(crate) fn on_iteration_ends(w: &mut World, replica: ReplicaId) {
    let now = w.now();
    let service = w.fleet.replica(replica).service;
    let cfg = w.m.services[service.ix()].inference.as_ref().expect("an inference service");
    let mut out = std::mem::take(&mut w.iter_out);
    {
        let World { gpus, strands, attempts, joins, .. } = w;
        let (engine, st) = gpus.engine_and_stats(replica.ix(), service.ix());
        engine.iteration_ends(cfg, st, now, &|k| strand::live_in(strands, attempts, joins, k), &mut out);
    }
    if let Some(at) = out.next_end {
        w.q.schedule_at(at, Event::IterationEnds { replica });
    }
    for &k in &out.dropped {
        strand::drop_strand(w, k);
    }
    for f in &out.finished {
        let Some(s) = w.strands.get(f.strand) else { continue };
        let a = s.attempt;
        let node = w.attempts.get(a).and_then(|x| x.node);
        let chain = s.chain;
        w.chains.add(chain, node, Part::Queue, f.admitted.since(f.arrived));
        w.chains.add(chain, node, Part::Cpu, now.since(f.admitted));
        if let Some(at) = w.attempts.get_mut(a)
            && at.stream.is_none()
        {
            at.stream = Some(Stream { first: f.first, last: f.last, tokens: f.tokens });
        }
        strand::advance(w, f.strand);
    }
    out.finished.clear();
    out.dropped.clear();
    w.iter_out = out;
}

/// A stream `s` reaching a caller `net` later.
pub(crate) fn shifted(s: Stream, net: SimDuration) -> Stream {
    Stream { first: s.first + net, last: s.last + net, tokens: s.tokens }
}

/// A draw of `service`'s `inference.model_load` (zero for other services),
/// counted as a model load.
pub(crate) fn model_load(w: &mut World, service: crate::model::ServiceId) -> SimDuration {
    let Some(d) = w.m.services[service.ix()].inference.as_ref().and_then(|i| i.model_load) else {
        return SimDuration::ZERO;
    };
    let st = w.gpus.services[service.ix()].as_mut().expect("an inference service");
    let load = w.m.dist(d).sample(&mut st.load_rng);
    st.model_loads += 1;
    st.model_load_ns += u128::from(load.0);
    load
}
