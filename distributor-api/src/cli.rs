//! The contract both command-line clients keep, written once: the exit-code table, paging (flag
//! values, the server's maximum, the page footer, a bounded walk over every page), the JSON line
//! of an error, and finding a thing by name or id.
//!
//! It lives here rather than in a crate of its own because both clients already depend on this
//! crate, and everything in it is about the protocol (page sizes, error codes) or about showing
//! its answers; it needs no dependency beyond the ones the client already has (no clap: the
//! parsers are plain functions clap takes as value parsers).

use serde_json::json;
use uuid::Uuid;

use crate::{ClientError, ErrorCode, DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE};

/// The process exit code of each kind of outcome, the same in both clients.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitCode {
    Success = 0,
    Failure = 1,
    Usage = 2,
    Unreachable = 3,
    Refused = 4,
    NotVerified = 5,
    BadJob = 6,
    NoMemory = 7,
    JobsFailed = 8,
    Auth = 9,
    RecheckMismatch = 10,
    Interrupted = 130,
}

/// Every exit code with its meaning, in order: the one table both READMEs and `--help` show.
pub const EXIT_CODES: &[(ExitCode, &str)] = &[
    (ExitCode::Success, "success"),
    (
        ExitCode::Failure,
        "an unexpected local failure (a file could not be read or written, a proof could not be \
         checked on this machine, ...)",
    ),
    (
        ExitCode::Usage,
        "bad usage or configuration (unknown flag, a value out of range, bad config file)",
    ),
    (
        ExitCode::Unreachable,
        "the server could not be reached, or it failed (HTTP 5xx)",
    ),
    (
        ExitCode::Refused,
        "the server refused the request (unknown program or organization, a name taken, ...; its \
         ERROR_CODE is printed), or a name matches nothing or several things",
    ),
    (
        ExitCode::NotVerified,
        "a proof does not verify (`verify`; `proofs verify` rejected at least one)",
    ),
    (
        ExitCode::BadJob,
        "the job itself is bad: the program or inputs are invalid, or the run or proof failed",
    ),
    (ExitCode::NoMemory, "not enough memory for the job"),
    (
        ExitCode::JobsFailed,
        "`run` finished, but some jobs were not accepted (see the summary lines)",
    ),
    (
        ExitCode::Auth,
        "authentication: not logged in, session expired, wrong credentials",
    ),
    (
        ExitCode::RecheckMismatch,
        "`proofs verify --recheck`: re-executing contradicted a verified proof (rejected; a \
         prover or verifier bug to report). Wins over every other code",
    ),
    (ExitCode::Interrupted, "stopped by Ctrl-C"),
];

impl ExitCode {
    pub fn code(self) -> i32 {
        self as i32
    }

    /// The exit code of a failed request: the network or a server fault is `Unreachable`, a
    /// refused token or password is `Auth`, any other refusal is `Refused`.
    pub fn of_client_error(error: &ClientError) -> ExitCode {
        match error {
            ClientError::Http(_) => ExitCode::Unreachable,
            ClientError::Api { status, .. } | ClientError::UnexpectedResponse { status, .. }
                if *status >= 500 =>
            {
                ExitCode::Unreachable
            }
            ClientError::Api { code, .. } if is_auth(*code) => ExitCode::Auth,
            _ => ExitCode::Refused,
        }
    }
}

fn is_auth(code: ErrorCode) -> bool {
    matches!(
        code,
        ErrorCode::WrongCredentials | ErrorCode::InvalidToken | ErrorCode::RefreshTokenNotFound
    )
}

/// The exit-code table as README markdown (`| code | meaning |`), which each README must contain
/// verbatim (its tests check).
pub fn exit_codes_markdown() -> String {
    let mut table = String::from("| code | meaning |\n| --- | --- |\n");
    for (exit, meaning) in EXIT_CODES {
        table.push_str(&format!("| {} | {meaning} |\n", exit.code()));
    }
    table
}

