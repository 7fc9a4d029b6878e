//! Test support: the real program-distributor started in this process on a random port (SQLite +
//! a local directory in a temporary directory, or MariaDB + S3 from `. scripts/services.sh`),
//! an organization that publishes the example program, and the client binary driven as a
//! process whose JSON events are read line by line.

#![allow(dead_code)]

use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use distributor_api::{
    Client, LoginRequest, PageQuery, ProgramStatus, RegisterRequest, UploadInputsData,
    UploadProgramData,
};
pub use program_distributor::testing::Backend;
use program_distributor::testing::{self, TestDatabase};
use serde_json::Value;
use uuid::Uuid;

/// A running server and a scratch directory.
pub struct Server {
    pub url: String,
    pub client: Client,
    pub dir: tempfile::TempDir,
    _database: Option<TestDatabase>,
}

pub async fn start(backend: Backend) -> Server {
    let dir = tempfile::tempdir().expect("temporary directory");
    let server = testing::start(
        backend,
        "executor",
        &dir.path().join("server"),
        |settings| {
            settings.database.pool_size = 4;
        },
    )
    .await;
    Server {
        client: Client::new(server.address.clone()),
        url: server.address,
        dir,
        _database: server.database,
    }
}

/// An organization logged in to the server.
pub struct Org {
    pub id: Uuid,
    pub name: String,
    pub client: Client,
}

pub async fn organization(server: &Server, name: &str) -> Org {
    let username = format!(
        "{}-{}",
        name.to_lowercase().replace(' ', "-"),
        &Uuid::new_v4().simple().to_string()[..6]
    );
    let password = "a long enough password".to_string();
    server
        .client
        .register(&RegisterRequest {
            username: username.clone(),
            password: password.clone(),
            name: name.into(),
            description: format!("{name} studies the Collatz conjecture"),
        })
        .await
        .expect("register");
    let login = server
        .client
        .login(&LoginRequest { username, password })
        .await
        .expect("login");
    let id = server
        .client
        .organizations(&PageQuery::new(50, 1).with_name_filter(name))
        .await
        .expect("organizations")
        .organizations
        .into_iter()
        .find(|o| o.name == name)
        .expect("the organization is listed")
        .organization_id;
    Org {
        id,
        name: name.into(),
        client: server.client.with_token(&login.basic_token.token),
    }
}

pub fn workspace_file(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(path)
}

pub fn collatz_json() -> Vec<u8> {
    std::fs::read(workspace_file("example-program/collatz.json")).expect("example program")
}

/// Publishes the Collatz example as `name` with `lock_secs` reservations and one input group
/// per `(a, b)` range; returns the program id and the input group ids.
pub async fn publish(
    org: &Org,
    name: &str,
    lock_secs: i64,
    ranges: &[(u64, u64)],
) -> (Uuid, Vec<Uuid>) {
    let tar = program_distributor::domain::archive::build_tar(&[("program.json", &collatz_json())])
        .expect("tar");
    let program = org
        .client
        .upload_program(
            tar,
            &UploadProgramData {
                name: name.into(),
                description: "Collatz stopping times".into(),
                execution_timeout: lock_secs,
                policy: Default::default(),
                max_failures: distributor_api::DEFAULT_MAX_FAILURES,
            },
        )
        .await
        .expect("upload program");
    let mut groups = Vec::new();
    for (a, b) in ranges {
        groups.push(
            org.client
                .upload_inputs(
                    program,
                    format!("{a},{b}").into_bytes(),
                    &UploadInputsData {
                        name: format!("range-{a}-{b}"),
                    },
                )
                .await
                .expect("upload inputs"),
        );
    }
    (program, groups)
}

pub async fn status(org: &Org, program: Uuid) -> ProgramStatus {
    org.client
        .program_status(program)
        .await
        .expect("program status")
}

/// The client binary, with no config file or environment of the developer's leaking in.
pub fn executor() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_executor-client"));
    command
        .env_remove("PROGRAM_DISTRIBUTOR_URL")
        .env_remove("EXECUTOR_CPUS")
        .env("XDG_CONFIG_HOME", measured_config_home())
        .env(
            "EXECUTOR_CONFIG",
            workspace_file("executor-client/src/config/qa.json"),
        );
    command
}

/// A config home (`XDG_CONFIG_HOME`) whose speed file says this machine was measured already, so
/// that `run` skips its calibration: fast enough that no test job is dropped for its estimate.
/// Shared by the tests of one process; proofs refresh it, which changes nothing that matters.
pub fn measured_config_home() -> &'static Path {
    static HOME: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    HOME.get_or_init(|| {
        let home = std::env::temp_dir().join(format!("executor-tests-{}", std::process::id()));
        let dir = home.join("executor-client");
        std::fs::create_dir_all(&dir).expect("config home");
        std::fs::write(
            dir.join("speed.json"),
            r#"{"units_per_cpu_sec": 1e12, "proofs": 1}"#,
        )
        .expect("speed file");
        home
    })
}

/// A running client whose stdout JSON events are read as they come.
pub struct Running {
    pub child: Child,
    events: mpsc::Receiver<Value>,
    stderr: std::thread::JoinHandle<String>,
}

