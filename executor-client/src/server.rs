//! Talking to the program distributor: error classification, the reservation (with the server's
//! clock), organization lookup and walking paged listings.

use chrono::{DateTime, Utc};
use distributor_api::{
    paths, Client, ClientError, Envelope, ErrorCode, Organization, PageQuery, Program, Reservation,
};
use reqwest::Method;
use uuid::Uuid;

use crate::config::SERVER_MAX_PAGE_SIZE;
use crate::exit::{AppError, Exit};

/// Pages walked at most when a command needs a whole listing.
const MAX_PAGES: i64 = 200;

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

/// Turns a failed one-shot request into the client's error and exit code.
pub fn app_error(error: ClientError, url: &str) -> AppError {
    let message = describe(&error, url);
    match &error {
        ClientError::Http(_) => AppError::new(Exit::Unreachable, message).with_hint(
            "check that the server is running and that --server / PROGRAM_DISTRIBUTOR_URL / \
             program_distributor_url point at it",
        ),
        ClientError::Api { status, .. } | ClientError::UnexpectedResponse { status, .. }
            if *status >= 500 =>
        {
            AppError::new(Exit::Unreachable, message)
                .with_hint("the server failed; try again later")
        }
        ClientError::UnexpectedResponse { .. } => AppError::new(Exit::Refused, message)
            .with_hint(format!("is {url} a program distributor?")),
        _ => AppError::new(Exit::Refused, message),
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
    let response = client.request(Method::GET, &path).send().await?;
    let status = response.status().as_u16();
    let server_now = response
        .headers()
        .get(reqwest::header::DATE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| DateTime::parse_from_rfc2822(v).ok())
        .map(|d| d.with_timezone(&Utc));
    let body = response.bytes().await?;
    if status >= 400 {
        return Err(
            match serde_json::from_slice::<Envelope<serde_json::Value>>(&body) {
                Ok(Envelope::Error(error)) => ClientError::Api {
                    status,
                    code: error.error_code,
                    message: error.error_message,
                },
                _ => ClientError::UnexpectedResponse {
                    status,
                    detail: String::from_utf8_lossy(&body[..body.len().min(200)]).into_owned(),
                },
            },
        );
    }
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
    if let Ok(id) = Uuid::parse_str(given.trim()) {
        return Ok(id);
    }
    let url = client.base_url().to_string();
    let named: Vec<Organization> = all_pages(|page| {
        let query = PageQuery::new(SERVER_MAX_PAGE_SIZE, page).with_name_filter(given);
        let client = client.clone();
        async move {
            let answer = client.organizations(&query).await?;
            Ok((answer.organizations, answer.total_elements_amount))
        }
    })
    .await
    .map_err(|e| app_error(e, &url))?
    .into_iter()
    .filter(|o| o.name == given)
    .collect();
    match named.as_slice() {
        [one] => Ok(one.organization_id),
        [] => Err(AppError::new(
            Exit::Refused,
            format!("no organization is named {given:?}"),
        )
        .with_hint(format!(
            "list them with `executor-client organizations --name {given:?}`, or give the organization's id"
        ))),
        _ => Err(AppError::new(
            Exit::Refused,
            format!("{} organizations are named {given:?}", named.len()),
        )
        .with_hint("give the organization's id instead (see `executor-client organizations`)")),
    }
}

/// Every program of the organization, or of the server.
pub async fn programs(
    client: &Client,
    organization: Option<Uuid>,
) -> Result<Vec<Program>, ClientError> {
    all_pages(|page| {
        let query = PageQuery::new(SERVER_MAX_PAGE_SIZE, page);
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

/// Walks a paged listing (pages of [`SERVER_MAX_PAGE_SIZE`]) to its end.
pub async fn all_pages<T, F, Fut>(mut fetch: F) -> Result<Vec<T>, ClientError>
where
    F: FnMut(i64) -> Fut,
    Fut: std::future::Future<Output = Result<(Vec<T>, i64), ClientError>>,
{
    let mut all = Vec::new();
    for page in 1..=MAX_PAGES {
        let (items, total) = fetch(page).await?;
        let got = items.len();
        all.extend(items);
        if got == 0 || all.len() as i64 >= total {
            break;
        }
    }
    Ok(all)
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
