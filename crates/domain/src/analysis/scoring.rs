//! Fit scoring: how well an enriched company matches an organization's ideal partner profile.
//!
//! A pure, deterministic function. Five dimensions score 0..100 each; a dimension without a
//! target or without data scores `None` and drops out; the overall score is the rounded
//! weighted mean of the rest (`None` when nothing is left or every remaining weight is 0).

use super::ladders::employees_range_midpoint;
use super::profile::EnrichedProfile;
use super::text::{region_contains, region_parents};
use std::collections::BTreeSet;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Dimension {
    IndustryFit,
    MarketOverlap,
    LanguageCoverage,
    CompanySizeFit,
    ServiceComplementarity,
}

impl Dimension {
    pub const ALL: [Dimension; 5] = [
        Self::IndustryFit,
        Self::MarketOverlap,
        Self::LanguageCoverage,
        Self::CompanySizeFit,
        Self::ServiceComplementarity,
    ];
    pub fn key(self) -> &'static str {
        match self {
            Self::IndustryFit => "industryFit",
            Self::MarketOverlap => "marketOverlap",
            Self::LanguageCoverage => "languageCoverage",
            Self::CompanySizeFit => "companySizeFit",
            Self::ServiceComplementarity => "serviceComplementarity",
        }
    }
    pub fn label(self) -> &'static str {
        match self {
            Self::IndustryFit => "Industry fit",
            Self::MarketOverlap => "Market overlap",
            Self::LanguageCoverage => "Language coverage",
            Self::CompanySizeFit => "Company size fit",
            Self::ServiceComplementarity => "Service complementarity",
        }
    }
}

/// Per-dimension weights, each finite and within 0..=[`MAX_WEIGHT`]; 0 leaves a dimension out.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Weights {
    pub industry_fit: f64,
    pub market_overlap: f64,
    pub language_coverage: f64,
    pub company_size_fit: f64,
    pub service_complementarity: f64,
}

pub const MAX_WEIGHT: f64 = 10.0;

impl Default for Weights {
    fn default() -> Self {
        Self {
            industry_fit: 1.0,
            market_overlap: 1.0,
            language_coverage: 1.0,
            company_size_fit: 1.0,
            service_complementarity: 1.0,
        }
    }
}

impl Weights {
    pub fn of(&self, d: Dimension) -> f64 {
        match d {
            Dimension::IndustryFit => self.industry_fit,
            Dimension::MarketOverlap => self.market_overlap,
            Dimension::LanguageCoverage => self.language_coverage,
            Dimension::CompanySizeFit => self.company_size_fit,
            Dimension::ServiceComplementarity => self.service_complementarity,
        }
    }
    pub fn set(&mut self, d: Dimension, w: f64) {
        match d {
            Dimension::IndustryFit => self.industry_fit = w,
            Dimension::MarketOverlap => self.market_overlap = w,
            Dimension::LanguageCoverage => self.language_coverage = w,
            Dimension::CompanySizeFit => self.company_size_fit = w,
            Dimension::ServiceComplementarity => self.service_complementarity = w,
        }
    }
}

/// The headcount an organization looks for; either bound may be open.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct EmployeeRange {
    pub min: Option<i64>,
    pub max: Option<i64>,
}

/// What an organization's ideal partner looks like. Built validated by the use case.
#[derive(Debug, Clone, PartialEq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IdealPartnerProfile {
    pub target_industries: Vec<String>,
    /// Region names or ISO country codes, as [`text::region`](super::text::region) spells them.
    pub target_regions: Vec<String>,
    /// ISO 639-1 codes.
    pub target_languages: Vec<String>,
    pub employee_range: Option<EmployeeRange>,
    pub sought_services: Vec<String>,
    #[serde(default)]
    pub weights: Weights,
}

/// One dimension's result.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct DimensionScore {
    pub key: &'static str,
    pub label: &'static str,
    pub score: Option<u8>,
    pub weight: f64,
    pub rationale: String,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct FitScore {
    pub overall: Option<u8>,
    pub dimensions: Vec<DimensionScore>,
}