/// Checks that a client's README shows the exit-code table exactly (each client's tests call it
/// on its own README).
pub fn check_readme_exit_codes(readme: &str) -> Result<(), String> {
    let table = exit_codes_markdown();
    if readme.contains(&table) {
        Ok(())
    } else {
        Err(format!(
            "the README must contain the exit-code table exactly:\n{table}"
        ))
    }
}

/// The exit-code table for the end of `--help`.
pub fn exit_codes_help() -> String {
    let mut help = String::from("Exit codes:");
    for (exit, meaning) in EXIT_CODES {
        help.push_str(&format!(
            "\n    {:<4} {}",
            exit.code(),
            meaning.replace('`', "")
        ));
    }
    help
}

// ---- paging ----

/// Value parser of `--page-size`: 1 up to the server's maximum; above it, an error that says the
/// maximum.
pub fn parse_page_size(value: &str) -> Result<i64, String> {
    let size: i64 = value
        .trim()
        .parse()
        .map_err(|_| format!("{value:?} is not a whole number"))?;
    check_page_size(size, MAX_PAGE_SIZE)
}

/// `size` is within 1..=`max` (a configured maximum, at most the server's).
pub fn check_page_size(size: i64, max: i64) -> Result<i64, String> {
    let max = max.min(MAX_PAGE_SIZE);
    if size < 1 {
        return Err(format!("a page holds at least 1 entry, got {size}"));
    }
    if size > max {
        let whose = if max == MAX_PAGE_SIZE {
            "the server's maximum"
        } else {
            "the configured max_page_size"
        };
        return Err(format!(
            "a page holds at most {max} entries ({whose}), got {size}; use --page to see the rest"
        ));
    }
    Ok(size)
}

/// Value parser of `--page`: from 1.
pub fn parse_page(value: &str) -> Result<i64, String> {
    match value.trim().parse::<i64>() {
        Ok(page) if page >= 1 => Ok(page),
        Ok(page) => Err(format!("pages count from 1, got {page}")),
        Err(_) => Err(format!("{value:?} is not a page number")),
    }
}

/// The default page size of a config file's `default_page_size` and `max_page_size`, checked.
pub fn configured_page_sizes(default: Option<i64>, max: Option<i64>) -> Result<(i64, i64), String> {
    let max = max.unwrap_or(MAX_PAGE_SIZE);
    if !(1..=MAX_PAGE_SIZE).contains(&max) {
        return Err(format!(
            "max_page_size {max} must be between 1 and {MAX_PAGE_SIZE} (the server's maximum)"
        ));
    }
    let default = default.unwrap_or(DEFAULT_PAGE_SIZE.min(max));
    if !(1..=max).contains(&default) {
        return Err(format!(
            "default_page_size {default} must be between 1 and max_page_size ({max})"
        ));
    }
    Ok((default, max))
}

/// What to print under one page of a listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Footer {
    /// "page 1 of 3 (25 programs)", or that the page is past the last one.
    pub line: String,
    /// The flag that shows the next page, if there is one (a `next:` hint, for stderr).
    pub next: Option<String>,
}

/// The footer of page `page` (of `size` entries) of a listing of `total` `what`s. A page past the
/// last says so rather than "page 99 of 1".
pub fn footer(what: &str, page: i64, size: i64, total: i64) -> Footer {
    let pages = ((total.max(0) + size.max(1) - 1) / size.max(1)).max(1);
    let plural = |n: i64| if n == 1 { "" } else { "s" };
    if page > pages {
        return Footer {
            line: format!(
                "page {page} is past the last page: {total} {what}{} fill {pages} page{}; try \
                 --page {pages}",
                plural(total),
                plural(pages)
            ),
            next: None,
        };
    }
    Footer {
        line: format!("page {page} of {pages} ({total} {what}{})", plural(total)),
        next: (page < pages).then(|| format!("--page {}", page + 1)),
    }
}

