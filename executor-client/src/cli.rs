//! The command line: subcommands that read as verbs, flags that override the environment, which
//! overrides the config file.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "executor-client",
    version,
    about = "Lend your computer to research: prove Cairo jobs for a program distributor",
    long_about = "Lend your computer to research: prove Cairo jobs for a program distributor.\n\n\
        Organizations publish Cairo programs and split their work into input groups. This client \
        reserves an input group, runs the program on it in cairo-vm, proves the run with a STARK \
        and uploads the proof; the organization verifies it in milliseconds and never has to run \
        the job again.\n\n\
        Start with `executor-client programs` to see what you can work on, then \
        `executor-client run --cpus 1` to lend one CPU to all of them (Ctrl-C to stop).\n\n\
        Configuration, lowest precedence first: the config file (src/config/dev.json, or \
        --config), then the environment (PROGRAM_DISTRIBUTOR_URL, EXECUTOR_CPUS), then the flags.",
    after_help = distributor_api::cli::exit_codes_help(),
    after_long_help = distributor_api::cli::exit_codes_help()
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// URL of the program distributor, e.g. http://127.0.0.1:8080 [default: the config file's
    /// program_distributor_url, else http://127.0.0.1:8080]
    #[arg(
        long,
        global = true,
        value_name = "URL",
        env = "PROGRAM_DISTRIBUTOR_URL"
    )]
    pub server: Option<String>,

    /// Config file [default: src/config/dev.json if it exists]
    #[arg(long, global = true, value_name = "FILE", env = "EXECUTOR_CONFIG")]
    pub config: Option<PathBuf>,

    /// Print machine-readable JSON (one object per line) on stdout instead of text
    #[arg(long, global = true)]
    pub json: bool,

    /// Print nothing but errors and warnings
    #[arg(short, long, global = true, conflicts_with = "json")]
    pub quiet: bool,

    /// Also print the full cause of a failed job (--json always has it, as `cause`)
    #[arg(short, long, global = true, conflicts_with = "quiet")]
    pub verbose: bool,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// List the programs you can work on (paged; filter by name or organization)
    Programs(ProgramsArgs),
    /// List the organizations that publish programs (paged; filter by name)
    Organizations(OrganizationsArgs),
    /// Work loop: reserve input groups, execute, prove, upload, repeat (Ctrl-C to stop)
    #[command(
        long_about = "Work loop: reserve an input group, run the program on it, prove the \
        run and upload the proof; repeat until --jobs are done or Ctrl-C.\n\n\
        Which programs: --program ID (repeatable), or every program of --organization, or \
        every program on the server (the default), taken in turn (round-robin).\n\n\
        When no program has work, the client waits (doubling the wait up to --max-backoff) and \
        asks again. Network failures are retried the same way; after --max-retries retries in a row \
        the client gives up. A job the server refuses is reported and the loop goes on. A job \
        that cannot be finished before its reservation expires is dropped, never uploaded \
        late; a job given up while its reservation lasts is given back to the pool at once.\n\n\
        Execution-only mode splits a job between two donors: --execute-only runs it and uploads \
        the execution, --prove-executions proves an uploaded execution.\n\n\
        Ctrl-C once: finish the current job, upload it and stop. Twice: stop at once (the proving \
        worker is killed and the input group given back to the pool)."
    )]
    Run(RunArgs),
    /// Your donor identity: `donor init --name NAME` registers a key so your work is credited
    /// (leaderboards, teams); `donor status` shows your credit. Without it you donate anonymously
    Donor(crate::donor::DonorArgs),
    /// Prove a job offline: a local compiled program and input CSV -> a proof file
    Prove(ProveArgs),
    /// Verify a proof file against a program and its inputs, and print the outputs
    Verify(VerifyArgs),
    /// Internal: the proving worker process the client starts (reads files, writes the proof and
    /// JSON progress lines on stdout)
    #[command(hide = true)]
    ProveWorker(crate::worker::WorkerArgs),
}

#[derive(Debug, Args)]
pub struct PageArgs {
    /// Page to show (1 is the first)
    #[arg(long, default_value_t = 1, value_parser = distributor_api::cli::parse_page)]
    pub page: i64,

    /// Entries per page, at most 50 (the server's maximum) [default: the config file's
    /// default_page_size, else 10]
    #[arg(long, value_name = "N", alias = "limit",
          value_parser = distributor_api::cli::parse_page_size)]
    pub page_size: Option<i64>,
}

#[derive(Debug, Args)]
pub struct ProgramsArgs {
    /// Only programs whose name starts with this
    #[arg(long, value_name = "PREFIX")]
    pub name: Option<String>,

    /// Only the programs of this organization (its id, or its exact name)
    #[arg(long, value_name = "ORG")]
    pub organization: Option<String>,

    #[command(flatten)]
    pub page: PageArgs,
}

