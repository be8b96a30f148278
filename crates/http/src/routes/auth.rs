//! Sign-up, sign-in, sign-out, the current session and the active organization.

use crate::browser::NotCrossOrigin;
use crate::dto::auth::*;
use crate::dto::*;
use crate::error::{ApiError, ErrorBody};
use crate::extract::{Caller, Json, MaybeCaller, SESSION_COOKIE, client_info};
use crate::openapi::{JsonBodyErrors, SignedInErrors};
use crate::state::AppState;
use actix_web::cookie::{Cookie, SameSite, time::Duration as CookieDuration};
use actix_web::{HttpRequest, HttpResponse, get, post, web};
use partneros_domain::identity::auth::SignedIn;
use partneros_domain::organizations::service::Accepted;
use partneros_domain::shared::ids::OrganizationId;

fn session_cookie(state: &AppState, token: &str) -> Cookie<'static> {
    Cookie::build(SESSION_COOKIE, token.to_owned())
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(state.settings.secure_cookies)
        .path("/")
        .max_age(CookieDuration::days(30))
        .finish()
}

/// Answers a sign-in with the body and the session cookie.
pub(crate) fn signed_in(state: &AppState, signed: SignedIn) -> HttpResponse {
    let token = signed.token.expose().to_owned();
    HttpResponse::Ok()
        .cookie(session_cookie(state, &token))
        .json(SignedInResponse {
            user: signed.user.into(),
            session: signed.session.into(),
            token,
        })
}

#[utoipa::path(
    tag = "auth",
    request_body = SignUpRequest,
    responses(
        (status = 200, description = "Account created and signed in; sets the `session_token` cookie", body = SignedInResponse),
        (status = 400, description = "Invalid input", body = ErrorBody),
        (status = 403, description = "Sign-up is disabled (`SIGNUP_ENABLED=false`), or a page of another origin (not this service's nor one in `CORS_ALLOWED_ORIGINS`) sent it", body = ErrorBody),
        (status = 409, description = "The email already has an account", body = ErrorBody),
        (status = 429, description = "Too many sign-ups from this address (`SIGN_UPS_PER_ADDRESS` an hour); see `Retry-After`", body = ErrorBody),
        (status = 503, description = "Database unavailable, or the server is saturated with password work (`Retry-After`)", body = ErrorBody),
        JsonBodyErrors,
    )
)]
#[post("/auth/sign-up/email")]
pub async fn sign_up(
    state: web::Data<AppState>,
    _: NotCrossOrigin,
    req: HttpRequest,
    body: Json<SignUpRequest>,
) -> Result<HttpResponse, ApiError> {
    let b = body.0;
    let signed = state
        .auth
        .sign_up(&b.name, &b.email, &b.password, &client_info(&req))
        .await?;
    Ok(signed_in(&state, signed))
}

#[utoipa::path(
    tag = "auth",
    request_body = SignInRequest,
    responses(
        (status = 200, description = "Signed in; sets the `session_token` cookie", body = SignedInResponse),
        (status = 400, description = "Invalid input", body = ErrorBody),
        (status = 401, description = "Wrong email or password (one message for both)", body = ErrorBody),
        (status = 403, description = "A page of another origin (not this service's nor one in `CORS_ALLOWED_ORIGINS`) sent it", body = ErrorBody),
        (status = 429, description = "5 attempts for this email, or the per-address limit, within 15 minutes (a success forgives the email's); see `Retry-After`", body = ErrorBody),
        (status = 503, description = "Database unavailable, or the server is saturated with password work (`Retry-After`)", body = ErrorBody),
        JsonBodyErrors,
    )
)]
#[post("/auth/sign-in/email")]
pub async fn sign_in(
    state: web::Data<AppState>,
    _: NotCrossOrigin,
    req: HttpRequest,
    body: Json<SignInRequest>,
) -> Result<HttpResponse, ApiError> {
    let b = body.0;
    let signed = state
        .auth
        .sign_in(&b.email, &b.password, &client_info(&req))
        .await?;
    Ok(signed_in(&state, signed))
}