fn tokens(s: &str) -> BTreeSet<String> {
    const STOP: [&str; 8] = ["and", "of", "the", "for", "a", "an", "services", "service"];
    s.split(|c: char| !c.is_alphanumeric())
        .filter(|t| !t.is_empty())
        .map(str::to_lowercase)
        .filter(|t| !STOP.contains(&t.as_str()))
        .collect()
}

/// How alike two short phrases are, 0..=1: 1 when equal or one contains the other, else the
/// share of words they have in common (Jaccard).
pub fn similarity(a: &str, b: &str) -> f64 {
    let (la, lb) = (a.trim().to_lowercase(), b.trim().to_lowercase());
    if la.is_empty() || lb.is_empty() {
        return 0.0;
    }
    if la == lb || la.contains(&lb) || lb.contains(&la) {
        return 1.0;
    }
    let (ta, tb) = (tokens(&la), tokens(&lb));
    let union = ta.union(&tb).count();
    if union == 0 {
        return 0.0;
    }
    ta.intersection(&tb).count() as f64 / union as f64
}

fn pct(x: f64) -> u8 {
    (x.clamp(0.0, 1.0) * 100.0).round() as u8
}

fn list(items: &[String]) -> String {
    let shown: Vec<&str> = items.iter().take(5).map(String::as_str).collect();
    let more = items.len().saturating_sub(5);
    if more > 0 {
        format!("{} and {more} more", shown.join(", "))
    } else {
        shown.join(", ")
    }
}

fn industry_fit(p: &EnrichedProfile, ipp: &IdealPartnerProfile) -> (Option<u8>, String) {
    if ipp.target_industries.is_empty() {
        return (None, "No target industries are set.".into());
    }
    let Some(industry) = p.industry.as_deref() else {
        return (None, "The partner's industry is unknown.".into());
    };
    let (best, target) = ipp
        .target_industries
        .iter()
        .map(|t| (similarity(industry, t), t))
        .fold(
            (0.0, None),
            |acc, (s, t)| if s > acc.0 { (s, Some(t)) } else { acc },
        );
    let score = pct(best);
    let why = match target {
        Some(t) if score == 100 => format!("{industry} matches the target industry {t}."),
        Some(t) => format!("{industry} partly matches the target industry {t}."),
        None => format!(
            "{industry} is not among the target industries ({}).",
            list(&ipp.target_industries)
        ),
    };
    (Some(score), why)
}

/// How much of target region `t` the partner's regions cover: 1 (all of it), 0.5 (a part of
/// it, e.g. a partner in Germany for a target of DACH) or 0.
fn region_coverage(t: &str, regions: &[String]) -> f64 {
    let covers = |r: &String| {
        r.eq_ignore_ascii_case(t)
            || r == "Global"
            || region_contains(r, t)
            || region_parents(t).contains(&r.as_str())
    };
    if regions.iter().any(covers) {
        return 1.0;
    }
    let part_of = |r: &String| region_contains(t, r) || region_parents(r).contains(&t);
    if regions.iter().any(part_of) {
        0.5
    } else {
        0.0
    }
}

fn market_overlap(p: &EnrichedProfile, ipp: &IdealPartnerProfile) -> (Option<u8>, String) {
    if ipp.target_regions.is_empty() {
        return (None, "No target regions are set.".into());
    }
    if p.regions.is_empty() {
        return (None, "The partner's markets are unknown.".into());
    }
    let covered: Vec<f64> = ipp
        .target_regions
        .iter()
        .map(|t| region_coverage(t, &p.regions))
        .collect();
    let full = covered.iter().filter(|c| **c >= 1.0).count();
    let score = pct(covered.iter().sum::<f64>() / covered.len() as f64);
    (
        Some(score),
        format!(
            "Serves {}; covers {full} of {} target regions fully.",
            list(&p.regions),
            covered.len()
        ),
    )
}

