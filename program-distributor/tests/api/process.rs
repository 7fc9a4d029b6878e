//! The real server binary as a child process, for the tests that kill it (SIGKILL), stop it
//! (SIGTERM), run several of it, or run it on a file system of its own.
//!
//! The child gets its settings from environment variables only (the ones `main` documents), made
//! from the same [`Settings`] the in-process tests use, and an empty config file (so that a
//! developer's `src/config/dev.json` is never read).

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use program_distributor::configuration::{DatabaseUrl, Settings, StorageSettings};
use secrecy::ExposeSecret;

/// The variables that start the binary on `settings` (database, storage, secrets, data
/// directory), listening on a random port of 127.0.0.1, logging JSON.
pub fn environment(settings: &Settings) -> Vec<(String, String)> {
    let mut env = vec![
        ("SERVER_ADDRESS", "127.0.0.1".to_string()),
        ("SERVER_PORT", "0".to_string()),
        ("SERVER_WORKERS", "2".to_string()),
        ("DATA_DIR", settings.data_dir.display().to_string()),
        (
            "BASIC_TOKEN_SECRET",
            settings.tokens.basic_secret.expose_secret().to_string(),
        ),
        (
            "REFRESH_TOKEN_SECRET",
            settings.tokens.refresh_secret.expose_secret().to_string(),
        ),
        ("ALLOW_WEAK_TOKEN_SECRETS", "true".to_string()),
        ("LOG_FORMAT", "json".to_string()),
        ("RUST_LOG", "info".to_string()),
    ];
    for name in [
        "RATE_LOGIN_PER_IP",
        "RATE_LOGIN_PER_USERNAME",
        "RATE_REGISTER_PER_IP",
        "RATE_UPLOADS_PER_IP",
        "RATE_RESERVATIONS_PER_IP",
    ] {
        env.push((name, "100000".to_string()));
    }
    env.push((
        "DATABASE_URL",
        match &settings.database.url {
            DatabaseUrl::Mysql(url) => url.clone(),
            DatabaseUrl::Sqlite(path) => format!("sqlite://{}", path.display()),
        },
    ));
    match &settings.storage {
        StorageSettings::Local(dir) => {
            env.push(("FILES_STORAGE_DIRECTORY", dir.display().to_string()));
        }
        StorageSettings::S3(s3) => {
            let connection = [
                s3.region.as_str(),
                s3.bucket.as_str(),
                s3.key_id.expose_secret(),
                s3.key_secret.expose_secret(),
            ];
            env.push(("FILES_STORAGE_CONNECTION_STRING", connection.join(":")));
            env.push(("S3_ENDPOINT", s3.endpoint.clone().unwrap_or_default()));
            env.push(("S3_FORCE_PATH_STYLE", "true".to_string()));
        }
    }
    env.into_iter().map(|(k, v)| (k.to_string(), v)).collect()
}

/// A running server binary; killed (SIGKILL) when dropped.
pub struct ServerProcess {
    child: Child,
    /// `http://127.0.0.1:<port>`.
    pub address: String,
    /// The last lines it logged (for failure messages).
    log: Arc<Mutex<Vec<String>>>,
}

/// How long a server may take to start listening.
const START_TIMEOUT: Duration = Duration::from_secs(60);

impl ServerProcess {
    /// Starts the binary with `env` (over an emptied environment), its config file an empty one
    /// under `config_dir`; `wrap` is a command line the binary is run through (e.g. `unshare`),
    /// empty for none. Returns once the server answers `/health`.
    pub async fn start(env: &[(String, String)], config_dir: &Path, wrap: &[String]) -> Self {
        let config = config_dir.join("empty-config.json");
        std::fs::write(&config, "{}").expect("write the empty config file");
        let binary = env!("CARGO_BIN_EXE_program-distributor");
        let mut argv: Vec<String> = wrap.to_vec();
        argv.extend([
            binary.to_string(),
            "--config".into(),
            config.display().to_string(),
        ]);
        let mut child = Command::new(&argv[0])
            .args(&argv[1..])
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .envs(env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {argv:?}: {e}"));
        let log = Arc::new(Mutex::new(Vec::new()));
        let (port_tx, port_rx) = std::sync::mpsc::channel();
        let stderr = child.stderr.take().expect("piped stderr");
        let kept = log.clone();
        // Reads the log to its end (a full pipe would block the server) and reports the port.
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(port) = listening_port(&line) {
                    let _ = port_tx.send(port);
                }
                let mut kept = kept.lock().unwrap();
                if kept.len() >= 200 {
                    kept.remove(0);
                }
                kept.push(line);
            }
        });
        let port = tokio::task::spawn_blocking(move || port_rx.recv_timeout(START_TIMEOUT))
            .await
            .expect("port task");
        let mut server = ServerProcess {
            child,
            address: String::new(),
            log,
        };
        match port {
            Ok(port) => server.address = format!("http://127.0.0.1:{port}"),
            Err(_) => panic!("the server did not start:\n{}", server.log_text()),
        }
        server.wait_healthy().await;
        server
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// What it logged last.
    pub fn log_text(&self) -> String {
        self.log.lock().unwrap().join("\n")
    }

    async fn wait_healthy(&self) {
        let deadline = Instant::now() + START_TIMEOUT;
        let url = format!("{}/health", self.address);
        while Instant::now() < deadline {
            if let Ok(response) = reqwest::get(&url).await {
                if response.status().is_success() {
                    return;
                }
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("the server never answered /health:\n{}", self.log_text());
    }

    /// SIGKILL, then waits for the process to be gone.
    pub fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Sends SIGTERM (a graceful stop) without waiting.
    pub fn terminate(&self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.pid().to_string()])
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -TERM failed");
    }

    /// Waits at most `timeout` for the process to exit; its exit status, or `None` if it is
    /// still running.
    pub async fn exited_within(&mut self, timeout: Duration) -> Option<std::process::ExitStatus> {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                return Some(status);
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        None
    }

    /// The sample `series` of `GET /metrics` (0 when absent).
    pub async fn metric(&self, series: &str) -> f64 {
        let text = reqwest::get(format!("{}/metrics", self.address))
            .await
            .expect("GET /metrics")
            .text()
            .await
            .expect("metrics text");
        text.lines()
            .find_map(|line| line.strip_prefix(series)?.strip_prefix(' '))
            .map_or(0.0, |value| value.parse().expect("a number"))
    }

    /// Waits until the start-up sweep of the object store is done.
    pub async fn wait_for_sweep(&self) {
        let deadline = Instant::now() + START_TIMEOUT;
        while self.metric("storage_sweeps_total").await < 1.0 {
            assert!(
                Instant::now() < deadline,
                "no sweep at start-up:\n{}",
                self.log_text()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The port of the "listening" line the server logs at start-up (JSON format).
fn listening_port(line: &str) -> Option<u16> {
    let value: serde_json::Value = serde_json::from_str(line).ok()?;
    let fields = value.get("fields")?;
    if fields.get("message")?.as_str()? != "program-distributor listening" {
        return None;
    }
    u16::try_from(fields.get("port")?.as_u64()?).ok()
}
