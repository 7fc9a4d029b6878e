//! The HTTP edge: one module per resource. Handlers turn requests into domain values, call the
//! database and the object storage, and answer in the envelope.
//!
//! [`table`] is the single list of routes: the server is configured from it, and the tests compare
//! it with the OpenAPI document (`openapi.json`).

mod accounts;
mod convert;
mod dashboard;
mod donors;
mod executions;
mod failures;
mod health;
mod inputs;
mod multipart;
mod programs;
mod progress;
mod proofs;
mod reservation;
mod services;
mod uploads;

use actix_web::http::header::{ContentDisposition, DispositionParam, DispositionType};
use actix_web::http::Method;
use actix_web::{web, FromRequest, Handler, HttpResponse, Responder, Route};
use distributor_api::{paths, Envelope};
use serde::Serialize;

/// One route: path, method, handler.
pub struct RouteEntry {
    pub path: &'static str,
    pub method: Method,
    route: Route,
}

struct Table(Vec<RouteEntry>);

impl Table {
    fn add<F, Args>(&mut self, method: Method, path: &'static str, handler: F)
    where
        F: Handler<Args>,
        Args: FromRequest + 'static,
        F::Output: Responder + 'static,
    {
        self.0.push(RouteEntry {
            path,
            route: web::method(method.clone()).to(handler),
            method,
        });
    }
}

/// Every route of the server. Fixed paths come before the `{program_id}` catch-alls they would
/// otherwise match.
pub fn table() -> Vec<RouteEntry> {
    let mut t = Table(Vec::new());
    t.add(Method::GET, paths::HEALTH, health::health);
    t.add(Method::HEAD, paths::HEALTH, health::health);
    t.add(Method::GET, paths::OPENAPI, health::openapi);
    t.add(Method::GET, paths::METRICS, crate::metrics::metrics);

    t.add(Method::POST, paths::REGISTER, accounts::register);
    t.add(Method::POST, paths::LOGIN, accounts::login);
    t.add(Method::POST, paths::REFRESH_TOKEN, accounts::refresh_token);
    t.add(Method::DELETE, paths::REFRESH_TOKEN, accounts::logout);
    t.add(Method::GET, paths::ORGANIZATIONS, accounts::organizations);

    t.add(Method::GET, paths::PROGRAMS_ALL, programs::all);
    t.add(Method::GET, paths::PROGRAMS_MINE, programs::mine);
    t.add(Method::GET, paths::TEMPLATE, programs::template);
    t.add(Method::POST, paths::PROGRAM_UPLOAD, programs::upload);
    t.add(
        Method::GET,
        paths::PROGRAMS_WITH_PROOFS,
        proofs::programs_with_proofs,
    );
    t.add(Method::POST, paths::PROOF_UPLOAD, proofs::upload);
    t.add(Method::POST, paths::EXECUTION_UPLOAD, executions::upload);
    t.add(Method::GET, paths::INPUT_GROUPS, inputs::list);
    t.add(Method::GET, paths::INPUTS, inputs::download);
    t.add(Method::POST, paths::INPUTS, inputs::upload);
    t.add(Method::DELETE, paths::INPUT_GROUP, inputs::delete);
    t.add(Method::GET, paths::RESERVATION, reservation::reserve);
    t.add(
        Method::GET,
        paths::EXECUTION_RESERVATION,
        reservation::reserve_to_execute,
    );
    t.add(
        Method::GET,
        paths::PROVING_RESERVATION,
        reservation::reserve_to_prove,
    );
    t.add(
        Method::POST,
        paths::RESERVATION_RELEASE,
        reservation::release,
    );
    t.add(Method::POST, paths::FAILURE_REPORT, failures::report);
    t.add(Method::POST, paths::INPUT_GROUP_RETRY, failures::retry);
    t.add(
        Method::GET,
        paths::ORGANIZATION_PROGRAMS,
        programs::of_organization,
    );
    t.add(Method::GET, paths::PROOF, proofs::download);
    t.add(Method::PATCH, paths::PROOF, proofs::reject);
    t.add(Method::DELETE, paths::PROOF, proofs::confirm);
    t.add(
        Method::GET,
        paths::PROVEN_INPUT_GROUPS,
        proofs::proven_input_groups,
    );
    t.add(Method::GET, paths::PROGRAM_STATUS, programs::status);
    t.add(Method::GET, paths::PROGRAM_REFUSALS, failures::refused);
    t.add(Method::GET, paths::PROGRAM_PROGRESS, progress::progress);
    t.add(
        Method::PUT,
        paths::PROGRAM_PROGRESS,
        progress::set_visibility,
    );
    t.add(Method::GET, paths::PROGRAM, programs::download);
    t.add(Method::DELETE, paths::PROGRAM, programs::delete);
    donor_routes(&mut t);
    t.0
}

/// Donors, teams and leaderboards. Fixed paths come before `/donor/{donor_id}`.
fn donor_routes(t: &mut Table) {
    t.add(Method::POST, paths::DONOR_REGISTER, donors::register);
    t.add(Method::POST, paths::DONOR_KEY, donors::rotate_key);
    t.add(Method::POST, paths::DONOR_TEAM, donors::join_team);
    t.add(Method::GET, paths::DONOR, donors::profile);
    t.add(Method::GET, paths::DONORS, donors::leaderboard);
    t.add(Method::POST, paths::TEAM_CREATE, donors::create_team);
    t.add(Method::GET, paths::TEAM, donors::team_page);
    t.add(Method::GET, paths::TEAMS, donors::teams);
    t.add(Method::GET, paths::DASHBOARD, dashboard::index);
    t.add(Method::GET, paths::DASHBOARD_ASSET, dashboard::file);
}

/// `(method, path)` of every route, in registration order.
pub fn route_list() -> Vec<(Method, &'static str)> {
    table().into_iter().map(|e| (e.method, e.path)).collect()
}

/// Registers [`table`], one resource per path (so a known path with a wrong method gets 405).
pub fn configure(cfg: &mut web::ServiceConfig) {
    let mut resources: Vec<(&'static str, actix_web::Resource)> = Vec::new();
    for entry in table() {
        match resources.iter_mut().find(|(path, _)| *path == entry.path) {
            Some((_, resource)) => {
                let taken = std::mem::replace(resource, web::resource(entry.path));
                *resource = taken.route(entry.route);
            }
            None => resources.push((entry.path, web::resource(entry.path).route(entry.route))),
        }
    }
    for (_, resource) in resources {
        cfg.service(resource);
    }
}

/// `{"status":"success","data":…}`.
pub(crate) fn success<T: Serialize>(data: T) -> HttpResponse {
    HttpResponse::Ok().json(Envelope::success(data))
}

/// A file download.
pub(crate) fn file(bytes: bytes::Bytes, content_type: &'static str, name: &str) -> HttpResponse {
    HttpResponse::Ok()
        .content_type(content_type)
        .insert_header(ContentDisposition {
            disposition: DispositionType::Attachment,
            parameters: vec![DispositionParam::Filename(name.to_string())],
        })
        .body(bytes)
}