#[derive(Debug, Args)]
pub struct OrganizationsArgs {
    /// Only organizations whose name starts with this
    #[arg(long, value_name = "PREFIX")]
    pub name: Option<String>,

    #[command(flatten)]
    pub page: PageArgs,
}

/// How much of the machine to lend.
#[derive(Debug, Clone, Args)]
pub struct ResourceArgs {
    /// CPUs to lend, fractional allowed: from 0.001 up to this machine's CPU count. Proving uses
    /// ceil(CPUS) threads at the lowest priority, paused and resumed so that it never uses more
    /// than CPUS seconds of CPU time per second [default: 1]
    #[arg(
        long,
        value_name = "CPUS",
        env = "EXECUTOR_CPUS",
        allow_negative_numbers = true
    )]
    pub cpus: Option<f64>,

    /// Suspend proving while the rest of the machine uses more than PCT percent of its CPU
    /// (all cores together), and resume when it drops below again
    #[arg(long, value_name = "PCT", value_parser = parse_percent)]
    pub pause_when_busy: Option<f64>,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// Work on this program: its id, or its exact name (repeat the flag for several; they are
    /// taken in turn)
    #[arg(
        long = "program",
        value_name = "PROGRAM",
        conflicts_with = "organization"
    )]
    pub programs: Vec<String>,

    /// Work on every program of this organization (its id, or its exact name)
    #[arg(long, value_name = "ORG")]
    pub organization: Option<String>,

    /// Stop after this many jobs (reserved input groups, whatever their outcome) [default: until
    /// Ctrl-C]
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub jobs: Option<u64>,

    #[command(flatten)]
    pub resources: ResourceArgs,

    /// Only run the programs: upload each execution (register trace and memory, compressed) for
    /// another donor to prove with --prove-executions. For machines that can run jobs but lack
    /// the memory or time to prove them
    #[arg(long, conflicts_with = "prove_executions")]
    pub execute_only: bool,

    /// Only prove executions that other donors uploaded with --execute-only
    #[arg(long)]
    pub prove_executions: bool,

    /// Retry a request that fails on the network (or with HTTP 5xx) at most N times in a row,
    /// then give up with exit code 3 [default: retry forever]
    #[arg(long, value_name = "N")]
    pub max_retries: Option<u32>,

    /// First wait, in seconds, after a network failure or when there is no work; doubled each
    /// time up to --max-backoff
    #[arg(long, value_name = "SECS", default_value_t = 2.0, value_parser = parse_seconds)]
    pub retry_delay: f64,

    /// Longest wait between two attempts, in seconds
    #[arg(long, value_name = "SECS", default_value_t = 300.0, value_parser = parse_seconds)]
    pub max_backoff: f64,
}

#[derive(Debug, Args)]
pub struct ProveArgs {
    /// The compiled proof-mode Cairo program (JSON from `cairo-compile --proof_mode`)
    pub program: PathBuf,

    /// The input group: a CSV of field elements (decimal or 0x-hex)
    pub inputs: PathBuf,

    /// Where to write the proof
    #[arg(short, long, value_name = "FILE", default_value = "proof.bin")]
    pub output: PathBuf,

    #[command(flatten)]
    pub resources: ResourceArgs,
}

#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// The proof file
    pub proof: PathBuf,

    /// The compiled program the proof must be about (your own copy, never the prover's)
    pub program: PathBuf,

    /// The input group the proof must be about
    pub inputs: PathBuf,

    /// Refuse proofs whose conjectured security is below this many bits (the default is the
    /// verifier's own policy)
    #[arg(long, value_name = "BITS",
          default_value_t = cairo_stark::SecurityPolicy::default().min_conjectured_bits)]
    pub min_security_bits: u32,

    /// Refuse proofs whose provable security is below this many bits
    #[arg(long, value_name = "BITS", default_value_t = 0)]
    pub min_provable_bits: u32,
}

fn parse_percent(value: &str) -> Result<f64, String> {
    let pct: f64 = value
        .trim()
        .trim_end_matches('%')
        .parse()
        .map_err(|_| format!("{value:?} is not a number"))?;
    if !(0.0..=100.0).contains(&pct) {
        return Err(format!("{pct} is not a percentage between 0 and 100"));
    }
    Ok(pct)
}

fn parse_seconds(value: &str) -> Result<f64, String> {
    let secs: f64 = value
        .trim()
        .parse()
        .map_err(|_| format!("{value:?} is not a number of seconds"))?;
    if !secs.is_finite() || !(0.0..=86_400.0).contains(&secs) {
        return Err(format!("{secs} must be between 0 and 86400 seconds"));
    }
    Ok(secs)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_is_well_formed() {
        Cli::command().debug_assert();
    }

    #[test]
    fn percentages_and_seconds_are_checked() {
        assert_eq!(parse_percent("75%"), Ok(75.0));
        assert!(parse_percent("120").is_err());
        assert!(parse_seconds("-1").is_err());
        assert_eq!(parse_seconds("0.5"), Ok(0.5));
    }
}
