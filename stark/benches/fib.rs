//! Measures the generic prover on the test AIR (Fibonacci + periodic column + grand product),
//! widened with extra degree-2 columns to resemble a real VM trace.
//!
//! `cargo bench -p stark --bench fib -- [--extra 54] [--keccak] [--blowup 4]
//! [--fold 4] [--remainder 63] [--queries 41] [--grinding 20] [log2 rows ...]`

#[path = "../tests/common/mod.rs"]
mod common;

use stark::{prove, verify, HashFunction, ProofOptions, VerificationPolicy};
use std::time::Instant;

fn main() {
    let mut extra = 54;
    let mut options = ProofOptions::default();
    let mut sizes = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--extra" => extra = args.next().and_then(|v| v.parse().ok()).unwrap_or(extra),
            "--keccak" => options.hash = HashFunction::Keccak256,
            "--fold" => {
                options.fri_folding_factor = args.next().and_then(|v| v.parse().ok()).unwrap_or(4)
            }
            "--remainder" => {
                options.fri_remainder_max_degree =
                    args.next().and_then(|v| v.parse().ok()).unwrap_or(63)
            }
            "--queries" => {
                options.num_queries = args.next().and_then(|v| v.parse().ok()).unwrap_or(41)
            }
            "--grinding" => {
                options.grinding_bits = args.next().and_then(|v| v.parse().ok()).unwrap_or(20)
            }
            "--blowup" => {
                options.blowup_factor = args.next().and_then(|v| v.parse().ok()).unwrap_or(4)
            }
            // `cargo bench` passes `--bench`: not ours.
            "--bench" => {}
            other => sizes.push(other.parse::<u32>().expect("log2 of the row count")),
        }
    }
    if sizes.is_empty() {
        sizes = vec![12, 14, 16];
    }
    println!(
        "columns: {} main + 1 aux, options {:?}, {} bits",
        5 + extra,
        options,
        options.conjectured_security_bits(1 << sizes[0])
    );
    println!("| rows | prove s | rows/s | verify ms | proof KB | peak RSS MB |");
    println!("|---|---|---|---|---|---|");
    for log_n in sizes {
        let n = 1usize << log_n;
        let (trace, result) = common::fib_trace_wide(n, extra);
        let air = common::FibAir::new(n, result, true).with_extra_columns(extra);
        let t = Instant::now();
        let proof = prove(&air, trace, &options).expect("honest trace");
        let prove_s = t.elapsed().as_secs_f64();
        let bytes = proof.to_bytes();
        let t = Instant::now();
        let decoded = stark::StarkProof::from_bytes(&bytes).expect("own encoding");
        verify(&air, &decoded, &VerificationPolicy::default()).expect("honest proof");
        let verify_ms = t.elapsed().as_secs_f64() * 1e3;
        println!(
            "| 2^{log_n} | {prove_s:.2} | {:.0} | {verify_ms:.1} | {:.1} | {} |",
            n as f64 / prove_s,
            bytes.len() as f64 / 1024.0,
            peak_rss_mb().map_or("?".to_string(), |m| m.to_string())
        );
    }
}

/// Peak resident memory of this process so far, in MiB; sizes run in increasing order, so each
/// row's figure is that size's peak.
fn peak_rss_mb() -> Option<u64> {
    stark::peak_memory::peak_resident_bytes().map(|b| b >> 20)
}
