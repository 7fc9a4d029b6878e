//! A malicious-prover fuzzer. Each case runs an honest program under a cheater's choices (the
//! pointers `alloc()` returns, forged reads, registers nudged mid-run, the memory layout of the
//! argument, edited trace cells with the sorted sides re-solved) and lays the result out as a
//! trace. A trace that breaks no constraint is a valid proof's witness: if its outputs differ
//! from the true ones, that is a forgery, and the test proves and verifies it to show it.
//!
//! The suite runs `CAIRO_STARK_FUZZ_CASES` cases (default 2000) from seed `CAIRO_STARK_FUZZ_SEED`
//! (default 1). A longer run, as recorded in SOUNDNESS.md:
//! `CAIRO_STARK_FUZZ_CASES=200000 cargo test --release -p cairo-stark --test malicious_fuzz -- --nocapture`

mod common;

use cairo_stark::air::cols;
use cairo_stark::{execute, CompiledProgram, Execution, Felt};
use common::forge::*;
use common::*;

trait Cheats {
    fn chance(&mut self, percent: u64) -> bool;
    fn felt(&mut self, near: u64) -> Felt;
}

impl Cheats for Rng {
    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }

    /// Small values, addresses near the ones in use, "negative" ones, or anything.
    fn felt(&mut self, near: u64) -> Felt {
        match self.below(5) {
            0 => Felt::from(self.below(4)),
            1 => Felt::from(near.saturating_sub(4) + self.below(8)),
            2 => minus(1 + self.below(8)),
            3 => Felt::from(self.next()),
            _ => Felt::from(self.next()).pow(5u64),
        }
    }
}

struct Target {
    name: &'static str,
    program: CompiledProgram,
    exec: Execution,
    alloc_pc: Option<Felt>,
}

fn targets() -> Vec<Target> {
    let big = 1u64 << 62;
    [
        ("alloc_sum", felts(&[10, 20, 30])),
        ("alloc_sum", felts(&[7, 0])),
        ("linked_list", felts(&[4, 8, 15, 16])),
        ("plain_dict", felts(&[3, 0, 5, 2, 9, 0, 6])),
        ("big_felts", felts(&[big, big + 1, 3])),
        ("range_checks", felts(&[1, 5, 9, 100, 1 << 40])),
        ("calls_and_asserts", felts(&[1, 2, 3, 4])),
    ]
    .into_iter()
    .map(|(name, inputs)| {
        let program = program(name);
        let exec = execute(&program, &inputs).unwrap();
        Target {
            name,
            alloc_pc: alloc_hint_pc(name),
            program,
            exec,
        }
    })
    .collect()
}

fn alloc_hint_pc(name: &str) -> Option<Felt> {
    let path = format!("{}/tests/programs/{name}.json", env!("CARGO_MANIFEST_DIR"));
    let json: serde_json::Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    json["hints"]
        .as_object()?
        .iter()
        .find_map(|(offset, hints)| {
            let is_alloc = hints
                .as_array()?
                .iter()
                .any(|h| h["code"] == "memory[ap] = segments.add()");
            let offset: u64 = offset.parse().ok()?;
            is_alloc.then(|| Felt::from(1 + offset))
        })
}

/// The cheater's choices for one case.
#[derive(Debug, Default, Clone)]
struct Cheat {
    /// The k-th `alloc()` returns this pointer.
    pointer: Option<(usize, Felt)>,
    /// Reads of this cell (once written) return this value.
    read: Option<(Felt, Felt)>,
    /// Before step t, ap (false) or fp (true) moves by this much.
    register: Option<(usize, bool, Felt)>,
    layout: Layout,
    /// After laying out: this main-trace cell gets this value, then the sorted sides are re-solved.
    cell: Option<(usize, usize, Felt)>,
}

fn draw_cheat(rng: &mut Rng, t: &Target) -> Cheat {
    let mut cheat = Cheat::default();
    let near = t.exec.memory.len() as u64;
    let steps = t.exec.steps as u64;
    let kinds = 1 + rng.below(2);
    for _ in 0..kinds {
        match rng.below(5) {
            0 if t.alloc_pc.is_some() => {
                cheat.pointer = Some((rng.below(3) as usize, rng.felt(near)))
            }
            1 => cheat.read = Some((Felt::from(rng.below(near)), rng.felt(near))),
            2 => {
                let by = if rng.chance(50) {
                    Felt::one()
                } else {
                    minus(1)
                };
                cheat.register = Some((rng.below(steps) as usize, rng.chance(50), by));
            }
            3 => {
                cheat.layout.sorted_start = Some(rng.felt(2));
                cheat.layout.placeholders = rng.chance(50).then(|| rng.below(64) as usize);
                if rng.chance(50) {
                    cheat.layout.spare = Some((rng.felt(near), rng.felt(near)));
                }
            }
            _ => {
                let column = rng.below(cols::MAIN_WIDTH as u64) as usize;
                cheat.cell = Some((column, rng.below(steps + 2) as usize, rng.felt(near)));
            }
        }
    }
    cheat
}

