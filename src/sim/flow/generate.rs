//! `generate` steps on a replica's inference server: a strand's sequence
//! joins the server's waiting line; iterations run one at a time per
//! replica (`super::super::inference` decides what each one computes), and
//! the strand goes on when its last token is out.

use super::super::state::StrandKey;
use super::super::world::World;
use crate::model::GenerateId;

/// A strand reached a `generate` step.
pub(crate) fn start(_w: &mut World, _key: StrandKey, _g: GenerateId) {
    unimplemented!("generate steps land with the inference server")
}