pub fn spawn(args: &[&str]) -> Running {
    let mut child = executor()
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start executor-client");
    let stdout = child.stdout.take().expect("stdout");
    let stderr = child.stderr.take().expect("stderr");
    let (sender, events) = mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
        {
            let value = serde_json::from_str(&line)
                .unwrap_or_else(|e| panic!("not a JSON line ({e}): {line}"));
            if sender.send(value).is_err() {
                return;
            }
        }
    });
    let stderr = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = std::io::Read::read_to_string(&mut std::io::BufReader::new(stderr), &mut text);
        text
    });
    Running {
        child,
        events,
        stderr,
    }
}

impl Running {
    /// The next event, or a panic after `secs`.
    pub fn next_event(&mut self, secs: u64) -> Value {
        match self.events.recv_timeout(Duration::from_secs(secs)) {
            Ok(value) => value,
            Err(_) => {
                let _ = self.child.kill();
                panic!("no event from executor-client within {secs}s");
            }
        }
    }

    /// Skips events until one named `name` comes.
    pub fn wait_for(&mut self, name: &str, secs: u64) -> Value {
        let deadline = std::time::Instant::now() + Duration::from_secs(secs);
        loop {
            let left = deadline
                .saturating_duration_since(std::time::Instant::now())
                .as_secs()
                .max(1);
            let event = self.next_event(left);
            if event["event"] == name {
                return event;
            }
        }
    }

    pub fn interrupt(&self) {
        // SAFETY: kill(2) on our own child process.
        unsafe {
            libc::kill(self.child.id() as libc::pid_t, libc::SIGINT);
        }
    }

    /// Waits for the exit (killing it after `secs`); returns the code, the remaining events
    /// and stderr.
    pub fn finish(mut self, secs: u64) -> (Option<i32>, Vec<Value>, String) {
        let deadline = std::time::Instant::now() + Duration::from_secs(secs);
        let status = loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                break status;
            }
            if std::time::Instant::now() > deadline {
                let _ = self.child.kill();
                panic!("executor-client did not exit within {secs}s");
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        let stderr = self.stderr.join().unwrap_or_default();
        let events = self.events.try_iter().collect();
        (status.code(), events, stderr)
    }
}

/// Runs each `async fn name(server: Server)` against a fresh server on each backend.
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        program_distributor::both_backends!(async $crate::common::start; $($name),*);
    };
}

/// A TCP proxy in front of the server that counts the requests of some kinds passing through
/// it (by their request line, e.g. `GET /program/program-and-inputs/`), so that a test counts
/// what a client really sends rather than what it says it does.
pub struct CountingProxy {
    pub url: String,
    counters: std::sync::Arc<Vec<(&'static str, std::sync::atomic::AtomicUsize)>>,
}

impl CountingProxy {
    /// Starts the proxy to `upstream` (`http://host:port`), counting requests whose request
    /// line starts with each of `kinds`.
    pub async fn start(upstream: &str, kinds: &[&'static str]) -> CountingProxy {
        use std::sync::atomic::AtomicUsize;
        let upstream = upstream
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .to_string();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the proxy");
        let url = format!("http://{}", listener.local_addr().expect("address"));
        let counters: std::sync::Arc<Vec<_>> = std::sync::Arc::new(
            kinds
                .iter()
                .map(|&kind| (kind, AtomicUsize::new(0)))
                .collect(),
        );
        let counting = counters.clone();
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let Ok(server) = tokio::net::TcpStream::connect(&upstream).await else {
                    continue;
                };
                tokio::spawn(relay(client, server, counting.clone()));
            }
        });
        CountingProxy { url, counters }
    }

    /// Requests of `kind` seen so far.
    pub fn count(&self, kind: &str) -> usize {
        self.counters
            .iter()
            .find(|(k, _)| *k == kind)
            .map_or(0, |(_, n)| n.load(std::sync::atomic::Ordering::SeqCst))
    }
}

/// Copies one connection both ways, counting the request lines going to the server. A request
/// line starts after the previous request's end, so it is looked for right after a line break
/// (or at the connection's start); a line split between two reads is kept until it is whole.
async fn relay(
    client: tokio::net::TcpStream,
    server: tokio::net::TcpStream,
    counters: std::sync::Arc<Vec<(&'static str, std::sync::atomic::AtomicUsize)>>,
) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let (mut client_read, mut client_write) = client.into_split();
    let (mut server_read, mut server_write) = server.into_split();
    let back = tokio::spawn(async move {
        let _ = tokio::io::copy(&mut server_read, &mut client_write).await;
        let _ = client_write.shutdown().await;
    });
    let mut buffer = vec![0u8; 64 * 1024];
    let mut line = b"\n".to_vec();
    while let Ok(n) = client_read.read(&mut buffer).await {
        if n == 0 || server_write.write_all(&buffer[..n]).await.is_err() {
            break;
        }
        for &byte in &buffer[..n] {
            if byte == b'\n' {
                line.clear();
            }
            if line.len() < 128 {
                line.push(byte);
            }
            for (kind, count) in counters.iter() {
                if line.len() == kind.len() + 1 && &line[1..] == kind.as_bytes() {
                    count.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                }
            }
        }
    }
    let _ = server_write.shutdown().await;
    let _ = back.await;
}
