//! Measures the two commitment hashes on the inputs a STARK hashes: LDE rows (leaves), pairs of
//! digests (inner nodes) and short transcript / proof-of-work messages.
//!
//! `cargo bench -p stark --bench hash -- [row width in field elements]`

use sha3::Digest as _;
use std::hint::black_box;
use std::time::Instant;

fn per_call(iterations: u32, mut f: impl FnMut(u32)) -> f64 {
    let t = Instant::now();
    for i in 0..iterations {
        f(i);
    }
    t.elapsed().as_secs_f64() * 1e9 / f64::from(iterations)
}

fn main() {
    // `cargo bench` adds `--bench`; the width is the first number given.
    let width: usize = std::env::args()
        .skip(1)
        .find_map(|w| w.parse().ok())
        .unwrap_or(60);
    let mut row = vec![7u8; 32 * width];
    let node = [3u8; 64];
    let pow = [5u8; 48];
    println!("| input | blake3 ns | keccak-256 ns |");
    println!("|---|---|---|");
    let b = per_call(100_000, |i| {
        row[0] = i as u8;
        black_box(blake3::hash(&row));
    });
    let k = per_call(100_000, |i| {
        row[0] = i as u8;
        black_box(sha3::Keccak256::digest(&row));
    });
    println!(
        "| row of {width} elements ({} B) | {b:.0} | {k:.0} |",
        row.len()
    );
    let b = per_call(1_000_000, |_| {
        black_box(blake3::hash(black_box(&node)));
    });
    let k = per_call(1_000_000, |_| {
        black_box(sha3::Keccak256::digest(black_box(&node)));
    });
    println!("| Merkle node (64 B) | {b:.0} | {k:.0} |");
    let b = per_call(1_000_000, |_| {
        black_box(blake3::hash(black_box(&pow)));
    });
    let k = per_call(1_000_000, |_| {
        black_box(sha3::Keccak256::digest(black_box(&pow)));
    });
    println!("| proof-of-work attempt (48 B) | {b:.0} | {k:.0} |");
}
