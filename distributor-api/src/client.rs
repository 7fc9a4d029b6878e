//! A typed async client for every endpoint.

use reqwest::multipart::{Form, Part};
use reqwest::{Method, RequestBuilder, Response};
use serde::de::DeserializeOwned;
use serde::Serialize;
use uuid::Uuid;

use crate::archive::{ArchiveError, Reservation, EXECUTION_FILE};
use crate::envelope::Envelope;
use crate::paths::{self, fill};
use crate::signing::{self, DonorKey};
use crate::types::*;
use crate::{ErrorCode, TOKEN_HEADER};

/// What can go wrong talking to the server.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The server answered with an error envelope.
    #[error("{code} (HTTP {status}): {message}")]
    Api {
        status: u16,
        code: ErrorCode,
        message: String,
    },
    /// The server could not be reached, or the connection broke.
    #[error("could not talk to the server: {0}")]
    Http(#[from] reqwest::Error),
    /// The server answered something that is not this protocol.
    #[error("unexpected answer from the server (HTTP {status}): {detail}")]
    UnexpectedResponse { status: u16, detail: String },
    /// A tar the server sent could not be read.
    #[error("the server sent a bad archive: {0}")]
    Archive(#[from] ArchiveError),
}

impl ClientError {
    /// The error code, when the server sent one.
    pub fn code(&self) -> Option<ErrorCode> {
        match self {
            ClientError::Api { code, .. } => Some(*code),
            _ => None,
        }
    }
}

/// A client of one program-distributor server, optionally logged in (carrying a basic token),
/// optionally a registered donor (signing its reservations and uploads, [`Client::with_donor`]).
#[derive(Debug, Clone)]
pub struct Client {
    http: reqwest::Client,
    base_url: String,
    token: Option<String>,
    donor: Option<DonorKey>,
}

impl Client {
    /// A client of the server at `base_url` (e.g. `http://127.0.0.1:8080`).
    pub fn new(base_url: impl Into<String>) -> Self {
        Self::with_http_client(reqwest::Client::new(), base_url)
    }

    /// Same, sharing an existing reqwest client (connection pool).
    pub fn with_http_client(http: reqwest::Client, base_url: impl Into<String>) -> Self {
        let base_url = base_url.into().trim_end_matches('/').to_string();
        Client {
            http,
            base_url,
            token: None,
            donor: None,
        }
    }

    /// A copy of this client that signs its reservations, uploads and donor requests with `key`
    /// (see [`crate::signing`]), so the server credits the donor of that key.
    pub fn with_donor(&self, key: DonorKey) -> Self {
        Client {
            donor: Some(key),
            ..self.clone()
        }
    }

    /// The donor key this client signs with, if any.
    pub fn donor_key(&self) -> Option<&DonorKey> {
        self.donor.as_ref()
    }

    /// [`Client::request`], signed with the donor key when the client has one; `body_hash` is
    /// [`signing::body_hash`] of the body (or [`signing::upload_hash`] of an upload's parts), and
    /// `path` includes the query string if the request has one.
    pub fn signed(
        &self,
        method: Method,
        path: &str,
        body_hash: &[u8; 32],
    ) -> Result<RequestBuilder, ClientError> {
        let mut builder = self.request(method.clone(), path);
        if let Some(key) = &self.donor {
            let headers = key.headers(method.as_str(), path, body_hash).map_err(|e| {
                ClientError::UnexpectedResponse {
                    status: 0,
                    detail: format!("cannot sign the request: no random nonce: {e}"),
                }
            })?;
            for (name, value) in headers {
                builder = builder.header(name, value);
            }
        }
        Ok(builder)
    }

    /// A copy of this client that sends `token` in the `token` header.
    pub fn with_token(&self, token: impl Into<String>) -> Self {
        Client {
            token: Some(token.into()),
            ..self.clone()
        }
    }

    /// A copy of this client without a token.
    pub fn anonymous(&self) -> Self {
        Client {
            token: None,
            ..self.clone()
        }
    }

    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    pub fn token(&self) -> Option<&str> {
        self.token.as_deref()
    }

    /// The underlying reqwest client, for requests this client does not model.
    pub fn http(&self) -> &reqwest::Client {
        &self.http
    }

    /// A request to `path` (already filled) with the token header when there is one.
    pub fn request(&self, method: Method, path: &str) -> RequestBuilder {
        let builder = self
            .http
            .request(method, format!("{}{}", self.base_url, path));
        match &self.token {
            Some(token) => builder.header(TOKEN_HEADER, token),
            None => builder,
        }
    }

    // ---- account ----

    pub async fn health(&self) -> Result<Health, ClientError> {
        json(self.request(Method::GET, paths::HEALTH)).await
    }

    /// The server's OpenAPI document.
    pub async fn openapi(&self) -> Result<serde_json::Value, ClientError> {
        let response = self.request(Method::GET, paths::OPENAPI).send().await?;
        let response = check_response(response).await?;
        Ok(response.json().await?)
    }

    pub async fn register(&self, request: &RegisterRequest) -> Result<(), ClientError> {
        json(self.request(Method::POST, paths::REGISTER).json(request)).await
    }

    pub async fn login(&self, request: &LoginRequest) -> Result<LoginResponse, ClientError> {
        json(self.request(Method::POST, paths::LOGIN).json(request)).await
    }

    /// A new basic token for a refresh token.
    pub async fn refresh_token(&self, refresh_token: &str) -> Result<Token, ClientError> {
        let body = RefreshTokenRequest {
            refresh_token: refresh_token.to_string(),
        };
        json(self.request(Method::POST, paths::REFRESH_TOKEN).json(&body)).await
    }

    /// Logs out: deletes the refresh token (sent whole, to prove possession of it).
    pub async fn logout(&self, refresh_token: &Token) -> Result<(), ClientError> {
        let body = DeleteRefreshTokenRequest {
            token_id: refresh_token.token_id,
            refresh_token: refresh_token.token.clone(),
        };
        json(
            self.request(Method::DELETE, paths::REFRESH_TOKEN)
                .json(&body),
        )
        .await
    }

    pub async fn organizations(&self, page: &PageQuery) -> Result<OrganizationsPage, ClientError> {
        json(self.request(Method::GET, paths::ORGANIZATIONS).query(page)).await
    }

    // ---- programs ----

    pub async fn all_programs(&self, page: &PageQuery) -> Result<ProgramsPage, ClientError> {
        json(self.request(Method::GET, paths::PROGRAMS_ALL).query(page)).await
    }

    /// The caller's programs (needs a token).
    pub async fn my_programs(&self, page: &PageQuery) -> Result<ProgramsPage, ClientError> {
        json(self.request(Method::GET, paths::PROGRAMS_MINE).query(page)).await
    }

    pub async fn organization_programs(
        &self,
        organization_id: Uuid,
        page: &PageQuery,
    ) -> Result<ProgramsPage, ClientError> {
        let path = fill(paths::ORGANIZATION_PROGRAMS, &[&organization_id]);
        json(self.request(Method::GET, &path).query(page)).await
    }

    /// The guest-code template (a tar).
    pub async fn template(&self) -> Result<Vec<u8>, ClientError> {
        bytes(self.request(Method::GET, paths::TEMPLATE)).await
    }

    /// Uploads a program: `tar` holds `program.json` (at its root or in one top-level folder).
    pub async fn upload_program(
        &self,
        tar: Vec<u8>,
        data: &UploadProgramData,
    ) -> Result<Uuid, ClientError> {
        let form = form(tar, "program.tar", "application/x-tar", data)?;
        let response: UploadProgramResponse = json(
            self.request(Method::POST, paths::PROGRAM_UPLOAD)
                .multipart(form),
        )
        .await?;
        Ok(response.program_id)
    }

    /// The program's tar as uploaded.
    pub async fn program_archive(&self, program_id: Uuid) -> Result<Vec<u8>, ClientError> {
        bytes(self.request(Method::GET, &fill(paths::PROGRAM, &[&program_id]))).await
    }

    /// Deletes the caller's program with its input groups and proofs.
    pub async fn delete_program(&self, program_id: Uuid) -> Result<(), ClientError> {
        json(self.request(Method::DELETE, &fill(paths::PROGRAM, &[&program_id]))).await
    }

    /// Input group counts by state (owner only).
    pub async fn program_status(&self, program_id: Uuid) -> Result<ProgramStatus, ClientError> {
        json(self.request(Method::GET, &fill(paths::PROGRAM_STATUS, &[&program_id]))).await
    }

    // ---- input groups ----

    /// Uploads an input group (a CSV of field elements) to the caller's program.
    pub async fn upload_inputs(
        &self,
        program_id: Uuid,
        csv: Vec<u8>,
        data: &UploadInputsData,
    ) -> Result<Uuid, ClientError> {
        let form = form(csv, "inputs.csv", "text/csv", data)?;
        let path = fill(paths::INPUTS, &[&program_id]);
        let response: UploadInputsResponse =
            json(self.request(Method::POST, &path).multipart(form)).await?;
        Ok(response.input_group_id)
    }

    /// The CSV of one input group: the one named, or else the oldest unproven one.
    pub async fn input_group_csv(
        &self,
        program_id: Uuid,
        input_group_id: Option<Uuid>,
    ) -> Result<Vec<u8>, ClientError> {
        let mut request = self.request(Method::GET, &fill(paths::INPUTS, &[&program_id]));
        if let Some(id) = input_group_id {
            request = request.query(&[("input_group_id", id)]);
        }
        bytes(request).await
    }

    /// The input groups of the caller's program.
    pub async fn input_groups(
        &self,
        program_id: Uuid,
        page: &PageQuery,
    ) -> Result<InputGroupsPage, ClientError> {
        let path = fill(paths::INPUT_GROUPS, &[&program_id]);
        json(self.request(Method::GET, &path).query(page)).await
    }

    /// The uploads of the program's donors that the server refused, newest first.
    pub async fn refusals(
        &self,
        program_id: Uuid,
        page: &PageQuery,
    ) -> Result<RefusalsPage, ClientError> {
        let path = fill(paths::PROGRAM_REFUSALS, &[&program_id]);
        json(self.request(Method::GET, &path).query(page)).await
    }

    pub async fn delete_input_group(
        &self,
        program_id: Uuid,
        input_group_id: Uuid,
    ) -> Result<(), ClientError> {
        let path = fill(paths::INPUT_GROUP, &[&program_id, &input_group_id]);
        json(self.request(Method::DELETE, &path)).await
    }

    /// Hands a `failed` input group out again, its failures forgotten (owner only); answers the
    /// group as it is now (a proven group is left as it is).
    pub async fn retry_input_group(
        &self,
        program_id: Uuid,
        input_group_id: Uuid,
    ) -> Result<InputGroup, ClientError> {
        let path = fill(paths::INPUT_GROUP_RETRY, &[&program_id, &input_group_id]);
        json(self.request(Method::POST, &path)).await
    }

    /// Reserves one input group of the program and returns the work: program, inputs, metadata.
    pub async fn reserve(&self, program_id: Uuid) -> Result<Reservation, ClientError> {
        self.reserve_at(paths::RESERVATION, program_id).await
    }

    /// Same as [`Client::reserve`], returning the tar as sent.
    pub async fn reserve_raw(&self, program_id: Uuid) -> Result<Vec<u8>, ClientError> {
        self.reservation_tar(paths::RESERVATION, program_id).await
    }

    /// Execution-only mode: reserves an input group that has no execution yet, to execute it and
    /// [`Client::upload_execution`] the result.
    pub async fn reserve_for_execution(
        &self,
        program_id: Uuid,
    ) -> Result<Reservation, ClientError> {
        self.reserve_at(paths::EXECUTION_RESERVATION, program_id)
            .await
    }

    /// Execution-only mode: reserves an executed input group, to prove its execution (in
    /// [`Reservation::execution`]) and [`Client::upload_proof`] the proof.
    pub async fn reserve_for_proving(&self, program_id: Uuid) -> Result<Reservation, ClientError> {
        self.reserve_at(paths::PROVING_RESERVATION, program_id)
            .await
    }

    /// Gives the reservation `reservation_id` of an input group back before its lock expires, so
    /// the next donor gets the group at once (for a donor that stops or cannot finish the work).
    /// `RESERVATION_NOT_FOUND` when it is not live any more.
    pub async fn release_reservation(
        &self,
        program_id: Uuid,
        input_group_id: Uuid,
        reservation_id: Uuid,
    ) -> Result<(), ClientError> {
        let body = ReleaseReservationRequest {
            program_id,
            input_group_id,
            reservation_id,
        };
        json(
            self.request(Method::POST, paths::RESERVATION_RELEASE)
                .json(&body),
        )
        .await
    }

    /// Reports that the run of a reserved input group failed (anonymous: the reservation id is
    /// the authorization). The reservation ends. `RESERVATION_NOT_FOUND` when it is not live.
    pub async fn report_failure(
        &self,
        report: &FailureReport,
    ) -> Result<FailureReportResponse, ClientError> {
        json(
            self.request(Method::POST, paths::FAILURE_REPORT)
                .json(report),
        )
        .await
    }

    /// Reserves through the reservation route `template` and reads the tar.
    async fn reserve_at(
        &self,
        template: &str,
        program_id: Uuid,
    ) -> Result<Reservation, ClientError> {
        let tar = self.reservation_tar(template, program_id).await?;
        Ok(Reservation::from_tar(&tar)?)
    }

    /// The tar answered by the reservation route `template`.
    async fn reservation_tar(
        &self,
        template: &str,
        program_id: Uuid,
    ) -> Result<Vec<u8>, ClientError> {
        let path = fill(template, &[&program_id]);
        bytes(self.signed(Method::GET, &path, &signing::body_hash(b""))?).await
    }

    // ---- proofs ----

    /// Uploads the proof of an input group (no token needed: donors are anonymous).
    pub async fn upload_proof(
        &self,
        proof: Vec<u8>,
        data: &UploadProofData,
    ) -> Result<(), ClientError> {
        self.upload_work(paths::PROOF_UPLOAD, proof, "proof.bin", data)
            .await
    }

    /// Execution-only mode: uploads the execution file of an input group (anonymous, like
    /// proofs); the server replays it before accepting it.
    pub async fn upload_execution(
        &self,
        execution: Vec<u8>,
        data: &UploadExecutionData,
    ) -> Result<(), ClientError> {
        self.upload_work(paths::EXECUTION_UPLOAD, execution, EXECUTION_FILE, data)
            .await
    }

    /// Posts a donor's result (`file`) about the input group named in `data`.
    async fn upload_work(
        &self,
        path: &str,
        file: Vec<u8>,
        file_name: &'static str,
        data: &UploadProofData,
    ) -> Result<(), ClientError> {
        let data = encode(data)?;
        let hash = signing::upload_hash(data.as_bytes(), &file);
        let part = Part::bytes(file)
            .file_name(file_name)
            .mime_str("application/octet-stream")?;
        let form = Form::new().part("file", part).text("data", data);
        json(self.signed(Method::POST, path, &hash)?.multipart(form)).await
    }

    /// The caller's programs that have proofs waiting for verification.
    pub async fn programs_with_proofs(
        &self,
        page: &PageQuery,
    ) -> Result<ProgramsPage, ClientError> {
        json(
            self.request(Method::GET, paths::PROGRAMS_WITH_PROOFS)
                .query(page),
        )
        .await
    }

    /// The input groups of the caller's program whose proofs wait for verification.
    pub async fn proven_input_groups(
        &self,
        program_id: Uuid,
        page: &PageQuery,
    ) -> Result<InputGroupsPage, ClientError> {
        let path = fill(paths::PROVEN_INPUT_GROUPS, &[&program_id]);
        json(self.request(Method::GET, &path).query(page)).await
    }

    /// Downloads a proof (owner only).
    pub async fn proof(
        &self,
        program_id: Uuid,
        input_group_id: Uuid,
    ) -> Result<Vec<u8>, ClientError> {
        bytes(self.request(
            Method::GET,
            &fill(paths::PROOF, &[&program_id, &input_group_id]),
        ))
        .await
    }

    /// Confirms a proof: it is deleted and the input group stays proven.
    pub async fn confirm_proof(
        &self,
        program_id: Uuid,
        input_group_id: Uuid,
    ) -> Result<(), ClientError> {
        let path = fill(paths::PROOF, &[&program_id, &input_group_id]);
        json(self.request(Method::DELETE, &path)).await
    }

    /// Rejects a proof: it is deleted and the input group is offered again at once.
    pub async fn reject_proof(
        &self,
        program_id: Uuid,
        input_group_id: Uuid,
    ) -> Result<(), ClientError> {
        let path = fill(paths::PROOF, &[&program_id, &input_group_id]);
        json(self.request(Method::PATCH, &path)).await
    }
}

fn form<T: Serialize>(
    file: Vec<u8>,
    file_name: &'static str,
    mime: &str,
    data: &T,
) -> Result<Form, ClientError> {
    let data = encode(data)?;
    let part = Part::bytes(file).file_name(file_name).mime_str(mime)?;
    Ok(Form::new().part("file", part).text("data", data))
}

/// `data` as JSON text.
pub(crate) fn encode<T: Serialize>(data: &T) -> Result<String, ClientError> {
    serde_json::to_string(data).map_err(|e| ClientError::UnexpectedResponse {
        status: 0,
        detail: format!("could not encode the request: {e}"),
    })
}

/// Sends a request whose answer is a JSON envelope and returns its `data`.
pub(crate) async fn json<T: DeserializeOwned>(request: RequestBuilder) -> Result<T, ClientError> {
    let response = request.send().await?;
    let status = response.status().as_u16();
    let body = response.bytes().await?;
    match serde_json::from_slice::<Envelope<T>>(&body) {
        Ok(Envelope::Success { data }) if status < 400 => Ok(data),
        Ok(Envelope::Error(error)) => Err(api(status, error)),
        Ok(Envelope::Success { .. }) => Err(unexpected(status, "a success body")),
        Err(e) => Err(error_from_body(
            status,
            &body,
            &format!("{e}: {}", snippet(&body)),
        )),
    }
}

/// Sends a request whose answer is a file and returns its bytes.
async fn bytes(request: RequestBuilder) -> Result<Vec<u8>, ClientError> {
    let response = check_response(request.send().await?).await?;
    Ok(response.bytes().await?.to_vec())
}

/// The response as it is when its status is a success; else the error it carries
/// ([`ClientError::Api`] from its envelope, or [`ClientError::UnexpectedResponse`]). For callers
/// that send requests of their own (with [`Client::request`]) and need the response's headers.
pub async fn check_response(response: Response) -> Result<Response, ClientError> {
    let status = response.status().as_u16();
    if status < 400 {
        return Ok(response);
    }
    let body = response.bytes().await?;
    Err(error_from_body(status, &body, &snippet(&body)))
}

/// The error an error answer's body says, or `detail` when it is not an error envelope.
fn error_from_body(status: u16, body: &[u8], detail: &str) -> ClientError {
    match serde_json::from_slice::<Envelope<serde_json::Value>>(body) {
        Ok(Envelope::Error(error)) => api(status, error),
        _ => unexpected(status, detail),
    }
}

fn api(status: u16, error: crate::ErrorBody) -> ClientError {
    ClientError::Api {
        status,
        code: error.error_code,
        message: error.error_message,
    }
}

fn unexpected(status: u16, detail: &str) -> ClientError {
    ClientError::UnexpectedResponse {
        status,
        detail: detail.to_string(),
    }
}

fn snippet(body: &[u8]) -> String {
    String::from_utf8_lossy(&body[..body.len().min(200)]).into_owned()
}