#[utoipa::path(
    tag = "auth",
    responses(
        (status = 200, description = "The session is revoked and the cookie cleared", body = SuccessResponse),
        (status = 403, description = "Called with an API key", body = ErrorBody),
        SignedInErrors,
    ),
    security(("bearer" = []), ("cookie" = []))
)]
#[post("/auth/sign-out")]
pub async fn sign_out(
    state: web::Data<AppState>,
    caller: Caller,
) -> Result<HttpResponse, ApiError> {
    state.auth.sign_out(&caller.0).await?;
    let mut gone = session_cookie(&state, "");
    gone.make_removal();
    Ok(HttpResponse::Ok().cookie(gone).json(SuccessResponse::OK))
}

#[utoipa::path(
    tag = "auth",
    responses(
        (status = 200, description = "The signed-in user and session", body = SessionResponse),
        (status = 403, description = "Called with an API key", body = ErrorBody),
        SignedInErrors,
    ),
    security(("bearer" = []), ("cookie" = []))
)]
#[get("/auth/get-session")]
pub async fn get_session(
    state: web::Data<AppState>,
    caller: Caller,
) -> Result<HttpResponse, ApiError> {
    let (user, session) = state.auth.current_session(&caller.0).await?;
    Ok(HttpResponse::Ok().json(SessionResponse {
        user: user.into(),
        session: session.into(),
    }))
}

#[utoipa::path(
    tag = "auth",
    request_body = SetActiveRequest,
    responses(
        (status = 200, description = "The session with its new active organization", body = SessionResponse),
        (status = 400, description = "Invalid input", body = ErrorBody),
        (status = 403, description = "Called with an API key", body = ErrorBody),
        (status = 404, description = "Not a member of that organization", body = ErrorBody),
        SignedInErrors,
        JsonBodyErrors,
    ),
    security(("bearer" = []), ("cookie" = []))
)]
#[post("/auth/organization/set-active")]
pub async fn set_active(
    state: web::Data<AppState>,
    caller: Caller,
    body: Json<SetActiveRequest>,
) -> Result<HttpResponse, ApiError> {
    let (user, session) = state
        .auth
        .set_active_organization(&caller.0, OrganizationId::from_uuid(body.0.organization_id))
        .await?;
    Ok(HttpResponse::Ok().json(SessionResponse {
        user: user.into(),
        session: session.into(),
    }))
}

#[utoipa::path(
    tag = "auth",
    request_body = AcceptInvitationRequest,
    responses(
        (status = 200, description = "Joined the organization. A new account (or a partner contact setting its password) is signed in: `token` and the `session_token` cookie. An account that has a password must be signed in to accept: its session switches to the organization and no new token is issued.", body = AcceptedResponse),
        (status = 400, description = "Invalid input (e.g. a password is needed for a new account)", body = ErrorBody),
        (status = 401, description = "The invitation is for an account that has a password: sign in as it, then accept (a token alone never signs into an existing account); or a presented credential is not live", body = ErrorBody),
        (status = 403, description = "Signed in as another account than the invited one, or a page of another origin (not this service's nor one in `CORS_ALLOWED_ORIGINS`) sent it", body = ErrorBody),
        (status = 404, description = "Unknown, used, revoked or expired invitation", body = ErrorBody),
        (status = 503, description = "Database unavailable, or the server is saturated with password work (`Retry-After`)", body = ErrorBody),
        JsonBodyErrors,
    ),
    security((), ("bearer" = []), ("cookie" = []))
)]
#[post("/auth/invitations/accept")]
pub async fn accept_invitation(
    state: web::Data<AppState>,
    _: NotCrossOrigin,
    req: HttpRequest,
    caller: MaybeCaller,
    body: Json<AcceptInvitationRequest>,
) -> Result<HttpResponse, ApiError> {
    let b = body.0;
    let Accepted {
        user,
        session,
        token,
    } = state
        .organizations
        .accept_invitation(
            caller.0.as_ref(),
            &b.token,
            b.name.as_deref(),
            b.password.as_deref(),
            &client_info(&req),
        )
        .await?;
    let token = token.map(|t| t.expose().to_owned());
    let mut res = HttpResponse::Ok();
    if let Some(token) = &token {
        res.cookie(session_cookie(&state, token));
    }
    Ok(res.json(AcceptedResponse {
        user: user.into(),
        session: session.into(),
        token,
    }))
}
