//! Load generator for the reservation path (`GET /program/program-and-inputs/{id}`).
//!
//! Starts the server in this process on MariaDB (+ a local object directory), uploads a program
//! and enough input groups over HTTP, then runs N concurrent reserving clients for a fixed time
//! and prints reservations/s and latency percentiles; then the same with three replicas of the
//! server on one MariaDB database (the clients spread over them), then on the embedded SQLite
//! default as the baseline. Every run checks that no input group was handed out twice (the
//! locks outlast the run), and stops with an error if one was.
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
    /// Reservations of a group handed out before (must be 0: locks outlast the run).
    duplicates: usize,
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
        storage_care: Default::default(),
        data_dir: dir.to_path_buf(),
    }
}

/// Starts `replicas` servers on `settings` (one after the other: the first migrates); their
/// addresses.
async fn start(settings: &Settings, replicas: usize) -> Vec<String> {
    let mut addresses = Vec::new();
    for _ in 0..replicas {
        let app = Application::build(settings.clone())
            .await
            .expect("server start");
        addresses.push(format!("http://127.0.0.1:{}", app.port()));
        tokio::spawn(app.run_until_stopped());
    }
    addresses
}

async fn run(settings: Settings, replicas: usize, options: &Options) -> Outcome {
    let addresses = start(&settings, replicas).await;
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(options.clients * 2)
        .build()
        .expect("http client");
    let client = Client::with_http_client(http.clone(), addresses[0].clone());

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
        .map(|i| {
            let address = addresses[i % addresses.len()].clone();
            let client = Client::with_http_client(http.clone(), address);
            tokio::spawn(async move {
                let mut latencies = Vec::new();
                let mut groups = Vec::new();
                let mut empty = 0usize;
                while Instant::now() < deadline {
                    let t = Instant::now();
                    match client.reserve(program).await {
                        Ok(reservation) => {
                            latencies.push(t.elapsed());
                            groups.push(reservation.metadata.input_group_id);
                        }
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
                (latencies, groups, empty)
            })
        })
        .collect();
    let mut latencies = Vec::new();
    let mut groups = std::collections::HashSet::new();
    let (mut empty, mut duplicates) = (0, 0);
    for worker in workers {
        let (l, g, e) = worker.await.expect("worker");
        latencies.extend(l);
        duplicates += g.into_iter().filter(|group| !groups.insert(*group)).count();
        empty += e;
    }
    let elapsed = started.elapsed();
    latencies.sort();
    Outcome {
        reservations: latencies.len(),
        duplicates,
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
        "{label:<26} clients={clients:<3} reservations={:<7} in {:.2}s  => {rate:>8.0} reservations/s  \
         p50={:.2}ms p90={:.2}ms p99={:.2}ms max={:.2}ms  handed out twice: {}  (uploads: {:.0}/s{})",
        outcome.reservations,
        outcome.elapsed.as_secs_f64(),
        ms(percentile(&outcome.latencies, 0.50)),
        ms(percentile(&outcome.latencies, 0.90)),
        ms(percentile(&outcome.latencies, 0.99)),
        ms(outcome.latencies.last().copied().unwrap_or_default()),
        outcome.duplicates,
        outcome.upload_rate,
        if outcome.empty > 0 {
            "; ran out of input groups, raise --groups".to_string()
        } else {
            String::new()
        }
    );
    assert_eq!(
        outcome.duplicates, 0,
        "{label}: an input group was handed out twice while its lock was live"
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
        let pool = std::env::var("BENCH_POOL")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(program_distributor::configuration::DEFAULT_POOL_SIZE);
        let mut rates = Vec::new();
        for replicas in [1, 3] {
            let name = format!("pd_bench_{}", Uuid::new_v4().simple());
            execute_mysql(
                &server,
                &format!("CREATE DATABASE `{name}` CHARACTER SET utf8mb4"),
            );
            let dir = tempfile::tempdir().expect("tempdir");
            let database = DatabaseUrl::Mysql(format!("{server}/{name}"));
            let outcome = run(settings(database, dir.path(), pool), replicas, &options).await;
            execute_mysql(&server, &format!("DROP DATABASE `{name}`"));
            let label = format!("MariaDB, {replicas} replica(s)");
            rates.push(report(&label, &outcome, options.clients));
        }
        println!(
            "3 replicas / 1 replica throughput ratio on MariaDB: {:.2}",
            rates[1] / rates[0].max(f64::MIN_POSITIVE)
        );

        let dir = tempfile::tempdir().expect("tempdir");
        let sqlite = run(
            settings(
                DatabaseUrl::Sqlite(dir.path().join("bench.sqlite3")),
                dir.path(),
                pool,
            ),
            1,
            &options,
        )
        .await;
        let sqlite_rate = report("SQLite, 1 replica", &sqlite, options.clients);
        println!(
            "MariaDB (1 replica) / SQLite throughput ratio: {:.2}",
            rates[0] / sqlite_rate.max(f64::MIN_POSITIVE)
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
