//! Test harness: the real program-distributor started in-process on a random port (SQLite + a
//! local directory in a temp dir, or MariaDB + S3 from `. scripts/services.sh`), and the
//! `uploader-client` binary driven as a process with its own state directory.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use cairo_stark::inputs::parse_csv;
use cairo_stark::{CompiledProgram, ProofOptions};
use distributor_api::{Client, ProgramStatus, Reservation, UploadProofData};
use program_distributor::configuration::{Settings, StorageSettings};
use program_distributor::storage::s3::S3Store;
pub use program_distributor::testing::Backend;
use program_distributor::testing::{self, TestDatabase};
use uuid::Uuid;

/// The secret the server signs basic tokens with.
pub const BASIC_SECRET: &str = testing::BASIC_SECRET;
pub const PASSWORD: &str = "a long enough passphrase";

/// A running server, its runtime, and what it stores.
pub struct Server {
    pub url: String,
    pub client: Client,
    pub settings: Settings,
    // Dropped in this order: the runtime (and the server on it), then its database and files.
    runtime: tokio::runtime::Runtime,
    _database: Option<TestDatabase>,
    _dir: tempfile::TempDir,
}

impl Server {
    pub fn start(backend: Backend) -> Server {
        Server::start_with(backend, |_| {})
    }

    /// Starts the server after `tweak` adjusted its settings.
    pub fn start_with(backend: Backend, tweak: impl FnOnce(&mut Settings)) -> Server {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("tokio runtime");
        let dir = tempfile::tempdir().expect("tempdir");
        let server = runtime.block_on(testing::start(
            backend,
            "upl",
            &dir.path().join("server"),
            |settings| {
                settings.database.pool_size = 4;
                tweak(settings);
            },
        ));
        Server {
            client: Client::new(server.address.clone()),
            url: server.address,
            settings: server.settings,
            runtime,
            _database: server.database,
            _dir: dir,
        }
    }

    pub fn block_on<F: std::future::Future>(&self, future: F) -> F::Output {
        self.runtime.block_on(future)
    }

    pub fn status(&self, cli: &Cli, program_id: Uuid) -> ProgramStatus {
        let value = cli.json(&["program", "status", &program_id.to_string()]);
        serde_json::from_value(value).expect("status JSON")
    }

    /// Reserves one input group of the program as a donor would.
    pub fn reserve(&self, program_id: Uuid) -> Reservation {
        self.block_on(self.client.reserve(program_id))
            .expect("reserve an input group")
    }

    /// Uploads `proof` for the reservation's input group (or `for_group`).
    pub fn upload_proof(&self, reservation: &Reservation, for_group: Option<Uuid>, proof: Vec<u8>) {
        let data = UploadProofData {
            organization_id: reservation.metadata.organization_id,
            program_id: reservation.metadata.program_id,
            input_group_id: for_group.unwrap_or(reservation.metadata.input_group_id),
            reservation_id: None,
        };
        self.block_on(self.client.upload_proof(proof, &data))
            .expect("upload a proof");
    }

    /// Replaces the stored proof of an input group (one the server accepted) with `bytes`, behind
    /// the server's back, through the server's own database and object store: what a corrupted
    /// or malicious storage would serve. Works on both backends.
    pub fn replace_stored_proof(&self, program_id: Uuid, group_id: Uuid, bytes: Vec<u8>) {
        use program_distributor::db::{queries::input_groups, Db};
        use program_distributor::storage::{keys, local::LocalStore, ObjectStore};
        let settings = self.settings.clone();
        self.block_on(async move {
            let db = Db::open(&settings.database.url, 1).expect("open the server's database");
            let (program, group) = (program_id.to_string(), group_id.to_string());
            let (p, g) = (program.clone(), group.clone());
            let row = db
                .run(move |conn| input_groups::find(conn, &p, &g))
                .await
                .expect("read the input group")
                .expect("the input group exists");
            let proof_id = row.proof_id.expect("the group has a stored proof");
            let store: Box<dyn ObjectStore> = match &settings.storage {
                StorageSettings::Local(dir) => {
                    Box::new(LocalStore::open(dir).expect("the server's directory"))
                }
                StorageSettings::S3(s3) => Box::new(S3Store::new(s3)),
            };
            store
                .put(&keys::proof(&program, &group, &proof_id), bytes.into())
                .await
                .expect("overwrite the stored proof");
        });
    }

