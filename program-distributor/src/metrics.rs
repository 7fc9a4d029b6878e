//! `GET /metrics`: counters and histograms in the Prometheus (OpenMetrics) text format, kept with
//! the maintained `prometheus-client` crate.
//!
//! Almost everything is recorded in one place, the [`record`] middleware, from each request's
//! route pattern, status and error code: requests and their latency by route, reservations by
//! kind, releases, proof and execution uploads accepted or refused by error code, and rate-limit
//! refusals by route. What a request's route and status cannot tell is recorded where it is known:
//! the time a proof verification or an execution replay takes ([`Metrics::checked`]), the
//! reservations whose lock had expired ([`Metrics::lock_expired`]), and the sweeper's work
//! ([`Metrics::swept`]). Labels come from the route table and the error
//! codes, never from the request itself, so their number is bounded.

use std::time::{Duration, Instant};

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::Method;
use actix_web::middleware::Next;
use actix_web::{web, HttpResponse};
use distributor_api::paths;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

use crate::error::ApiError;
use crate::startup::AppState;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    method: String,
    route: String,
    status: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    method: String,
    route: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct KindLabels {
    kind: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabels {
    kind: String,
    /// `accepted`, or the error code of the refusal.
    outcome: String,
}

type Histograms<L> = Family<L, Histogram, fn() -> Histogram>;

/// Seconds, from 1 ms to about a minute.
fn seconds_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.001, 2.0, 17))
}

/// What a donor uploaded, checked by the server.
#[derive(Debug, Clone, Copy)]
pub enum Checked {
    Proof,
    Execution,
}

impl Checked {
    fn label(self) -> &'static str {
        match self {
            Checked::Proof => "proof",
            Checked::Execution => "execution",
        }
    }
}

/// Every metric of the server, and the registry that encodes them.
pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    latency: Histograms<RouteLabels>,
    reservations: Family<KindLabels, Counter>,
    releases: Counter,
    uploads: Family<OutcomeLabels, Counter>,
    check_seconds: Histograms<KindLabels>,
    rate_limited: Family<RouteLabels, Counter>,
    lock_expiries: Counter,
    sweeps: Counter,
    swept: Family<KindLabels, Counter>,
}

impl Default for Metrics {
    fn default() -> Self {
        let metrics = Metrics {
            registry: Registry::default(),
            requests: Family::default(),
            latency: Family::new_with_constructor(seconds_histogram),
            reservations: Family::default(),
            releases: Counter::default(),
            uploads: Family::default(),
            check_seconds: Family::new_with_constructor(seconds_histogram),
            rate_limited: Family::default(),
            lock_expiries: Counter::default(),
            sweeps: Counter::default(),
            swept: Family::default(),
        };
        metrics.registered()
    }
}

impl Metrics {
    fn registered(mut self) -> Self {
        let r = &mut self.registry;
        r.register(
            "http_requests",
            "Requests answered, by method, route and status",
            self.requests.clone(),
        );
        r.register(
            "http_request_duration_seconds",
            "Time to answer a request, by method and route",
            self.latency.clone(),
        );
        r.register(
            "reservations",
            "Input groups handed out, by kind (whole, execute, prove)",
            self.reservations.clone(),
        );
        r.register(
            "reservation_releases",
            "Reservations given back early by their holder",
            self.releases.clone(),
        );
        r.register(
            "donor_uploads",
            "Proof and execution uploads, by kind and outcome (accepted or the error code)",
            self.uploads.clone(),
        );
        r.register(
            "check_duration_seconds",
            "Server-side proof verification and execution replay time, by kind",
            self.check_seconds.clone(),
        );
        r.register(
            "rate_limit_refusals",
            "Requests refused with 429 TOO_MANY_REQUESTS, by method and route",
            self.rate_limited.clone(),
        );
        r.register(
            "reservation_lock_expiries",
            "Reservations that ran out: their group was found with an expired lock and handed out again",
            self.lock_expiries.clone(),
        );
        r.register(
            "storage_sweeps",
            "Sweeps of the object store done (at start-up, then periodically)",
            self.sweeps.clone(),
        );
        r.register(
            "storage_swept_objects",
            "Objects removed by the sweeper, by kind (orphan: no row refers to it; temporary: an interrupted write)",
            self.swept.clone(),
        );
        self
    }

