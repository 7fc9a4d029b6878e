//! The web dashboard: one HTML page, a script and a style sheet, embedded in the binary at build
//! time (`program-distributor/dashboard/`). The page reads the public JSON API of this server and
//! nothing else: its Content-Security-Policy forbids any other origin.

use actix_web::http::header::{self, CacheControl, CacheDirective};
use actix_web::{web, HttpResponse};
use distributor_api::ErrorCode;

use crate::error::ApiError;

const INDEX: &str = include_str!("../../dashboard/index.html");
const APP_JS: &str = include_str!("../../dashboard/app.js");
const STYLE_CSS: &str = include_str!("../../dashboard/style.css");

/// Only this server's own scripts, styles and API; no frames, no plug-ins.
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; \
                   img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

fn asset(body: &'static str, content_type: &'static str) -> HttpResponse {
    HttpResponse::Ok()
        .content_type(content_type)
        .insert_header((header::CONTENT_SECURITY_POLICY, CSP))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        // Small files that change with the binary: revalidate rather than cache for long.
        .insert_header(CacheControl(vec![CacheDirective::NoCache]))
        .body(body)
}

/// `GET /`: the dashboard's page.
pub async fn index() -> HttpResponse {
    asset(INDEX, "text/html; charset=utf-8")
}

/// `GET /dashboard/{file}`: `app.js` or `style.css`.
pub async fn file(path: web::Path<String>) -> Result<HttpResponse, ApiError> {
    match path.as_str() {
        "app.js" => Ok(asset(APP_JS, "text/javascript; charset=utf-8")),
        "style.css" => Ok(asset(STYLE_CSS, "text/css; charset=utf-8")),
        other => Err(ApiError::new(
            ErrorCode::RouteNotFound,
            format!("the dashboard has no file {other:?}"),
        )),
    }
}
