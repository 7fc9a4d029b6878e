//! The command line: verbs grouped by what they act on.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::results::ColumnSpec;

const EXAMPLES: &str = "\
A typical run:
  uploader-client register --username lab --name \"Lab\" --description \"Collatz runs\"
  uploader-client login --username lab
  uploader-client program upload example-program/ --name collatz
  uploader-client inputs split --range 1..1025 --groups 64 --out jobs/
  uploader-client inputs upload collatz jobs/
  uploader-client program status collatz
  uploader-client proofs verify collatz
  uploader-client results aggregate collatz --column 3:sum --column 4:max

Files and details: uploader-client/README.md.";

/// The examples, then the exit-code table both clients share.
fn after_help() -> String {
    format!("{EXAMPLES}\n\n{}", distributor_api::cli::exit_codes_help())
}

/// The organization's client of the program distributor: publish a compiled Cairo program and its
/// input groups, let donors prove them, verify every proof on this machine and aggregate the
/// outputs.
#[derive(Debug, Parser)]
#[command(name = "uploader-client", version, max_term_width = 100, after_help = after_help())]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Args)]
pub struct Global {
    /// Server URL (overrides PROGRAM_DISTRIBUTOR_URL and the config file).
    #[arg(long, global = true, value_name = "URL")]
    pub server: Option<String>,
    /// Config file (default: src/config/dev.json, see the README).
    #[arg(
        long,
        global = true,
        value_name = "FILE",
        env = "UPLOADER_CLIENT_CONFIG"
    )]
    pub config: Option<PathBuf>,
    /// Where the session, ledger and results live
    /// (default: $XDG_CONFIG_HOME/uploader-client or ~/.config/uploader-client).
    #[arg(
        long,
        global = true,
        value_name = "DIR",
        env = "UPLOADER_CLIENT_STATE_DIR"
    )]
    pub state_dir: Option<PathBuf>,
    /// Print machine-readable JSON on stdout instead of text: one object per line (errors too).
    #[arg(long, global = true)]
    pub json: bool,
    /// Print nothing but errors and warnings (and the requested data): no summaries, no hints.
    #[arg(long, short, global = true)]
    pub quiet: bool,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create an organization account.
    Register(Register),
    /// Log in and keep the tokens in the state directory (0600).
    Login(Login),
    /// Log out: revoke the session on the server and forget the tokens.
    Logout,
    /// Show who is logged in, to which server, and whether the session is alive.
    Whoami,
    /// Publish, list, delete programs and follow their progress.
    #[command(subcommand)]
    Program(ProgramCommand),
    /// Upload, list, delete and split input groups.
    #[command(subcommand)]
    Inputs(InputsCommand),
    /// List proofs waiting for verification; verify, confirm or reject them.
    #[command(subcommand)]
    Proofs(ProofsCommand),
    /// Combine the verified outputs.
    #[command(subcommand)]
    Results(ResultsCommand),
    /// Download the guest program template (a tar).
    Template(Template),
}

#[derive(Debug, Args)]
pub struct Register {
    /// The account's login name (1 to 64 characters, no spaces); not shown to others.
    #[arg(long)]
    pub username: String,
    /// The organization's public name.
    #[arg(long)]
    pub name: String,
    /// The organization's public description.
    #[arg(long, default_value = "")]
    pub description: String,
    #[command(flatten)]
    pub password: PasswordSource,
}

#[derive(Debug, Args)]
pub struct Login {
    /// The username given at `register`.
    #[arg(long)]
    pub username: String,
    #[command(flatten)]
    pub password: PasswordSource,
}

