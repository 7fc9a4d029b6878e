//! The composition polynomial, shared by prover (on the whole LDE) and verifier (at one point).
//!
//! With trace domain `⟨g⟩` of size `n`, transition constraint `C_j` (holding on rows
//! `0..n−e_j`) and boundary constraint `t_c(g^r) = v`, the composition is
//!
//! ```text
//! H(x) = Σ_j α_j · C_j(x) · Π_{k=n−e_j}^{n−1} (x − g^k) / (x^n − 1)
//!      + Σ_b β_b · (t_{c_b}(x) − v_b) / (x − g^{r_b})
//! ```
//!
//! Each term is a polynomial exactly when its constraint holds on its rows, so on an honest trace
//! `H` is a polynomial of degree below `P·n`, and otherwise (for random `α`, `β`) it is not one.

use crate::air::{Air, BoundaryConstraint, Frame, TraceTable};
use crate::fft::evaluate_poly;
use crate::protocol::{periodic_coefficients, pow2k};
use crate::Felt;

/// Boundary constraints sharing one row, folded into one quotient by `x − g^row`.
pub(crate) struct BoundaryGroup {
    pub point: Felt,
    /// `(column, β)` pairs.
    pub terms: Vec<(usize, Felt)>,
    /// `Σ β · value`.
    pub constant: Felt,
}

/// Transition constraints sharing an exemption count, multiplied by one exemption polynomial.
pub(crate) struct ExemptionGroup {
    /// `g^k` for the exempted rows `k = n−e..n−1`.
    pub exempt_points: Vec<Felt>,
    pub constraints: Vec<usize>,
}

/// The random combination defining `H`, for one set of coefficients.
pub(crate) struct Composition {
    pub transition_coeffs: Vec<Felt>,
    pub exemption_groups: Vec<ExemptionGroup>,
    pub boundary_groups: Vec<BoundaryGroup>,
}

impl Composition {
    /// `coeffs` holds one coefficient per transition constraint then one per boundary constraint.
    pub(crate) fn new<A: Air + ?Sized>(
        air: &A,
        boundary: &[BoundaryConstraint],
        coeffs: &[Felt],
        g: &Felt,
    ) -> Self {
        let n = air.trace_length();
        let transitions = air.transition_constraints();
        let (transition_coeffs, boundary_coeffs) = coeffs.split_at(transitions.len());

        let mut exemption_groups: Vec<(usize, ExemptionGroup)> = Vec::new();
        for (j, c) in transitions.iter().enumerate() {
            match exemption_groups
                .iter_mut()
                .find(|(e, _)| *e == c.end_exemptions)
            {
                Some((_, group)) => group.constraints.push(j),
                None => exemption_groups.push((
                    c.end_exemptions,
                    ExemptionGroup {
                        exempt_points: (n - c.end_exemptions..n).map(|k| g.pow(k as u64)).collect(),
                        constraints: vec![j],
                    },
                )),
            }
        }

        let mut rows: Vec<(usize, BoundaryGroup)> = Vec::new();
        for (b, beta) in boundary.iter().zip(boundary_coeffs) {
            let idx = match rows.iter().position(|(r, _)| *r == b.row) {
                Some(i) => i,
                None => {
                    rows.push((
                        b.row,
                        BoundaryGroup {
                            point: g.pow(b.row as u64),
                            terms: Vec::new(),
                            constant: Felt::zero(),
                        },
                    ));
                    rows.len() - 1
                }
            };
            let group = &mut rows[idx].1;
            group.terms.push((b.column, *beta));
            group.constant += beta * b.value;
        }

        Composition {
            transition_coeffs: transition_coeffs.to_vec(),
            exemption_groups: exemption_groups.into_iter().map(|(_, g)| g).collect(),
            boundary_groups: rows.into_iter().map(|(_, g)| g).collect(),
        }
    }

    /// `Π (x − g^k)` over each group's exempted rows, in group order.
    pub(crate) fn exemption_values(&self, x: &Felt, out: &mut [Felt]) {
        for (o, group) in out.iter_mut().zip(&self.exemption_groups) {
            *o = group
                .exempt_points
                .iter()
                .fold(Felt::one(), |acc, p| &acc * &(x - p));
        }
    }

    /// `H(x)` from the constraint values `out` at `x`, the current row, the exemption values,
    /// `1/(x^n − 1)` and `1/(x − g^row)` for each boundary group.
    #[inline]
    pub(crate) fn combine(
        &self,
        out: &[Felt],
        current: &[Felt],
        exemption_values: &[Felt],
        zerofier_inv: &Felt,
        boundary_invs: &[Felt],
    ) -> Felt {
        let mut transition = Felt::zero();
        for (group, ev) in self.exemption_groups.iter().zip(exemption_values) {
            let mut sum = Felt::zero();
            for &j in &group.constraints {
                sum += &self.transition_coeffs[j] * &out[j];
            }
            transition += &sum * ev;
        }
        let mut acc = transition * zerofier_inv;
        for (group, inv) in self.boundary_groups.iter().zip(boundary_invs) {
            let mut sum = -&group.constant;
            for (col, beta) in &group.terms {
                sum += beta * &current[*col];
            }
            acc += &sum * inv;
        }
        acc
    }
}

