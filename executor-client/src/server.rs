//! Talking to the program distributor: error classification, the reservation (with the server's
//! clock), finding programs and organizations by id or name, and whole listings.

use chrono::{DateTime, Utc};
use distributor_api::cli::{as_id, pick_by_name, walk_pages, NameError};
use distributor_api::{paths, Client, ClientError, ErrorCode, PageQuery, Program, Reservation};
use reqwest::Method;
use uuid::Uuid;

use crate::exit::{AppError, Exit};

/// Whether trying again later may succeed: the network, a server fault, or a busy server.
pub fn is_transient(error: &ClientError) -> bool {
    match error {
        ClientError::Http(_) => true,
        ClientError::Api { status, code, .. } => {
            *status >= 500
                || *status == 408
                || *status == 429
                || *code == ErrorCode::InternalServerError
        }
        ClientError::UnexpectedResponse { status, .. } => *status >= 500 || *status == 0,
        ClientError::Archive(_) => false,
    }
}

/// A message that says what went wrong talking to `url`.
pub fn describe(error: &ClientError, url: &str) -> String {
    match error {
        ClientError::Http(e) => {
            let mut message = format!("cannot reach the program distributor at {url}");
            let mut source: Option<&dyn std::error::Error> = Some(e);
            let mut last = String::new();
            while let Some(err) = source {
                last = err.to_string();
                source = err.source();
            }
            if !last.is_empty() {
                message.push_str(&format!(": {last}"));
            }
            message
        }
        other => other.to_string(),
    }
}

/// Turns a failed one-shot request into the client's error and exit code (the shared table's).
pub fn app_error(error: ClientError, url: &str) -> AppError {
    let exit = Exit::of_client_error(&error);
    let message = describe(&error, url);
    let hint = match &error {
        ClientError::Http(_) => Some(
            "check that the server is running and that --server / PROGRAM_DISTRIBUTOR_URL / \
             program_distributor_url point at it"
                .to_string(),
        ),
        _ if exit == Exit::Unreachable => Some("the server failed; try again later".to_string()),
        ClientError::UnexpectedResponse { .. } => Some(format!("is {url} a program distributor?")),
        _ => None,
    };
    match hint {
        Some(hint) => AppError::new(exit, message).with_hint(hint),
        None => AppError::new(exit, message),
    }
}

/// A reservation and how long it lasts, measured on the server's clock.
pub struct Reserved {
    pub reservation: Reservation,
    /// Time left on the lock when the answer was received (the server's `Date` header against
    /// `lock_expires_at`, so a wrong local clock does not matter).
    pub lock_left: std::time::Duration,
    /// Size of the downloaded tar and how long the request took.
    pub bytes: u64,
    pub secs: f64,
}

/// Reserves a job of the program at `route` (one of the three reservation routes: a whole job,
/// a job to execute, an execution to prove), keeping the answer's `Date` header.
pub async fn reserve(
    client: &Client,
    route: &str,
    program_id: Uuid,
) -> Result<Reserved, ClientError> {
    let started = std::time::Instant::now();
    let path = paths::fill(route, &[&program_id]);
    // Signed when the client has a donor key (`donor::attach`).
    let empty = distributor_api::signing::body_hash(b"");
    let response = client.signed(Method::GET, &path, &empty)?.send().await?;
    let response = distributor_api::check_response(response).await?;
    let server_now = response
        .headers()
        .get(reqwest::header::DATE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| DateTime::parse_from_rfc2822(v).ok())
        .map(|d| d.with_timezone(&Utc));
    let body = response.bytes().await?;
    let reservation = Reservation::from_tar(&body).map_err(ClientError::Archive)?;
    // The Date header has whole seconds (rounded down): count one second less to be safe.
    let now = server_now
        .map(|d| d + chrono::Duration::seconds(1))
        .unwrap_or_else(Utc::now);
    let lock_left = (reservation.metadata.lock_expires_at - now)
        .to_std()
        .unwrap_or_default();
    Ok(Reserved {
        reservation,
        lock_left,
        bytes: body.len() as u64,
        secs: started.elapsed().as_secs_f64(),
    })
}

