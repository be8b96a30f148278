//! Organizations and their members.

use crate::dto::organizations::*;
use crate::dto::*;
use crate::error::{ApiError, ErrorBody};
use crate::extract::{Caller, Json, path_id};
use crate::openapi::{JsonBodyErrors, SignedInErrors};
use crate::state::AppState;
use actix_web::{HttpResponse, delete, get, patch, post, web};
use partneros_domain::shared::ids::{InvitationId, UserId};

#[utoipa::path(
    tag = "organizations",
    request_body = CreateOrganizationRequest,
    responses(
        (status = 201, description = "Created; the caller is its owner and it is now the session's active organization", body = OrganizationResponse),
        (status = 400, description = "Invalid input", body = ErrorBody),
        (status = 403, description = "Called with an API key; or `email_not_verified`: the caller's address is not verified yet", body = ErrorBody),
        (status = 409, description = "The slug is taken", body = ErrorBody),
        SignedInErrors,
        JsonBodyErrors,
    ),
    security(("bearer" = []), ("cookie" = []))
)]
#[post("/organizations")]
pub async fn create_organization(
    state: web::Data<AppState>,
    caller: Caller,
    body: Json<CreateOrganizationRequest>,
) -> Result<HttpResponse, ApiError> {
    let b = body.0;
    let org = state
        .organizations
        .create(&caller.0, &b.name, b.slug.as_deref())
        .await?;
    Ok(HttpResponse::Created().json(OrganizationResponse {
        organization: org.into(),
    }))
}

#[utoipa::path(
    tag = "organizations",
    responses(
        (status = 200, description = "The caller's memberships with their roles", body = OrganizationsResponse),
        (status = 403, description = "Called with an API key", body = ErrorBody),
        SignedInErrors,
    ),
    security(("bearer" = []), ("cookie" = []))
)]
#[get("/organizations")]
pub async fn list_organizations(
    state: web::Data<AppState>,
    caller: Caller,
) -> Result<HttpResponse, ApiError> {
    let list = state.organizations.list_mine(&caller.0).await?;
    Ok(HttpResponse::Ok().json(OrganizationsResponse {
        organizations: list.into_iter().map(Into::into).collect(),
    }))
}

#[utoipa::path(
    tag = "members",
    responses(
        (status = 200, description = "Members of the active organization", body = MembersResponse),
        (status = 400, description = "No active organization", body = ErrorBody),
        (status = 403, description = "Only owners and admins manage members", body = ErrorBody),
        SignedInErrors,
    ),
    security(("bearer" = []), ("cookie" = []))
)]
#[get("/organizations/members")]
pub async fn list_members(
    state: web::Data<AppState>,
    caller: Caller,
) -> Result<HttpResponse, ApiError> {
    let members = state.organizations.list_members(&caller.0).await?;
    Ok(HttpResponse::Ok().json(MembersResponse {
        members: members.into_iter().map(Into::into).collect(),
    }))
}

#[utoipa::path(
    tag = "members",
    request_body = AddMemberRequest,
    responses(
        (status = 201, description = "The address is invited: a single-use link, valid 48 hours, is mailed to it (and only there) moments later, by the outbox relay, which mints the token as it sends the mail. The answer carries no token, and is the same whether or not the address has an account; the invitee joins by accepting.", body = InvitationResponse),
        (status = 400, description = "Invalid input or no active organization", body = ErrorBody),
        (status = 403, description = "Only owners and admins manage members; only owners grant `owner`", body = ErrorBody),
        (status = 409, description = "The address is already a member", body = ErrorBody),
        SignedInErrors,
        JsonBodyErrors,
    ),
    security(("bearer" = []), ("cookie" = []))
)]
#[post("/organizations/members")]
pub async fn add_member(
    state: web::Data<AppState>,
    caller: Caller,
    body: Json<AddMemberRequest>,
) -> Result<HttpResponse, ApiError> {
    let b = body.0;
    let invitation = state
        .organizations
        .add_member(&caller.0, &b.email, &b.role)
        .await?;
    Ok(HttpResponse::Created().json(InvitationResponse {
        invitation: invitation.into(),
    }))
}

