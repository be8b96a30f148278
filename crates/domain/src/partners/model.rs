//! Partner records.

use crate::partners::web_domain::PartnerDomain;
use crate::shared::error::ValidationErrors;
use crate::shared::ids::{ContactId, OrganizationId, PartnerId, UserId};
use crate::shared::values::{BoundedText, Email, HttpsUrl, InvalidValue};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use std::str::FromStr;

macro_rules! string_enum {
    ($(#[$m:meta])* $name:ident { $($variant:ident => $text:literal),* $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
        pub enum $name { $(#[serde(rename = $text)] $variant),* }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),*];
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),* }
            }
        }

        impl FromStr for $name {
            type Err = InvalidValue;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $($text => Ok($name::$variant),)*
                    _ => Err(InvalidValue(format!(
                        "must be one of {}",
                        [$($text),*].join(", ")
                    ))),
                }
            }
        }
    };
}

string_enum!(
    /// What kind of partner a company is.
    PartnerType {
        Technology => "technology",
        Consulting => "consulting",
        Services => "services",
        Channel => "channel",
        Strategic => "strategic",
        Reseller => "reseller",
        Referral => "referral",
    }
);

string_enum!(PartnerCategory {
    Solution => "solution",
    Technology => "technology",
    Sales => "sales",
});

string_enum!(PartnerStage {
    Prospect => "prospect",
    Onboarding => "onboarding",
    Active => "active",
    Inactive => "inactive",
    Churned => "churned",
});

string_enum!(TierSource {
    Auto => "auto",
    Manual => "manual",
});

pub type PartnerName = BoundedText<200>;
pub type ShortText = BoundedText<200>;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrimaryContact {
    pub id: ContactId,
    pub first_name: String,
    pub last_name: String,
    pub email: String,
}

/// A partner record as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct Partner {
    pub id: PartnerId,
    pub organization_id: OrganizationId,
    pub name: String,
    pub domain: Option<String>,
    pub logo_url: Option<String>,
    pub partner_type: PartnerType,
    pub subtype: Option<String>,
    pub category: Option<PartnerCategory>,
    pub tier: Option<String>,
    pub tier_source: Option<TierSource>,
    pub stage: PartnerStage,
    pub industry: Option<String>,
    pub description: Option<String>,
    pub employees: Option<i32>,
    pub employees_range: Option<String>,
    pub company_revenue: Option<String>,
    pub regions: Vec<String>,
    pub languages: Vec<String>,
    pub services: Vec<String>,
    pub products: Vec<String>,
    pub primary_contact: Option<PrimaryContact>,
    pub manager_id: Option<UserId>,
    pub fit_score: Option<i16>,
    pub ai_insights: Option<serde_json::Value>,
    pub analyzed_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// The primary contact of a new partner.
#[derive(Debug, Clone)]
pub struct NewContact {
    pub first_name: ShortText,
    pub last_name: ShortText,
    pub email: Email,
}

/// A validated create request.
#[derive(Debug, Clone)]
pub struct CreatePartner {
    pub name: PartnerName,
    pub domain: Option<PartnerDomain>,
    pub logo_url: Option<HttpsUrl>,
    pub partner_type: PartnerType,
    pub subtype: Option<ShortText>,
    pub category: Option<PartnerCategory>,
    pub tier: Option<ShortText>,
    pub stage: PartnerStage,
    pub manager_id: Option<UserId>,
    pub products: Vec<String>,
    pub primary_contact: NewContact,
}

/// A change to a partner: `None` leaves a field alone, `Some(None)` clears a nullable one.
#[derive(Debug, Clone, Default)]
pub struct PartnerPatch {
    pub name: Option<PartnerName>,
    pub domain: Option<Option<PartnerDomain>>,
    pub logo_url: Option<Option<HttpsUrl>>,
    pub partner_type: Option<PartnerType>,
    pub subtype: Option<Option<ShortText>>,
    pub category: Option<Option<PartnerCategory>>,
    pub tier: Option<Option<ShortText>>,
    pub tier_source: Option<Option<TierSource>>,
    pub stage: Option<PartnerStage>,
    pub manager_id: Option<Option<UserId>>,
    pub products: Option<Vec<String>>,
}

impl PartnerPatch {
    /// The JSON names of the fields it sets, in the order of the partner object.
    pub fn fields(&self) -> Vec<&'static str> {
        [
            ("name", self.name.is_some()),
            ("domain", self.domain.is_some()),
            ("logoUrl", self.logo_url.is_some()),
            ("type", self.partner_type.is_some()),
            ("subtype", self.subtype.is_some()),
            ("category", self.category.is_some()),
            ("tier", self.tier.is_some()),
            ("tierSource", self.tier_source.is_some()),
            ("stage", self.stage.is_some()),
            ("managerId", self.manager_id.is_some()),
            ("products", self.products.is_some()),
        ]
        .into_iter()
        .filter_map(|(name, set)| set.then_some(name))
        .collect()
    }

    pub fn is_empty(&self) -> bool {
        self.name.is_none()
            && self.domain.is_none()
            && self.logo_url.is_none()
            && self.partner_type.is_none()
            && self.subtype.is_none()
            && self.category.is_none()
            && self.tier.is_none()
            && self.tier_source.is_none()
            && self.stage.is_none()
            && self.manager_id.is_none()
            && self.products.is_none()
    }
}

