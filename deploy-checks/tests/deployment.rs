//! The deployment files, checked without a Docker engine: `docker-compose.yml` is parsed and its
//! wiring compared with what the server and the executor read, `.env.example` must define every
//! variable the compose file uses, and the Dockerfiles must build in stages and run as non-root.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use yaml_rust2::{Yaml, YamlLoader};

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("deploy-checks sits in the workspace root")
        .to_path_buf()
}

fn read(relative: &str) -> String {
    let path = repo_root().join(relative);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

fn compose() -> Yaml {
    let mut docs = YamlLoader::load_from_str(&read("docker-compose.yml"))
        .unwrap_or_else(|e| panic!("docker-compose.yml is not valid YAML: {e}"));
    assert_eq!(docs.len(), 1, "docker-compose.yml holds one document");
    docs.remove(0)
}

fn service<'a>(compose: &'a Yaml, name: &str) -> &'a Yaml {
    let service = &compose["services"][name];
    assert!(
        service.as_hash().is_some(),
        "docker-compose.yml has no service `{name}`"
    );
    service
}

fn text<'a>(value: &'a Yaml, what: &str) -> &'a str {
    value
        .as_str()
        .unwrap_or_else(|| panic!("{what} should be a string, found {value:?}"))
}

/// A service's `environment` map as (name, value) strings (numbers and booleans as written).
fn environment(service: &Yaml) -> Vec<(String, String)> {
    let env = service["environment"]
        .as_hash()
        .expect("environment is written as a map");
    env.iter()
        .map(|(k, v)| {
            let value = match v {
                Yaml::String(s) | Yaml::Real(s) => s.clone(),
                Yaml::Integer(i) => i.to_string(),
                Yaml::Boolean(b) => b.to_string(),
                other => panic!("environment value {other:?} of {k:?} is not a scalar"),
            };
            (text(k, "an environment name").to_string(), value)
        })
        .collect()
}

fn env_value(service: &Yaml, name: &str) -> String {
    environment(service)
        .into_iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v)
        .unwrap_or_else(|| panic!("the service does not set {name}"))
}

fn ports(service: &Yaml) -> Vec<&str> {
    service["ports"]
        .as_vec()
        .expect("ports is a list")
        .iter()
        .map(|p| text(p, "a port mapping"))
        .collect()
}

fn depends_on_condition<'a>(service: &'a Yaml, dependency: &str) -> &'a str {
    text(
        &service["depends_on"][dependency]["condition"],
        &format!("the depends_on condition on `{dependency}`"),
    )
}

fn healthcheck_test(service: &Yaml) -> String {
    let test = &service["healthcheck"]["test"];
    let words: Vec<&str> = test
        .as_vec()
        .expect("healthcheck.test is a list")
        .iter()
        .map(|w| text(w, "a healthcheck word"))
        .collect();
    assert!(
        matches!(words.first(), Some(&"CMD") | Some(&"CMD-SHELL")),
        "healthcheck.test starts with CMD or CMD-SHELL: {words:?}"
    );
    words.join(" ")
}

/// Every string of the parsed file (keys and values: what compose interpolates; comments are not).
fn strings(yaml: &Yaml, out: &mut Vec<String>) {
    match yaml {
        Yaml::String(s) => out.push(s.clone()),
        Yaml::Array(items) => items.iter().for_each(|i| strings(i, out)),
        Yaml::Hash(map) => map.iter().for_each(|(k, v)| {
            strings(k, out);
            strings(v, out);
        }),
        _ => {}
    }
}

/// Names of the `${VAR}`, `${VAR:-default}`, `${VAR:?message}` references; `$$` is a literal `$`
/// (a variable of the container's shell, not of compose). Defaults are scanned too.
fn compose_variables(source: &str) -> BTreeSet<String> {
    let bytes = source.as_bytes();
    let mut names = BTreeSet::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'$' && bytes.get(i + 1) == Some(&b'$') {
            i += 2;
        } else if bytes[i] == b'$' && bytes.get(i + 1) == Some(&b'{') {
            let start = i + 2;
            let end = start
                + bytes[start..]
                    .iter()
                    .take_while(|b| b.is_ascii_alphanumeric() || **b == b'_')
                    .count();
            assert!(end > start, "an empty ${{}} at byte {i}");
            names.insert(source[start..end].to_string());
            i = end;
        } else {
            i += 1;
        }
    }
    names
}