fn language_coverage(p: &EnrichedProfile, ipp: &IdealPartnerProfile) -> (Option<u8>, String) {
    if ipp.target_languages.is_empty() {
        return (None, "No target languages are set.".into());
    }
    if p.languages.is_empty() {
        return (None, "The partner's languages are unknown.".into());
    }
    let hit: Vec<String> = ipp
        .target_languages
        .iter()
        .filter(|t| p.languages.iter().any(|l| l.eq_ignore_ascii_case(t)))
        .cloned()
        .collect();
    let score = pct(hit.len() as f64 / ipp.target_languages.len() as f64);
    let why = if hit.is_empty() {
        format!(
            "Speaks {}, none of the target languages.",
            list(&p.languages)
        )
    } else {
        format!(
            "Covers {} of {} target languages ({}).",
            hit.len(),
            ipp.target_languages.len(),
            list(&hit)
        )
    };
    (Some(score), why)
}

/// The partner's headcount: the estimate, else the middle of its range.
pub fn headcount(p: &EnrichedProfile) -> Option<i64> {
    p.employees.map(i64::from).or_else(|| {
        p.employees_range
            .as_deref()
            .and_then(employees_range_midpoint)
    })
}

fn company_size_fit(p: &EnrichedProfile, ipp: &IdealPartnerProfile) -> (Option<u8>, String) {
    let Some(range) = ipp
        .employee_range
        .filter(|r| r.min.is_some() || r.max.is_some())
    else {
        return (None, "No target company size is set.".into());
    };
    let Some(n) = headcount(p) else {
        return (None, "The partner's size is unknown.".into());
    };
    let n = n.max(1) as f64;
    // Each doubling away from the target range costs half the score.
    let ratio = match (range.min, range.max) {
        (Some(min), _) if n < min as f64 => min as f64 / n,
        (_, Some(max)) if n > max as f64 => n / max as f64,
        _ => 1.0,
    };
    let score = pct(1.0 - 0.5 * ratio.log2());
    let target = match (range.min, range.max) {
        (Some(a), Some(b)) => format!("{a}-{b}"),
        (Some(a), None) => format!("at least {a}"),
        (None, Some(b)) => format!("at most {b}"),
        (None, None) => unreachable!("filtered above"),
    };
    let why = if ratio <= 1.0 {
        format!("About {n} employees, within the target of {target}.")
    } else {
        format!("About {n} employees, outside the target of {target}.")
    };
    (Some(score), why)
}

fn service_complementarity(p: &EnrichedProfile, ipp: &IdealPartnerProfile) -> (Option<u8>, String) {
    if ipp.sought_services.is_empty() {
        return (None, "No sought services are set.".into());
    }
    if p.services.is_empty() {
        return (None, "The partner's services are unknown.".into());
    }
    let found: Vec<String> = ipp
        .sought_services
        .iter()
        .filter(|s| p.services.iter().any(|o| similarity(s, o) >= 0.5))
        .cloned()
        .collect();
    let score = pct(found.len() as f64 / ipp.sought_services.len() as f64);
    let why = if found.is_empty() {
        format!("Offers {}, none of the sought services.", list(&p.services))
    } else {
        format!(
            "Offers {} of {} sought services ({}).",
            found.len(),
            ipp.sought_services.len(),
            list(&found)
        )
    };
    (Some(score), why)
}

/// The fit of `profile` to `ipp`.
pub fn score(profile: &EnrichedProfile, ipp: &IdealPartnerProfile) -> FitScore {
    let dimensions: Vec<DimensionScore> = Dimension::ALL
        .iter()
        .map(|&d| {
            let (score, rationale) = match d {
                Dimension::IndustryFit => industry_fit(profile, ipp),
                Dimension::MarketOverlap => market_overlap(profile, ipp),
                Dimension::LanguageCoverage => language_coverage(profile, ipp),
                Dimension::CompanySizeFit => company_size_fit(profile, ipp),
                Dimension::ServiceComplementarity => service_complementarity(profile, ipp),
            };
            DimensionScore {
                key: d.key(),
                label: d.label(),
                score,
                weight: ipp.weights.of(d),
                rationale,
            }
        })
        .collect();
    FitScore {
        overall: weighted_mean(&dimensions),
        dimensions,
    }
}