/// Pages a walk reads at most (`MAX_PAGE_SIZE` entries each): a server that keeps answering full
/// pages, or reports a huge total, cannot keep a client looping.
pub const MAX_WALK_PAGES: i64 = 1000;

/// Every entry of a paged listing, in order, asking for pages of [`MAX_PAGE_SIZE`]: `fetch(page)`
/// answers the page's entries and the listing's total. Stops at an empty or short page, once
/// `total` entries are in, or after [`MAX_WALK_PAGES`] pages (with what it has).
pub async fn walk_pages<T, E>(
    mut fetch: impl AsyncFnMut(crate::PageQuery) -> Result<(Vec<T>, i64), E>,
) -> Result<Vec<T>, E> {
    let mut all = Vec::new();
    for page in 1..=MAX_WALK_PAGES {
        let (items, total) = fetch(crate::PageQuery::new(MAX_PAGE_SIZE, page)).await?;
        let got = items.len() as i64;
        all.extend(items);
        if got < MAX_PAGE_SIZE || all.len() as i64 >= total {
            break;
        }
    }
    Ok(all)
}

// ---- output ----

/// The JSON line of an error, printed on stdout with `--json` (the last line before a non-zero
/// exit), in both clients.
pub fn error_json(message: &str, hint: Option<&str>, exit: i32) -> serde_json::Value {
    json!({"event": "error", "error": message, "hint": hint, "exit_code": exit})
}

/// One JSON object on one line (what `--json` prints, always).
pub fn json_line<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_else(|e| {
        error_json(&format!("cannot encode the output: {e}"), None, 1).to_string()
    })
}

// ---- names and ids ----

/// Why a name did not lead to exactly one thing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NameError {
    /// Nothing is called that.
    NotFound { what: String, name: String },
    /// Several things are: their ids.
    Ambiguous {
        what: String,
        name: String,
        ids: Vec<Uuid>,
    },
}

impl std::fmt::Display for NameError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            NameError::NotFound { what, name } => write!(f, "no {what} is named {name:?}"),
            NameError::Ambiguous { what, name, ids } => {
                let ids: Vec<String> = ids.iter().map(Uuid::to_string).collect();
                write!(
                    f,
                    "{} {what}s are named {name:?} ({}); name one by its id",
                    ids.len(),
                    ids.join(", ")
                )
            }
        }
    }
}

impl std::error::Error for NameError {}

/// `given` as an id, if it is one (what both clients try before looking a name up).
pub fn as_id(given: &str) -> Option<Uuid> {
    Uuid::parse_str(given.trim()).ok()
}

