//! Flag combinations cairo-vm refuses must not verify. Each case is hand-made bytecode that the
//! malicious machine (`common::forge`) runs anyway, with the meaning the AIR's relaxed equations
//! give it; the trace breaks nothing but the flag-hardening constraints (so the old AIR accepted
//! it), and the verifier now rejects it.

mod common;

use cairo_stark::air::{constraint_names, flags::*};
use cairo_stark::{CompiledProgram, Felt, ProofFile, SecurityPolicy};
use common::forge::*;
use common::*;

fn call_rel(imm: u64) -> [u64; 2] {
    [ins(0, 1, 1, &[OP1_IMM, PC_JUMP_REL, OPCODE_CALL]), imm]
}

fn ret() -> u64 {
    ins(-2, -1, -1, &[DST_REG, OP1_FP, PC_JUMP_ABS, OPCODE_RET])
}

/// Hand-made bytecode: `code` from `__start__` (offset 0), with `__end__: jmp rel 0` at `end`.
struct HandMade {
    code: Vec<u64>,
    end: usize,
    /// Cells the cheater sets before running, by offset from the initial `ap`.
    seeds: Vec<(i64, Felt)>,
}

/// `word` (plus its immediate, if any) runs once, then the run is at `__end__`.
fn single(word: &[u64]) -> HandMade {
    let mut code = word.to_vec();
    let end = code.len();
    code.extend([JMP_REL_0, 0]);
    HandMade {
        code,
        end,
        seeds: Vec::new(),
    }
}

/// A valid `call` into `word`, which must return to `__end__` (right after the call).
fn called(word: u64) -> HandMade {
    let mut code = call_rel(4).to_vec();
    code.extend([JMP_REL_0, 0, word]);
    HandMade {
        code,
        end: 2,
        seeds: Vec::new(),
    }
}

/// A valid `call` into `word`, which runs into `__end__` right after itself.
fn called_then_end(word: u64) -> HandMade {
    let mut code = call_rel(2).to_vec();
    code.extend([word, JMP_REL_0, 0]);
    HandMade {
        code,
        end: 3,
        seeds: Vec::new(),
    }
}

impl HandMade {
    fn seed(mut self, offset: i64, value: Felt) -> Self {
        self.seeds.push((offset, value));
        self
    }

    fn forge(&self) -> (CompiledProgram, Forged) {
        let code: Vec<Felt> = self.code.iter().map(|w| Felt::from(*w)).collect();
        let (program, exec) = hand_made(&code, self.end);
        let mut vm = FreeVm::like(&exec);
        let ap = exec.initial_ap() as i64;
        for (offset, value) in &self.seeds {
            vm.mem.insert(Felt::from((ap + offset) as u64), *value);
        }
        vm.run(exec.end_pc, 16).unwrap();
        let forged = forge_trace(&vm, &program, &[], &exec, &Layout::default()).unwrap();
        (program, forged)
    }
}

fn broken(forged: &Forged) -> Vec<&'static str> {
    violations(&forged.air(), &forged.trace, &some_challenges())
        .into_iter()
        .map(|v| match v {
            Violation::Transition(name) => name,
            Violation::Boundary(i) => panic!("boundary constraint {i} broken"),
        })
        .collect()
}

/// The case breaks only flag-hardening constraints, verifies without them, and is rejected.
fn assert_only_flags_stop(name: &str, case: HandMade) {
    let (program, forged) = case.forge();
    let broken = broken(&forged);
    assert!(!broken.is_empty(), "{name}: the forged run breaks nothing");
    assert!(
        broken.iter().all(|b| FLAG_RULES.contains(b)),
        "{name}: breaks more than the flag rules: {broken:?}"
    );
    let names = constraint_names();
    let dropped = broken
        .iter()
        .map(|b| names.iter().position(|n| n == b).unwrap())
        .collect();
    let weakened = Weakened::dropping_transitions(forged.air(), dropped);
    let proof = stark::prove(&weakened, forged.trace.clone(), &fast_options()).unwrap();
    let policy = stark::VerificationPolicy::with_min_security_bits(0);
    assert!(
        stark::verify(&weakened, &proof, &policy).is_ok(),
        "{name}: does not verify even without {broken:?}"
    );
    assert!(stark::prove(&forged.air(), forged.trace.clone(), &fast_options()).is_err());
    let stark = stark::prove_unchecked(&forged.air(), forged.trace, &fast_options()).unwrap();
    let file = ProofFile {
        options: fast_options(),
        program_hash: program.hash(),
        inputs: Vec::new(),
        claim: forged.statement.claim,
        stark,
    };
    assert!(
        cairo_stark::verify(
            &file.to_bytes(),
            &program,
            &[],
            &SecurityPolicy::conjectured(0)
        )
        .is_err(),
        "{name}: verified"
    );
}

