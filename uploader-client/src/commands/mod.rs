//! The verbs. Each module turns parsed arguments into calls and prints what happened.

mod account;
mod inputs;
mod program;
mod proofs;
mod results;
mod split;
mod template;

use distributor_api::{Client, PageQuery, Program};
use uuid::Uuid;

use crate::cli::{Cli, Command, InputsCommand, ProgramCommand, ProofsCommand, ResultsCommand};
use crate::config::Settings;
use crate::error::{CliError, CliResult};
use crate::ledger::Ledger;
use crate::output::Out;
use crate::session::Session;
use crate::state::StateDir;

/// What every command shares.
pub struct App {
    pub settings: Settings,
    pub state: StateDir,
    pub out: Out,
    pub anonymous: Client,
}

impl App {
    pub fn session(&self) -> CliResult<Session> {
        Session::open(&self.state, self.anonymous.clone())
    }

    pub fn ledger(&self) -> CliResult<Ledger> {
        let ledger = Ledger::load(&self.state, &self.settings.program_distributor_url)?;
        if ledger.broken_lines > 0 {
            self.out.warn(format!(
                "{} unreadable line(s) in {} were skipped (an interrupted write?)",
                ledger.broken_lines,
                self.state.ledger_file().display()
            ));
        }
        Ok(ledger)
    }

    pub fn page(&self, paging: &crate::cli::Paging) -> CliResult<PageQuery> {
        Ok(PageQuery::new(
            self.settings.page_size(paging.page_size)?,
            paging.page,
        ))
    }

    /// The line under one page of a listing (text only), and the `next:` hint for the next page.
    pub fn footer(&self, what: &str, query: &PageQuery, total: i64, command: &str) {
        let footer = distributor_api::cli::footer(
            what,
            query.page.unwrap_or(1),
            query.limit.unwrap_or(distributor_api::DEFAULT_PAGE_SIZE),
            total,
        );
        self.out.text(footer.line);
        if let Some(next) = footer.next {
            self.out.next(format!("uploader-client {command} {next}"));
        }
    }
}

/// Runs the command; returns the exit code on success paths that still want a non-zero code.
pub async fn run(cli: Cli, out: Out) -> CliResult<i32> {
    let settings = Settings::load(cli.global.config.as_deref(), cli.global.server.as_deref())?;
    let state = StateDir::locate(cli.global.state_dir.as_deref())?;
    let anonymous = Client::new(settings.program_distributor_url.clone());
    let app = App {
        settings,
        state,
        out,
        anonymous,
    };
    match cli.command {
        Command::Register(args) => account::register(&app, args).await,
        Command::Login(args) => account::login(&app, args).await,
        Command::Logout => account::logout(&app).await,
        Command::Whoami => account::whoami(&app).await,
        Command::Program(ProgramCommand::Upload(args)) => program::upload(&app, args).await,
        Command::Program(ProgramCommand::List(args)) => program::list(&app, args).await,
        Command::Program(ProgramCommand::Delete(args)) => program::delete(&app, args).await,
        Command::Program(ProgramCommand::Status(args)) => program::status(&app, args).await,
        Command::Inputs(InputsCommand::Upload(args)) => inputs::upload(&app, args).await,
        Command::Inputs(InputsCommand::List(args)) => inputs::list(&app, args).await,
        Command::Inputs(InputsCommand::Delete(args)) => inputs::delete(&app, args).await,
        Command::Inputs(InputsCommand::Retry(args)) => inputs::retry(&app, args).await,
        Command::Inputs(InputsCommand::Split(args)) => split::split(&app, args),
        Command::Proofs(ProofsCommand::List(args)) => proofs::list(&app, args).await,
        Command::Proofs(ProofsCommand::Verify(args)) => proofs::verify(&app, args).await,
        Command::Proofs(ProofsCommand::Accept(args)) => proofs::decide(&app, args, true).await,
        Command::Proofs(ProofsCommand::Reject(args)) => proofs::decide(&app, args, false).await,
        Command::Results(ResultsCommand::Aggregate(args)) => results::aggregate(&app, args).await,
        Command::Results(ResultsCommand::Show(args)) => results::show(&app, args).await,
        Command::Template(args) => template::template(&app, args).await,
    }
}

/// Every page of a listing, in order (bounded: see [`distributor_api::cli::walk_pages`]).
pub async fn all_pages<T>(
    session: &mut Session,
    what: &str,
    fetch: impl AsyncFn(&Client, PageQuery) -> Result<(Vec<T>, i64), distributor_api::ClientError>,
) -> CliResult<Vec<T>> {
    distributor_api::cli::walk_pages(async |query: PageQuery| {
        session
            .call(what, async |c: &Client| fetch(c, query.clone()).await)
            .await
    })
    .await
}

/// The caller's programs, every page.
pub async fn my_programs(session: &mut Session) -> CliResult<Vec<Program>> {
    all_pages(
        session,
        "cannot list your programs",
        async |c: &Client, q: PageQuery| {
            c.my_programs(&q)
                .await
                .map(|p| (p.programs, p.total_elements_amount))
        },
    )
    .await
}

/// A program named by id or by name: the ledger first, then the caller's programs on the server.
pub async fn resolve_program(
    session: Option<&mut Session>,
    ledger: &Ledger,
    reference: &str,
) -> CliResult<Uuid> {
    if let Ok(id) = Uuid::parse_str(reference.trim()) {
        return Ok(id);
    }
    let local = ledger.programs_named(reference);
    if local.len() == 1 {
        return Ok(local[0].program_id);
    }
    let Some(session) = session else {
        return Err(unknown_program(reference));
    };
    let remote: Vec<Program> = my_programs(session).await?;
    let candidates = remote.iter().map(|p| (p.program_id, p.name.as_str()));
    distributor_api::cli::pick_by_name("program", reference, candidates).map_err(|e| {
        CliError::name(
            e,
            "list them with `uploader-client program list`, or give the program's id",
        )
    })
}

fn unknown_program(reference: &str) -> CliError {
    CliError::new(format!("no program of yours is named {reference:?}"))
        .with_code(crate::error::exit::REFUSED)
        .with_hint("list them with `uploader-client program list`, or give the program's id")
}

/// Input groups of the program named by id or by name (a name is looked up among the program's
/// groups on the server; it must match exactly one).
pub async fn resolve_groups(
    session: &mut Session,
    program_id: Uuid,
    references: &[String],
) -> CliResult<Vec<Uuid>> {
    let ids: Vec<Option<Uuid>> = references
        .iter()
        .map(|r| distributor_api::cli::as_id(r))
        .collect();
    if ids.iter().all(Option::is_some) {
        return Ok(ids.into_iter().flatten().collect());
    }
    let groups = all_pages(
        session,
        "cannot list the input groups",
        async |c: &Client, q: PageQuery| {
            c.input_groups(program_id, &q)
                .await
                .map(|p| (p.program_input_groups, p.total_elements_amount))
        },
    )
    .await?;
    references
        .iter()
        .zip(ids)
        .map(|(reference, id)| match id {
            Some(id) => Ok(id),
            None => {
                let candidates = groups.iter().map(|g| (g.input_group_id, g.name.as_str()));
                distributor_api::cli::pick_by_name("input group", reference, candidates).map_err(
                    |e| {
                        CliError::name(
                            e,
                            &format!(
                                "list them with `uploader-client inputs list {program_id}`, or \
                                 give the group's id"
                            ),
                        )
                    },
                )
            }
        })
        .collect()
}
