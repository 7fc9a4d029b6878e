//! The demo's steps, in order.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use anyhow::{ensure, Context, Result};
use serde::Deserialize;

use crate::answer::{self, Answer, ResultLine};
use crate::clients::Clients;
use crate::process;
use crate::server::Server;
use crate::{info, step};

/// The server and both clients: each package builds the binary of its name.
const BINARIES: [&str; 3] = ["program-distributor", "executor-client", "uploader-client"];

/// The name the example program is uploaded under (and referred to by afterwards).
const PROGRAM: &str = "collatz";

/// Rounds of proving: a round that leaves groups unproven (a job refused, say) is followed by
/// another for what is left.
const PROVING_ROUNDS: u32 = 3;

/// One run of the demo. The server it starts lives here, so that `main` stops it after reporting
/// the outcome (see [`Demo::stop`]).
pub struct Demo {
    /// The repository's root (example program, scripts, workspace).
    root: PathBuf,
    /// The demo's fresh temporary directory: everything it writes goes there.
    work: PathBuf,
    /// `--keep`: leave the server running after a successful run.
    keep: bool,
    server: Option<Server>,
}

/// What the summary reports besides the answer.
struct Summary<'a> {
    answer: Answer,
    groups: usize,
    verified: usize,
    steps: u64,
    server_checks: String,
    donor: Donor,
    donor_name: &'a str,
    url: &'a str,
    cpus: usize,
    run_secs: u64,
    total_secs: u64,
}

impl Demo {
    pub fn new(work: PathBuf, keep: bool) -> Demo {
        // xtask/ sits in the repository's root.
        let root = Path::new(env!("CARGO_MANIFEST_DIR"))
            .parent()
            .map_or_else(|| PathBuf::from("."), Path::to_path_buf);
        Demo {
            root,
            work,
            keep,
            server: None,
        }
    }

    /// Every step: build, serve, upload, prove, verify, aggregate, check.
    pub fn run(&mut self) -> Result<()> {
        let started = Instant::now();
        let bin = build(&self.root)?;
        let run_started = Instant::now();
        process::make_isolated_dirs(&self.work)?;
        // Kept before it is ready, so that it is stopped however the demo ends from here on.
        let server = self.server.insert(Server::start(&bin, &self.work)?);
        server.wait_until_ready()?;
        let url = server.url.clone();
        let clients = Clients::new(&bin, &self.work, &url)?;
        let run_id = run_id();
        organization(&clients, &run_id)?;
        let program_id = upload_program(&clients, &self.root)?;
        let groups = upload_inputs(&clients, &self.root)?;
        let donor_name = register_donor(&clients, &run_id)?;
        let cpus = std::thread::available_parallelism().map_or(1, usize::from);
        prove(&clients, &program_id, groups, cpus)?;
        let verified = verify(&clients, groups)?;
        let (answer, steps) = aggregate(&clients)?;
        let server_checks = server.verification_times()?;
        let donor = donor_status(&clients)?;
        ensure!(
            donor.total.steps == steps,
            "the donor was credited {} steps, the proofs prove {steps}",
            donor.total.steps
        );
        print_summary(&Summary {
            answer,
            groups,
            verified,
            steps,
            server_checks,
            donor,
            donor_name: &donor_name,
            url: &url,
            cpus,
            run_secs: run_started.elapsed().as_secs(),
            total_secs: started.elapsed().as_secs(),
        });
        answer.check()?;
        println!("{}", Answer::ok_line());
        if self.keep {
            self.leave_server_running(&url);
        }
        Ok(())
    }

    /// `--keep`: the server stays up with its data in the demo's directory.
    fn leave_server_running(&mut self, url: &str) {
        if let Some(pid) = self.server.take().map(Server::leave_running) {
            println!("\nThe server keeps running (--keep): open the dashboard at {url}/");
            println!(
                "Stop it with: kill {pid}   (its data: {})",
                self.work.display()
            );
        }
    }

    /// Stops the server if it runs (and was not kept).
    pub fn stop(&mut self) {
        self.server = None;
    }
}

/// Builds the release binaries (after the system packages the build needs) and answers their
/// folder.
fn build(root: &Path) -> Result<PathBuf> {
    step("Building the server and both clients (release; the first build takes a few minutes)");
    let mut deps = Command::new("bash");
    deps.arg(root.join("scripts/build-deps.sh"))
        .current_dir(root);
    process::show(&mut deps, "scripts/build-deps.sh")?;
    let mut build = cargo(root);
    build.args(["build", "--release", "--locked"]);
    for package in BINARIES {
        build.args(["-p", package]);
    }
    process::show(&mut build, "cargo build")?;
    let mut metadata = cargo(root);
    metadata.args(["metadata", "--format-version", "1", "--no-deps", "--locked"]);
    let metadata: serde_json::Value =
        serde_json::from_str(&process::capture(&mut metadata, "cargo metadata")?)
            .context("cargo metadata printed bad JSON")?;
    let target = metadata["target_directory"]
        .as_str()
        .context("cargo metadata names no target directory")?;
    let bin = Path::new(target).join("release");
    for binary in BINARIES {
        ensure!(
            bin.join(binary).is_file(),
            "{} was not built",
            bin.join(binary).display()
        );
    }
    info(&format!("binaries in {}", bin.display()));
    Ok(bin)
}

