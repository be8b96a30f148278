//! Wire types. Requests deny unknown fields and convert into domain values; responses are built
//! from domain entities. Keys are camelCase; timestamps ISO 8601 with milliseconds and `Z`.

use chrono::{DateTime, Utc};
use partneros_domain::identity::model::{ApiKey, Session, User};
use partneros_domain::organizations::model::{Invitation, Member, Membership, Organization};
use partneros_domain::partners::model::Partner;
use partneros_domain::shared::time::format_timestamp;
use serde::{Deserialize, Deserializer, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

/// Absent → `None`, `null` → `Some(None)`, a value → `Some(Some(v))`.
pub fn double_option<'de, T: Deserialize<'de>, D: Deserializer<'de>>(
    d: D,
) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

/// Absent → `None`; `null` is refused (the field cannot be cleared); a value → `Some(v)`.
pub fn non_null<'de, T: Deserialize<'de>, D: Deserializer<'de>>(
    d: D,
) -> Result<Option<T>, D::Error> {
    match Option::<T>::deserialize(d)? {
        Some(v) => Ok(Some(v)),
        None => Err(serde::de::Error::custom("must not be null")),
    }
}

/// `2026-05-16T12:00:00.000Z`
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(value_type = String, format = DateTime, example = "2026-05-16T12:00:00.000Z")]
pub struct Timestamp(String);

impl From<DateTime<Utc>> for Timestamp {
    fn from(t: DateTime<Utc>) -> Self {
        Self(format_timestamp(&t))
    }
}

