//! A small AIR exercising every feature of the STARK core: Fibonacci with a periodic column, a
//! degree-3 constraint (two composition parts), constraints with 0 and 1 end exemptions, and an
//! auxiliary grand-product column proving that one main column is a permutation of another.

#![allow(dead_code)]

use stark::{
    Air, AuxTraceBuilder, BoundaryConstraint, Felt, Frame, TraceTable, TransitionConstraint,
};

/// Main columns.
pub const A: usize = 0;
pub const B: usize = 1;
/// `c' = c + k·a` with `k` the periodic column.
pub const C: usize = 2;
/// `d = a·b` on every row.
pub const D: usize = 3;
/// A permutation of column `a` (reversed).
pub const AP: usize = 4;
// The auxiliary grand product `z' · (γ − ap) = z · (γ − a)`, cyclic, starting at challenge `s`,
// is the column right after the main ones.

pub const PERIODIC: [u64; 4] = [1, 0, 2, 0];

pub struct FibAir {
    pub n: usize,
    pub result: Felt,
    /// Without it the AIR has no auxiliary column and no challenges.
    pub with_aux: bool,
    /// Extra main columns `e_j' = e_j + a·b`, `e_j[0] = j`, to emulate wide AIRs in benchmarks.
    pub extra: usize,
    constraints: Vec<TransitionConstraint>,
}

impl FibAir {
    pub fn new(n: usize, result: Felt, with_aux: bool) -> Self {
        let t = |degree, end_exemptions| TransitionConstraint {
            degree,
            end_exemptions,
        };
        let mut constraints = vec![t(1, 1), t(1, 1), t(2, 1), t(2, 0), t(3, 0)];
        if with_aux {
            constraints.push(t(2, 0));
        }
        FibAir {
            n,
            result,
            with_aux,
            extra: 0,
            constraints,
        }
    }

    pub fn with_extra_columns(mut self, extra: usize) -> Self {
        self.extra = extra;
        self.constraints
            .extend((0..extra).map(|_| TransitionConstraint {
                degree: 2,
                end_exemptions: 1,
            }));
        self
    }
}

impl Air for FibAir {
    fn trace_length(&self) -> usize {
        self.n
    }
    fn main_width(&self) -> usize {
        5 + self.extra
    }
    fn aux_width(&self) -> usize {
        usize::from(self.with_aux)
    }
    fn num_challenges(&self) -> usize {
        if self.with_aux {
            2
        } else {
            0
        }
    }
    fn transition_constraints(&self) -> &[TransitionConstraint] {
        &self.constraints
    }
    fn periodic_columns(&self) -> Vec<Vec<Felt>> {
        vec![PERIODIC.iter().map(|&v| Felt::from(v)).collect()]
    }
    fn evaluate_transition(
        &self,
        frame: &Frame<'_>,
        periodic: &[Felt],
        challenges: &[Felt],
        out: &mut [Felt],
    ) {
        let (cur, next) = (frame.current, frame.next);
        let k = periodic[0];
        out[0] = next[A] - cur[B];
        out[1] = next[B] - cur[A] - cur[B];
        out[2] = next[C] - cur[C] - k * cur[A];
        out[3] = cur[D] - cur[A] * cur[B];
        out[4] = (cur[D] - cur[A] * cur[B]) * cur[A];
        if self.with_aux {
            let gamma = challenges[0];
            let z = self.main_width();
            out[5] = next[z] * (gamma - cur[AP]) - cur[z] * (gamma - cur[A]);
        }
        let first = 5 + usize::from(self.with_aux);
        for j in 0..self.extra {
            let e = 5 + j;
            out[first + j] = next[e] - cur[e] - cur[A] * cur[B];
        }
    }
    fn boundary_constraints(&self, challenges: &[Felt]) -> Vec<BoundaryConstraint> {
        let b = |column, row, value| BoundaryConstraint { column, row, value };
        let mut v = vec![
            b(A, 0, Felt::one()),
            b(B, 0, Felt::one()),
            b(B, self.n - 1, self.result),
            b(C, 0, Felt::zero()),
        ];
        if self.with_aux {
            v.push(b(self.main_width(), 0, challenges[1]));
        }
        for j in 0..self.extra {
            v.push(b(5 + j, 0, Felt::from(j as u64)));
        }
        v
    }
    fn public_input_bytes(&self) -> Vec<u8> {
        let mut bytes = (self.n as u64).to_le_bytes().to_vec();
        bytes.extend_from_slice(&self.result.to_bytes_be());
        bytes
    }
}

impl AuxTraceBuilder for FibAir {
    fn build_aux_trace(&self, main: &TraceTable, challenges: &[Felt]) -> TraceTable {
        let (gamma, start) = (challenges[0], challenges[1]);
        let a = &main.columns[A];
        let ap = &main.columns[AP];
        let mut denominators: Vec<Felt> = ap.iter().map(|v| gamma - v).collect();
        Felt::inplace_batch_inverse(&mut denominators).expect("γ is random");
        let mut z = Vec::with_capacity(self.n);
        let mut acc = start;
        for i in 0..self.n {
            z.push(acc);
            acc = acc * (gamma - a[i]) * denominators[i];
        }
        TraceTable::new(vec![z])
    }
}

/// An honest main trace of `n` rows and the claimed result `b[n−1]`.
pub fn fib_trace(n: usize) -> (TraceTable, Felt) {
    let mut a = vec![Felt::one()];
    let mut b = vec![Felt::one()];
    let mut c = vec![Felt::zero()];
    for i in 1..n {
        let k = Felt::from(PERIODIC[(i - 1) % 4]);
        a.push(b[i - 1]);
        b.push(a[i - 1] + b[i - 1]);
        c.push(c[i - 1] + k * a[i - 1]);
    }
    let d: Vec<Felt> = a.iter().zip(&b).map(|(x, y)| x * y).collect();
    let ap: Vec<Felt> = a.iter().rev().copied().collect();
    let result = b[n - 1];
    (TraceTable::new(vec![a, b, c, d, ap]), result)
}

/// [`fib_trace`] with `extra` columns for [`FibAir::with_extra_columns`].
pub fn fib_trace_wide(n: usize, extra: usize) -> (TraceTable, Felt) {
    let (mut trace, result) = fib_trace(n);
    let d = trace.columns[D].clone();
    for j in 0..extra {
        let mut e = Vec::with_capacity(n);
        let mut acc = Felt::from(j as u64);
        for v in &d {
            e.push(acc);
            acc += *v;
        }
        trace.columns.push(e);
    }
    (trace, result)
}