/// The cargo that runs this program (`cargo run` says which), in the repository's root.
fn cargo(root: &Path) -> Command {
    let mut cmd = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    cmd.current_dir(root);
    cmd
}

/// Unique per run, so that the names below never clash with an earlier run's (`--keep`).
fn run_id() -> String {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    format!("{secs}-{}", std::process::id())
}

/// Registers the organization and logs in (the password goes through stdin, never argv).
fn organization(clients: &Clients, run_id: &str) -> Result<()> {
    let (username, name) = (format!("demo-{run_id}"), format!("Collatz Demo {run_id}"));
    let password = format!("demo password {run_id}\n");
    step(&format!(
        "Registering the organization \"{name}\" and logging in"
    ));
    let mut register = clients.uploader();
    register.args(["register", "--username", &username, "--name", &name]);
    register.args([
        "--description",
        "The make demo organization",
        "--password-stdin",
    ]);
    process::show_with_input(&mut register, "uploader-client register", Some(&password))?;
    let mut login = clients.uploader();
    login.args(["login", "--username", &username, "--password-stdin"]);
    process::show_with_input(&mut login, "uploader-client login", Some(&password))
}

/// Uploads the example program; answers its id.
fn upload_program(clients: &Clients, root: &Path) -> Result<String> {
    #[derive(Deserialize)]
    struct Uploaded {
        program_id: String,
    }
    step("Uploading the example program (example-program/collatz.json)");
    let mut upload = clients.uploader();
    upload.args(["program", "upload"]);
    upload.arg(root.join("example-program/collatz.json"));
    upload.args(["--name", PROGRAM, "--lock-timeout", "600"]);
    upload.args(["--description", "Collatz stopping times over [1, 257)"]);
    let uploaded: Uploaded = process::json(&mut upload, "uploader-client program upload")?;
    info(&format!("program {}", uploaded.program_id));
    Ok(uploaded.program_id)
}

/// Uploads every input group of `example-program/inputs/`; answers how many there are.
fn upload_inputs(clients: &Clients, root: &Path) -> Result<usize> {
    let dir = root.join("example-program/inputs");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .with_context(|| format!("cannot list {}", dir.display()))?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| path.extension().is_some_and(|e| e == "csv"))
        .collect();
    files.sort();
    ensure!(!files.is_empty(), "no input groups in {}", dir.display());
    step(&format!(
        "Uploading its {} input groups (example-program/inputs/)",
        files.len()
    ));
    let mut upload = clients.uploader();
    upload.args(["inputs", "upload", PROGRAM]).args(&files);
    process::show(&mut upload, "uploader-client inputs upload")?;
    Ok(files.len())
}

/// Registers the donor whose key (in the demo's directory) signs the executor's work; answers
/// its name.
fn register_donor(clients: &Clients, run_id: &str) -> Result<String> {
    let name = format!("Demo Donor {run_id}");
    step(&format!(
        "Registering the donor \"{name}\" (executor-client donor init: a key, kept 0600)"
    ));
    let mut init = clients.executor();
    init.args(["donor", "init", "--name", &name]);
    process::show(&mut init, "executor-client donor init")?;
    Ok(name)
}

/// Lends `cpus` CPUs to prove every group, in up to [`PROVING_ROUNDS`] rounds; then shows the
/// program's status and fails unless every group is proven.
fn prove(clients: &Clients, program_id: &str, groups: usize, cpus: usize) -> Result<()> {
    for round in 1..=PROVING_ROUNDS {
        let done = proven(clients)?;
        if done >= groups {
            break;
        }
        let left = groups - done;
        step(&format!(
            "Proving: executor-client run --program {program_id} --jobs {left} --cpus {cpus} \
             (round {round})"
        ));
        let mut run = clients.executor();
        run.args(["run", "--program", program_id]);
        run.args(["--jobs", &left.to_string(), "--cpus", &cpus.to_string()]);
        if !process::status(&mut run, "executor-client run")?.success() {
            info("the executor reported jobs that were not accepted; checking the status");
        }
    }
    step("Program status");
    let mut status = clients.uploader();
    status.args(["program", "status", PROGRAM]);
    process::show(&mut status, "uploader-client program status")?;
    let done = proven(clients)?;
    ensure!(
        done == groups,
        "only {done} of {groups} input groups are proven"
    );
    Ok(())
}

/// How many groups are proven (confirmed ones included), as the server says.
fn proven(clients: &Clients) -> Result<usize> {
    #[derive(Deserialize)]
    struct Status {
        proven: u64,
        confirmed: u64,
    }
    let mut status = clients.uploader();
    status.args(["program", "status", PROGRAM]);
    let status: Status = process::json(&mut status, "uploader-client program status")?;
    usize::try_from(status.proven + status.confirmed).context("a count out of range")
}

