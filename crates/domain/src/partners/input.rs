//! Partner requests as received, and the one place they are parsed into validated values.
//!
//! The HTTP layer only deserializes a request into these plain inputs; the parse functions here
//! check every field, report every problem at once with its path, and build the validated
//! [`CreatePartner`], [`PartnerPatch`] and [`PartnerFilter`].

use crate::partners::model::{
    CreatePartner, NewContact, PartnerCursor, PartnerFilter, PartnerPatch, PartnerStage, ShortText,
    validate_products,
};
use crate::partners::web_domain::PartnerDomain;
use crate::shared::error::ValidationErrors;
use crate::shared::ids::UserId;
use crate::shared::values::{BoundedText, Email, HttpsUrl};
use uuid::Uuid;

/// A new partner as sent.
#[derive(Debug, Clone, Default)]
pub struct PartnerInput {
    pub name: String,
    pub domain: Option<String>,
    pub logo_url: Option<String>,
    pub partner_type: String,
    pub subtype: Option<String>,
    pub category: Option<String>,
    pub tier: Option<String>,
    pub stage: Option<String>,
    pub manager_id: Option<Uuid>,
    pub products: Option<Vec<String>>,
    pub primary_contact: ContactInput,
}

/// The primary contact of a new partner as sent.
#[derive(Debug, Clone, Default)]
pub struct ContactInput {
    pub first_name: String,
    pub last_name: String,
    pub email: String,
}

/// A change to a partner as sent: `None` leaves a field alone, `Some(None)` clears it.
#[derive(Debug, Clone, Default)]
pub struct PartnerPatchInput {
    pub name: Option<String>,
    pub domain: Option<Option<String>>,
    pub logo_url: Option<Option<String>>,
    pub partner_type: Option<String>,
    pub subtype: Option<Option<String>>,
    pub category: Option<Option<String>>,
    pub tier: Option<Option<String>>,
    pub tier_source: Option<Option<String>>,
    pub stage: Option<String>,
    pub manager_id: Option<Option<Uuid>>,
    pub products: Option<Vec<String>>,
}

/// The filters and cursor of a partner list as sent (the page size is the transport's).
#[derive(Debug, Clone, Default)]
pub struct PartnerQueryInput {
    pub q: Option<String>,
    pub partner_type: Option<String>,
    pub stage: Option<String>,
    pub tier: Option<String>,
    pub cursor: Option<String>,
}

impl CreatePartner {
    /// Validates a new partner; every invalid field is reported under its JSON path.
    pub fn parse(b: PartnerInput) -> Result<Self, ValidationErrors> {
        let mut e = ValidationErrors::new();
        let name = e.check("name", BoundedText::parse(&b.name));
        let domain = b
            .domain
            .as_deref()
            .map(|d| e.check("domain", PartnerDomain::parse(d)));
        let logo_url = b
            .logo_url
            .as_deref()
            .map(|u| e.check("logoUrl", HttpsUrl::parse(u)));
        let partner_type = e.check("type", b.partner_type.parse());
        let subtype = b
            .subtype
            .as_deref()
            .map(|s| e.check("subtype", ShortText::parse(s)));
        let category = b
            .category
            .as_deref()
            .map(|c| e.check("category", c.parse()));
        let tier = b
            .tier
            .as_deref()
            .map(|t| e.check("tier", ShortText::parse(t)));
        let stage = match b.stage.as_deref() {
            Some(s) => e.check("stage", s.parse()),
            None => Some(PartnerStage::Prospect),
        };
        let products = validate_products(b.products.as_deref().unwrap_or_default(), &mut e);
        let c = b.primary_contact;
        let first_name = e.check("primaryContact.firstName", ShortText::parse(&c.first_name));
        let last_name = e.check("primaryContact.lastName", ShortText::parse(&c.last_name));
        let email = e.check("primaryContact.email", Email::parse(&c.email));
        match (name, partner_type, stage, first_name, last_name, email) {
            (
                Some(name),
                Some(partner_type),
                Some(stage),
                Some(first_name),
                Some(last_name),
                Some(email),
            ) if e.is_empty() => Ok(CreatePartner {
                name,
                domain: domain.flatten(),
                logo_url: logo_url.flatten(),
                partner_type,
                subtype: subtype.flatten(),
                category: category.flatten(),
                tier: tier.flatten(),
                stage,
                manager_id: b.manager_id.map(UserId::from_uuid),
                products,
                primary_contact: NewContact {
                    first_name,
                    last_name,
                    email,
                },
            }),
            _ => Err(e),
        }
    }
}

/// Validates a nullable field of a patch: absent stays absent, `null` clears.
fn nullable<T, E: std::fmt::Display>(
    e: &mut ValidationErrors,
    field: &str,
    v: Option<Option<String>>,
    parse: impl Fn(&str) -> Result<T, E>,
) -> Option<Option<T>> {
    match v {
        None => None,
        Some(None) => Some(None),
        Some(Some(s)) => e.check(field, parse(&s)).map(Some),
    }
}

impl PartnerPatch {
    /// Validates a change; every invalid field is reported under its JSON path.
    pub fn parse(b: PartnerPatchInput) -> Result<Self, ValidationErrors> {
        let mut e = ValidationErrors::new();
        let patch = PartnerPatch {
            name: b
                .name
                .as_deref()
                .and_then(|n| e.check("name", BoundedText::parse(n))),
            domain: nullable(&mut e, "domain", b.domain, PartnerDomain::parse),
            logo_url: nullable(&mut e, "logoUrl", b.logo_url, HttpsUrl::parse),
            partner_type: b
                .partner_type
                .as_deref()
                .and_then(|t| e.check("type", t.parse())),
            subtype: nullable(&mut e, "subtype", b.subtype, ShortText::parse),
            category: nullable(&mut e, "category", b.category, str::parse),
            tier: nullable(&mut e, "tier", b.tier, ShortText::parse),
            tier_source: nullable(&mut e, "tierSource", b.tier_source, str::parse),
            stage: b.stage.as_deref().and_then(|s| e.check("stage", s.parse())),
            manager_id: b.manager_id.map(|m| m.map(UserId::from_uuid)),
            products: b.products.map(|p| validate_products(&p, &mut e)),
        };
        e.into_result()?;
        Ok(patch)
    }
}