enum Outcome {
    /// The cheater could not even lay out a trace (the run leaves the program, and so on).
    NoTrace,
    /// Some constraint breaks: the verifier would reject.
    Rejected,
    /// A valid trace with the true outputs: the cheat changed nothing that matters.
    Harmless,
}

fn run_case(t: &Target, cheat: &Cheat) -> Outcome {
    let forged = match forge(t, cheat) {
        Ok(forged) => forged,
        // The verifier's statement check refuses such a claim before any STARK work.
        Err(Some(e)) if e.starts_with(STATEMENT_REFUSED) => return Outcome::Rejected,
        Err(_) => return Outcome::NoTrace,
    };
    let (air, challenges) = (forged.air(), some_challenges());
    let aux = stark::AuxTraceBuilder::build_aux_trace(&air, &forged.trace, &challenges);
    if stark::check_constraints(&air, &forged.trace, &aux, &challenges).is_err() {
        return Outcome::Rejected;
    }
    if forged.statement.claim.outputs == t.exec.outputs {
        return Outcome::Harmless;
    }
    // No constraint breaks and the outputs are false: prove it and fail loudly.
    let proof = stark::prove(&air, forged.trace.clone(), &fast_options());
    let policy = stark::VerificationPolicy::with_min_security_bits(0);
    let verified = proof.is_ok_and(|p| stark::verify(&air, &p, &policy).is_ok());
    panic!(
        "FORGERY on {}: {cheat:?} claims outputs {:?} (true {:?}); verifies: {verified}",
        t.name, forged.statement.claim.outputs, t.exec.outputs
    );
}

/// The cheat's trace, or why there is none (`None`: the run itself derailed).
fn forge(t: &Target, cheat: &Cheat) -> Result<Forged, Option<String>> {
    let mut allocs = 0usize;
    let (pointer, register, alloc_pc) = (cheat.pointer, cheat.register, t.alloc_pc);
    let mut vm = FreeVm::like(&t.exec).hook(move |vm| {
        if let (Some((k, p)), Some(pc)) = (pointer, alloc_pc) {
            if vm.pc == pc {
                if allocs == k {
                    vm.mem.insert(vm.ap, p);
                }
                allocs += 1;
            }
        }
        if let Some((step, on_fp, by)) = register {
            if vm.steps.len() == step {
                if on_fp {
                    vm.fp += by;
                } else {
                    vm.ap += by;
                }
            }
        }
    });
    if let Some((a, v)) = cheat.read {
        vm.forged_reads.insert(a, v);
    }
    vm.run(t.exec.end_pc, 2 * t.exec.steps + 64)
        .map_err(|_| None)?;
    let mut forged = forge_trace(&vm, &t.program, &t.exec.inputs, &t.exec, &cheat.layout)?;
    if let Some((column, row, value)) = cheat.cell {
        let n = forged.trace.length();
        forged.trace.columns[column][row % n] = value;
        resolve(
            &mut forged.trace,
            &forged.statement,
            cheat.layout.sorted_start,
        )?;
    }
    Ok(forged)
}

fn env(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[test]
fn no_cheat_yields_a_valid_trace_with_false_outputs() {
    let cases = env("CAIRO_STARK_FUZZ_CASES", 2000);
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15 ^ env("CAIRO_STARK_FUZZ_SEED", 1));
    let targets = targets();
    let (mut no_trace, mut rejected, mut harmless) = (0u64, 0u64, 0u64);
    for _ in 0..cases {
        let t = &targets[rng.below(targets.len() as u64) as usize];
        let cheat = draw_cheat(&mut rng, t);
        match run_case(t, &cheat) {
            Outcome::NoTrace => no_trace += 1,
            Outcome::Rejected => rejected += 1,
            Outcome::Harmless => harmless += 1,
        }
    }
    println!(
        "{cases} cheats: {rejected} rejected by a constraint, {harmless} harmless (true outputs), \
         {no_trace} could not be laid out"
    );
    // The fuzzer must mostly produce traces the constraints have to judge, or it tests nothing.
    assert!(
        rejected * 2 > cases,
        "only {rejected} of {cases} cheats reached the constraints"
    );
}