/// Verifies every proof with the organization's client (against its own copies of the program
/// and inputs); answers how many verified, and fails unless all `groups` did.
fn verify(clients: &Clients, groups: usize) -> Result<usize> {
    #[derive(Deserialize)]
    struct Verified {
        programs: Vec<ProgramVerified>,
    }
    #[derive(Deserialize)]
    struct ProgramVerified {
        verified: usize,
        rejected: Vec<serde_json::Value>,
    }
    step(
        "Verifying every proof locally (uploader-client proofs verify: the organization's own \
         program and inputs)",
    );
    let mut verify = clients.uploader();
    verify.args(["proofs", "verify", PROGRAM]);
    let answer: Verified = process::json(&mut verify, "uploader-client proofs verify")?;
    let verified = answer.programs.iter().map(|p| p.verified).sum();
    let rejected: usize = answer.programs.iter().map(|p| p.rejected.len()).sum();
    ensure!(
        verified == groups,
        "verified {verified} proofs ({rejected} rejected), expected {groups}"
    );
    info(&format!("{verified} proofs verified, {rejected} rejected"));
    Ok(verified)
}

/// Aggregates the results with the organization's client (sum of the totals, max of the
/// longest chains) and reads them to find the rest of the answer; answers it with the Cairo
/// steps the proofs prove.
fn aggregate(clients: &Clients) -> Result<(Answer, u64)> {
    step(&format!(
        "Aggregating the results (uploader-client results aggregate: sum of column {}, max of \
         column {})",
        answer::TOTAL,
        answer::LONGEST
    ));
    let mut reduce = clients.uploader();
    reduce.args(["results", "aggregate", PROGRAM]);
    reduce.args(["--column", &format!("{}:sum", answer::TOTAL)]);
    reduce.args(["--column", &format!("{}:max", answer::LONGEST)]);
    let reduced: Aggregated = process::json(&mut reduce, "uploader-client results aggregate")?;
    for c in &reduced.columns {
        let value = c.value.as_deref().unwrap_or("(no values)");
        info(&format!("column {} {}: {value}", c.column, c.reducer));
    }
    let mut show = clients.uploader();
    show.args(["results", "show", PROGRAM]);
    let lines: Vec<ResultLine> = process::json(&mut show, "uploader-client results show")?;
    let total = reduced.value(answer::TOTAL, "sum")?;
    let longest = reduced.value(answer::LONGEST, "max")?;
    let steps = lines.iter().map(|line| line.steps).sum();
    Ok((Answer::new(total, longest, &lines)?, steps))
}

/// What `results aggregate --json` answers.
#[derive(Deserialize)]
struct Aggregated {
    columns: Vec<Reduced>,
}

#[derive(Deserialize)]
struct Reduced {
    column: usize,
    reducer: String,
    value: Option<String>,
}

impl Aggregated {
    /// The value of `column` under `reducer`, as a number.
    fn value(&self, column: usize, reducer: &str) -> Result<u64> {
        let value = self
            .columns
            .iter()
            .find(|c| c.column == column && c.reducer == reducer)
            .and_then(|c| c.value.as_deref())
            .with_context(|| format!("no {reducer} of column {column} in the aggregate"))?;
        value
            .parse()
            .with_context(|| format!("the {reducer} of column {column} is {value:?}"))
    }
}

/// The donor's standing, as the server credits it (`executor-client donor status --json`).
#[derive(Deserialize)]
struct Donor {
    total: Credit,
    rank: Option<i64>,
}

#[derive(Deserialize)]
struct Credit {
    steps: u64,
    jobs: u64,
}

fn donor_status(clients: &Clients) -> Result<Donor> {
    let mut status = clients.executor();
    status.args(["donor", "status"]);
    process::json(&mut status, "executor-client donor status")
}

fn print_summary(s: &Summary) {
    let a = &s.answer;
    let rank = s
        .donor
        .rank
        .map_or_else(|| "?".to_string(), |r| r.to_string());
    println!("\n==================== answer ====================");
    println!("Collatz stopping times over [{}, {}):", a.low, a.high);
    println!("  total of all stopping times : {}", a.total);
    println!(
        "  longest chain               : {} steps, starting at {}",
        a.longest, a.start
    );
    println!("==================== summary ===================");
    println!(
        "  input groups                : {} (all proven, ranges cover {} values)",
        s.groups, a.covered
    );
    println!(
        "  proofs verified             : {} (by the organization, against its own copies)",
        s.verified
    );
    println!("  server-side verification    : {}", s.server_checks);
    println!("  Cairo steps proven          : {}", s.steps);
    println!(
        "  donor credit                : {} steps in {} jobs, rank #{rank} ({})",
        s.donor.total.steps, s.donor.total.jobs, s.donor_name
    );
    println!("  dashboard                   : {}/", s.url);
    println!("  CPUs lent                   : {}", s.cpus);
    println!(
        "  wall time                   : {}s (server start to answer; {}s with the build)",
        s.run_secs, s.total_secs
    );
    println!("================================================");
}
