//! Validating an ideal partner profile as an organization states it.

use super::scoring::{Dimension, EmployeeRange, IdealPartnerProfile, MAX_WEIGHT, Weights};
use super::text::{clean_list, clean_text, language_code, region};
use crate::shared::error::ValidationErrors;

pub const MAX_TARGETS: usize = 50;
const MAX_TARGET_CHARS: usize = 100;

/// An ideal partner profile as a client sends it.
#[derive(Debug, Clone, Default)]
pub struct IdealProfileInput {
    pub target_industries: Vec<String>,
    pub target_regions: Vec<String>,
    pub target_languages: Vec<String>,
    pub employee_range: Option<(Option<i64>, Option<i64>)>,
    pub sought_services: Vec<String>,
    /// Missing weights are 1.
    pub weights: [Option<f64>; 5],
}

fn texts(
    field: &str,
    raw: &[String],
    errors: &mut ValidationErrors,
    each: impl Fn(&str) -> Result<String, &'static str>,
) -> Vec<String> {
    if raw.len() > MAX_TARGETS {
        errors.push(field, format!("must have at most {MAX_TARGETS} items"));
        return Vec::new();
    }
    let mut out = Vec::new();
    for (i, item) in raw.iter().enumerate() {
        if item.chars().count() > MAX_TARGET_CHARS {
            errors.push(
                format!("{field}[{i}]"),
                format!("must be at most {MAX_TARGET_CHARS} characters"),
            );
            continue;
        }
        match each(item) {
            Ok(v) => out.push(v),
            Err(why) => errors.push(format!("{field}[{i}]"), why),
        }
    }
    clean_list(
        out.iter().map(String::as_str),
        MAX_TARGETS,
        MAX_TARGET_CHARS,
    )
}

fn plain(s: &str) -> Result<String, &'static str> {
    clean_text(s, MAX_TARGET_CHARS).ok_or("must not be blank")
}

impl IdealProfileInput {
    pub fn validate(self) -> Result<IdealPartnerProfile, ValidationErrors> {
        let mut e = ValidationErrors::new();
        let target_industries = texts("targetIndustries", &self.target_industries, &mut e, plain);
        let target_regions = texts("targetRegions", &self.target_regions, &mut e, |s| {
            region(s).ok_or("must not be blank")
        });
        let target_languages = texts("targetLanguages", &self.target_languages, &mut e, |s| {
            language_code(s).ok_or("must be an ISO 639-1 language code such as en")
        });
        let sought_services = texts("soughtServices", &self.sought_services, &mut e, plain);
        let employee_range = match self.employee_range {
            None | Some((None, None)) => None,
            Some((min, max)) => {
                for (name, v) in [("employeeRange.min", min), ("employeeRange.max", max)] {
                    if v.is_some_and(|v| !(1..=10_000_000).contains(&v)) {
                        e.push(name, "must be between 1 and 10000000");
                    }
                }
                if let (Some(a), Some(b)) = (min, max)
                    && a > b
                {
                    e.push("employeeRange", "min must not exceed max");
                }
                Some(EmployeeRange { min, max })
            }
        };
        let mut weights = Weights::default();
        for (d, w) in Dimension::ALL.iter().zip(self.weights) {
            if let Some(w) = w {
                if w.is_finite() && (0.0..=MAX_WEIGHT).contains(&w) {
                    weights.set(*d, w);
                } else {
                    e.push(
                        format!("weights.{}", d.key()),
                        format!("must be a number from 0 to {MAX_WEIGHT}"),
                    );
                }
            }
        }
        e.into_result()?;
        Ok(IdealPartnerProfile {
            target_industries,
            target_regions,
            target_languages,
            employee_range,
            sought_services,
            weights,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_are_normalized() {
        let p = IdealProfileInput {
            target_industries: vec![" Software ".into(), "software".into()],
            target_regions: vec!["germany".into(), "emea".into()],
            target_languages: vec!["en-GB".into(), "German".into()],
            employee_range: Some((Some(50), None)),
            weights: [Some(2.0), None, None, Some(0.0), None],
            ..Default::default()
        }
        .validate()
        .unwrap();
        assert_eq!(p.target_industries, vec!["Software"]);
        assert_eq!(p.target_regions, vec!["DE", "EMEA"]);
        assert_eq!(p.target_languages, vec!["en", "de"]);
        assert_eq!(p.weights.industry_fit, 2.0);
        assert_eq!(p.weights.market_overlap, 1.0);
        assert_eq!(p.weights.company_size_fit, 0.0);
    }

    #[test]
    fn a_validated_profile_is_accepted_back_unchanged() {
        // Found by the ideal_profile fuzz target: entities were decoded one level per cleaning,
        // so `&amp;amp;lt;b&amp;amp;gt;x` was stored as `&lt;b&gt;x`, and PUTting the profile
        // that GET returned changed it again (to `x`); `&amp;amp;lt;x` was stored as `&lt;x`,
        // and PUTting that back was refused.
        let input = IdealProfileInput {
            target_industries: vec![
                "<b>CRM</b>".into(),
                "AT&amp;T".into(),
                "&amp;amp;lt;b&amp;amp;gt;x".into(),
            ],
            target_regions: vec!["UK&I".into(), "DACH".into()],
            ..Default::default()
        };
        let p = input.validate().unwrap();
        assert_eq!(p.target_industries, vec!["CRM", "AT&T", "x"]);
        let again = IdealProfileInput {
            target_industries: p.target_industries.clone(),
            target_regions: p.target_regions.clone(),
            ..Default::default()
        };
        assert_eq!(again.validate().unwrap(), p);
        let markup_only = IdealProfileInput {
            target_industries: vec!["&amp;amp;lt;x".into()],
            ..Default::default()
        };
        assert!(markup_only.validate().is_err());
    }

    #[test]
    fn bad_values_are_reported_per_field() {
        let err = IdealProfileInput {
            target_languages: vec!["Klingon".into()],
            target_industries: vec![" ".into()],
            employee_range: Some((Some(500), Some(50))),
            weights: [Some(-1.0), Some(f64::NAN), None, None, Some(11.0)],
            sought_services: (0..51).map(|i| i.to_string()).collect(),
            ..Default::default()
        }
        .validate()
        .unwrap_err();
        let fields: Vec<&str> = err.0.iter().map(|f| f.field.as_str()).collect();
        assert_eq!(
            fields,
            vec![
                "targetIndustries[0]",
                "targetLanguages[0]",
                "soughtServices",
                "employeeRange",
                "weights.industryFit",
                "weights.marketOverlap",
                "weights.serviceComplementarity",
            ]
        );
    }
}