#[test]
fn valid_hand_made_bytecode_verifies() {
    for case in [
        single(&[ins(0, -1, 0, &[OP1_AP, AP_ADD1])]),
        single(&[ins(0, -1, 1, &[OP1_IMM, OPCODE_ASSERT_EQ]), 7]),
        called(ret()),
    ] {
        let (_, forged) = case.forge();
        assert_eq!(broken(&forged), Vec::<&str>::new());
        let air = forged.air();
        let proof = stark::prove(&air, forged.trace, &fast_options()).unwrap();
        let policy = stark::VerificationPolicy::with_min_security_bits(0);
        assert!(stark::verify(&air, &proof, &policy).is_ok());
    }
}

#[test]
fn two_op1_sources_are_rejected() {
    assert_only_flags_stop("imm+fp", single(&[ins(0, 0, 1, &[OP1_IMM, OP1_FP]), 0]));
    assert_only_flags_stop("imm+ap", single(&[ins(0, 0, 1, &[OP1_IMM, OP1_AP]), 0]));
    assert_only_flags_stop("fp+ap", single(&[ins(0, 0, 0, &[OP1_FP, OP1_AP])]));
    assert_only_flags_stop(
        "imm+fp+ap",
        single(&[ins(0, 0, 1, &[OP1_IMM, OP1_FP, OP1_AP]), 0]),
    );
}

#[test]
fn two_res_logics_are_rejected() {
    assert_only_flags_stop(
        "add+mul",
        single(&[ins(0, 0, 0, &[OP1_AP, RES_ADD, RES_MUL])]),
    );
}

#[test]
fn two_pc_updates_are_rejected() {
    // abs + rel lands at 2·res − 1 from pc 1: res = 3/2 brings it to __end__ (pc 2).
    let half3 = Felt::from(3u64) * Felt::from(2u64).inv().unwrap();
    assert_only_flags_stop(
        "abs+rel",
        single(&[ins(1, 1, 0, &[OP1_AP, PC_JUMP_ABS, PC_JUMP_REL])]).seed(0, half3),
    );
    assert_only_flags_stop(
        "abs+jnz",
        single(&[ins(0, 0, 0, &[OP1_AP, PC_JUMP_ABS, PC_JNZ])]),
    );
    assert_only_flags_stop(
        "rel+jnz",
        single(&[ins(0, 0, 0, &[OP1_AP, PC_JUMP_REL, PC_JNZ])]),
    );
    assert_only_flags_stop(
        "abs+rel+jnz",
        single(&[ins(0, 0, 0, &[OP1_AP, PC_JUMP_ABS, PC_JUMP_REL, PC_JNZ])]),
    );
}

#[test]
fn two_ap_updates_are_rejected() {
    assert_only_flags_stop(
        "add+add1",
        single(&[ins(0, 0, 0, &[OP1_AP, AP_ADD, AP_ADD1])]),
    );
}