/// `NAME=value` lines of an env file (comments and blank lines skipped).
fn env_sample(source: &str) -> Vec<(String, String)> {
    source
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| {
            let (k, v) = l
                .split_once('=')
                .unwrap_or_else(|| panic!("`{l}` is not NAME=value"));
            (k.trim().to_string(), v.trim().to_string())
        })
        .collect()
}

#[test]
fn the_compose_file_has_the_services_of_the_spec() {
    let compose = compose();
    for name in [
        "db",
        "phpmyadmin",
        "minio",
        "minio-init",
        "server",
        "proxy",
        "executor",
    ] {
        service(&compose, name);
    }
    let db_image = text(&service(&compose, "db")["image"], "db.image");
    assert!(db_image.starts_with("mysql:8"), "MySQL 8, not {db_image}");
    assert!(text(&service(&compose, "minio")["image"], "minio.image").starts_with("minio/minio:"));
    assert!(text(
        &service(&compose, "minio-init")["image"],
        "minio-init.image"
    )
    .starts_with("minio/mc:"));
}

#[test]
fn published_ports_default_to_the_spec() {
    let compose = compose();
    // The HTTP API is published by the proxy; the server publishes nothing, so it can scale.
    assert_eq!(
        ports(service(&compose, "proxy")),
        ["${SERVER_EXTERNAL_PORT:-8080}:8080"]
    );
    assert!(service(&compose, "server")["ports"].is_badvalue());
    assert_eq!(
        ports(service(&compose, "phpmyadmin")),
        ["${PHPMYADMIN_EXTERNAL_PORT:-9000}:80"]
    );
    // The database and the object store console are only reachable from the machine itself.
    for name in ["db", "minio"] {
        for port in ports(service(&compose, name)) {
            assert!(
                port.starts_with("127.0.0.1:"),
                "{name} publishes {port} beyond the loopback"
            );
        }
    }
}

#[test]
fn data_lives_in_named_volumes() {
    let compose = compose();
    for (name, mount) in [
        ("db", "db-data:/var/lib/mysql"),
        ("minio", "objects-data:/data"),
    ] {
        let volumes: Vec<&str> = service(&compose, name)["volumes"]
            .as_vec()
            .unwrap_or_else(|| panic!("{name} has volumes"))
            .iter()
            .map(|v| text(v, "a volume"))
            .collect();
        assert!(volumes.contains(&mount), "{name} mounts {mount}");
        let volume = mount.split(':').next().unwrap_or_default();
        assert!(
            compose["volumes"][volume].as_hash().is_some(),
            "`{volume}` is declared under the top-level volumes"
        );
    }
    // `make clear_db` removes them by these names.
    let makefile = read("Makefile");
    for volume in ["db-data", "objects-data"] {
        let name = text(&compose["volumes"][volume]["name"], "a volume's name");
        assert!(
            makefile.contains(name),
            "the Makefile does not name the volume {name}"
        );
    }
}

#[test]
fn long_running_services_have_healthchecks() {
    let compose = compose();
    assert!(healthcheck_test(service(&compose, "db")).contains("mysqladmin ping"));
    assert!(healthcheck_test(service(&compose, "minio")).contains("mc ready local"));
    let server = service(&compose, "server");
    let check = healthcheck_test(server);
    let port = env_value(server, "SERVER_PORT");
    assert!(
        check.contains(&format!("http://127.0.0.1:{port}/health")),
        "the server's healthcheck asks GET /health on its own port: {check}"
    );
    assert!(check.contains("--fail"), "a 503 must count as unhealthy");
}

