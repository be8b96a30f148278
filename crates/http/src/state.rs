//! The application state shared by every handler.

use partneros_domain::analysis::service::AnalysisService;
use partneros_domain::applications::service::ApplicationService;
use partneros_domain::banners::service::BannerService;
use partneros_domain::identity::account::AccountService;
use partneros_domain::identity::api_keys::ApiKeyService;
use partneros_domain::identity::auth::AuthService;
use partneros_domain::legal::service::LegalTemplateService;
use partneros_domain::organizations::service::OrganizationService;
use partneros_domain::partners::service::PartnerService;
use partneros_domain::shared::health::HealthCheck;
use partneros_domain::shared::secret::Secret;
use partneros_domain::webhooks::service::WebhookService;
use std::sync::Arc;

/// Transport settings.
#[derive(Debug, Clone)]
pub struct HttpSettings {
    /// Mark the session cookie `Secure` (production).
    pub secure_cookies: bool,
    /// Base of links the API hands out (e.g. hosted form URLs).
    pub public_base_url: String,
    /// Reverse proxies in front of the service whose `X-Forwarded-For` entries are trusted.
    pub forwarded_hops: usize,
    /// The local file store's root, served at `/files/` (development default storage).
    pub local_files: Option<std::path::PathBuf>,
    /// Browser origins trusted with credentials: the service's own (from `PUBLIC_BASE_URL`) and
    /// those of `CORS_ALLOWED_ORIGINS`, each a bare origin (`scheme://host[:port]`).
    pub trusted_origins: Vec<String>,
    /// Who may read `/metrics` on the API listener.
    pub metrics: MetricsAccess,
}

/// Who may read `/metrics` on a listener.
#[derive(Debug, Clone)]
pub enum MetricsAccess {
    /// Anyone who reaches the listener.
    Open,
    /// Requests with `Authorization: Bearer <token>`.
    Token(Secret),
    /// Nobody: the answer is 404, as for any unknown path.
    Hidden,
}

/// Renders the Prometheus exposition text, refreshing gauges first.
pub type MetricsRenderer = Arc<dyn Fn() -> String + Send + Sync>;

#[derive(Clone)]
pub struct AppState {
    pub auth: Arc<AuthService>,
    pub accounts: Arc<AccountService>,
    pub organizations: Arc<OrganizationService>,
    pub api_keys: Arc<ApiKeyService>,
    pub partners: Arc<PartnerService>,
    pub analysis: Arc<AnalysisService>,
    pub legal_templates: Arc<LegalTemplateService>,
    pub applications: Arc<ApplicationService>,
    pub banners: Arc<BannerService>,
    pub webhooks: Arc<WebhookService>,
    pub health: Arc<dyn HealthCheck>,
    pub metrics: Option<MetricsRenderer>,
    pub settings: HttpSettings,
}
