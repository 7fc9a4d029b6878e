//! A generic STARK (Ben-Sasson et al., eprint 2018/046) over the Stark-252 field.
//!
//! A computation is described once, by implementing [`Air`]; the prover and verifier here never
//! know which computation they serve.

mod air;

pub use air::{Air, AuxTraceBuilder, BoundaryConstraint, Frame, TraceTable, TransitionConstraint};