    /// Reserves, executes, proves and uploads, like an honest donor. Returns the reservation.
    pub fn prove_one(&self, program_id: Uuid) -> Reservation {
        let reservation = self.reserve(program_id);
        let proof = prove(&reservation.program_json, &reservation.inputs_csv);
        self.upload_proof(&reservation, None, proof);
        reservation
    }
}

/// Executes and proves with the default (secure) options.
pub fn prove(program_json: &[u8], inputs_csv: &[u8]) -> Vec<u8> {
    prove_with(program_json, inputs_csv, &ProofOptions::default())
}

/// Executes and proves with `options`.
pub fn prove_with(program_json: &[u8], inputs_csv: &[u8], options: &ProofOptions) -> Vec<u8> {
    let program = CompiledProgram::parse(program_json).expect("program");
    let inputs = parse_csv(inputs_csv).expect("inputs");
    let execution = cairo_stark::execute(&program, &inputs).expect("execute");
    cairo_stark::prove(&execution, options)
        .expect("prove")
        .to_bytes()
}

/// The outputs of a run, as small integers.
pub fn outputs(program_json: &[u8], inputs_csv: &[u8]) -> Vec<u64> {
    let program = CompiledProgram::parse(program_json).expect("program");
    let inputs = parse_csv(inputs_csv).expect("inputs");
    let execution = cairo_stark::execute(&program, &inputs).expect("execute");
    execution
        .outputs
        .iter()
        .map(|v| {
            let limbs = v.representative().limbs;
            assert!(
                limbs[..3].iter().all(|l| *l == 0),
                "output too large for the test"
            );
            limbs[3]
        })
        .collect()
}

pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root")
        .to_path_buf()
}

pub fn collatz_json() -> PathBuf {
    repo_root().join("example-program/collatz.json")
}

/// The client binary with its own state directory and config file.
pub struct Cli {
    pub dir: tempfile::TempDir,
    pub url: String,
}

impl Cli {
    pub fn new(url: &str) -> Cli {
        let dir = tempfile::tempdir().expect("tempdir");
        let config = serde_json::json!({
            "program_distributor_url": url,
            // Small pages, so that every listing the client walks spans several of them.
            "default_page_size": 2,
            "max_page_size": 2,
        });
        std::fs::write(dir.path().join("config.json"), config.to_string()).expect("config");
        Cli {
            dir,
            url: url.to_string(),
        }
    }

    pub fn state_dir(&self) -> PathBuf {
        self.dir.path().join("state")
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_uploader-client"));
        command
            .args(args)
            .current_dir(self.dir.path())
            .env(
                "UPLOADER_CLIENT_CONFIG",
                self.dir.path().join("config.json"),
            )
            .env("UPLOADER_CLIENT_STATE_DIR", self.state_dir())
            .env_remove("PROGRAM_DISTRIBUTOR_URL")
            .env_remove("UPLOADER_CLIENT_PASSWORD")
            .stdin(Stdio::null());
        command
    }

    pub fn run(&self, args: &[&str]) -> Output {
        self.command(args).output().expect("run uploader-client")
    }