/// Where the password comes from: stdin, the environment, or an interactive prompt.
#[derive(Debug, Args)]
pub struct PasswordSource {
    /// Read the password from the first line of standard input.
    #[arg(long)]
    pub password_stdin: bool,
    /// The password (prefer --password-stdin or the prompt: this shows in `ps`).
    #[arg(long, env = "UPLOADER_CLIENT_PASSWORD", hide_env_values = true)]
    pub password: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum ProgramCommand {
    /// Upload a compiled proof-mode program: a `.json` file, or a folder holding `program.json`
    /// (or a single `.json`). The `.cairo` source next to it is uploaded too.
    Upload(ProgramUpload),
    /// List programs: yours (default), everyone's, or one organization's.
    List(ProgramList),
    /// Delete one of your programs with its input groups and proofs.
    Delete(ProgramDelete),
    /// Progress of a program: input groups uploaded / reserved / proven / confirmed.
    Status(ProgramRef),
}

#[derive(Debug, Args)]
pub struct ProgramUpload {
    /// Compiled program JSON, or a folder holding it.
    pub path: PathBuf,
    /// Program name (default: the file's stem or the folder's name).
    #[arg(long)]
    pub name: Option<String>,
    #[arg(long, default_value = "")]
    pub description: String,
    /// Seconds a donor's reservation of an input group lasts before it is offered again.
    #[arg(long, default_value_t = 600, value_name = "SECONDS")]
    pub lock_timeout: i64,
    /// The program's verification policy: the server refuses proofs with fewer bits of
    /// conjectured security, and `proofs verify` requires them too (0..=128).
    #[arg(long, value_name = "BITS",
          default_value_t = distributor_api::DEFAULT_MIN_CONJECTURED_SECURITY_BITS)]
    pub min_security_bits: u32,
    /// The same for provable security (0..=128).
    #[arg(long, default_value_t = 0, value_name = "BITS")]
    pub min_provable_bits: u32,
    /// Failed runs an input group may have before the server stops handing it out (marks it
    /// `failed`; `inputs retry` hands it out again), 1..=100.
    #[arg(long, value_name = "N", default_value_t = distributor_api::DEFAULT_MAX_FAILURES)]
    pub max_failures: u32,
}

#[derive(Debug, Args)]
pub struct ProgramList {
    /// Every organization's programs.
    #[arg(long, conflicts_with = "organization")]
    pub all: bool,
    /// One organization's programs (id, or exact name).
    #[arg(long, value_name = "ORG")]
    pub organization: Option<String>,
    /// Only programs whose name starts with this (with --all).
    #[arg(long, requires = "all")]
    pub name_filter: Option<String>,
    #[command(flatten)]
    pub page: Paging,
}

#[derive(Debug, Args)]
pub struct Paging {
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
pub struct ProgramDelete {
    /// Program id or name.
    pub program: String,
    /// Do not ask for confirmation.
    #[arg(long, short)]
    pub yes: bool,
}

#[derive(Debug, Args)]
pub struct ProgramRef {
    /// Program id or name.
    pub program: String,
}

#[derive(Debug, Subcommand)]
pub enum InputsCommand {
    /// Upload input groups: one CSV file, or every `.csv` of a folder (one group each).
    Upload(InputsUpload),
    /// List the input groups of a program.
    List(InputsList),
    /// Delete input groups (and their proofs).
    Delete(InputsDelete),
    /// Hand failed input groups out again, their failures forgotten (see `inputs list`).
    Retry(InputsRetry),
    /// Write input-group CSVs: split a range `A..B` or a large CSV into N groups (offline).
    Split(InputsSplit),
}

#[derive(Debug, Args)]
pub struct InputsUpload {
    /// Program id or name.
    pub program: String,
    /// CSV files or folders of CSV files.
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
    /// Name of the input group (only with a single file; default: the file's stem).
    #[arg(long)]
    pub name: Option<String>,
    /// Upload again what the ledger says was uploaded already (same name and content).
    #[arg(long)]
    pub force: bool,
}

#[derive(Debug, Args)]
pub struct InputsList {
    /// Program id or name.
    pub program: String,
    #[command(flatten)]
    pub page: Paging,
}

#[derive(Debug, Args)]
pub struct InputsDelete {
    /// Program id or name.
    pub program: String,
    /// Input group ids or names.
    #[arg(required = true)]
    pub input_groups: Vec<String>,
}

#[derive(Debug, Args)]
pub struct InputsRetry {
    /// Program id or name.
    pub program: String,
    /// Input group ids or names.
    #[arg(required = true)]
    pub input_groups: Vec<String>,
}

#[derive(Debug, Args)]
pub struct InputsSplit {
    /// A CSV to split (its values, in order, go to consecutive groups).
    #[arg(conflicts_with = "range", required_unless_present = "range")]
    pub csv: Option<PathBuf>,
    /// A half-open range `A..B`: each group gets the two values `a,b` of a sub-range.
    #[arg(long, value_name = "A..B")]
    pub range: Option<String>,
    /// Number of groups.
    #[arg(
        long,
        short = 'n',
        conflicts_with = "per_group",
        required_unless_present = "per_group"
    )]
    pub groups: Option<u64>,
    /// Values (or range width) per group.
    #[arg(long, value_name = "K")]
    pub per_group: Option<u64>,
    /// Folder to write the CSVs into (created if needed).
    #[arg(long, short, value_name = "DIR")]
    pub out: PathBuf,
    /// File name prefix (default: the CSV's stem, or `range`).
    #[arg(long)]
    pub prefix: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum ProofsCommand {
    /// Without PROGRAM: your programs with proofs waiting. With PROGRAM: its proven input groups
    /// whose proofs wait for verification.
    List(ProofsList),
    /// Download every waiting proof, verify it here against your own copy of the program and
    /// inputs, save the outputs, then confirm it; reject (and re-offer) the invalid ones.
    Verify(ProofsVerify),
    /// The manual path: confirm the proofs of these input groups without verifying them here
    /// (the server verified them on upload; nothing is saved to the results file).
    Accept(ProofsDecide),
    /// The manual path: reject the proofs of these input groups (they are offered to donors
    /// again at once; logged in rejected.jsonl).
    Reject(ProofsDecide),
}