#[test]
fn the_server_waits_for_the_database_and_the_bucket() {
    let compose = compose();
    let server = service(&compose, "server");
    assert_eq!(depends_on_condition(server, "db"), "service_healthy");
    assert_eq!(
        depends_on_condition(server, "minio-init"),
        "service_completed_successfully"
    );
    assert_eq!(
        depends_on_condition(service(&compose, "minio-init"), "minio"),
        "service_healthy"
    );
    assert_eq!(
        depends_on_condition(service(&compose, "phpmyadmin"), "db"),
        "service_healthy"
    );
    // Every dependency names a service, with a condition compose knows.
    let services = compose["services"].as_hash().expect("services is a map");
    for (name, service) in services {
        let Some(deps) = service["depends_on"].as_hash() else {
            continue;
        };
        for (dep, spec) in deps {
            assert!(services.contains_key(dep), "{name:?} depends on {dep:?}");
            let condition = text(&spec["condition"], "a condition");
            assert!(
                [
                    "service_started",
                    "service_healthy",
                    "service_completed_successfully"
                ]
                .contains(&condition),
                "{name:?}: unknown condition {condition}"
            );
            if condition == "service_healthy" {
                assert!(
                    services[dep]["healthcheck"].as_hash().is_some(),
                    "{name:?} waits for {dep:?} to be healthy, but it has no healthcheck"
                );
            }
        }
    }
}

#[test]
fn the_bucket_job_creates_the_bucket_the_server_uses() {
    let compose = compose();
    let job = service(&compose, "minio-init");
    assert_eq!(text(&job["restart"], "minio-init.restart"), "no");
    let script: Vec<&str> = job["command"]
        .as_vec()
        .expect("command is a list")
        .iter()
        .map(|w| text(w, "a command word"))
        .collect();
    let script = script.join(" ");
    assert!(script.contains("mc mb --ignore-existing"), "{script}");
    assert!(script.contains("http://minio:9000"), "{script}");
    assert_eq!(env_value(job, "S3_BUCKET"), "${S3_BUCKET}");

    let server = service(&compose, "server");
    assert_eq!(
        env_value(server, "FILES_STORAGE_CONNECTION_STRING"),
        "${S3_REGION}:${S3_BUCKET}:${S3_ACCESS_KEY}:${S3_SECRET_KEY}"
    );
    assert_eq!(env_value(server, "FILES_STORAGE_ARGUMENTS_SEPARATOR"), ":");
    assert_eq!(env_value(server, "S3_ENDPOINT"), "http://minio:9000");
    assert_eq!(env_value(server, "S3_FORCE_PATH_STYLE"), "true");
    // The job signs in with the keys MinIO was started with.
    let minio = service(&compose, "minio");
    assert_eq!(env_value(minio, "MINIO_ROOT_USER"), "${S3_ACCESS_KEY}");
    assert_eq!(env_value(minio, "MINIO_ROOT_PASSWORD"), "${S3_SECRET_KEY}");
}

#[test]
fn the_server_scales_behind_the_proxy() {
    let compose = compose();
    let server = service(&compose, "server");
    for fixed in ["ports", "container_name"] {
        assert!(
            server[fixed].is_badvalue(),
            "the server sets `{fixed}`: `--scale server=3` would clash"
        );
    }
    let port = env_value(server, "SERVER_PORT");
    let exposed: Vec<&str> = server["expose"]
        .as_vec()
        .expect("the server exposes its port to the proxy")
        .iter()
        .map(|p| text(p, "an exposed port"))
        .collect();
    assert_eq!(exposed, [port.as_str()]);
    // Only the proxy reaches the replicas, so they may trust the address it forwards.
    assert_eq!(env_value(server, "TRUST_X_FORWARDED_FOR"), "true");

    let proxy = service(&compose, "proxy");
    assert!(text(&proxy["image"], "proxy.image").starts_with("caddy:2"));
    assert_eq!(depends_on_condition(proxy, "server"), "service_healthy");
    let mount = proxy["volumes"]
        .as_vec()
        .expect("the proxy mounts its config")
        .iter()
        .map(|v| text(v, "a volume"))
        .find(|v| v.ends_with(":/etc/caddy/Caddyfile:ro"))
        .expect("the proxy mounts a Caddyfile read-only");
    let file = mount
        .trim_start_matches("./")
        .split(':')
        .next()
        .unwrap_or_default();
    let caddyfile = read(file);
    assert!(
        caddyfile.contains(&format!("dynamic a server {port}")),
        "{file} spreads requests over every replica of `server` on port {port}"
    );
    assert!(
        caddyfile.contains(&format!(":{port} {{")),
        "{file} listens on {port}"
    );
    // A replica that stops is skipped and the request sent to another (docker compose stop,
    // a rolling restart): passive health checks, since active ones skip dynamic upstreams.
    assert!(caddyfile.contains("fail_duration") && caddyfile.contains("lb_try_duration"));
}

