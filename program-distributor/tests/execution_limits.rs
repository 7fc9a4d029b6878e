//! The memory a decompression bomb makes the server use. A test binary with this one test, so
//! that the peak memory of this process is the server's answer to these uploads and nothing
//! else; both backends run one after the other.

#[allow(dead_code, unused_imports)]
#[path = "api/helpers.rs"]
mod helpers;

use distributor_api::{ClientError, ErrorCode};
use helpers::*;

/// The peak resident memory of this process since the last [`reset_peak`], in bytes.
fn peak_memory() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    let kib: u64 = status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmHWM in /proc/self/status");
    kib * 1024
}

/// Resets the peak to the current resident memory (Linux `clear_refs`).
fn reset_peak() {
    std::fs::write("/proc/self/clear_refs", "5").expect("reset the peak memory");
}

fn refused(result: Result<(), ClientError>) -> String {
    match result {
        Err(ClientError::Api { code, message, .. }) => {
            assert_eq!(code, ErrorCode::InvalidExecution, "{message}");
            message
        }
        other => panic!("expected INVALID_EXECUTION, got {other:?}"),
    }
}

async fn bombs_do_not_inflate_in_memory(backend: Backend, bombs: &[(&str, Vec<u8>)]) {
    let app = spawn_app(backend).await;
    let org = app.org("Bomber").await;
    let program = upload_program(&org, "double", 600).await;
    let group = upload_inputs(&org, program, "g", 3).await;
    for (what, bomb) in bombs {
        reset_peak();
        let before = peak_memory();
        let result = app
            .client
            .upload_execution(bomb.clone(), &ids(&org, program, group))
            .await;
        let message = refused(result);
        let grown = peak_memory().saturating_sub(before);
        assert!(
            grown < 64 << 20,
            "{backend:?}, {what}: the peak memory grew by {} MiB ({message})",
            grown >> 20
        );
    }
}

#[test]
fn a_decompression_bomb_does_not_inflate_in_the_servers_memory() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let honest = runtime.block_on(execution_of("3"));
    // 300 MiB of zeros (more than the old 256 MiB cap), behind a wrong program hash and behind
    // the whole honest run.
    let bombs = [
        ("another program's hash", execution_bomb(&[7u8; 32], 300)),
        (
            "the honest run",
            execution_bomb(&execution_body(&honest), 300),
        ),
    ];
    for (what, bomb) in &bombs {
        assert!(bomb.len() < 512 * 1024, "{what}: {} bytes", bomb.len());
    }
    for backend in [Backend::MariaDbS3, Backend::Embedded] {
        runtime.block_on(bombs_do_not_inflate_in_memory(backend, &bombs));
    }
}