/// Hand-set product names: trimmed, non-empty, at most 100 of at most 200 characters, no
/// duplicates (case-insensitive, first spelling kept).
pub fn validate_products(raw: &[String], errors: &mut ValidationErrors) -> Vec<String> {
    if raw.len() > 100 {
        errors.push("products", "must have at most 100 items");
        return Vec::new();
    }
    let mut out: Vec<String> = Vec::new();
    for (i, p) in raw.iter().enumerate() {
        match ShortText::parse(p) {
            Ok(p) => {
                if !out.iter().any(|o| o.eq_ignore_ascii_case(p.as_str())) {
                    out.push(p.into_inner());
                }
            }
            Err(e) => errors.push(format!("products[{i}]"), e.to_string()),
        }
    }
    out
}

/// The fields an analysis shares with hand edits, as stored when the analysis is written (a
/// store reads them under the partner's row lock, so a concurrent hand edit is either seen here
/// or waits for the write).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HandEditedFields {
    pub products: Vec<String>,
    pub tier: Option<String>,
    pub tier_source: Option<TierSource>,
}

impl HandEditedFields {
    /// These fields once an analysis that found `enriched_products` and derived `auto_tier` is
    /// written: the stored products stay, in their order, and the enriched ones follow, without
    /// duplicates (compared case-insensitively, first spelling kept); a tier set by hand stays,
    /// any other is replaced by the derived tier (marked automatic) when there is one.
    pub fn after_analysis(self, enriched_products: &[String], auto_tier: Option<&str>) -> Self {
        let mut products: Vec<String> = Vec::with_capacity(self.products.len());
        let mut seen: Vec<String> = Vec::with_capacity(self.products.len());
        for p in self
            .products
            .into_iter()
            .chain(enriched_products.iter().cloned())
        {
            let folded = p.to_lowercase();
            if !seen.contains(&folded) {
                seen.push(folded);
                products.push(p);
            }
        }
        let (tier, tier_source) = match auto_tier {
            Some(auto) if self.tier_source != Some(TierSource::Manual) => {
                (Some(auto.to_owned()), Some(TierSource::Auto))
            }
            _ => (self.tier, self.tier_source),
        };
        Self {
            products,
            tier,
            tier_source,
        }
    }
}

/// Filters of the partner list.
#[derive(Debug, Clone, Default)]
pub struct PartnerFilter {
    pub q: Option<String>,
    pub partner_type: Option<PartnerType>,
    pub stage: Option<PartnerStage>,
    pub tier: Option<String>,
}

/// Where a page of the newest-first list starts: strictly after this (created_at, id).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PartnerCursor {
    pub created_at: DateTime<Utc>,
    pub id: PartnerId,
}

impl PartnerCursor {
    pub fn after(partner: &Partner) -> Self {
        Self {
            created_at: partner.created_at,
            id: partner.id,
        }
    }

    /// Opaque to clients: base64url of `micros:uuid`.
    pub fn encode(&self) -> String {
        URL_SAFE_NO_PAD.encode(format!(
            "{}:{}",
            self.created_at.timestamp_micros(),
            self.id
        ))
    }

    pub fn decode(raw: &str) -> Result<Self, InvalidValue> {
        let bad = || InvalidValue("is not a cursor returned by this API".into());
        if raw.len() > 128 {
            return Err(bad());
        }
        let bytes = URL_SAFE_NO_PAD.decode(raw).map_err(|_| bad())?;
        let text = String::from_utf8(bytes).map_err(|_| bad())?;
        let (micros, id) = text.split_once(':').ok_or_else(bad)?;
        let micros: i64 = micros.parse().map_err(|_| bad())?;
        let created_at = DateTime::from_timestamp_micros(micros).ok_or_else(bad)?;
        let id = uuid::Uuid::parse_str(id).map_err(|_| bad())?;
        Ok(Self {
            created_at,
            id: PartnerId::from_uuid(id),
        })
    }
}

/// One page of the list.
#[derive(Debug, Clone)]
pub struct PartnerPage {
    pub partners: Vec<Partner>,
    pub next_cursor: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn cursor_round_trips() {
        let c = PartnerCursor {
            created_at: DateTime::from_timestamp_micros(1_780_000_000_123_456).unwrap(),
            id: PartnerId::generate(),
        };
        assert_eq!(PartnerCursor::decode(&c.encode()).unwrap(), c);
        assert!(PartnerCursor::decode("nope").is_err());
        assert!(PartnerCursor::decode("").is_err());
    }