/// Seconds in a compose duration such as `40s` or `2m`.
fn seconds(duration: &str) -> u64 {
    let (number, unit) = duration.split_at(duration.len() - 1);
    let number: u64 = number
        .parse()
        .unwrap_or_else(|_| panic!("duration {duration}"));
    match unit {
        "s" => number,
        "m" => number * 60,
        other => panic!("unit {other} of {duration}"),
    }
}

#[test]
fn a_stopping_server_has_time_to_finish_its_uploads() {
    let compose = compose();
    let server = service(&compose, "server");
    let drain: u64 = env_value(server, "SERVER_SHUTDOWN_TIMEOUT_SECS")
        .parse()
        .expect("a number of seconds");
    let grace = seconds(text(&server["stop_grace_period"], "stop_grace_period"));
    assert!(
        grace > drain,
        "Docker kills the server after {grace} s, before its {drain} s to drain uploads"
    );
}

#[test]
fn the_server_gets_its_settings_from_the_environment() {
    let compose = compose();
    let server = service(&compose, "server");
    assert_eq!(env_value(server, "SERVER_ADDRESS"), "0.0.0.0");
    assert_eq!(
        env_value(server, "DOCKERIZED_DATABASE_URL"),
        "${DOCKERIZED_DATABASE_URL}"
    );
    for secret in ["BASIC_TOKEN_SECRET", "REFRESH_TOKEN_SECRET"] {
        assert!(
            env_value(server, secret).starts_with(&format!("${{{secret}:?")),
            "{secret} comes from .env and is required"
        );
    }
    // Every variable set on the server is one it reads (a typo would be silently ignored).
    let configuration = read("program-distributor/src/configuration.rs");
    for (name, _) in environment(server) {
        assert!(
            name == "RUST_LOG" || configuration.contains(&format!("\"{name}\"")),
            "the server does not read {name} (see program-distributor/src/configuration.rs)"
        );
    }
}

#[test]
fn the_executor_is_opt_in_and_limited_to_executor_cpus() {
    let compose = compose();
    let executor = service(&compose, "executor");
    let profiles: Vec<&str> = executor["profiles"]
        .as_vec()
        .expect("the executor has profiles")
        .iter()
        .map(|p| text(p, "a profile"))
        .collect();
    assert_eq!(profiles, ["executor"]);
    assert_eq!(text(&executor["cpus"], "executor.cpus"), "${EXECUTOR_CPUS}");
    assert_eq!(env_value(executor, "EXECUTOR_CPUS"), "${EXECUTOR_CPUS}");
    assert_eq!(
        env_value(executor, "PROGRAM_DISTRIBUTOR_URL"),
        "${PROGRAM_DISTRIBUTOR_URL:-http://proxy:8080}"
    );
    let cli = read("executor-client/src/cli.rs");
    for (name, _) in environment(executor) {
        assert!(
            cli.contains(&format!("env = \"{name}\"")),
            "the executor does not read {name}"
        );
    }
}