impl Composition {
    /// Whether `H(z)`, computed from the claimed trace values at `z` and `g·z`, equals
    /// `Σ_p z^(p·n) · H_p(z)` for the claimed composition parts. `None` if `z` lies on the trace
    /// domain (the out-of-domain sampling excludes that) or the slices have the wrong lengths.
    pub(crate) fn ood_identity_holds<A: Air + ?Sized>(
        &self,
        air: &A,
        z: &Felt,
        current: &[Felt],
        next: &[Felt],
        parts: &[Felt],
        challenges: &[Felt],
    ) -> Option<bool> {
        let expected = self.ood_value(air, z, current, next, challenges)?;
        let z_n = pow2k(z, air.trace_length().trailing_zeros());
        let mut claimed = Felt::zero();
        let mut z_pn = Felt::one();
        for h in parts {
            claimed += z_pn * h;
            z_pn *= z_n;
        }
        Some(expected == claimed)
    }

    /// `H(z)` as the constraints define it from the trace values at `z` and `g·z`.
    pub(crate) fn ood_value<A: Air + ?Sized>(
        &self,
        air: &A,
        z: &Felt,
        current: &[Felt],
        next: &[Felt],
        challenges: &[Felt],
    ) -> Option<Felt> {
        let n = air.trace_length();
        let width = air.main_width() + air.aux_width();
        if current.len() != width || next.len() != width {
            return None;
        }
        let log_n = n.trailing_zeros();
        let z_n = pow2k(z, log_n);
        let periodic: Vec<Felt> = periodic_coefficients(air.periodic_columns())
            .iter()
            .map(|q| {
                let ratio_log = (n / q.len().max(1)).trailing_zeros();
                evaluate_poly(q, &pow2k(z, ratio_log))
            })
            .collect();
        let mut out = vec![Felt::zero(); self.transition_coeffs.len()];
        air.evaluate_transition(&Frame { current, next }, &periodic, challenges, &mut out);
        let mut exemptions = vec![Felt::zero(); self.exemption_groups.len()];
        self.exemption_values(z, &mut exemptions);
        let zerofier_inv = (z_n - Felt::one()).inv().ok()?;
        let mut boundary_inv: Vec<Felt> =
            self.boundary_groups.iter().map(|g| z - g.point).collect();
        Felt::inplace_batch_inverse(&mut boundary_inv).ok()?;
        Some(self.combine(&out, current, &exemptions, &zerofier_inv, &boundary_inv))
    }
}

/// Where an execution trace breaks its AIR.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConstraintViolation {
    #[error("transition constraint {constraint} does not hold on row {row}")]
    Transition { constraint: usize, row: usize },
    #[error("boundary constraint {index} (column {column}, row {row}) does not hold")]
    Boundary {
        index: usize,
        column: usize,
        row: usize,
    },
    #[error("trace shape does not match the AIR: {0}")]
    Shape(String),
}

/// Checks every constraint directly on the trace (no polynomials): a debugging aid for AIR
/// authors, reporting the first constraint and row that fail.
pub fn check_constraints<A: Air + ?Sized>(
    air: &A,
    main: &TraceTable,
    aux: &TraceTable,
    challenges: &[Felt],
) -> Result<(), ConstraintViolation> {
    let n = air.trace_length();
    let shape_err = |m: &str| Err(ConstraintViolation::Shape(m.to_string()));
    if main.width() != air.main_width() || main.columns.iter().any(|c| c.len() != n) {
        return shape_err("main trace width or length");
    }
    if aux.width() != air.aux_width() || aux.columns.iter().any(|c| c.len() != n) {
        return shape_err("auxiliary trace width or length");
    }
    if challenges.len() != air.num_challenges() {
        return shape_err("number of challenges");
    }
    let periodic = air.periodic_columns();
    if periodic
        .iter()
        .any(|p| p.is_empty() || !p.len().is_power_of_two() || n & (p.len() - 1) != 0)
    {
        return shape_err("periodic column length");
    }
    let columns: Vec<&Vec<Felt>> = main.columns.iter().chain(&aux.columns).collect();
    let constraints = air.transition_constraints();
    let mut current = vec![Felt::zero(); columns.len()];
    let mut next = vec![Felt::zero(); columns.len()];
    let mut periodic_values = vec![Felt::zero(); periodic.len()];
    let mut out = vec![Felt::zero(); constraints.len()];
    for row in 0..n {
        for (c, col) in columns.iter().enumerate() {
            current[c] = col[row];
            next[c] = col[(row + 1) % n];
        }
        for (p, col) in periodic_values.iter_mut().zip(&periodic) {
            *p = col[row % col.len()];
        }
        let frame = Frame {
            current: &current,
            next: &next,
        };
        air.evaluate_transition(&frame, &periodic_values, challenges, &mut out);
        for (j, (c, v)) in constraints.iter().zip(&out).enumerate() {
            if row + c.end_exemptions < n && *v != Felt::zero() {
                return Err(ConstraintViolation::Transition { constraint: j, row });
            }
        }
    }
    for (index, b) in air.boundary_constraints(challenges).iter().enumerate() {
        let ok = columns
            .get(b.column)
            .and_then(|col| col.get(b.row))
            .is_some_and(|v| *v == b.value);
        if !ok {
            return Err(ConstraintViolation::Boundary {
                index,
                column: b.column,
                row: b.row,
            });
        }
    }
    Ok(())
}
