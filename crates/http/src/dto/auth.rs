//! Sign-up, sign-in, sessions and accepting invitations.

use super::{Timestamp, ts};
use partneros_domain::identity::model::{Session, User};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UserDto {
    pub id: Uuid,
    pub email: String,
    pub name: String,
    /// Whether the address is verified. A signed-up account is not until its verification
    /// link (mailed at sign-up; `POST /api/auth/verify-email/resend` mails another) is used;
    /// until then it cannot create organizations or accept invitations.
    pub email_verified: bool,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl From<User> for UserDto {
    fn from(u: User) -> Self {
        Self {
            id: u.id.as_uuid(),
            email: u.email,
            name: u.name,
            email_verified: u.email_verified,
            created_at: ts(u.created_at),
            updated_at: ts(u.updated_at),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SessionDto {
    pub id: Uuid,
    pub user_id: Uuid,
    pub active_organization_id: Option<Uuid>,
    pub created_at: Timestamp,
    /// When the session ends unless used before (7 days after the last use, 30 days at most).
    pub expires_at: Timestamp,
}

impl From<Session> for SessionDto {
    fn from(s: Session) -> Self {
        Self {
            id: s.id.as_uuid(),
            user_id: s.user_id.as_uuid(),
            active_organization_id: s.active_organization_id.map(|o| o.as_uuid()),
            created_at: ts(s.created_at),
            expires_at: ts(s.expires_at),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SessionResponse {
    pub user: UserDto,
    pub session: SessionDto,
}

#[derive(Serialize, ToSchema)]
pub struct SignedInResponse {
    pub user: UserDto,
    pub session: SessionDto,
    /// The session token (also set as the `session_token` cookie), for `Authorization: Bearer`.
    pub token: String,
}

redacted_debug!(SignedInResponse { user, session; token });

/// An accepted invitation: the invitee's account and session. `token` (and the cookie) come
/// only with a new session; an invitee who accepted while signed in keeps theirs, now switched
/// to the organization.
#[derive(Serialize, ToSchema)]
pub struct AcceptedResponse {
    pub user: UserDto,
    pub session: SessionDto,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
}

redacted_debug!(AcceptedResponse { user, session; token });

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SignUpRequest {
    pub name: String,
    pub email: String,
    /// At least 8 characters.
    pub password: String,
}

redacted_debug!(SignUpRequest { name, email; password });

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SignInRequest {
    pub email: String,
    pub password: String,
}

redacted_debug!(SignInRequest { email; password });

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct SetActiveRequest {
    pub organization_id: Uuid,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AcceptInvitationRequest {
    pub token: String,
    /// The new account's display name.
    pub name: Option<String>,
    /// The new password (at least 8 characters) of a new account, or of a partner contact's
    /// account through its set-password link. An account that has a password accepts while
    /// signed in instead, without one.
    pub password: Option<String>,
}

redacted_debug!(AcceptInvitationRequest { name; token, password });

#[derive(Debug, Serialize, ToSchema)]
pub struct UserResponse {
    pub user: UserDto,
}

/// A mailed link's token.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VerifyEmailRequest {
    /// The `token` of the verification link.
    pub token: String,
}

redacted_debug!(VerifyEmailRequest { ; token });

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordResetRequest {
    pub email: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordResetConfirmRequest {
    /// The `token` of the reset link.
    pub token: String,
    /// The new password, at least 8 characters.
    pub password: String,
}

redacted_debug!(PasswordResetConfirmRequest { ; token, password });
