//! The tables of an experiment file: the topology it starts from, its
//! variants and sweep, replications, SLOs and objective.

use super::Ty::*;
use super::tables::block;
use super::{Block, SLO, Ty, key, required};

pub static EXPERIMENT: Block = block(
    "experiment",
    "an experiment",
    "an experiment file is a map with 'experiment', 'topology' and 'variants' or 'sweep'",
    &[
        required("experiment", Text, "its name, in the result and the report"),
        required("topology", File, "the topology file it starts from, relative to the experiment file"),
        key("question", Text, "", "the question it answers, in words, at the top of the report"),
        key(
            "replications",
            Int(1, 10_000),
            "10",
            "runs per point; replication r of every point runs on seed `seed + r`",
        ),
        key("seed", Int(0, u64::MAX), "1", "the first replication's seed"),
        key("duration", Duration, "the topology's", "simulated time of every run"),
        key("slo", List(&SLO_LIST), "the topology's", "the SLOs every run is judged by"),
        key(
            "variants",
            MapOf(&VARIANT),
            "one, `baseline`, unchanged",
            "the alternatives compared, by name; the first is the baseline the others are compared to",
        ),
        key(
            "sweep",
            Any,
            "",
            "a map of path → list of values: every combination (the cartesian grid) is run for every variant",
        ),
        key("objective", Map(&OBJECTIVE), "", "what to optimise: `best` names the point that does it best"),
    ],
);

static SLO_LIST: Ty = Map(&SLO);

pub static VARIANT: Block = block(
    "variant",
    "a variant",
    "write variants: { budgeted: { set: { \"policies.layer.retry.budget\": { ratio: 10% } } } }",
    &[
        key("set", Any, "", "a map of path → value: keys of the topology to override (the path language of `--set`)"),
        key("description", Text, "", "what the variant changes, in words, for the report"),
    ],
);

pub static OBJECTIVE: Block = Block {
    one_of: &["minimize", "maximize"],
    ..block(
        "objective",
        "an objective",
        "write objective: { minimize: replica_hours, subject_to: slo }",
        &[
            key(
                "minimize",
                Text,
                "",
                "`replica_hours`, `cost`, or a workload's `WORKLOAD.p99` (any latency stat), `WORKLOAD.success`, `WORKLOAD.goodput`",
            ),
            key("maximize", Text, "", "as `minimize`, to make as large as possible"),
            key(
                "subject_to",
                Words(&["slo", "nothing"]),
                "slo",
                "only points whose mean over replications meets every SLO qualify",
            ),
        ],
    )
};
