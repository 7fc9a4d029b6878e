//! The Cairo AIR evaluated directly on traces: every constraint vanishes on honest traces of the
//! corpus, and each kind of tampering breaks some constraint.

mod common;

use cairo_stark::air::{build_main_trace, cols, flags, CairoAir, RC_BLOCK};
use cairo_stark::{execute, Felt};
use common::*;
use stark::{check_constraints, Air, AuxTraceBuilder, ConstraintViolation, TraceTable};

/// Fixed "random" challenges: the constraints must vanish for any challenges on honest traces.
fn challenges() -> Vec<Felt> {
    [
        0x1234_5678_9abc_u64,
        0xdead_beef,
        0x5eed_5eed_5eed,
        0x7777_1111,
    ]
    .iter()
    .map(|&x| Felt::from(x) * Felt::from(x) + Felt::from(x))
    .collect()
}

fn corpus() -> Vec<(&'static str, Vec<Felt>)> {
    vec![
        ("fibonacci", felts(&[10, 1, 0, 20])),
        ("factorial_recursive", felts(&[10])),
        ("calls_and_asserts", felts(&[1, 2, 3, 4, 5, 6])),
        ("range_checks", felts(&[1, 5, 9, 100, 1 << 40])),
        ("many_outputs", felts(&[3, 1, 4, 1, 5])),
        ("no_inputs", vec![]),
        ("no_builtins", felts(&[50, 25, 25])),
        ("alloc_sum", felts(&[10, 20, 30])),
        ("big_felts", felts(&[1 << 62, 3])),
        ("linked_list", felts(&[4, 8, 15])),
        ("plain_dict", felts(&[2, 0, 5, 1, 7])),
    ]
}

fn honest_trace(name: &str, inputs: &[Felt]) -> (CairoAir, TraceTable) {
    let execution = execute(&program(name), inputs).unwrap();
    let (statement, trace) = build_main_trace(&execution, 0).unwrap();
    (CairoAir::new(statement), trace)
}

fn check(air: &CairoAir, main: &TraceTable) -> Result<(), ConstraintViolation> {
    let aux = air.build_aux_trace(main, &challenges());
    check_constraints(air, main, &aux, &challenges())
}

#[test]
fn every_constraint_vanishes_on_honest_corpus_traces() {
    for (name, inputs) in corpus() {
        let (air, trace) = honest_trace(name, &inputs);
        assert_eq!(trace.width(), air.main_width());
        check(&air, &trace).unwrap_or_else(|e| panic!("{name}: {e}"));
    }
}

#[test]
fn constraint_degrees_are_at_most_three() {
    let (air, _) = honest_trace("fibonacci", &felts(&[3]));
    assert!(air.transition_constraints().iter().all(|c| c.degree <= 3));
    assert_eq!(air.main_width() + air.aux_width(), 59);
}

#[test]
fn small_range_check_programs_keep_small_traces() {
    // 128-bit range-check values must not force a 2^16-row trace.
    let (air, _) = honest_trace("range_checks", &felts(&[1, 5, 9, 100, 1 << 40]));
    assert!(air.trace_length() <= 1024, "{} rows", air.trace_length());
}

fn assert_tamper_detected(name: &str, inputs: &[Felt], tamper: impl Fn(&mut TraceTable)) {
    let (air, mut trace) = honest_trace(name, inputs);
    tamper(&mut trace);
    assert!(
        check(&air, &trace).is_err(),
        "tampering of {name} went unnoticed"
    );
}

fn flip(cell: &mut Felt) {
    *cell = Felt::one() - *cell;
}

fn rows_where(trace: &TraceTable, pred: impl Fn(usize) -> bool) -> Vec<usize> {
    (0..trace.length()).filter(|&r| pred(r)).collect()
}

#[test]
fn tampered_memory_values_are_detected() {
    let inputs = felts(&[1, 5, 9, 100, 1 << 40]);
    for column in [cols::DST, cols::OP0, cols::OP1, cols::EXTRA_VAL] {
        for row in [0usize, 3, 17] {
            assert_tamper_detected("range_checks", &inputs, |t| {
                t.columns[column][row] += Felt::one()
            });
        }
    }
    // Changing an access and its sorted copy together still breaks single-valuedness.
    assert_tamper_detected("range_checks", &inputs, |t| {
        let (a, v) = (t.columns[cols::DST_ADDR][5], t.columns[cols::DST][5]);
        t.columns[cols::DST][5] += Felt::one();
        let slot = (0..t.length() * 5)
            .find(|s| {
                let (r, k) = (s / 5, s % 5);
                t.columns[cols::SORTED_MEM + 2 * k][r] == a
                    && t.columns[cols::SORTED_MEM + 2 * k + 1][r] == v
            })
            .unwrap();
        t.columns[cols::SORTED_MEM + 2 * (slot % 5) + 1][slot / 5] += Felt::one();
    });
}

#[test]
fn tampered_flags_and_offsets_are_detected() {
    let inputs = felts(&[10, 1, 0, 20]);
    for flag in [
        flags::DST_REG,
        flags::OP1_IMM,
        flags::RES_ADD,
        flags::PC_JNZ,
        flags::AP_ADD1,
        flags::OPCODE_CALL,
        flags::OPCODE_ASSERT_EQ,
    ] {
        for row in [0usize, 4, 9] {
            assert_tamper_detected("fibonacci", &inputs, |t| {
                flip(&mut t.columns[cols::FLAGS + flag][row])
            });
        }
    }
    for column in [cols::OFF_DST, cols::OFF_OP0, cols::OFF_OP1] {
        assert_tamper_detected("fibonacci", &inputs, |t| {
            t.columns[column][2] += Felt::one()
        });
    }
    // A flag set to 2 is not a bit.
    assert_tamper_detected("fibonacci", &inputs, |t| {
        t.columns[cols::FLAGS + flags::RES_MUL][1] = Felt::from(2u64)
    });
}

