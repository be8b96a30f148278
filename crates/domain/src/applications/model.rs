//! Application forms as stored, their affiliate links and their submissions.

use crate::applications::form::{
    AgreementSection, ApplicationContent, ApplicationStatus, FormField,
};
use crate::partners::model::PartnerType;
use crate::shared::error::ValidationErrors;
use crate::shared::ids::{OrganizationId, PartnerId, UserId};
use chrono::{DateTime, Utc};
use serde_json::{Map, Value};
use uuid::Uuid;

/// Which answers become the partner record when a submission is approved. Each entry names a
/// `fieldKey` of the form; unset entries fall back to conventional keys (`companyName`,
/// `website`, `firstName`, `lastName`, the form's first email field).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PartnerMapping {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub domain: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// The partner type of approved applicants (default `referral`).
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub partner_type: Option<PartnerType>,
}

impl PartnerMapping {
    /// Parses `{name?, domain?, firstName?, lastName?, email?, type?}`; every key must name a
    /// field of `fields`.
    pub fn parse(raw: &Value, fields: &[FormField]) -> Result<Self, ValidationErrors> {
        let mut e = ValidationErrors::new();
        let mut m = PartnerMapping::default();
        let obj = match raw {
            Value::Null => return Ok(m),
            Value::Object(o) => o,
            _ => {
                return Err(ValidationErrors::single(
                    "partnerMapping",
                    "must be an object",
                ));
            }
        };
        for (key, value) in obj {
            let path = format!("partnerMapping.{key}");
            if key == "type" {
                match value.as_str().map(str::parse::<PartnerType>) {
                    Some(Ok(t)) => m.partner_type = Some(t),
                    _ => e.push(path, "must be a partner type"),
                }
                continue;
            }
            let slot = match key.as_str() {
                "name" => &mut m.name,
                "domain" => &mut m.domain,
                "firstName" => &mut m.first_name,
                "lastName" => &mut m.last_name,
                "email" => &mut m.email,
                _ => {
                    e.push(path, "is not a mapping key");
                    continue;
                }
            };
            match value.as_str() {
                Some(k) if fields.iter().any(|f| f.field_key == k) => *slot = Some(k.to_owned()),
                Some(_) => e.push(path, "must name a fieldKey of the form"),
                None if value.is_null() => {}
                None => e.push(path, "must be a fieldKey"),
            }
        }
        e.into_result().map(|()| m)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Application {
    pub id: Uuid,
    pub organization_id: OrganizationId,
    pub name: String,
    pub slug: String,
    pub status: ApplicationStatus,
    pub fields: Vec<FormField>,
    pub agreements: Vec<AgreementSection>,
    pub content: ApplicationContent,
    pub partner_mapping: PartnerMapping,
    /// Whether the organization's owners and admins are mailed a notice of each new
    /// submission.
    pub notify_on_submission: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A change to an application; `None` leaves a part alone.
#[derive(Debug, Clone, Default)]
pub struct ApplicationPatch {
    pub name: Option<String>,
    pub slug: Option<String>,
    pub status: Option<ApplicationStatus>,
    pub fields: Option<Vec<FormField>>,
    pub agreements: Option<Vec<AgreementSection>>,
    pub content: Option<ApplicationContent>,
    pub partner_mapping: Option<PartnerMapping>,
    pub notify_on_submission: Option<bool>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AffiliateLink {
    pub id: Uuid,
    pub application_id: Uuid,
    pub slug: String,
    pub label: Option<String>,
    pub partner_id: Option<PartnerId>,
    /// Submissions attributed to the link (counted from the submissions themselves).
    pub lead_count: i64,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SubmissionStatus {
    Pending,
    Approved,
    Rejected,
}

impl SubmissionStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Approved => "approved",
            Self::Rejected => "rejected",
        }
    }
    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "pending" => Some(Self::Pending),
            "approved" => Some(Self::Approved),
            "rejected" => Some(Self::Rejected),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Submission {
    pub id: Uuid,
    pub organization_id: OrganizationId,
    pub application_id: Uuid,
    pub form_data: Map<String, Value>,
    pub accepted_agreements: Vec<Uuid>,
    pub email: Option<String>,
    pub affiliate_link_id: Option<Uuid>,
    pub affiliate_slug: Option<String>,
    pub status: SubmissionStatus,
    pub reject_reason: Option<String>,
    pub partner_id: Option<PartnerId>,
    pub reviewed_by: Option<UserId>,
    pub reviewed_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

/// A validated public submission about to be stored.
#[derive(Debug, Clone)]
pub struct NewSubmission {
    pub id: Uuid,
    pub organization_id: OrganizationId,
    pub application_id: Uuid,
    pub form_data: Map<String, Value>,
    pub accepted_agreements: Vec<Uuid>,
    pub email: Option<String>,
    /// The slug as sent; attributed when it names a link of the application.
    pub affiliate_slug: Option<String>,
    pub client_ip: Option<String>,
    pub created_at: DateTime<Utc>,
}

/// Where a page of submissions starts: strictly after this (created_at, id).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SubmissionCursor {
    pub created_at: DateTime<Utc>,
    pub id: Uuid,
}

impl SubmissionCursor {
    pub fn after(s: &Submission) -> Self {
        Self {
            created_at: s.created_at,
            id: s.id,
        }
    }
    /// The same opaque format as the partner list's cursor.
    pub fn encode(&self) -> String {
        crate::partners::model::PartnerCursor {
            created_at: self.created_at,
            id: PartnerId::from_uuid(self.id),
        }
        .encode()
    }
    pub fn decode(raw: &str) -> Result<Self, crate::shared::values::InvalidValue> {
        crate::partners::model::PartnerCursor::decode(raw).map(|c| Self {
            created_at: c.created_at,
            id: c.id.as_uuid(),
        })
    }
}
