//! Asynchronous messaging (`queues:`): a queue or topic with partitions, a
//! capacity and what a full queue does, delivery guarantees, and the
//! consumer groups that read it. What it means is in `docs/format.md`
//! (Queues); the simulation is `sim::queues`.

use super::{DistId, EndpointId, QueueId, ServiceId};
use crate::engine::SimDuration;

/// What a publish does when the queue holds `capacity` messages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WhenFull {
    /// The publish fails at once (`rejected`).
    Reject,
    /// The publisher waits for room, up to its publish `timeout`.
    Block,
    /// The broker accepts and discards the message (the publisher goes on).
    Drop,
}

/// Delivery guarantee.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Delivery {
    /// A message stays until a consumer finishes it: redelivered after a
    /// consumer failure (at once) or after `visibility_timeout`, to the
    /// dead-letter queue after `max_deliveries`.
    AtLeastOnce,
    /// A message leaves the queue when delivered: a consumer failure loses it.
    AtMostOnce,
}

/// How a consumer group shares the queue among its consumers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConsumerMode {
    /// Kafka: each partition belongs to one consumer of the group at a time,
    /// which handles its messages one by one in order; consumers beyond
    /// the number of partitions idle.
    Partitioned,
    /// SQS, RabbitMQ: any free consumer takes the next message.
    Competing,
}

/// One consumer group: an endpoint subscribed to the queue.
#[derive(Clone, Debug)]
pub struct ConsumerGroup {
    /// The group's name (unique within its queue).
    pub group: String,
    pub endpoint: EndpointId,
    pub service: ServiceId,
    /// Consumers per replica of the endpoint's service.
    pub concurrency: u32,
    pub mode: ConsumerMode,
}

/// A queue or topic (`queues.NAME`).
#[derive(Clone, Debug)]
pub struct Queue {
    pub name: String,
    /// ≥ 1.
    pub partitions: u32,
    /// Messages a consumer group may hold unfinished (waiting and being
    /// processed); `None`: unbounded.
    pub capacity: Option<u64>,
    pub when_full: WhenFull,
    pub delivery: Delivery,
    /// A delivered message not finished within this is delivered again.
    pub visibility_timeout: SimDuration,
    /// Deliveries before a failing message goes to the dead-letter queue.
    pub max_deliveries: u32,
    /// Messages waiting longer than this are discarded (`expired`).
    pub retention: Option<SimDuration>,
    /// Broker accept latency (network latency is added both ways).
    pub latency: Option<DistId>,
    /// Every group receives every message.
    pub consumers: Vec<ConsumerGroup>,
}

/// A `publish` step.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Publish {
    pub queue: QueueId,
    /// The request attribute whose value picks the partition (by hash);
    /// `None`: a partition uniformly at random.
    pub key: Option<u16>,
    /// With `when_full: block`: how long the publisher waits for room.
    pub timeout: Option<SimDuration>,
    /// Request-reply: wait this long for the first consumer's result.
    pub reply: Option<SimDuration>,
}
