//! Load generator for the reservation path (`GET /program/program-and-inputs/{id}`).
//!
//! Starts the server in this process on MariaDB (+ a local object directory), uploads a program
//! and enough input groups over HTTP, then runs N concurrent reserving clients for a fixed time
//! and prints reservations/s and latency percentiles; then the same on the embedded SQLite
//! default as the baseline, and the ratio.
//!
//!     . scripts/services.sh
//!     cargo bench -p program-distributor --bench reservations -- [--clients 32] [--seconds 5] [--groups 20000]
//!
//! The same knobs as environment variables: BENCH_CLIENTS, BENCH_SECONDS, BENCH_GROUPS; and
//! BENCH_POOL, the database pool size (default: the server's default, 16).

use std::time::{Duration, Instant};

use distributor_api::{
    Client, ClientError, ErrorCode, LoginRequest, RegisterRequest, UploadInputsData,
    UploadProgramData,
};
use futures_util::StreamExt;
use program_distributor::configuration::{
    DatabaseSettings, DatabaseUrl, Limits, ServerSettings, Settings, StorageSettings, TokenSettings,
};
use program_distributor::startup::Application;
use uuid::Uuid;

struct Options {
    clients: usize,
    seconds: u64,
    groups: usize,
}

fn options() -> Options {
    let env = |name: &str, default: u64| {
        std::env::var(name)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    };
    let mut options = Options {
        clients: env("BENCH_CLIENTS", 32) as usize,
        seconds: env("BENCH_SECONDS", 5),
        groups: env("BENCH_GROUPS", 20_000) as usize,
    };
    let args: Vec<String> = std::env::args().collect();
    let mut i = 1;
    while i < args.len() {
        let value = args.get(i + 1).and_then(|v| v.parse::<u64>().ok());
        match (args[i].as_str(), value) {
            ("--clients", Some(v)) => options.clients = v.max(1) as usize,
            ("--seconds", Some(v)) => options.seconds = v.max(1),
            ("--groups", Some(v)) => options.groups = v.max(1) as usize,
            _ => {
                i += 1; // `cargo bench` passes `--bench`; ignore what is not ours
                continue;
            }
        }
        i += 2;
    }
    options
}

struct Outcome {
    reservations: usize,
    empty: usize,
    elapsed: Duration,
    latencies: Vec<Duration>,
    upload_rate: f64,
}

fn settings(database: DatabaseUrl, dir: &std::path::Path, pool: u32) -> Settings {
    Settings {
        server: ServerSettings {
            address: "127.0.0.1".into(),
            port: 0,
            workers: None,
            timeouts: Default::default(),
            max_connections: program_distributor::configuration::DEFAULT_MAX_CONNECTIONS,
        },
        database: DatabaseSettings {
            url: database,
            pool_size: pool,
        },
        tokens: TokenSettings {
            basic_secret: "bench-basic".into(),
            basic_minutes: 60,
            refresh_secret: "bench-refresh".into(),
            refresh_days: 1,
        },
        storage: StorageSettings::Local(dir.join("objects")),
        limits: Limits::default(),
        rate_limits: program_distributor::testing::generous_rates(),
        data_dir: dir.to_path_buf(),
    }
}

