//! `executor-client`: the donor's command-line client of the program distributor.
//!
//! Code map:
//! - [`cli`]: the command line; [`config`]: file < environment < flags; [`exit`]: exit codes.
//! - [`donor`]: `donor init` / `donor status`, the donor key that signs `run`'s requests.
//! - [`listing`]: `programs`, `organizations`. [`offline`]: `prove`, `verify` on local files.
//! - [`work`]: `run`, the work loop (reserve, prove, upload, retry, back off); [`failure`]:
//!   failed runs in plain words, reported to the server.
//! - [`supervisor`]: starts the proving [`worker`] process and holds it to the CPU share
//!   ([`resources`]); [`signals`]: Ctrl-C. [`server`]: requests beyond the typed client.
//! - [`speed`]: this machine's proving speed (calibrated once, kept, refreshed) for deadlines.
//! - [`output`]: every event, as text with a progress display, or as JSON lines.
//!
//! Invariants: proving never uses more CPU time per second than `--cpus`; a proof is never
//! uploaded after its reservation's end; nothing a user or the server sends can panic the client.

mod cli;
mod config;
mod donor;
mod exit;
mod failure;
mod listing;
mod offline;
mod output;
mod resources;
mod rusage;
mod server;
mod signals;
mod speed;
mod supervisor;
mod work;
mod worker;

use clap::Parser;
use distributor_api::Client;

use crate::cli::{Cli, Command};
use crate::exit::{AppError, Exit};
use crate::output::Reporter;

fn main() {
    let cli = Cli::parse();
    if let Command::ProveWorker(args) = &cli.command {
        std::process::exit(worker::main(args));
    }
    let reporter = Reporter::new(cli.global.json, cli.global.quiet, cli.global.verbose);
    let exit = match run(cli, &reporter) {
        Ok(exit) => exit,
        Err(error) => {
            report_error(&reporter, &error);
            error.exit
        }
    };
    std::process::exit(exit.code());
}

fn report_error(reporter: &Reporter, error: &AppError) {
    reporter.end_job();
    if reporter.mode() == output::Mode::Json {
        let mut line = distributor_api::cli::error_json(
            &error.message,
            error.hint.as_deref(),
            error.exit.code(),
        );
        if let Some(cause) = &error.cause {
            line["cause"] = cause.as_str().into();
        }
        reporter.json_line(&line);
    }
    eprintln!("error: {}", error.message);
    if let Some(cause) = error.cause.as_ref().filter(|_| reporter.verbose()) {
        eprintln!("cause: {cause}");
    }
    if let Some(hint) = &error.hint {
        eprintln!("hint: {hint}");
    }
}

fn run(cli: Cli, reporter: &Reporter) -> Result<Exit, AppError> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| AppError::local(format!("cannot start the async runtime: {e}")))?;
    runtime.block_on(async move {
        // Only the commands that run a worker take Ctrl-C over; the others just end.
        let signals = |finish_first| {
            signals::install(reporter.clone(), finish_first)
                .map_err(|e| AppError::local(format!("cannot listen for Ctrl-C: {e}")))
        };
        match &cli.command {
            Command::Prove(args) => {
                let mut stop = signals(false)?;
                offline::prove(args, reporter, &mut stop)
                    .await
                    .map(|()| Exit::Success)
            }
            Command::Verify(args) => offline::verify(args, reporter).map(|()| Exit::Success),
            Command::Programs(args) => {
                let (settings, client) = connect(&cli)?;
                listing::programs(&client, &settings, args, reporter)
                    .await
                    .map(|()| Exit::Success)
            }
            Command::Organizations(args) => {
                let (settings, client) = connect(&cli)?;
                listing::organizations(&client, &settings, args, reporter)
                    .await
                    .map(|()| Exit::Success)
            }
            Command::Run(args) => {
                let (_, client) = connect(&cli)?;
                let client = donor::attach(client, reporter).await?;
                let mut stop = signals(true)?;
                work::run(&client, args, reporter, &mut stop).await
            }
            Command::Donor(args) => {
                let (_, client) = connect(&cli)?;
                donor::command(&client, args, reporter)
                    .await
                    .map(|()| Exit::Success)
            }
            Command::ProveWorker(_) => Err(AppError::usage("prove-worker is internal")),
        }
    })
}

fn connect(cli: &Cli) -> Result<(config::Settings, Client), AppError> {
    let settings = config::load(cli.global.config.as_deref(), cli.global.server.as_deref())?;
    let http = reqwest::Client::builder()
        .connect_timeout(std::time::Duration::from_secs(10))
        .timeout(std::time::Duration::from_secs(300))
        .user_agent(concat!("executor-client/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| AppError::local(format!("cannot set up the HTTP client: {e}")))?;
    let client = Client::with_http_client(http, settings.server_url.clone());
    Ok((settings, client))
}
