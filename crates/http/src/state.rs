//! The application state shared by every handler.

use partneros_domain::ports::HealthCheck;
use partneros_domain::services::api_keys::ApiKeyService;
use partneros_domain::services::auth::AuthService;
use partneros_domain::services::legal_templates::LegalTemplateService;
use partneros_domain::services::organizations::OrganizationService;
use partneros_domain::services::partners::PartnerService;
use std::sync::Arc;

/// Transport settings.
#[derive(Debug, Clone)]
pub struct HttpSettings {
    /// Mark the session cookie `Secure` (production).
    pub secure_cookies: bool,
}

/// Renders the Prometheus exposition text, refreshing gauges first.
pub type MetricsRenderer = Arc<dyn Fn() -> String + Send + Sync>;

#[derive(Clone)]
pub struct AppState {
    pub auth: Arc<AuthService>,
    pub organizations: Arc<OrganizationService>,
    pub api_keys: Arc<ApiKeyService>,
    pub partners: Arc<PartnerService>,
    pub legal_templates: Arc<LegalTemplateService>,
    pub health: Arc<dyn HealthCheck>,
    pub metrics: Option<MetricsRenderer>,
    pub settings: HttpSettings,
}