#[test]
fn every_compose_variable_is_defined_in_the_env_sample() {
    let mut values = Vec::new();
    strings(&compose(), &mut values);
    let used: BTreeSet<String> = values.iter().flat_map(|s| compose_variables(s)).collect();
    let sample = env_sample(&read(".env.example"));
    let defined: BTreeSet<String> = sample.iter().map(|(k, _)| k.clone()).collect();
    let missing: Vec<_> = used.difference(&defined).collect();
    assert!(
        missing.is_empty(),
        ".env.example lacks {missing:?} (used in docker-compose.yml)"
    );
    // And the sample carries nothing stale: only DATABASE_URL (for diesel, from the spec) is
    // there without the compose file using it.
    let unused: Vec<_> = defined
        .difference(&used)
        .filter(|name| name.as_str() != "DATABASE_URL")
        .collect();
    assert!(unused.is_empty(), ".env.example defines unused {unused:?}");

    let value = |name: &str| {
        sample
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .unwrap_or_default()
    };
    assert_eq!(value("SERVER_EXTERNAL_PORT"), "8080");
    assert_eq!(value("PHPMYADMIN_EXTERNAL_PORT"), "9000");
    assert_eq!(value("PROGRAM_DISTRIBUTOR_URL"), "http://proxy:8080");
    let cpus: f64 = value("EXECUTOR_CPUS")
        .parse()
        .expect("EXECUTOR_CPUS is a number");
    assert!(cpus >= 0.001, "EXECUTOR_CPUS is at least 0.001");
    assert_ne!(value("BASIC_TOKEN_SECRET"), value("REFRESH_TOKEN_SECRET"));
    // The sample's database URL matches the database the compose file creates.
    assert_eq!(
        value("DOCKERIZED_DATABASE_URL"),
        format!(
            "mysql://root:{}@db:3306/{}",
            value("MYSQL_ROOT_PASSWORD"),
            value("MYSQL_DATABASE")
        )
    );
}

#[test]
fn the_real_env_file_stays_out_of_git_and_images() {
    let gitignore = read(".gitignore");
    assert!(gitignore
        .lines()
        .any(|l| l.trim() == "/.env" || l.trim() == ".env"));
    let dockerignore = read(".dockerignore");
    let rules: Vec<&str> = dockerignore.lines().map(str::trim).collect();
    for rule in [".env", ".git/", "target/", "**/src/config/dev.json"] {
        assert!(rules.contains(&rule), ".dockerignore lacks {rule}");
    }
    // executor-client's tests include its README: Markdown must stay in the build context.
    assert!(!rules.iter().any(|r| r.contains("*.md")));
}

#[test]
fn one_shot_jobs_are_awaited_by_a_long_running_service() {
    // `docker compose up --wait` (make run_all) only accepts an exited container when a running
    // service depends on it with service_completed_successfully.
    let compose = compose();
    let services = compose["services"].as_hash().expect("services is a map");
    for (name, service) in services {
        if service["restart"].as_str() != Some("no") {
            continue;
        }
        let awaited = services.values().any(|other| {
            other["depends_on"][name.as_str().unwrap_or_default()]["condition"].as_str()
                == Some("service_completed_successfully")
        });
        assert!(awaited, "nothing waits for the one-shot {name:?}");
    }
}

/// Instructions of a Dockerfile, continuation lines joined, comments dropped.
fn instructions(dockerfile: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    for line in dockerfile.lines() {
        let line = line.trim();
        if line.starts_with('#') || (line.is_empty() && current.is_empty()) {
            continue;
        }
        match line.strip_suffix('\\') {
            Some(part) => {
                current.push_str(part);
                current.push(' ');
            }
            None => {
                current.push_str(line);
                out.push(std::mem::take(&mut current));
            }
        }
    }
    out
}

fn keyword(instruction: &str) -> String {
    instruction
        .split_whitespace()
        .next()
        .unwrap_or_default()
        .to_ascii_uppercase()
}