#[test]
fn tampered_registers_are_detected() {
    let inputs = felts(&[10]);
    for column in [cols::PC, cols::AP, cols::FP, cols::RES] {
        for row in [0usize, 6, 20] {
            assert_tamper_detected("factorial_recursive", &inputs, |t| {
                t.columns[column][row] += Felt::one()
            });
        }
    }
}

#[test]
fn stopping_early_or_late_is_detected() {
    let inputs = felts(&[10]);
    // Claiming "done" one row early or late breaks the end-of-run constraints.
    for shift in [-1i64, 1] {
        assert_tamper_detected("factorial_recursive", &inputs, |t| {
            let first_done = rows_where(t, |r| t.columns[cols::DONE][r] == Felt::one())[0];
            let row = (first_done as i64 + shift.min(0)) as usize;
            flip(&mut t.columns[cols::DONE][row]);
        });
    }
}

#[test]
fn out_of_range_builtin_cell_is_detected() {
    let inputs = felts(&[1, 5, 9, 100, 1 << 40]);
    // Moving weight between two limbs keeps the accumulated value but leaves a limb outside
    // 0..255, which the LogUp sum catches.
    assert_tamper_detected("range_checks", &inputs, |t| {
        t.columns[cols::LIMB][1] += Felt::one();
        t.columns[cols::LIMB][0] = t.columns[cols::LIMB][0] - Felt::from(256u64);
    });
    // An unused block claimed as used reads a cell that is not the next range-check address.
    assert_tamper_detected("range_checks", &inputs, |t| {
        let last_block = t.length() / RC_BLOCK - 1;
        for r in 0..RC_BLOCK {
            t.columns[cols::RC_SEL][last_block * RC_BLOCK + r] = Felt::one();
        }
    });
}

#[test]
fn tampered_range_check_chain_is_detected() {
    let inputs = felts(&[3]);
    assert_tamper_detected("fibonacci", &inputs, |t| {
        t.columns[cols::SORTED_OFF + 1][0] += Felt::from(2u64)
    });
    assert_tamper_detected("fibonacci", &inputs, |t| {
        t.columns[cols::RC_FILL][0] = Felt::from(70000u64)
    });
}

/// `k`-th finite difference at 0 of the values `f(0), f(1), …`.
fn finite_difference(f: &[Felt], k: usize) -> Felt {
    let mut row = f[..=k].to_vec();
    for len in (1..=k).rev() {
        for i in 0..len {
            row[i] = row[i + 1] - row[i];
        }
    }
    row[0]
}

#[test]
fn declared_degrees_are_the_true_degrees() {
    use cairo_stark::air::constraint_specs;
    let (air, _) = honest_trace("fibonacci", &felts(&[3]));
    let specs = constraint_specs();
    assert_eq!(specs.len(), air.transition_constraints().len());
    let width = air.main_width() + air.aux_width();
    let mut seed = 0x9e37_79b9_7f4a_7c15u64;
    let mut random = || {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        Felt::from(seed >> 1).pow(3u64)
    };
    // A random line c + t·d through (current, next, periodic): along it each constraint is a
    // polynomial in t of exactly its declared degree.
    let base: Vec<Felt> = (0..2 * width + 3).map(|_| random()).collect();
    let step: Vec<Felt> = (0..2 * width + 3).map(|_| random()).collect();
    let challenges: Vec<Felt> = (0..4).map(|_| random()).collect();
    let mut values = vec![Vec::new(); specs.len()];
    for t in 0..=4u64 {
        let point: Vec<Felt> = base
            .iter()
            .zip(&step)
            .map(|(b, s)| b + Felt::from(t) * s)
            .collect();
        let frame = stark::Frame {
            current: &point[..width],
            next: &point[width..2 * width],
        };
        let mut out = vec![Felt::zero(); specs.len()];
        air.evaluate_transition(&frame, &point[2 * width..], &challenges, &mut out);
        for (v, o) in values.iter_mut().zip(out) {
            v.push(o);
        }
    }
    for (spec, v) in specs.iter().zip(&values) {
        assert_eq!(
            finite_difference(v, spec.degree + 1),
            Felt::zero(),
            "{}: degree above {}",
            spec.name,
            spec.degree
        );
        assert_ne!(
            finite_difference(v, spec.degree),
            Felt::zero(),
            "{}: degree below {}",
            spec.name,
            spec.degree
        );
    }
}

#[test]
fn constraint_names_are_unique() {
    let names = cairo_stark::air::constraint_names();
    let mut sorted = names.clone();
    sorted.sort_unstable();
    sorted.dedup();
    assert_eq!(sorted.len(), names.len());
}

/// An execution that no run produces (it can come from a donor's file) is an error of the trace
/// builder, never a panic or a huge allocation.
#[test]
fn impossible_executions_are_errors_not_panics() {
    let honest = execute(&program("range_checks"), &felts(&[1, 5])).unwrap();
    let mut backwards = honest.clone();
    let segment = backwards
        .range_check
        .as_mut()
        .expect("a range-check segment");
    segment.stop = segment.base - 1;
    assert!(build_main_trace(&backwards, 0).is_err());
    let mut empty = honest;
    empty.steps = 0;
    assert!(build_main_trace(&empty, 0).is_err());
}