/// An organization given by id or by exact name.
pub async fn find_organization(client: &Client, given: &str) -> Result<Uuid, AppError> {
    let fetch = async |c: &Client, query: PageQuery| {
        let answer = c.organizations(&query).await?;
        let named = answer.organizations.into_iter();
        let named = named.map(|o| (o.organization_id, o.name)).collect();
        Ok((named, answer.total_elements_amount))
    };
    find_named(client, given, ("organization", "organizations"), fetch).await
}

/// A program given by id or by exact name (of any organization).
pub async fn find_program(client: &Client, given: &str) -> Result<Uuid, AppError> {
    let fetch = async |c: &Client, query: PageQuery| {
        let answer = c.all_programs(&query).await?;
        let named = answer.programs.into_iter();
        let named = named.map(|p| (p.program_id, p.name)).collect();
        Ok((named, answer.total_elements_amount))
    };
    find_named(client, given, ("program", "programs"), fetch).await
}

/// The one thing (`what`, listed by the command `listing`) given by id or named exactly `given`,
/// among the (id, name) pairs `fetch` lists page by page under the name filter.
async fn find_named(
    client: &Client,
    given: &str,
    (what, listing): (&str, &str),
    fetch: impl AsyncFn(&Client, PageQuery) -> Result<(Vec<(Uuid, String)>, i64), ClientError>,
) -> Result<Uuid, AppError> {
    if let Some(id) = as_id(given) {
        return Ok(id);
    }
    let named =
        walk_pages(async |query: PageQuery| fetch(client, query.with_name_filter(given)).await)
            .await
            .map_err(|e| app_error(e, client.base_url()))?;
    let candidates = named.iter().map(|(id, name)| (*id, name.as_str()));
    pick_by_name(what, given, candidates).map_err(|e| {
        name_error(
            e,
            &format!("list them with `executor-client {listing} --name {given:?}`"),
        )
    })
}

/// A name that matched nothing or several things: refused (exit 4), with what to do.
fn name_error(error: NameError, list_hint: &str) -> AppError {
    let hint = match &error {
        NameError::NotFound { what, .. } => format!("{list_hint}, or give the {what}'s id"),
        NameError::Ambiguous { .. } => list_hint.to_string(),
    };
    AppError::new(Exit::Refused, error.to_string()).with_hint(hint)
}

/// Every program of the organization, or of the server.
pub async fn programs(
    client: &Client,
    organization: Option<Uuid>,
) -> Result<Vec<Program>, ClientError> {
    walk_pages(|query: PageQuery| {
        let client = client.clone();
        async move {
            let answer = match organization {
                Some(id) => client.organization_programs(id, &query).await?,
                None => client.all_programs(&query).await?,
            };
            Ok((answer.programs, answer.total_elements_amount))
        }
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn api(status: u16, code: ErrorCode) -> ClientError {
        ClientError::Api {
            status,
            code,
            message: "m".into(),
        }
    }

    #[test]
    fn server_faults_are_transient_and_refusals_are_not() {
        assert!(is_transient(&api(500, ErrorCode::InternalServerError)));
        assert!(is_transient(&ClientError::UnexpectedResponse {
            status: 502,
            detail: "bad gateway".into()
        }));
        assert!(!is_transient(&api(404, ErrorCode::ProgramNotFound)));
        assert!(!is_transient(&api(409, ErrorCode::ProofAlreadySubmitted)));
        assert!(!is_transient(&api(422, ErrorCode::InvalidProof)));
    }

    #[test]
    fn refusals_and_faults_get_their_exit_codes() {
        let url = "http://x";
        assert_eq!(
            app_error(api(404, ErrorCode::AccountNotFound), url).exit,
            Exit::Refused
        );
        assert_eq!(
            app_error(api(500, ErrorCode::InternalServerError), url).exit,
            Exit::Unreachable
        );
        let not_ours = ClientError::UnexpectedResponse {
            status: 200,
            detail: "<html>".into(),
        };
        let error = app_error(not_ours, url);
        assert_eq!(error.exit, Exit::Refused);
        assert!(error
            .hint
            .unwrap_or_default()
            .contains("program distributor"));
    }
}
