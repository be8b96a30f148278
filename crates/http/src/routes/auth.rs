//! Sign-up, sign-in, sign-out, the current session and the active organization; email
//! verification and password reset.

use crate::browser::NotCrossOrigin;
use crate::dto::auth::*;
use crate::dto::*;
use crate::error::{ApiError, ErrorBody};
use crate::extract::{Caller, Json, MaybeCaller, SESSION_COOKIE, client_info};
use crate::openapi::{DatabaseUnavailable, JsonBodyErrors, SignedInErrors};
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
        (status = 200, description = "Account created (`emailVerified: false`) and signed in; sets the `session_token` cookie. A verification link (valid 48 hours) is mailed to the address; until it is used, the account cannot create organizations or accept invitations (403 `email_not_verified`)", body = SignedInResponse),
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
        (status = 200, description = "Joined the organization. A new account (or a partner contact setting its password) is created verified (the mailed token proved the address) and signed in: `token` and the `session_token` cookie. An account that has a password must be signed in to accept: its session switches to the organization and no new token is issued.", body = AcceptedResponse),
        (status = 400, description = "Invalid input (e.g. a password is needed for a new account)", body = ErrorBody),
        (status = 401, description = "The invitation is for an account that has a password: sign in as it, then accept (a token alone never signs into an existing account); or a presented credential is not live", body = ErrorBody),
        (status = 403, description = "Signed in as another account than the invited one; `email_not_verified`: signed in as an account whose address is not verified yet; or a page of another origin (not this service's nor one in `CORS_ALLOWED_ORIGINS`) sent it", body = ErrorBody),
        (status = 404, description = "Unknown, used, revoked or expired invitation (only the newest invitation mail's link works)", body = ErrorBody),
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

#[utoipa::path(
    tag = "auth",
    request_body = VerifyEmailRequest,
    responses(
        (status = 200, description = "The address is verified (the link works once; the account's other verification links stop working)", body = UserResponse),
        (status = 400, description = "`invalid_token`: the link is unknown, used or expired (ask for a new one); or invalid input", body = ErrorBody),
        DatabaseUnavailable,
        JsonBodyErrors,
    )
)]
#[post("/auth/verify-email")]
pub async fn verify_email(
    state: web::Data<AppState>,
    body: Json<VerifyEmailRequest>,
) -> Result<HttpResponse, ApiError> {
    let user = state.accounts.verify_email(&body.0.token).await?;
    Ok(HttpResponse::Ok().json(UserResponse { user: user.into() }))
}

#[utoipa::path(
    tag = "auth",
    responses(
        (status = 202, description = "A new verification link is on its way to the account's address (valid 48 hours)", body = SuccessResponse),
        (status = 403, description = "Called with an API key", body = ErrorBody),
        (status = 409, description = "The address is verified already", body = ErrorBody),
        (status = 429, description = "3 verification mails an hour per account; see `Retry-After`", body = ErrorBody),
        SignedInErrors,
    ),
    security(("bearer" = []), ("cookie" = []))
)]
#[post("/auth/verify-email/resend")]
pub async fn resend_verification(
    state: web::Data<AppState>,
    caller: Caller,
) -> Result<HttpResponse, ApiError> {
    state.accounts.resend_verification(&caller.0).await?;
    Ok(HttpResponse::Accepted().json(SuccessResponse::OK))
}

#[utoipa::path(
    tag = "auth",
    request_body = PasswordResetRequest,
    responses(
        (status = 202, description = "Same answer whether or not the email has an account; if it has one, a reset link (valid 1 hour) is on its way to it", body = SuccessResponse),
        (status = 400, description = "Not an email address", body = ErrorBody),
        (status = 429, description = "3 requests an hour for one email (whether or not it has an account), or the per-address limit (`PASSWORD_RESETS_PER_ADDRESS` an hour); see `Retry-After`", body = ErrorBody),
        DatabaseUnavailable,
        JsonBodyErrors,
    )
)]
#[post("/auth/password-reset/request")]
pub async fn request_password_reset(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: Json<PasswordResetRequest>,
) -> Result<HttpResponse, ApiError> {
    state
        .accounts
        .request_password_reset(&body.0.email, &client_info(&req))
        .await?;
    Ok(HttpResponse::Accepted().json(SuccessResponse::OK))
}

#[utoipa::path(
    tag = "auth",
    request_body = PasswordResetConfirmRequest,
    responses(
        (status = 200, description = "The password is set (the link works once), the address counts as verified, and every session of the account is revoked: sign in with the new password", body = UserResponse),
        (status = 400, description = "`invalid_token`: the link is unknown, used or expired (ask for a new one); or `validation_failed` (password under 8 characters)", body = ErrorBody),
        (status = 503, description = "Database unavailable, or the server is saturated with password work (`Retry-After`)", body = ErrorBody),
        JsonBodyErrors,
    )
)]
#[post("/auth/password-reset/confirm")]
pub async fn confirm_password_reset(
    state: web::Data<AppState>,
    body: Json<PasswordResetConfirmRequest>,
) -> Result<HttpResponse, ApiError> {
    let b = body.0;
    let user = state
        .accounts
        .confirm_password_reset(&b.token, &b.password)
        .await?;
    Ok(HttpResponse::Ok().json(UserResponse { user: user.into() }))
}
