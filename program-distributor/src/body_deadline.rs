//! The request-body timeout: a body must arrive in full within the configured time of the
//! request reaching its handler, or the request is answered `REQUEST_TIMEOUT` and the
//! connection closed. actix's own timeouts cover the request head and idle connections, not a
//! body trickled a byte at a time, which would otherwise hold a connection (and a handler's
//! buffer) for as long as the client likes.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::error::PayloadError;
use actix_web::http::header::{self, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{web, HttpMessage, ResponseError};
use bytes::Bytes;
use distributor_api::ErrorCode;
use futures_util::Stream;

use crate::error::ApiError;

/// How long a request body may take to arrive (app data of the server).
#[derive(Debug, Clone, Copy)]
pub struct BodyTimeout(pub Duration);

/// Middleware: puts the body behind the deadline and, when it passed, answers
/// `REQUEST_TIMEOUT` whatever the handler made of the cut-off body.
pub async fn enforce(
    mut req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    let Some(timeout) = req.app_data::<web::Data<BodyTimeout>>().map(|t| t.0) else {
        return Ok(next.call(req).await?.map_into_left_body());
    };
    let expired = Arc::new(AtomicBool::new(false));
    let body = DeadlineBody {
        inner: req.take_payload(),
        deadline: Box::pin(tokio::time::sleep(timeout)),
        expired: expired.clone(),
    };
    req.set_payload(Payload::Stream {
        payload: Box::pin(body),
    });
    let response = next.call(req).await?;
    if !expired.load(Ordering::Acquire) {
        return Ok(response.map_into_left_body());
    }
    let error = ApiError::new(
        ErrorCode::RequestTimeout,
        format!(
            "the request body did not arrive within {} s; send it faster, or split it",
            timeout.as_secs_f64()
        ),
    );
    let mut answer = error.error_response();
    answer
        .headers_mut()
        .insert(header::CONNECTION, HeaderValue::from_static("close"));
    Ok(response.into_response(answer).map_into_right_body())
}

/// A body that fails once its deadline has passed.
struct DeadlineBody {
    inner: Payload,
    deadline: Pin<Box<tokio::time::Sleep>>,
    expired: Arc<AtomicBool>,
}

impl Stream for DeadlineBody {
    type Item = Result<Bytes, PayloadError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if self.expired.load(Ordering::Acquire) {
            return Poll::Ready(None);
        }
        if let Poll::Ready(item) = Pin::new(&mut self.inner).poll_next(cx) {
            return Poll::Ready(item);
        }
        match self.deadline.as_mut().poll(cx) {
            Poll::Ready(()) => {
                self.expired.store(true, Ordering::Release);
                Poll::Ready(Some(Err(PayloadError::Io(std::io::Error::new(
                    std::io::ErrorKind::TimedOut,
                    "the request body timed out",
                )))))
            }
            Poll::Pending => Poll::Pending,
        }
    }
}