    #[test]
    fn products_are_cleaned() {
        let mut errors = ValidationErrors::new();
        let out = validate_products(&["CRM".into(), " crm ".into(), "ERP".into()], &mut errors);
        assert_eq!(out, vec!["CRM".to_string(), "ERP".to_string()]);
        assert!(errors.is_empty());
        validate_products(&["".into()], &mut errors);
        assert_eq!(errors.0[0].field, "products[0]");
    }

    #[test]
    fn enums_parse_their_names_only() {
        assert_eq!(
            "reseller".parse::<PartnerType>().unwrap(),
            PartnerType::Reseller
        );
        assert!("Reseller".parse::<PartnerType>().is_err());
        assert_eq!(PartnerStage::ALL.len(), 5);
    }

    #[test]
    fn partner_enums_refuse_other_values() {
        for bad in ["partner", "TECHNOLOGY", ""] {
            assert!(bad.parse::<PartnerType>().is_err(), "{bad}");
        }
        assert!("won".parse::<PartnerStage>().is_err());
        assert!("nope".parse::<PartnerCategory>().is_err());
        assert!("robot".parse::<TierSource>().is_err());
    }

    #[test]
    fn partner_names_are_1_to_200_characters_without_controls() {
        assert!(PartnerName::parse(&"n".repeat(200)).is_ok());
        for bad in [
            "".to_owned(),
            "   ".to_owned(),
            "n".repeat(201),
            "a\u{0}b".to_owned(),
        ] {
            assert!(PartnerName::parse(&bad).is_err(), "{bad:?}");
        }
    }

    fn fields(
        products: &[&str],
        tier: Option<&str>,
        source: Option<TierSource>,
    ) -> HandEditedFields {
        HandEditedFields {
            products: products.iter().map(|p| (*p).to_owned()).collect(),
            tier: tier.map(str::to_owned),
            tier_source: source,
        }
    }

    fn names(raw: &[&str]) -> Vec<String> {
        raw.iter().map(|p| (*p).to_owned()).collect()
    }

    #[test]
    fn an_analysis_appends_enriched_products_after_the_stored_ones() {
        let stored = fields(&["Payments", "CRM"], None, None);
        let after = stored.after_analysis(&names(&["crm", "Billing", "PAYMENTS", "billing"]), None);
        assert_eq!(after.products, names(&["Payments", "CRM", "Billing"]));
    }

    #[test]
    fn an_analysis_keeps_stored_products_when_it_finds_none() {
        let after = fields(&["CRM"], None, None).after_analysis(&[], None);
        assert_eq!(after.products, names(&["CRM"]));
        let after = fields(&[], None, None).after_analysis(&names(&["ERP", "erp"]), None);
        assert_eq!(after.products, names(&["ERP"]));
    }

    #[test]
    fn products_compare_case_insensitively_beyond_ascii() {
        let after = fields(&["Ärzte-Portal"], None, None)
            .after_analysis(&names(&["ÄRZTE-PORTAL", "ärzte-portal"]), None);
        assert_eq!(after.products, names(&["Ärzte-Portal"]));
    }

    #[test]
    fn an_analysis_sets_the_derived_tier_unless_one_was_set_by_hand() {
        // No tier yet, or an automatic one: the derived tier replaces it.
        let after = fields(&[], None, None).after_analysis(&[], Some("gold"));
        assert_eq!(
            (after.tier.as_deref(), after.tier_source),
            (Some("gold"), Some(TierSource::Auto))
        );
        let after =
            fields(&[], Some("bronze"), Some(TierSource::Auto)).after_analysis(&[], Some("gold"));
        assert_eq!(
            (after.tier.as_deref(), after.tier_source),
            (Some("gold"), Some(TierSource::Auto))
        );
        // A tier stored without a source (legacy rows) is not a hand-set one.
        let after = fields(&[], Some("bronze"), None).after_analysis(&[], Some("gold"));
        assert_eq!(
            (after.tier.as_deref(), after.tier_source),
            (Some("gold"), Some(TierSource::Auto))
        );
        // A tier set by hand stays.
        let manual = fields(&[], Some("Strategic"), Some(TierSource::Manual));
        assert_eq!(manual.clone().after_analysis(&[], Some("gold")), manual);
    }

    #[test]
    fn an_analysis_without_a_derived_tier_leaves_the_tier_alone() {
        for stored in [
            fields(&[], None, None),
            fields(&[], Some("bronze"), Some(TierSource::Auto)),
            fields(&[], Some("Strategic"), Some(TierSource::Manual)),
        ] {
            assert_eq!(stored.clone().after_analysis(&[], None), stored);
        }
    }

    proptest! {
        #[test]
        fn cursor_decoding_never_panics(raw in ".{0,200}") {
            let _ = PartnerCursor::decode(&raw);
        }
    }
}