#[test]
fn two_opcodes_are_rejected() {
    assert_only_flags_stop(
        "call+assert_eq",
        single(&[ins(0, 1, 2, &[OP1_AP, OPCODE_CALL, OPCODE_ASSERT_EQ])]),
    );
    assert_only_flags_stop(
        "ret+assert_eq",
        called_then_end(ins(
            -2,
            0,
            -1,
            &[DST_REG, OP1_FP, RES_ADD, OPCODE_RET, OPCODE_ASSERT_EQ],
        )),
    );
    assert_only_flags_stop(
        "call+ret",
        single(&[ins(0, 1, 0, &[OP1_AP, OPCODE_CALL, OPCODE_RET])]),
    );
    assert_only_flags_stop(
        "call+ret+assert_eq",
        single(&[ins(
            0,
            1,
            0,
            &[OP1_AP, OPCODE_CALL, OPCODE_RET, OPCODE_ASSERT_EQ],
        )]),
    );
}

#[test]
fn jnz_with_res_is_rejected() {
    assert_only_flags_stop(
        "jnz+add",
        single(&[ins(0, 0, 0, &[OP1_AP, RES_ADD, PC_JNZ])]),
    );
    assert_only_flags_stop(
        "jnz+mul",
        single(&[ins(0, 0, 0, &[OP1_AP, RES_MUL, PC_JNZ])]),
    );
    assert_only_flags_stop(
        "jnz+ap_add",
        single(&[ins(0, 0, 0, &[OP1_AP, PC_JNZ, AP_ADD])]),
    );
    assert_only_flags_stop(
        "jnz+assert_eq",
        single(&[ins(0, 0, 0, &[OP1_AP, PC_JNZ, OPCODE_ASSERT_EQ])]),
    );
}

#[test]
fn an_immediate_elsewhere_is_rejected() {
    assert_only_flags_stop("imm at pc + 2", single(&[ins(0, 0, 2, &[OP1_IMM]), 0]));
}

#[test]
fn call_with_other_operands_is_rejected() {
    let call = |off0, off1, extra: &[usize]| {
        let mut set = vec![OP1_IMM, PC_JUMP_REL, OPCODE_CALL];
        set.extend_from_slice(extra);
        single(&[ins(off0, off1, 1, &set), 2])
    };
    assert_only_flags_stop("call dst [ap + 2]", call(2, 1, &[]));
    assert_only_flags_stop("call op0 [ap + 2]", call(0, 2, &[]));
    assert_only_flags_stop("call dst on fp", call(0, 1, &[DST_REG]));
    assert_only_flags_stop("call op0 on fp", call(0, 1, &[OP0_REG]));
    assert_only_flags_stop("call ap += res", call(0, 1, &[AP_ADD]));
    assert_only_flags_stop("call ap++", call(0, 1, &[AP_ADD1]));
}

#[test]
fn ret_with_other_operands_is_rejected() {
    let ret_with = |off0, off1, off2, set: &[usize]| {
        let mut flags = vec![OPCODE_RET];
        flags.extend_from_slice(set);
        called(ins(off0, off1, off2, &flags))
    };
    let usual = [DST_REG, OP1_FP, PC_JUMP_ABS];
    // After the call, fp = initial ap + 2: [fp − 1] is the return pc (3), [fp] is free, and
    // [fp − 4] holds the initial fp (the proof-mode stack), which keeps the frame usable.
    assert_only_flags_stop("ret dst [fp - 4]", ret_with(-4, -1, -1, &usual));
    assert_only_flags_stop(
        "ret op1 [fp]",
        ret_with(-2, -1, 0, &usual).seed(2, Felt::from(3u64)),
    );
    assert_only_flags_stop(
        "ret dst on ap",
        ret_with(-2, -1, -1, &[OP1_FP, PC_JUMP_ABS]),
    );
    assert_only_flags_stop(
        "ret op1 on ap",
        ret_with(-2, -1, -1, &[DST_REG, OP1_AP, PC_JUMP_ABS]),
    );
    assert_only_flags_stop(
        "ret res = op0 + op1",
        ret_with(-2, 0, -1, &[DST_REG, OP1_FP, PC_JUMP_ABS, RES_ADD]),
    );
    // A relative ret from pc 5 reaches __end__ (pc 3) with res = −2, read from [fp].
    assert_only_flags_stop(
        "ret jump rel",
        ret_with(-2, -1, 0, &[DST_REG, OP1_FP, PC_JUMP_REL]).seed(2, minus(2)),
    );
}