fn weighted_mean(dimensions: &[DimensionScore]) -> Option<u8> {
    let (sum, weight) = dimensions
        .iter()
        .filter_map(|d| d.score.map(|s| (f64::from(s), d.weight)))
        .filter(|(_, w)| *w > 0.0 && w.is_finite())
        .fold((0.0, 0.0), |(s, w), (score, weight)| {
            (s + score * weight, w + weight)
        });
    (weight > 0.0).then(|| (sum / weight).round().clamp(0.0, 100.0) as u8)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::profile::Confidence;
    use proptest::prelude::*;

    fn partner() -> EnrichedProfile {
        EnrichedProfile {
            industry: Some("Software".into()),
            employees: Some(120),
            employees_range: Some("51-200".into()),
            regions: vec!["DACH".into(), "US".into()],
            languages: vec!["en".into(), "de".into()],
            services: vec!["Implementation".into(), "Managed services".into()],
            confidence: Confidence::High,
            ..EnrichedProfile::empty()
        }
    }

    fn ipp() -> IdealPartnerProfile {
        IdealPartnerProfile {
            target_industries: vec!["Software".into(), "Fintech".into()],
            target_regions: vec!["DE".into(), "North America".into()],
            target_languages: vec!["de".into(), "fr".into()],
            employee_range: Some(EmployeeRange {
                min: Some(50),
                max: Some(500),
            }),
            sought_services: vec!["implementation".into(), "training".into()],
            weights: Weights::default(),
        }
    }

    fn dim(f: &FitScore, key: &str) -> Option<u8> {
        f.dimensions.iter().find(|d| d.key == key).unwrap().score
    }

    #[test]
    fn each_dimension_scores_as_documented() {
        let f = score(&partner(), &ipp());
        assert_eq!(dim(&f, "industryFit"), Some(100));
        // DE is inside DACH (full); North America is only partly covered by the US.
        assert_eq!(dim(&f, "marketOverlap"), Some(75));
        assert_eq!(dim(&f, "languageCoverage"), Some(50));
        assert_eq!(dim(&f, "companySizeFit"), Some(100));
        assert_eq!(dim(&f, "serviceComplementarity"), Some(50));
        assert_eq!(f.overall, Some(75));
        assert!(f.dimensions.iter().all(|d| !d.rationale.is_empty()));
    }

    #[test]
    fn size_decays_by_half_per_doubling() {
        let mut p = partner();
        p.employees = Some(1000);
        assert_eq!(dim(&score(&p, &ipp()), "companySizeFit"), Some(50));
        p.employees = Some(25);
        assert_eq!(dim(&score(&p, &ipp()), "companySizeFit"), Some(50));
        p.employees = Some(5);
        assert_eq!(dim(&score(&p, &ipp()), "companySizeFit"), Some(0));
        // Without a headcount the range's middle stands in.
        p.employees = None;
        p.employees_range = Some("201-500".into());
        assert_eq!(dim(&score(&p, &ipp()), "companySizeFit"), Some(100));
    }

    #[test]
    fn a_missing_target_or_datum_drops_the_dimension() {
        let mut i = ipp();
        i.target_languages.clear();
        let f = score(&partner(), &i);
        assert_eq!(dim(&f, "languageCoverage"), None);
        // (100 + 75 + 100 + 50) / 4
        assert_eq!(f.overall, Some(81));

        let mut p = partner();
        p.industry = None;
        let f = score(&p, &ipp());
        assert_eq!(dim(&f, "industryFit"), None);
        assert_eq!(f.overall, Some(69)); // (75 + 50 + 100 + 50) / 4 = 68.75

        let f = score(&EnrichedProfile::empty(), &ipp());
        assert_eq!(f.overall, None);
        let f = score(&partner(), &IdealPartnerProfile::default());
        assert_eq!(f.overall, None);
        assert!(f.dimensions.iter().all(|d| d.score.is_none()));
    }

    #[test]
    fn weights_shift_the_mean_toward_heavier_dimensions() {
        let mut i = ipp();
        i.weights.industry_fit = 3.0;
        // (3*100 + 75 + 50 + 100 + 50) / 7 = 82.1
        assert_eq!(score(&partner(), &i).overall, Some(82));
        i.weights = Weights::default();
        i.weights.language_coverage = 0.0;
        assert_eq!(score(&partner(), &i).overall, Some(81));
        for d in Dimension::ALL {
            i.weights.set(d, 0.0);
        }
        assert_eq!(score(&partner(), &i).overall, None);
    }

    #[test]
    fn unrelated_industries_score_zero_with_a_reason() {
        let mut p = partner();
        p.industry = Some("Healthcare".into());
        let f = score(&p, &ipp());
        assert_eq!(dim(&f, "industryFit"), Some(0));
        let r = &f.dimensions[0].rationale;
        assert!(r.contains("not among"), "{r}");
    }

    fn arb_profile() -> impl Strategy<Value = EnrichedProfile> {
        let words = prop::collection::vec("[A-Za-z ]{0,12}", 0..4);
        (
            prop::option::of("[A-Za-z ]{0,16}"),
            prop::option::of(-10i32..2_000_000),
            words.clone(),
            prop::collection::vec("[a-z]{2}", 0..4),
            words,
        )
            .prop_map(|(industry, employees, regions, languages, services)| {
                EnrichedProfile {
                    industry,
                    employees,
                    regions,
                    languages,
                    services,
                    ..EnrichedProfile::empty()
                }
            })
    }

    fn arb_ipp() -> impl Strategy<Value = IdealPartnerProfile> {
        let words = prop::collection::vec("[A-Za-z ]{0,12}", 0..4);
        (
            words.clone(),
            words.clone(),
            prop::collection::vec("[a-z]{2}", 0..3),
            prop::option::of((
                prop::option::of(1i64..10_000),
                prop::option::of(1i64..100_000),
            )),
            words,
            prop::array::uniform5(0.0f64..=MAX_WEIGHT),
        )
            .prop_map(|(ind, reg, lang, range, svc, w)| IdealPartnerProfile {
                target_industries: ind,
                target_regions: reg,
                target_languages: lang,
                employee_range: range.map(|(min, max)| EmployeeRange { min, max }),
                sought_services: svc,
                weights: Weights {
                    industry_fit: w[0],
                    market_overlap: w[1],
                    language_coverage: w[2],
                    company_size_fit: w[3],
                    service_complementarity: w[4],
                },
            })
    }

    proptest! {
        #[test]
        fn scores_stay_within_0_to_100(p in arb_profile(), i in arb_ipp()) {
            let f = score(&p, &i);
            prop_assert!(f.overall.is_none_or(|s| s <= 100));
            for d in &f.dimensions {
                prop_assert!(d.score.is_none_or(|s| s <= 100));
            }
            // The overall lies between the lowest and highest counted dimension.
            let counted: Vec<u8> = f.dimensions.iter()
                .filter(|d| d.weight > 0.0)
                .filter_map(|d| d.score)
                .collect();
            if let Some(o) = f.overall {
                prop_assert!(o >= *counted.iter().min().unwrap());
                prop_assert!(o <= *counted.iter().max().unwrap());
            } else {
                prop_assert!(counted.is_empty());
            }
        }

        #[test]
        fn scaling_every_weight_changes_nothing(p in arb_profile(), i in arb_ipp(), k in 0.1f64..5.0) {
            let mut scaled = i.clone();
            for d in Dimension::ALL {
                scaled.weights.set(d, i.weights.of(d) * k);
            }
            let (a, b) = (score(&p, &i).overall, score(&p, &scaled).overall);
            match (a, b) {
                (Some(a), Some(b)) => prop_assert!((i16::from(a) - i16::from(b)).abs() <= 1),
                (a, b) => prop_assert_eq!(a, b),
            }
        }

        #[test]
        fn weighting_a_dimension_more_moves_the_mean_toward_it(p in arb_profile(), i in arb_ipp(), d in 0usize..5) {
            let dimension = Dimension::ALL[d];
            let before = score(&p, &i);
            let mut heavier = i.clone();
            heavier.weights.set(dimension, i.weights.of(dimension) + 2.0);
            let after = score(&p, &heavier);
            let own = before.dimensions[d].score;
            if let (Some(own), Some(b), Some(a)) = (own, before.overall, after.overall) {
                if own >= b { prop_assert!(a + 1 >= b); } else { prop_assert!(a <= b + 1); }
            }
        }
    }
}