    pub fn run_with_stdin(&self, args: &[&str], stdin: &str) -> Output {
        use std::io::Write;
        let mut child = self
            .command(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn uploader-client");
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(stdin.as_bytes())
            .expect("write stdin");
        child.wait_with_output().expect("wait uploader-client")
    }

    /// Runs and expects success; returns stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let output = self.run(args);
        assert_success(args, &output);
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    /// Runs with `--json` and expects success; returns the parsed stdout.
    pub fn json(&self, args: &[&str]) -> serde_json::Value {
        let mut all = args.to_vec();
        all.push("--json");
        let stdout = self.ok(&all);
        serde_json::from_str(&stdout)
            .unwrap_or_else(|e| panic!("`{}` did not print JSON ({e}):\n{stdout}", all.join(" ")))
    }

    /// Runs and expects exit code `code`; returns stderr.
    pub fn fails(&self, args: &[&str], code: i32) -> String {
        let output = self.run(args);
        let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
        assert_eq!(
            output.status.code(),
            Some(code),
            "`uploader-client {}` should exit with {code}\nstdout:\n{}\nstderr:\n{stderr}",
            args.join(" "),
            String::from_utf8_lossy(&output.stdout)
        );
        stderr
    }

    /// Registers and logs in a fresh organization; returns its username.
    pub fn register_and_login(&self, name: &str) -> String {
        let username = format!(
            "{}-{}",
            name.to_lowercase(),
            &Uuid::new_v4().simple().to_string()[..8]
        );
        let output = self.run_with_stdin(
            &[
                "register",
                "--username",
                &username,
                "--name",
                &format!("{name} {}", &username[username.len() - 8..]),
                "--description",
                "tests",
                "--password-stdin",
            ],
            &format!("{PASSWORD}\n"),
        );
        assert_success(&["register"], &output);
        let output = self.run_with_stdin(
            &["login", "--username", &username, "--password-stdin"],
            &format!("{PASSWORD}\n"),
        );
        assert_success(&["login"], &output);
        username
    }

    /// Uploads the Collatz example and returns its id.
    pub fn upload_collatz(&self, name: &str) -> Uuid {
        self.upload_collatz_with(name, &[])
    }

    /// The same, with more `program upload` flags.
    pub fn upload_collatz_with(&self, name: &str, flags: &[&str]) -> Uuid {
        let json_path = collatz_json();
        let mut args = vec![
            "program",
            "upload",
            json_path.to_str().expect("utf-8 path"),
            "--name",
            name,
            "--description",
            "Collatz stopping times",
            "--lock-timeout",
            "60",
        ];
        args.extend_from_slice(flags);
        let value = self.json(&args);
        Uuid::parse_str(value["program_id"].as_str().expect("program_id")).expect("uuid")
    }

    /// Writes `[a,b)` input groups of the given ranges into a folder and uploads it.
    pub fn upload_ranges(&self, program_id: Uuid, ranges: &[(u64, u64)]) -> serde_json::Value {
        let folder = self.path("inputs");
        std::fs::create_dir_all(&folder).expect("inputs folder");
        for (a, b) in ranges {
            std::fs::write(
                folder.join(format!("r-{a:03}-{b:03}.csv")),
                format!("{a},{b}\n"),
            )
            .expect("write csv");
        }
        self.json(&[
            "inputs",
            "upload",
            &program_id.to_string(),
            folder.to_str().expect("utf-8 path"),
        ])
    }

    pub fn results_file(&self, program_id: Uuid) -> PathBuf {
        self.state_dir()
            .join("results")
            .join(format!("{program_id}.jsonl"))
    }

    pub fn result_lines(&self, program_id: Uuid) -> Vec<serde_json::Value> {
        match std::fs::read_to_string(self.results_file(program_id)) {
            Ok(text) => text
                .lines()
                .filter(|l| !l.trim().is_empty())
                .map(|l| serde_json::from_str(l).expect("result line is JSON"))
                .collect(),
            Err(_) => Vec::new(),
        }
    }
}

pub fn assert_success(args: &[&str], output: &Output) {
    assert!(
        output.status.success(),
        "`uploader-client {}` failed with {:?}\nstdout:\n{}\nstderr:\n{}",
        args.join(" "),
        output.status.code(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Runs each `fn name(server: Server)` on both backends: `name::mariadb_s3` and `name::embedded`.
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        program_distributor::both_backends!(sync $crate::common::Server::start; $($name),*);
    };
}
