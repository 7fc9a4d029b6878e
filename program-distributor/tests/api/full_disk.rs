//! A full disk. The server binary runs on a small file system of its own: a tmpfs mounted in a
//! user and mount namespace (`unshare -rm`, no root needed), which holds its objects (and, on the
//! embedded backend, its SQLite database). Uploads fill it until the server refuses them with
//! `507 INSUFFICIENT_STORAGE`; reads keep working; then the test fills the last bytes itself, and
//! deletions still succeed or are refused with the same clear 507, never a 500.
//!
//! On a machine where unprivileged user namespaces are disabled the test says so and does nothing.

use std::path::{Path, PathBuf};

use distributor_api::{ClientError, ErrorCode, PageQuery, UploadInputsData};
use program_distributor::configuration::StorageSettings;
use program_distributor::testing;

use crate::for_both_backends;
use crate::helpers::*;
use crate::process::{environment, ServerProcess};

for_both_backends!(a_full_disk_refuses_writes_with_507_and_keeps_reads_and_deletes);

/// The size of the server's file system, and what it keeps free.
const FS_BYTES: u64 = 6 << 20;
const RESERVE_BYTES: u64 = 1 << 20;
/// One input group's CSV: 64 Ki values of 8 bytes a line.
const LINES: usize = 64 * 1024;

/// Whether this machine lets an unprivileged process mount a tmpfs in namespaces of its own.
fn namespaces_available() -> bool {
    std::process::Command::new("unshare")
        .args([
            "-rm",
            "sh",
            "-c",
            "mount -t tmpfs tmpfs /mnt || mount -t tmpfs tmpfs /tmp",
        ])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// The command line that runs the server on a fresh tmpfs mounted at `mount`.
fn on_tmpfs(mount: &Path) -> Vec<String> {
    let script = format!("mount -t tmpfs -o size={FS_BYTES} tmpfs \"$0\" && exec \"$@\"");
    [
        "unshare",
        "-rm",
        "sh",
        "-c",
        &script,
        &mount.display().to_string(),
    ]
    .map(String::from)
    .to_vec()
}

/// `path` (under the server's mount) as this process reaches it: through the server's root.
fn inside(server: &ServerProcess, path: &Path) -> PathBuf {
    Path::new(&format!("/proc/{}/root", server.pid())).join(path.strip_prefix("/").unwrap())
}

/// Fills the file system holding `file` to its last byte.
fn fill(file: &Path) {
    use std::io::Write;
    let mut out = std::fs::File::create(file).expect("create the filler");
    let chunk = vec![0u8; 64 * 1024];
    loop {
        if let Err(error) = out.write_all(&chunk).and_then(|()| out.sync_all()) {
            assert_eq!(error.kind(), std::io::ErrorKind::StorageFull, "{error}");
            break;
        }
    }
    for size in [4096, 512, 1] {
        while out.write_all(&vec![0u8; size]).is_ok() {}
    }
}

/// Temporary files of interrupted writes under `dir`.
fn temporary_files(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            found.extend(temporary_files(&path));
        } else if path.to_string_lossy().contains(".tmp-") {
            found.push(path);
        }
    }
    found
}

/// A success, or the enveloped 507; never a 500.
#[track_caller]
fn done_or_full<T: std::fmt::Debug>(result: Result<T, ClientError>) -> bool {
    match result {
        Ok(_) => true,
        Err(ClientError::Api {
            status,
            code: ErrorCode::InsufficientStorage,
            ..
        }) => {
            assert_eq!(status, 507);
            false
        }
        other => panic!("expected success or 507 INSUFFICIENT_STORAGE, got {other:?}"),
    }
}

async fn a_full_disk_refuses_writes_with_507_and_keeps_reads_and_deletes(backend: Backend) {
    if !namespaces_available() {
        eprintln!("SKIPPED: `unshare -rm` cannot mount a tmpfs here (user namespaces disabled)");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let mount = dir.path().join("fs");
    std::fs::create_dir(&mount).unwrap();
    let (mut settings, _database) = testing::settings(backend, "full", &mount).await;
    settings.storage = StorageSettings::Local(mount.join("objects"));
    let mut env = environment(&settings);
    env.push((
        "FILES_STORAGE_RESERVE_BYTES".into(),
        RESERVE_BYTES.to_string(),
    ));
    let server = ServerProcess::start(&env, dir.path(), &on_tmpfs(&mount)).await;
    let anonymous = distributor_api::Client::new(server.address.clone());
    let org = &org_on(&anonymous, "Full").await;
    let program = upload_program(org, "big", 600).await;
    let csv: Vec<u8> = "1234567\n".repeat(LINES).into_bytes();

    // Uploads fill the disk until the reserve refuses them, cleanly.
    let mut groups = Vec::new();
    let refused = loop {
        assert!(groups.len() < 32, "6 MiB never filled up");
        let data = UploadInputsData {
            name: format!("g{}", groups.len()),
        };
        match org.client.upload_inputs(program, csv.clone(), &data).await {
            Ok(group) => groups.push(group),
            Err(error) => break error,
        };
    };
    assert_code::<()>(Err(refused), ErrorCode::InsufficientStorage);
    assert!(groups.len() >= 3, "only {} groups fit", groups.len());

    // Reads keep working, and so does a reservation (a database write).
    let listed = org
        .client
        .input_groups(program, &PageQuery::default())
        .await
        .unwrap();
    assert_eq!(listed.total_elements_amount, groups.len() as i64);
    anonymous.reserve(program).await.unwrap();
    let stored_csv = org
        .client
        .input_group_csv(program, Some(groups[1]))
        .await
        .unwrap();
    server_health(&server).await;

    // Now nothing at all is left: deletions succeed or say the disk is full.
    let filler = inside(&server, &mount.join("filler"));
    fill(&filler);
    let deleted = done_or_full(org.client.delete_input_group(program, groups[0]).await);
    eprintln!(
        "{backend:?}: {} input groups fit; with the disk full to the last byte the deletion {}",
        groups.len(),
        if deleted {
            "succeeded"
        } else {
            "was refused with 507"
        }
    );
    let csv_back = org
        .client
        .input_group_csv(program, Some(groups[1]))
        .await
        .unwrap();
    assert_eq!(csv_back, stored_csv);
    done_or_full(
        org.client
            .upload_inputs(
                program,
                b"1".to_vec(),
                &UploadInputsData {
                    name: "tiny".into(),
                },
            )
            .await,
    );

    // Space freed: everything works again, and no temporary file was left behind.
    std::fs::remove_file(&filler).unwrap();
    if !deleted {
        org.client
            .delete_input_group(program, groups[0])
            .await
            .unwrap();
    }
    // Deleting one group only gives back what the refused upload lacked, less what the database
    // has grown by since: free a second group's worth so the same upload fits again for sure.
    org.client
        .delete_input_group(program, groups[2])
        .await
        .unwrap();
    let data = UploadInputsData {
        name: "again".into(),
    };
    org.client
        .upload_inputs(program, csv.clone(), &data)
        .await
        .unwrap();
    let leftovers = temporary_files(&inside(&server, &mount));
    assert!(leftovers.is_empty(), "temporary files left: {leftovers:?}");
    org.client.delete_program(program).await.unwrap();
}

async fn server_health(server: &ServerProcess) {
    let response = reqwest::get(format!("{}/health", server.address))
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
}
