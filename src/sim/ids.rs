//! Typed ids of what the simulation creates: replicas and the executors
//! their work runs on. Model elements keep the model's ids ([`ServiceId`],
//! [`EndpointId`], [`EdgeId`], [`WorkloadId`], [`FaultId`]); calls,
//! attempts, strands and joins are addressed by typed slab keys (their
//! aliases live beside their records in `state`). "None" is always
//! `Option::None`, never a sentinel value.

pub(crate) use crate::model::{EdgeId, EndpointId, FaultId, ServiceId, WorkloadId};

/// Index into `World::replicas` (replicas are never removed: a gone one
/// stays as a tombstone, so ids are stable).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct ReplicaId(pub u32);

impl ReplicaId {
    #[inline]
    pub fn ix(self) -> usize {
        self.0 as usize
    }
}

/// Index into `World::cpus`: one executor of work steps (today a replica's
/// own cores; see [`super::cpu`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct CpuId(pub u32);

impl CpuId {
    #[inline]
    pub fn ix(self) -> usize {
        self.0 as usize
    }
}