#[derive(Debug, Args)]
pub struct ProofsDecide {
    /// Program id or name.
    pub program: String,
    /// Input group ids or names.
    #[arg(required = true, value_name = "GROUP")]
    pub input_groups: Vec<String>,
    /// Why (kept in rejected.jsonl for `reject`).
    #[arg(long, default_value = "rejected by hand")]
    pub reason: String,
}

#[derive(Debug, Args)]
pub struct ProofsList {
    /// Program id or name.
    pub program: Option<String>,
    #[command(flatten)]
    pub page: Paging,
}

#[derive(Debug, Args)]
pub struct ProofsVerify {
    /// Program id or name (default: every program of yours with proofs waiting).
    pub program: Option<String>,
    /// Append results here instead of STATE_DIR/results/PROGRAM_ID.jsonl (only with PROGRAM).
    #[arg(long, requires = "program", value_name = "FILE")]
    pub results: Option<PathBuf>,
    /// Reject proofs with fewer conjectured bits of security than this (default: the program's
    /// policy, set at upload; 100 unless the program asks otherwise).
    #[arg(long, value_name = "BITS")]
    pub min_security_bits: Option<u32>,
    /// Reject proofs with fewer provable bits of security than this (default: the program's
    /// policy).
    #[arg(long, value_name = "BITS")]
    pub min_provable_bits: Option<u32>,
    /// After verifying, re-execute this fraction (0 < FRACTION <= 1) of the verified groups in
    /// cairo-vm on this machine's own copies of the program and inputs, and compare the outputs
    /// with the proven ones: a guard against a prover or verifier bug. At least one group is
    /// re-executed. A mismatch rejects that proof (the group is offered again) and exits 10.
    #[arg(long, value_name = "FRACTION", value_parser = crate::recheck::Fraction::parse)]
    pub recheck: Option<crate::recheck::Fraction>,
}

#[derive(Debug, Subcommand)]
pub enum ResultsCommand {
    /// Reduce output columns over every verified input group, or pipe the results to a program.
    Aggregate(Aggregate),
    /// Print the saved results of a program (JSON lines, or CSV with --csv).
    Show(ResultsShow),
}

#[derive(Debug, Args)]
pub struct Aggregate {
    /// Program id or name.
    pub program: String,
    /// `N:REDUCER`, N the output's position from 1, REDUCER one of sum, min, max, count, concat.
    /// Repeatable.
    #[arg(long = "column", short = 'c', value_name = "N:REDUCER")]
    pub columns: Vec<ColumnSpec>,
    /// Run CMD with `sh -c`, feeding it the results on stdin (JSON lines; CSV with --csv), and
    /// exit with its status.
    #[arg(long, value_name = "CMD")]
    pub exec: Option<String>,
    /// With --exec: feed CSV (`input_group_id,name,output1,…`) instead of JSON lines.
    #[arg(long, requires = "exec")]
    pub csv: bool,
    /// Read this results file instead of the program's default one.
    #[arg(long, value_name = "FILE")]
    pub results: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct ResultsShow {
    /// Program id or name.
    pub program: String,
    #[arg(long)]
    pub csv: bool,
    #[arg(long, value_name = "FILE")]
    pub results: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct Template {
    /// Where to write the tar [default: guest-template.tar, unless --extract is given]
    #[arg(long, short, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Unpack it into this folder (the tar itself is kept only with --out).
    #[arg(long, value_name = "DIR")]
    pub extract: Option<PathBuf>,
}