impl PartnerFilter {
    /// Validates the list's filters and cursor. `limit` is the page size as the transport read
    /// it (its rule is shared by every list); its error is reported in the request's field order.
    pub fn parse(
        q: PartnerQueryInput,
        limit: Result<i64, &str>,
        default_limit: i64,
    ) -> Result<(PartnerFilter, Option<PartnerCursor>, i64), ValidationErrors> {
        let mut errors = ValidationErrors::new();
        let partner_type = q
            .partner_type
            .as_deref()
            .and_then(|t| errors.check("type", t.parse()));
        let stage = q
            .stage
            .as_deref()
            .and_then(|s| errors.check("stage", s.parse()));
        let limit = limit.unwrap_or_else(|m| {
            errors.push("limit", m);
            default_limit
        });
        let cursor = q
            .cursor
            .as_deref()
            .and_then(|c| errors.check("cursor", PartnerCursor::decode(c)));
        let text = |field: &str, v: Option<String>, errors: &mut ValidationErrors| {
            v.filter(|s| !s.trim().is_empty()).and_then(|s| {
                if s.chars().count() > 200 {
                    errors.push(field, "must be at most 200 characters");
                    None
                } else if s.chars().any(char::is_control) {
                    errors.push(field, "must not contain control characters");
                    None
                } else {
                    Some(s.trim().to_owned())
                }
            })
        };
        let filter = PartnerFilter {
            q: text("q", q.q, &mut errors),
            tier: text("tier", q.tier, &mut errors),
            partner_type,
            stage,
        };
        errors.into_result()?;
        Ok((filter, cursor, limit))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::partners::model::PartnerType;

    fn input() -> PartnerInput {
        PartnerInput {
            name: " Acme ".into(),
            domain: Some("https://www.Acme.com/x".into()),
            partner_type: "reseller".into(),
            primary_contact: ContactInput {
                first_name: "Jane".into(),
                last_name: "Doe".into(),
                email: "jane@acme.com".into(),
            },
            ..PartnerInput::default()
        }
    }

    fn fields(e: ValidationErrors) -> Vec<String> {
        e.0.into_iter().map(|f| f.field).collect()
    }

    #[test]
    fn a_valid_partner_is_normalized_with_defaults() {
        let p = CreatePartner::parse(input()).unwrap();
        assert_eq!(p.name.as_str(), "Acme");
        assert_eq!(p.domain.unwrap().as_str(), "acme.com");
        assert_eq!(p.partner_type, PartnerType::Reseller);
        assert_eq!(p.stage, PartnerStage::Prospect);
        assert!(p.products.is_empty());
    }

    #[test]
    fn every_invalid_field_is_reported_with_its_path() {
        let err = CreatePartner::parse(PartnerInput {
            name: String::new(),
            domain: Some("localhost".into()),
            logo_url: Some("http://x.io/a.png".into()),
            partner_type: "friend".into(),
            stage: Some("done".into()),
            products: Some(vec!["ok".into(), " ".into()]),
            primary_contact: ContactInput {
                email: "nope".into(),
                ..ContactInput::default()
            },
            ..PartnerInput::default()
        })
        .unwrap_err();
        assert_eq!(
            fields(err),
            [
                "name",
                "domain",
                "logoUrl",
                "type",
                "stage",
                "products[1]",
                "primaryContact.firstName",
                "primaryContact.lastName",
                "primaryContact.email"
            ]
        );
    }

    #[test]
    fn a_patch_distinguishes_absent_from_null() {
        let p = PartnerPatch::parse(PartnerPatchInput {
            domain: Some(None),
            tier: Some(Some("Gold".into())),
            ..PartnerPatchInput::default()
        })
        .unwrap();
        assert_eq!(p.domain, Some(None));
        assert_eq!(p.tier.unwrap().unwrap().as_str(), "Gold");
        assert!(p.logo_url.is_none() && p.name.is_none());
        let err = PartnerPatch::parse(PartnerPatchInput {
            tier_source: Some(Some("robot".into())),
            category: Some(Some("x".into())),
            ..PartnerPatchInput::default()
        })
        .unwrap_err();
        assert_eq!(fields(err), ["category", "tierSource"]);
    }

    #[test]
    fn list_filters_are_trimmed_and_bounded() {
        let (f, cursor, limit) = PartnerFilter::parse(
            PartnerQueryInput {
                q: Some("  acme ".into()),
                tier: Some("   ".into()),
                partner_type: Some("channel".into()),
                ..PartnerQueryInput::default()
            },
            Ok(10),
            25,
        )
        .unwrap();
        assert!(cursor.is_none());
        assert_eq!(limit, 10);
        assert_eq!(f.q.as_deref(), Some("acme"));
        assert_eq!(f.tier, None);
        assert_eq!(f.partner_type, Some(PartnerType::Channel));
        let e = PartnerFilter::parse(
            PartnerQueryInput {
                q: Some("x".repeat(201)),
                stage: Some("nope".into()),
                cursor: Some("!!".into()),
                ..PartnerQueryInput::default()
            },
            Err("must be an integer from 1 to 100"),
            25,
        )
        .unwrap_err();
        assert_eq!(fields(e), ["stage", "limit", "cursor", "q"]);
    }
}
