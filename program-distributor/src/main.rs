//! `program-distributor [--config PATH] | --version | --help`: runs the server.
//!
//! Settings come from the config file (`--config`, `CONFIG_FILE`, or `src/config/dev.json`),
//! overridden by environment variables; with neither, the server starts on SQLite and a local
//! directory under `.data/distributor`, listening on 127.0.0.1:8080.

use std::path::PathBuf;
use std::process::ExitCode;

use program_distributor::configuration;
use program_distributor::startup::Application;
use program_distributor::telemetry::LogFormat;

const USAGE: &str = "\
usage: program-distributor [--config PATH]
       program-distributor --version

Runs the program-distributor HTTP server. With no settings at all it starts on SQLite and a
local object directory under the data directory, listening on 127.0.0.1:8080.

Options:
  -c, --config PATH   JSON config file [env: CONFIG_FILE; default: src/config/dev.json if it exists]
  -V, --version       print the version
  -h, --help          print this help
";

/// After the settings, in `--help`.
const LOGGING: &str = "\
Log: RUST_LOG [default: info]; LOG_FORMAT=json for one JSON object a line; colours only on a
terminal, never with NO_COLOR.

What each setting does: program-distributor/API.md, section Configuration.
";

fn main() -> ExitCode {
    let log_format = match LogFormat::parse(std::env::var("LOG_FORMAT").ok().as_deref()) {
        Ok(format) => format,
        Err(message) => {
            eprintln!("error: {message}");
            return ExitCode::from(2);
        }
    };
    program_distributor::telemetry::init("info", log_format);
    let config = match parse_args() {
        Ok(Args::Run(config)) => config,
        Ok(Args::Help) => {
            print!("{USAGE}\n{}\n{LOGGING}", settings_help());
            return ExitCode::SUCCESS;
        }
        Ok(Args::Version) => {
            println!("program-distributor {}", env!("CARGO_PKG_VERSION"));
            return ExitCode::SUCCESS;
        }
        Err(message) => {
            eprintln!("error: {message}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let env = |name: &str| std::env::var(name).ok();
    let path = configuration::config_path(config, &env);
    if let Some(path) = &path {
        tracing::info!(config = %path.display(), "reading the config file");
    } else {
        tracing::info!("no config file: using environment variables and defaults");
    }
    let settings = match configuration::load(path.as_deref(), &env) {
        Ok(settings) => settings,
        Err(error) => {
            eprintln!("error: {error}");
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(async move {
        let app = match Application::build(settings.clone()).await {
            Ok(app) => app,
            Err(error) => {
                eprintln!("error: {error}");
                return ExitCode::FAILURE;
            }
        };
        tracing::info!(
            address = %settings.server.address,
            port = app.port(),
            data_dir = %settings.data_dir.display(),
            version = env!("CARGO_PKG_VERSION"),
            "program-distributor listening"
        );
        match app.run_until_stopped().await {
            Ok(()) => ExitCode::SUCCESS,
            Err(error) => {
                eprintln!("error: the server stopped: {error}");
                ExitCode::FAILURE
            }
        }
    })
}

/// Every setting: its variable, its file key and its default.
fn settings_help() -> String {
    format!(
        "Settings: environment variable (it overrides the config file), file key, default\n{}",
        configuration::help()
    )
}

/// What the command line asks for.
enum Args {
    Run(Option<PathBuf>),
    Help,
    Version,
}

fn parse_args() -> Result<Args, String> {
    let mut args = std::env::args().skip(1);
    let mut config = None;
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "-h" | "--help" => return Ok(Args::Help),
            "-V" | "--version" => return Ok(Args::Version),
            "-c" | "--config" => {
                let path = args.next().ok_or("--config needs a path")?;
                config = Some(PathBuf::from(path));
            }
            other => match other.strip_prefix("--config=") {
                Some(path) => config = Some(PathBuf::from(path)),
                None => return Err(format!("unknown argument `{other}`")),
            },
        }
    }
    Ok(Args::Run(config))
}