#[utoipa::path(
    tag = "members",
    responses(
        (status = 200, description = "Invitations of the active organization neither accepted nor revoked (expired ones included, see `expiresAt`), newest first", body = InvitationsResponse),
        (status = 400, description = "No active organization", body = ErrorBody),
        (status = 403, description = "Only owners and admins manage invitations", body = ErrorBody),
        SignedInErrors,
    ),
    security(("bearer" = []), ("cookie" = []))
)]
#[get("/organizations/invitations")]
pub async fn list_invitations(
    state: web::Data<AppState>,
    caller: Caller,
) -> Result<HttpResponse, ApiError> {
    let invitations = state.organizations.list_invitations(&caller.0).await?;
    Ok(HttpResponse::Ok().json(InvitationsResponse {
        invitations: invitations.into_iter().map(Into::into).collect(),
    }))
}

#[utoipa::path(
    tag = "members",
    params(("invitationId" = uuid::Uuid, Path, description = "The invitation's id")),
    responses(
        (status = 200, description = "Revoked: its link no longer works", body = SuccessResponse),
        (status = 400, description = "Malformed id or no active organization", body = ErrorBody),
        (status = 403, description = "Only owners and admins manage invitations", body = ErrorBody),
        (status = 404, description = "No pending invitation with this id in the active organization", body = ErrorBody),
        SignedInErrors,
    ),
    security(("bearer" = []), ("cookie" = []))
)]
#[delete("/organizations/invitations/{invitationId}")]
pub async fn revoke_invitation(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = InvitationId::from_uuid(path_id(&path, "invitationId")?);
    state.organizations.revoke_invitation(&caller.0, id).await?;
    Ok(HttpResponse::Ok().json(SuccessResponse::OK))
}

#[utoipa::path(
    tag = "members",
    params(("invitationId" = uuid::Uuid, Path, description = "The invitation's id")),
    responses(
        (status = 200, description = "Mailed again (by the outbox relay, moments later) with a new link, valid 48 hours from now; once the new mail is sent, the earlier links no longer work (only the newest invitation mail's link does)", body = InvitationResponse),
        (status = 400, description = "Malformed id or no active organization", body = ErrorBody),
        (status = 403, description = "Only owners and admins manage invitations", body = ErrorBody),
        (status = 404, description = "No pending invitation with this id in the active organization", body = ErrorBody),
        SignedInErrors,
    ),
    security(("bearer" = []), ("cookie" = []))
)]
#[post("/organizations/invitations/{invitationId}/resend")]
pub async fn resend_invitation(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = InvitationId::from_uuid(path_id(&path, "invitationId")?);
    let invitation = state.organizations.resend_invitation(&caller.0, id).await?;
    Ok(HttpResponse::Ok().json(InvitationResponse {
        invitation: invitation.into(),
    }))
}

#[utoipa::path(
    tag = "members",
    params(("userId" = uuid::Uuid, Path, description = "The member's user id")),
    request_body = ChangeRoleRequest,
    responses(
        (status = 200, description = "The member with the new role", body = MemberResponse),
        (status = 400, description = "Invalid input or no active organization", body = ErrorBody),
        (status = 403, description = "Only owners and admins manage members; only owners change owners", body = ErrorBody),
        (status = 404, description = "Not a member of the active organization", body = ErrorBody),
        (status = 409, description = "The last owner cannot be demoted", body = ErrorBody),
        SignedInErrors,
        JsonBodyErrors,
    ),
    security(("bearer" = []), ("cookie" = []))
)]
#[patch("/organizations/members/{userId}")]
pub async fn change_role(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
    body: Json<ChangeRoleRequest>,
) -> Result<HttpResponse, ApiError> {
    let user = UserId::from_uuid(path_id(&path, "userId")?);
    let member = state
        .organizations
        .change_role(&caller.0, user, &body.0.role)
        .await?;
    Ok(HttpResponse::Ok().json(MemberResponse {
        member: member.into(),
    }))
}

#[utoipa::path(
    tag = "members",
    params(("userId" = uuid::Uuid, Path, description = "The member's user id")),
    responses(
        (status = 200, description = "Removed", body = SuccessResponse),
        (status = 400, description = "Malformed id or no active organization", body = ErrorBody),
        (status = 403, description = "Only owners and admins manage members; only owners remove owners", body = ErrorBody),
        (status = 404, description = "Not a member of the active organization", body = ErrorBody),
        (status = 409, description = "The last owner cannot be removed", body = ErrorBody),
        SignedInErrors,
    ),
    security(("bearer" = []), ("cookie" = []))
)]
#[delete("/organizations/members/{userId}")]
pub async fn remove_member(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let user = UserId::from_uuid(path_id(&path, "userId")?);
    state.organizations.remove_member(&caller.0, user).await?;
    Ok(HttpResponse::Ok().json(SuccessResponse::OK))
}