async fn run(settings: Settings, options: &Options) -> Outcome {
    let app = Application::build(settings).await.expect("server start");
    let base = format!("http://127.0.0.1:{}", app.port());
    tokio::spawn(app.run_until_stopped());
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(options.clients * 2)
        .build()
        .expect("http client");
    let client = Client::with_http_client(http, base);

    client
        .register(&RegisterRequest {
            username: "bench".into(),
            password: "bench-password".into(),
            name: "Bench".into(),
            description: String::new(),
        })
        .await
        .expect("register");
    let login = client
        .login(&LoginRequest {
            username: "bench".into(),
            password: "bench-password".into(),
        })
        .await
        .expect("login");
    let org = client.with_token(login.basic_token.token);
    let tar = program_distributor::domain::archive::build_tar(&[(
        "program.json",
        include_bytes!("../tests/fixtures/proof_mode.json"),
    )])
    .expect("tar");
    let program = org
        .upload_program(
            tar,
            &UploadProgramData {
                name: "bench".into(),
                description: String::new(),
                execution_timeout: 3600,
                policy: Default::default(),
                max_failures: distributor_api::DEFAULT_MAX_FAILURES,
            },
        )
        .await
        .expect("upload program");

    let started = Instant::now();
    futures_util::stream::iter(0..options.groups)
        .map(|i| {
            let org = org.clone();
            async move {
                org.upload_inputs(
                    program,
                    i.to_string().into_bytes(),
                    &UploadInputsData {
                        name: format!("g{i}"),
                    },
                )
                .await
                .expect("upload inputs")
            }
        })
        .buffer_unordered(16)
        .for_each(|_| async {})
        .await;
    let upload_rate = options.groups as f64 / started.elapsed().as_secs_f64();

    let deadline = Instant::now() + Duration::from_secs(options.seconds);
    let started = Instant::now();
    let workers: Vec<_> = (0..options.clients)
        .map(|_| {
            let client = client.anonymous();
            tokio::spawn(async move {
                let mut latencies = Vec::new();
                let mut empty = 0usize;
                while Instant::now() < deadline {
                    let t = Instant::now();
                    match client.reserve_raw(program).await {
                        Ok(_) => latencies.push(t.elapsed()),
                        Err(ClientError::Api {
                            code: ErrorCode::NoInputGroupAvailable,
                            ..
                        }) => {
                            empty += 1;
                            break;
                        }
                        Err(e) => panic!("reservation failed: {e}"),
                    }
                }
                (latencies, empty)
            })
        })
        .collect();
    let mut latencies = Vec::new();
    let mut empty = 0;
    for worker in workers {
        let (l, e) = worker.await.expect("worker");
        latencies.extend(l);
        empty += e;
    }
    let elapsed = started.elapsed();
    latencies.sort();
    Outcome {
        reservations: latencies.len(),
        empty,
        elapsed,
        latencies,
        upload_rate,
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index.min(sorted.len() - 1)]
}

fn report(label: &str, outcome: &Outcome, clients: usize) -> f64 {
    let rate = outcome.reservations as f64 / outcome.elapsed.as_secs_f64();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "{label:<22} clients={clients:<3} reservations={:<7} in {:.2}s  => {rate:>8.0} reservations/s  \
         p50={:.2}ms p90={:.2}ms p99={:.2}ms max={:.2}ms  (uploads: {:.0}/s{})",
        outcome.reservations,
        outcome.elapsed.as_secs_f64(),
        ms(percentile(&outcome.latencies, 0.50)),
        ms(percentile(&outcome.latencies, 0.90)),
        ms(percentile(&outcome.latencies, 0.99)),
        ms(outcome.latencies.last().copied().unwrap_or_default()),
        outcome.upload_rate,
        if outcome.empty > 0 {
            "; ran out of input groups, raise --groups".to_string()
        } else {
            String::new()
        }
    );
    rate
}

fn main() {
    let options = options();
    let mysql = std::env::var("TEST_MYSQL_URL").unwrap_or_else(|_| {
        eprintln!("TEST_MYSQL_URL is not set: run `. scripts/services.sh` first");
        std::process::exit(2);
    });
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    println!(
        "reservation benchmark: {} clients, {} s per backend, {} input groups, {} CPUs, pool {}",
        options.clients,
        options.seconds,
        options.groups,
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        std::env::var("BENCH_POOL").unwrap_or_else(|_| "16 (default)".into())
    );
    runtime.block_on(async {
        let server = mysql.trim_end_matches('/').to_string();
        let name = format!("pd_bench_{}", Uuid::new_v4().simple());
        execute_mysql(
            &server,
            &format!("CREATE DATABASE `{name}` CHARACTER SET utf8mb4"),
        );
        let dir = tempfile::tempdir().expect("tempdir");
        let pool = std::env::var("BENCH_POOL")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(program_distributor::configuration::DEFAULT_POOL_SIZE);
        let mariadb = run(
            settings(
                DatabaseUrl::Mysql(format!("{server}/{name}")),
                dir.path(),
                pool,
            ),
            &options,
        )
        .await;
        execute_mysql(&server, &format!("DROP DATABASE `{name}`"));
        let mariadb_rate = report("MariaDB + local dir", &mariadb, options.clients);

        let dir = tempfile::tempdir().expect("tempdir");
        let sqlite = run(
            settings(
                DatabaseUrl::Sqlite(dir.path().join("bench.sqlite3")),
                dir.path(),
                pool,
            ),
            &options,
        )
        .await;
        let sqlite_rate = report("SQLite + local dir", &sqlite, options.clients);
        println!(
            "MariaDB / SQLite throughput ratio: {:.2}",
            mariadb_rate / sqlite_rate.max(f64::MIN_POSITIVE)
        );
    });
}

fn execute_mysql(server: &str, sql: &str) {
    use diesel::connection::SimpleConnection;
    use diesel::Connection;
    let mut conn = diesel::MysqlConnection::establish(server)
        .unwrap_or_else(|e| panic!("cannot connect to {server}: {e}"));
    conn.batch_execute(sql).expect(sql);
}