fn ts(t: DateTime<Utc>) -> Timestamp {
    t.into()
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UserDto {
    pub id: Uuid,
    pub email: String,
    pub name: String,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl From<User> for UserDto {
    fn from(u: User) -> Self {
        Self {
            id: u.id.as_uuid(),
            email: u.email,
            name: u.name,
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

/// `Debug` for types that carry passwords or tokens: the named fields print as `<redacted>`,
/// so a stray `{:?}` in a log line cannot leak them.
macro_rules! redacted_debug {
    ($ty:ident { $($shown:ident),* ; $($hidden:ident),* }) => {
        impl std::fmt::Debug for $ty {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.debug_struct(stringify!($ty))
                    $(.field(stringify!($shown), &self.$shown))*
                    $(.field(stringify!($hidden), &"<redacted>"))*
                    .finish()
            }
        }
    };
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

#[derive(Debug, Serialize, ToSchema)]
pub struct SuccessResponse {
    pub success: bool,
}

impl SuccessResponse {
    pub const OK: SuccessResponse = SuccessResponse { success: true };
}

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
    #[schema(value_type = RoleName)]
    pub role: &'static str,
}

impl From<Membership> for MembershipDto {
    fn from(m: Membership) -> Self {
        Self {
            id: m.organization.id.as_uuid(),
            name: m.organization.name,
            slug: m.organization.slug,
            created_at: ts(m.organization.created_at),
            role: m.role.as_str(),
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
    #[schema(value_type = RoleName)]
    pub role: &'static str,
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
            role: m.role.as_str(),
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
    #[schema(value_type = RoleName)]
    pub role: &'static str,
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
            role: i.role.as_str(),
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
#[serde(rename_all = "camelCase")]
pub struct ApiKeyDto {
    pub id: Uuid,
    pub name: String,
    #[schema(value_type = RoleName)]
    pub role: &'static str,
    /// The first characters of the key.
    pub prefix: String,
    pub created_by: Option<Uuid>,
    pub created_at: Timestamp,
    pub last_used_at: Option<Timestamp>,
}

impl From<ApiKey> for ApiKeyDto {
    fn from(k: ApiKey) -> Self {
        Self {
            id: k.id.as_uuid(),
            name: k.name,
            role: k.role.as_str(),
            prefix: k.prefix,
            created_by: k.created_by.map(|u| u.as_uuid()),
            created_at: ts(k.created_at),
            last_used_at: k.last_used_at.map(ts),
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateApiKeyRequest {
    pub name: String,
    /// `admin`, `member` or `viewer`.
    pub role: String,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CreatedApiKeyResponse {
    pub api_key: ApiKeyDto,
    /// The secret, shown only now; send it as `Authorization: Bearer <key>`.
    pub key: String,
}
redacted_debug!(CreatedApiKeyResponse { api_key; key });

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ApiKeysResponse {
    pub api_keys: Vec<ApiKeyDto>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PrimaryContactDto {
    pub id: Uuid,
    pub first_name: String,
    pub last_name: String,
    pub email: String,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PartnerDto {
    pub id: Uuid,
    pub organization_id: Uuid,
    pub name: String,
    pub domain: Option<String>,
    pub logo_url: Option<String>,
    #[serde(rename = "type")]
    #[schema(value_type = crate::dto::PartnerTypeName)]
    pub partner_type: &'static str,
    pub subtype: Option<String>,
    #[schema(value_type = Option<crate::dto::PartnerCategoryName>)]
    pub category: Option<&'static str>,
    pub tier: Option<String>,
    #[schema(value_type = Option<crate::dto::TierSourceName>)]
    pub tier_source: Option<&'static str>,
    #[schema(value_type = crate::dto::PartnerStageName)]
    pub stage: &'static str,
    pub industry: Option<String>,
    pub description: Option<String>,
    pub employees: Option<i32>,
    pub employees_range: Option<String>,
    pub company_revenue: Option<String>,
    pub regions: Vec<String>,
    pub languages: Vec<String>,
    pub services: Vec<String>,
    pub products: Vec<String>,
    pub primary_contact: Option<PrimaryContactDto>,
    pub manager_id: Option<Uuid>,
    #[schema(minimum = 0, maximum = 100)]
    pub fit_score: Option<i16>,
    #[schema(value_type = Option<Object>)]
    pub ai_insights: Option<serde_json::Value>,
    pub analyzed_at: Option<Timestamp>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl From<Partner> for PartnerDto {
    fn from(p: Partner) -> Self {
        Self {
            id: p.id.as_uuid(),
            organization_id: p.organization_id.as_uuid(),
            name: p.name,
            domain: p.domain,
            logo_url: p.logo_url,
            partner_type: p.partner_type.as_str(),
            subtype: p.subtype,
            category: p.category.map(|c| c.as_str()),
            tier: p.tier,
            tier_source: p.tier_source.map(|t| t.as_str()),
            stage: p.stage.as_str(),
            industry: p.industry,
            description: p.description,
            employees: p.employees,
            employees_range: p.employees_range,
            company_revenue: p.company_revenue,
            regions: p.regions,
            languages: p.languages,
            services: p.services,
            products: p.products,
            primary_contact: p.primary_contact.map(|c| PrimaryContactDto {
                id: c.id.as_uuid(),
                first_name: c.first_name,
                last_name: c.last_name,
                email: c.email,
            }),
            manager_id: p.manager_id.map(|m| m.as_uuid()),
            fit_score: p.fit_score,
            ai_insights: p.ai_insights,
            analyzed_at: p.analyzed_at.map(ts),
            created_at: ts(p.created_at),
            updated_at: ts(p.updated_at),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum PartnerTypeName {
    Technology,
    Consulting,
    Services,
    Channel,
    Strategic,
    Reseller,
    Referral,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum PartnerCategoryName {
    Solution,
    Technology,
    Sales,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum PartnerStageName {
    Prospect,
    Onboarding,
    Active,
    Inactive,
    Churned,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum TierSourceName {
    Auto,
    Manual,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PartnerResponse {
    pub partner: PartnerDto,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PartnersResponse {
    pub partners: Vec<PartnerDto>,
    /// Pass as `cursor` for the next page; `null` on the last page.
    pub next_cursor: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct NewContactRequest {
    pub first_name: String,
    pub last_name: String,
    pub email: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct CreatePartnerRequest {
    /// 1..200 characters.
    pub name: String,
    /// A domain or URL; stored normalized (`https://www.Acme.com/x` → `acme.com`).
    pub domain: Option<String>,
    /// An https URL.
    pub logo_url: Option<String>,
    #[serde(rename = "type")]
    #[schema(value_type = PartnerTypeName)]
    pub partner_type: String,
    pub subtype: Option<String>,
    #[schema(value_type = Option<PartnerCategoryName>)]
    pub category: Option<String>,
    pub tier: Option<String>,
    #[schema(value_type = Option<PartnerStageName>)]
    pub stage: Option<String>,
    pub manager_id: Option<Uuid>,
    pub products: Option<Vec<String>>,
    pub primary_contact: NewContactRequest,
}

/// Only these fields can change; absent fields stay, `null` clears a nullable one.
/// Server-set fields (`id`, `organizationId`, `fitScore`, `aiInsights`, `analyzedAt`,
/// timestamps) and unknown keys are refused.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct UpdatePartnerRequest {
    #[serde(default, deserialize_with = "non_null")]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "double_option")]
    pub domain: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    pub logo_url: Option<Option<String>>,
    #[serde(rename = "type", default, deserialize_with = "non_null")]
    #[schema(value_type = Option<PartnerTypeName>)]
    pub partner_type: Option<String>,
    #[serde(default, deserialize_with = "double_option")]
    pub subtype: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<PartnerCategoryName>)]
    pub category: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    pub tier: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<TierSourceName>)]
    pub tier_source: Option<Option<String>>,
    #[serde(default, deserialize_with = "non_null")]
    #[schema(value_type = Option<PartnerStageName>)]
    pub stage: Option<String>,
    #[serde(default, deserialize_with = "double_option")]
    pub manager_id: Option<Option<Uuid>>,
    #[serde(default, deserialize_with = "non_null")]
    pub products: Option<Vec<String>>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct HealthResponse {
    pub status: &'static str,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_carrying_secrets_redact_them_in_debug() {
        let shown = [
            format!(
                "{:?}",
                SignInRequest {
                    email: "a@b.co".into(),
                    password: "hunter2-secret".into()
                }
            ),
            format!(
                "{:?}",
                SignUpRequest {
                    name: "A".into(),
                    email: "a@b.co".into(),
                    password: "hunter2-secret".into()
                }
            ),
            format!(
                "{:?}",
                AcceptInvitationRequest {
                    token: "pi_hunter2-secret".into(),
                    name: None,
                    password: Some("hunter2-secret".into())
                }
            ),
        ];
        let key = CreatedApiKeyResponse {
            api_key: ApiKeyDto {
                id: Uuid::nil(),
                name: "crm".into(),
                role: "member",
                prefix: "pk_x".into(),
                created_by: None,
                created_at: ts(chrono::Utc::now()),
                last_used_at: None,
            },
            key: "pk_hunter2-secret".into(),
        };
        for s in shown.into_iter().chain([format!("{key:?}")]) {
            assert!(!s.contains("hunter2"), "{s}");
            assert!(s.contains("<redacted>"), "{s}");
        }
    }
}