fn check_dockerfile(path: &str, binary: &str, runtime_packages: &[&str]) {
    let all = instructions(&read(path));
    let froms: Vec<usize> = (0..all.len())
        .filter(|&i| keyword(&all[i]) == "FROM")
        .collect();
    assert!(froms.len() >= 2, "{path}: a multi-stage build");
    assert!(
        all[froms[0]].contains(" AS builder"),
        "{path}: the first stage is the builder"
    );
    let (build, runtime) = all.split_at(*froms.last().expect("a FROM"));
    assert!(runtime[0].contains("-slim"), "{path}: a slim runtime image");

    let build_run = build
        .iter()
        .find(|i| i.contains("cargo build"))
        .unwrap_or_else(|| panic!("{path}: the builder runs cargo build"));
    for needed in [
        "--release",
        "--locked",
        &format!("-p {binary}"),
        "--mount=type=cache,",
        "target=/usr/local/cargo/registry",
        "target=/src/target",
    ] {
        assert!(
            build_run.contains(needed),
            "{path}: cargo build lacks {needed}"
        );
    }
    assert!(
        runtime
            .iter()
            .any(|i| i.starts_with("COPY --from=builder") && i.contains(binary)),
        "{path}: the runtime copies {binary} from the builder"
    );
    for package in runtime_packages {
        assert!(
            runtime
                .iter()
                .any(|i| i.contains("apt-get install") && i.contains(package)),
            "{path}: the runtime installs {package}"
        );
    }

    let user = runtime
        .iter()
        .rev()
        .find(|i| keyword(i) == "USER")
        .unwrap_or_else(|| panic!("{path}: the runtime stage sets USER"));
    let who = user.split_whitespace().nth(1).unwrap_or_default();
    let who = who.split(':').next().unwrap_or_default();
    assert!(
        !who.is_empty() && who != "root" && who != "0",
        "{path}: runs as {who}"
    );

    for instruction in &all {
        if matches!(keyword(instruction).as_str(), "ENV" | "ARG") {
            let upper = instruction.to_ascii_uppercase();
            for word in ["SECRET", "PASSWORD", "ACCESS_KEY", "DATABASE_URL"] {
                assert!(
                    !upper.contains(word),
                    "{path}: no secret baked in: {instruction}"
                );
            }
        }
    }
}

#[test]
fn the_server_dockerfile_builds_in_stages_and_runs_unprivileged() {
    check_dockerfile(
        "program-distributor/Dockerfile",
        "program-distributor",
        &["libmariadb3", "ca-certificates", "curl"],
    );
    let builder = read("program-distributor/Dockerfile");
    assert!(
        builder.contains("libmariadb-dev"),
        "diesel links libmariadb"
    );
}

#[test]
fn the_executor_dockerfile_builds_in_stages_and_runs_unprivileged() {
    check_dockerfile(
        "executor-client/Dockerfile",
        "executor-client",
        &["ca-certificates"],
    );
}

#[test]
fn built_images_carry_the_names_the_makefile_removes() {
    let compose = compose();
    let makefile = read("Makefile");
    for (name, dockerfile) in [
        ("server", "program-distributor/Dockerfile"),
        ("executor", "executor-client/Dockerfile"),
    ] {
        let service = service(&compose, name);
        assert_eq!(text(&service["build"]["context"], "build.context"), ".");
        assert_eq!(
            text(&service["build"]["dockerfile"], "build.dockerfile"),
            dockerfile
        );
        let image = text(&service["image"], "image");
        assert!(
            makefile.contains(image),
            "the Makefile does not name {image}"
        );
    }
    for target in [
        "run_all",
        "clear_build",
        "clear_docker",
        "clear_all",
        "clear_db",
        "executor_run_all",
        "executor_clear_build",
        "executor_clear_docker",
        "executor_clear_all",
    ] {
        assert!(
            makefile
                .lines()
                .any(|l| l.starts_with(&format!("{target}:")) && l.contains("## ")),
            "the Makefile has a documented `{target}` target"
        );
    }
}

#[test]
fn variable_references_are_found_and_dollar_escapes_skipped() {
    let found = compose_variables("a: ${A}\nb: \"${B:-x}:${C:?set C}\"\nc: $$D ${E:-${F}}");
    let expected: BTreeSet<String> = ["A", "B", "C", "E", "F"].map(String::from).into();
    assert_eq!(found, expected);
}
