//! `uploader-client`: the organization's command-line client of the program distributor.
//!
//! Code map:
//! - [`cli`]: the command line (clap).
//! - [`config`]: settings from `src/config/dev.json`, the environment and flags.
//! - [`state`]: the state directory and durable writes (atomic replace, fsynced appends, lock).
//! - [`session`]: tokens (0600) and the self-renewing authenticated client.
//! - [`ledger`]: the local record of uploads, the trust anchor of verification.
//! - [`results`]: the results file and the reducers.
//! - [`commands`]: one module per group of verbs.
//!
//! Invariants: a proof is verified only against the ledger's stored copies; a result is fsynced
//! before its proof is confirmed; a results file never holds two lines of one input group.

mod cli;
mod commands;
mod config;
mod error;
mod ledger;
mod output;
mod recheck;
mod results;
mod session;
mod state;

use clap::Parser;

fn main() {
    let cli = cli::Cli::parse();
    let out = output::Out::new(cli.global.json, cli.global.quiet);
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            out.error(&error::CliError::new(format!("cannot start: {e}")));
            std::process::exit(error::exit::FAILURE);
        }
    };
    let code = match runtime.block_on(commands::run(cli, out)) {
        Ok(code) => code,
        Err(error) => {
            out.error(&error);
            error.code
        }
    };
    std::process::exit(code);
}
