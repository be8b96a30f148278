//! What browsers may do across origins.
//!
//! CORS: the public side of application forms answers any origin without credentials (a form on
//! the customer's own site submits to it); every other `/api` route answers only trusted origins,
//! with credentials.

use crate::middleware::REQUEST_ID;
use actix_cors::Cors;
use actix_web::http::Method;
use actix_web::http::header::{AUTHORIZATION, CONTENT_TYPE, RETRY_AFTER};

/// How long a browser may reuse a preflight's answer, in seconds.
const PREFLIGHT_MAX_AGE: usize = 3600;

/// CORS of the public application endpoints: any origin, no credentials.
pub(crate) fn public_cors() -> Cors {
    Cors::default()
        .allow_any_origin()
        .send_wildcard()
        .allowed_methods([Method::GET, Method::POST])
        .allowed_headers([CONTENT_TYPE, REQUEST_ID])
        .expose_headers([REQUEST_ID, RETRY_AFTER])
        .max_age(PREFLIGHT_MAX_AGE)
}

/// CORS of every other `/api` route: the trusted origins only, with credentials.
pub(crate) fn trusted_cors(trusted_origins: &[String]) -> Cors {
    let cors = Cors::default()
        .allowed_methods([
            Method::GET,
            Method::POST,
            Method::PUT,
            Method::PATCH,
            Method::DELETE,
        ])
        .allowed_headers([AUTHORIZATION, CONTENT_TYPE, REQUEST_ID])
        .expose_headers([REQUEST_ID, RETRY_AFTER])
        .supports_credentials()
        .max_age(PREFLIGHT_MAX_AGE)
        // A request from another origin still reaches its handler, only without CORS headers
        // (the foreign page cannot read the answer): same-origin pages such as `/docs` and
        // clients that send no `Origin` keep working.
        .block_on_origin_mismatch(false);
    trusted_origins
        .iter()
        .fold(cors, |cors, origin| cors.allowed_origin(origin))
}
