//! Organizations, members and invitations.

use super::{Timestamp, ts};
use partneros_domain::identity::role::Role;
use partneros_domain::organizations::model::{Invitation, Member, Membership, Organization};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct OrganizationDto {
    pub id: Uuid,
    pub name: String,
    pub slug: String,
    pub created_at: Timestamp,
}

impl From<Organization> for OrganizationDto {
    fn from(o: Organization) -> Self {
        Self {
            id: o.id.as_uuid(),
            name: o.name,
            slug: o.slug,
            created_at: ts(o.created_at),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct OrganizationResponse {
    pub organization: OrganizationDto,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MembershipDto {
    pub id: Uuid,
    pub name: String,
    pub slug: String,
    pub created_at: Timestamp,
    pub role: RoleName,
}

impl From<Membership> for MembershipDto {
    fn from(m: Membership) -> Self {
        Self {
            id: m.organization.id.as_uuid(),
            name: m.organization.name,
            slug: m.organization.slug,
            created_at: ts(m.organization.created_at),
            role: m.role.into(),
        }
    }
}

/// A member's role.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum RoleName {
    Owner,
    Admin,
    Member,
    Viewer,
    Partner,
}

mirror_enum!(RoleName <=> Role {
    Owner,
    Admin,
    Member,
    Viewer,
    Partner,
});

#[derive(Debug, Serialize, ToSchema)]
pub struct OrganizationsResponse {
    pub organizations: Vec<MembershipDto>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateOrganizationRequest {
    pub name: String,
    /// `[a-z0-9-]{3,64}`; derived from the name when absent.
    pub slug: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MemberDto {
    pub user_id: Uuid,
    pub email: String,
    pub name: String,
    pub role: RoleName,
    /// For `partner` members: their partner record.
    pub partner_id: Option<Uuid>,
    pub joined_at: Timestamp,
}

impl From<Member> for MemberDto {
    fn from(m: Member) -> Self {
        Self {
            user_id: m.user_id.as_uuid(),
            email: m.email,
            name: m.name,
            role: m.role.into(),
            partner_id: m.partner_id.map(|p| p.as_uuid()),
            joined_at: ts(m.joined_at),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MembersResponse {
    pub members: Vec<MemberDto>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MemberResponse {
    pub member: MemberDto,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddMemberRequest {
    pub email: String,
    /// `owner` (owners only), `admin`, `member` or `viewer`.
    pub role: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangeRoleRequest {
    pub role: String,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct InvitationDto {
    pub id: Uuid,
    pub organization_id: Uuid,
    pub email: String,
    pub role: RoleName,
    /// The partner record of a partner-portal invitation.
    pub partner_id: Option<Uuid>,
    pub expires_at: Timestamp,
    pub created_at: Timestamp,
}

impl From<Invitation> for InvitationDto {
    fn from(i: Invitation) -> Self {
        Self {
            id: i.id.as_uuid(),
            organization_id: i.organization_id.as_uuid(),
            email: i.email,
            role: i.role.into(),
            partner_id: i.partner_id.map(|p| p.as_uuid()),
            expires_at: ts(i.expires_at),
            created_at: ts(i.created_at),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct InvitationResponse {
    pub invitation: InvitationDto,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct InvitationsResponse {
    pub invitations: Vec<InvitationDto>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn role_names_are_the_domain_roles() {
        let names: Vec<&str> = Role::ALL.iter().map(|r| r.as_str()).collect();
        assert_eq!(super::super::tests::schema_enum::<RoleName>(), names);
        for role in Role::ALL {
            let wire = RoleName::from(role);
            assert_eq!(serde_json::to_value(&wire).unwrap(), role.as_str());
            assert_eq!(Role::from(wire), role);
        }
    }
}
