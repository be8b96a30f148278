//! The language-model port of the enrichment.

use super::site::SiteSnapshot;
use async_trait::async_trait;

/// What the model is asked about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnrichmentInput {
    pub subject: Subject,
    /// What the scraper read (empty without a domain or when the site could not be read).
    /// Untrusted: adapters pass it to the model as delimited data, never as instructions.
    pub site: SiteSnapshot,
}

/// Whom an enrichment is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Subject {
    /// A normalized domain. Its enrichment is shared by every organization, so it is made from
    /// the domain and its public website alone: not even the name an organization gave the
    /// partner goes with it.
    Domain(String),
    /// The name an organization gave a partner that has no domain. Its enrichment belongs to
    /// that organization and is never cached.
    Name(String),
}

/// A model's answer, parsed as JSON but not yet validated: the domain's
/// [`sanitize`](super::sanitize::sanitize) turns it into an [`EnrichedProfile`](super::EnrichedProfile).
#[derive(Debug, Clone, PartialEq)]
pub struct ModelAnswer {
    /// The model that answered, e.g. `gpt-4o-mini`, as the service reported it.
    pub model: String,
    /// The JSON object the model produced (see [`ENRICHMENT_FIELDS`]).
    pub content: serde_json::Value,
}

/// The keys the model's JSON object must have (the strict response schema):
/// `industry` (string|null), `description` (string|null, ≤ 500 chars), `employees`
/// (integer|null), `employeesRange` (string|null, one of the ladder), `companyRevenue`
/// (string|null, one of the ladder), `regions`, `languages`, `services`, `products` (string
/// arrays), `strengths`, `risks` (arrays of `{label, description}`), `summary` (string),
/// `confidence` (`high`|`medium`|`low`).
pub const ENRICHMENT_FIELDS: [&str; 13] = [
    "industry",
    "description",
    "employees",
    "employeesRange",
    "companyRevenue",
    "regions",
    "languages",
    "services",
    "products",
    "strengths",
    "risks",
    "summary",
    "confidence",
];

#[derive(Debug, thiserror::Error)]
pub enum LanguageModelError {
    /// Still rate limited (429) when the retries or the time budget ran out.
    #[error("the language model kept answering 429 (rate limited)")]
    RateLimited,
    /// The service failed (5xx, refused connection) after the retries.
    #[error("the language model service failed: {0}")]
    Unavailable(String),
    /// No answer within the time budget.
    #[error("the language model did not answer in time")]
    Timeout,
    /// The service refused the request (4xx other than 429), e.g. a bad key or unknown model.
    #[error("the language model service refused the request: {0}")]
    Rejected(String),
    /// An answer that cannot be used: not JSON, not an object, cut off (`finish_reason:
    /// "length"`), or a refusal.
    #[error("the language model's answer is unusable: {0}")]
    InvalidAnswer(String),
}

/// An OpenAI-compatible chat-completions model asked for a strict JSON-schema answer.
///
/// # Errors
/// `RateLimited` when 429s outlast the retries (each retry waits as `Retry-After` says, within
/// the budget); `Unavailable` for 5xx and connection failures after the retries; `Timeout` when
/// the time budget (about 60 s per analysis) is spent; `Rejected` for other 4xx; `InvalidAnswer`
/// for a body that is not a chat completion, content that is not a JSON object, a
/// `finish_reason` of `length` or `content_filter`, or a refusal.
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
#[async_trait]
pub trait LanguageModel: Send + Sync {
    /// The configured model name (used in `enrichedBy: "llm:<model>"`).
    fn model(&self) -> String;
    async fn enrich(&self, input: &EnrichmentInput) -> Result<ModelAnswer, LanguageModelError>;
}
