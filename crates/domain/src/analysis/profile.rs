//! The validated result of an enrichment: public facts about a company.

/// How sure the enrichment is.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Confidence {
    Low,
    Medium,
    High,
}

impl Confidence {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Low => "low",
            Self::Medium => "medium",
            Self::High => "high",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "low" => Some(Self::Low),
            "medium" => Some(Self::Medium),
            "high" => Some(Self::High),
            _ => None,
        }
    }
}

/// A strength or a risk: a short label and a sentence.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Insight {
    pub label: String,
    pub description: String,
}

/// Public facts about a company's domain, validated: what the cache keeps and the partner gets.
///
/// Values are bounded (see [`sanitize`](super::sanitize)): no HTML, no negative headcount,
/// labels from the fixed ladders, de-duplicated bounded arrays.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EnrichedProfile {
    pub industry: Option<String>,
    pub description: Option<String>,
    pub employees: Option<i32>,
    pub employees_range: Option<String>,
    pub company_revenue: Option<String>,
    pub regions: Vec<String>,
    pub languages: Vec<String>,
    pub services: Vec<String>,
    pub products: Vec<String>,
    pub strengths: Vec<Insight>,
    pub risks: Vec<Insight>,
    pub summary: Option<String>,
    pub confidence: Confidence,
}

impl EnrichedProfile {
    /// Nothing known.
    pub fn empty() -> Self {
        Self {
            industry: None,
            description: None,
            employees: None,
            employees_range: None,
            company_revenue: None,
            regions: Vec::new(),
            languages: Vec::new(),
            services: Vec::new(),
            products: Vec::new(),
            strengths: Vec::new(),
            risks: Vec::new(),
            summary: None,
            confidence: Confidence::Low,
        }
    }
}