/// The one candidate (id, name) named exactly `name`; `what` names the kind ("program").
pub fn pick_by_name<'a>(
    what: &str,
    name: &str,
    candidates: impl IntoIterator<Item = (Uuid, &'a str)>,
) -> Result<Uuid, NameError> {
    let mut ids: Vec<Uuid> = candidates
        .into_iter()
        .filter(|(_, candidate)| *candidate == name)
        .map(|(id, _)| id)
        .collect();
    ids.dedup();
    match ids.as_slice() {
        [id] => Ok(*id),
        [] => Err(NameError::NotFound {
            what: what.to_string(),
            name: name.to_string(),
        }),
        _ => Err(NameError::Ambiguous {
            what: what.to_string(),
            name: name.to_string(),
            ids,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_lists_each_code_once_in_order() {
        let codes: Vec<i32> = EXIT_CODES.iter().map(|(e, _)| e.code()).collect();
        let mut sorted = codes.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(codes, sorted);
        assert_eq!(codes.len(), 12);
        let markdown = exit_codes_markdown();
        assert!(markdown.contains("\n| 9 | authentication:"), "{markdown}");
        assert!(exit_codes_help().contains("\n    130  stopped by Ctrl-C"));
    }

    #[test]
    fn request_failures_get_their_codes() {
        let api = |status, code| ClientError::Api {
            status,
            code,
            message: "m".into(),
        };
        let of = |e: ClientError| ExitCode::of_client_error(&e);
        assert_eq!(of(api(401, ErrorCode::InvalidToken)), ExitCode::Auth);
        assert_eq!(of(api(404, ErrorCode::ProgramNotFound)), ExitCode::Refused);
        assert_eq!(
            of(api(500, ErrorCode::InternalServerError)),
            ExitCode::Unreachable
        );
    }

    #[test]
    fn page_sizes_above_the_maximum_are_refused_with_the_maximum() {
        assert_eq!(parse_page_size("50"), Ok(50));
        let error = parse_page_size("51").unwrap_err();
        assert!(error.contains("at most 50"), "{error}");
        assert!(parse_page_size("0").is_err());
        assert!(parse_page_size("x").is_err());
        assert!(check_page_size(8, 7).unwrap_err().contains("max_page_size"));
        assert_eq!(parse_page("1"), Ok(1));
        assert!(parse_page("0").is_err());
        assert!(configured_page_sizes(None, Some(80)).is_err());
        assert!(configured_page_sizes(Some(20), Some(5)).is_err());
        assert_eq!(configured_page_sizes(None, None), Ok((10, 50)));
    }

    #[test]
    fn the_footer_says_which_page_and_refuses_to_count_past_the_last() {
        let f = footer("program", 1, 10, 2);
        assert_eq!(f.line, "page 1 of 1 (2 programs)");
        assert_eq!(f.next, None);
        let f = footer("program", 1, 1, 2);
        assert_eq!(f.next.as_deref(), Some("--page 2"));
        assert_eq!(
            footer("program", 99, 10, 1).line,
            "page 99 is past the last page: 1 program fill 1 page; try --page 1"
        );
    }

    fn block_on<F: std::future::Future>(future: F) -> F::Output {
        // The futures here never wait: poll once with a no-op waker.
        let mut future = std::pin::pin!(future);
        let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
        match future.as_mut().poll(&mut cx) {
            std::task::Poll::Ready(out) => out,
            std::task::Poll::Pending => panic!("the test future waited"),
        }
    }

    #[test]
    fn a_walk_is_bounded_even_when_the_server_lies_about_the_total() {
        let mut calls = 0;
        let all: Result<Vec<u32>, ()> = block_on(walk_pages(|_| {
            calls += 1;
            std::future::ready(Ok((vec![0; MAX_PAGE_SIZE as usize], i64::MAX)))
        }));
        assert_eq!(calls, MAX_WALK_PAGES);
        assert_eq!(all.unwrap().len() as i64, MAX_WALK_PAGES * MAX_PAGE_SIZE);
        let mut calls = 0;
        let all: Result<Vec<u32>, ()> = block_on(walk_pages(|query: crate::PageQuery| {
            calls += 1;
            let n = if query.page == Some(1) { 50 } else { 3 };
            std::future::ready(Ok((vec![1; n], 53)))
        }));
        assert_eq!((calls, all.unwrap().len()), (2, 53));
    }

    #[test]
    fn names_pick_one_or_say_why_not() {
        let (a, b) = (Uuid::new_v4(), Uuid::new_v4());
        let list = [(a, "x"), (b, "y")];
        assert_eq!(pick_by_name("program", "y", list), Ok(b));
        let missing = pick_by_name("program", "z", list).unwrap_err();
        assert_eq!(missing.to_string(), "no program is named \"z\"");
        let twice = pick_by_name("program", "x", [(a, "x"), (b, "x")]).unwrap_err();
        assert!(twice.to_string().contains("2 programs are named \"x\""));
        assert!(twice.to_string().contains(&b.to_string()));
        assert_eq!(as_id(&format!(" {a} ")), Some(a));
        assert_eq!(as_id("count_primes"), None);
    }
}