    /// Records a reservation that handed out a group whose previous reservation had run out.
    pub fn lock_expired(&self) {
        self.lock_expiries.inc();
    }

    /// Records a finished sweep.
    pub fn swept(&self, swept: crate::sweeper::Swept) {
        self.sweeps.inc();
        for (kind, count) in [("orphan", swept.orphans), ("temporary", swept.temporary)] {
            self.swept
                .get_or_create(&KindLabels { kind: kind.into() })
                .inc_by(count as u64);
        }
    }

    /// Records how long checking an upload of `kind` took.
    pub fn checked(&self, kind: Checked, took: Duration) {
        self.check_seconds
            .get_or_create(&KindLabels {
                kind: kind.label().into(),
            })
            .observe(took.as_secs_f64());
    }

    /// Records one answered request.
    fn request(&self, method: &Method, route: &str, status: u16, code: Option<&str>, took: f64) {
        let method = known_method(method);
        let route_labels = RouteLabels {
            method: method.into(),
            route: route.into(),
        };
        self.requests
            .get_or_create(&RequestLabels {
                method: method.into(),
                route: route.into(),
                status: status.to_string(),
            })
            .inc();
        self.latency.get_or_create(&route_labels).observe(took);
        if status == 429 {
            self.rate_limited.get_or_create(&route_labels).inc();
        }
        let ok = (200..300).contains(&status);
        let outcome = || match (ok, code) {
            (true, _) => "accepted".to_string(),
            (false, Some(code)) => code.to_string(),
            (false, None) => status.to_string(),
        };
        match route {
            paths::RESERVATION | paths::EXECUTION_RESERVATION | paths::PROVING_RESERVATION
                if ok =>
            {
                let kind = reservation_kind(route).into();
                self.reservations.get_or_create(&KindLabels { kind }).inc();
            }
            paths::RESERVATION_RELEASE if ok => {
                self.releases.inc();
            }
            paths::PROOF_UPLOAD | paths::EXECUTION_UPLOAD => {
                let kind = match route {
                    paths::PROOF_UPLOAD => Checked::Proof,
                    _ => Checked::Execution,
                };
                self.uploads
                    .get_or_create(&OutcomeLabels {
                        kind: kind.label().into(),
                        outcome: outcome(),
                    })
                    .inc();
            }
            _ => {}
        }
    }

    /// The text exposition.
    fn encode(&self) -> Result<String, std::fmt::Error> {
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &self.registry)?;
        Ok(text)
    }
}

fn reservation_kind(route: &str) -> &'static str {
    match route {
        paths::EXECUTION_RESERVATION => "execute",
        paths::PROVING_RESERVATION => "prove",
        _ => "whole",
    }
}

/// The method as a label: the methods routes use, anything else as `other`.
fn known_method(method: &Method) -> &'static str {
    [
        Method::GET,
        Method::HEAD,
        Method::POST,
        Method::PUT,
        Method::PATCH,
        Method::DELETE,
        Method::OPTIONS,
    ]
    .iter()
    .find(|m| *m == method)
    .map_or("other", |m| m.as_str())
}

/// Middleware: records every request under its route pattern (`unmatched` for unknown paths).
pub async fn record(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let started = Instant::now();
    let route = req.match_pattern().unwrap_or_else(|| "unmatched".into());
    let method = req.method().clone();
    let state = req.app_data::<web::Data<AppState>>().cloned();
    let result = next.call(req).await;
    if let Some(state) = state {
        let (status, code) = match &result {
            Ok(res) => (
                res.status().as_u16(),
                res.response().error().and_then(error_code),
            ),
            Err(error) => (
                error.as_response_error().status_code().as_u16(),
                error_code(error),
            ),
        };
        let took = started.elapsed().as_secs_f64();
        state.metrics.request(&method, &route, status, code, took);
    }
    result
}

fn error_code(error: &actix_web::Error) -> Option<&'static str> {
    error.as_error::<ApiError>().map(|e| e.code.as_str())
}

/// `GET /metrics`.
pub async fn metrics(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let text = state
        .metrics
        .encode()
        .map_err(|e| ApiError::internal("cannot encode the metrics", e))?;
    Ok(HttpResponse::Ok()
        .content_type("application/openmetrics-text; version=1.0.0; charset=utf-8")
        .body(text))
}
