//! Webhook endpoints, deliveries and the delivery log.

use crate::outbox::EventType;
use crate::shared::error::ValidationErrors;
use crate::shared::ids::{EventId, OrganizationId, WebhookDeliveryId, WebhookEndpointId};
use chrono::{DateTime, Utc};
use std::time::Duration;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookEndpoint {
    pub id: WebhookEndpointId,
    pub organization_id: OrganizationId,
    pub url: String,
    pub description: String,
    /// Webhook types (`partner.created`, …) it receives.
    pub event_types: Vec<String>,
    pub enabled: bool,
    /// Why it was disabled, when the service disabled it.
    pub disabled_reason: Option<String>,
    /// Since when every attempt to it has failed.
    pub failing_since: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// An endpoint URL: `https` (plain `http` only where the deployment allows it, in development),
/// with a host, at most 2048 characters. Where it points is checked by the SSRF guard at every
/// delivery, with the addresses its name resolves to then.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndpointUrl(String);

impl EndpointUrl {
    pub fn parse(raw: &str, allow_http: bool) -> Result<Self, String> {
        let s = raw.trim();
        let rest = s
            .strip_prefix("https://")
            .or_else(|| s.strip_prefix("http://").filter(|_| allow_http));
        let Some(rest) = rest else {
            return Err(if allow_http {
                "must be an http:// or https:// URL".into()
            } else {
                "must be an https:// URL".into()
            });
        };
        let authority = &rest[..rest.find(['/', '?', '#']).unwrap_or(rest.len())];
        if authority.is_empty()
            || authority.contains('@')
            || s.len() > 2048
            || s.chars().any(|c| c.is_whitespace() || c.is_control())
        {
            return Err(
                "must be a URL with a host and no credentials, at most 2048 characters".into(),
            );
        }
        // Deliveries go to the default ports only (the SSRF guard's rule); say so now rather
        // than at every delivery.
        let port = authority
            .rsplit_once(':')
            .filter(|(_, p)| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
            .map(|(_, p)| p);
        if !allow_http && port.is_some_and(|p| p != "443") {
            return Err("must use the default port (443)".into());
        }
        Ok(Self(s.to_owned()))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The webhook types of an endpoint: known, at least one, without repeats (catalogue order).
pub fn parse_event_types(raw: &[String]) -> Result<Vec<EventType>, String> {
    if raw.is_empty() {
        return Err("must name at least one event type".into());
    }
    let mut types = Vec::new();
    for name in raw {
        let t = EventType::from_webhook_type(name).ok_or_else(|| {
            format!(
                "unknown event type {name:?}; one of {}",
                EventType::webhook_types().collect::<Vec<_>>().join(", ")
            )
        })?;
        if !types.contains(&t) {
            types.push(t);
        }
    }
    types.sort_by_key(|t| EventType::ALL.iter().position(|a| a == t));
    Ok(types)
}

/// A new endpoint, validated.
#[derive(Debug, Clone)]
pub struct NewEndpoint {
    pub url: EndpointUrl,
    pub description: String,
    pub event_types: Vec<EventType>,
    pub enabled: bool,
}

/// Changes to an endpoint, validated; `None` leaves a field as it is. Enabling clears the
/// failure state (a re-enabled endpoint starts with a clean record).
#[derive(Debug, Clone, Default)]
pub struct EndpointPatch {
    pub url: Option<EndpointUrl>,
    pub description: Option<String>,
    pub event_types: Option<Vec<EventType>>,
    pub enabled: Option<bool>,
}

pub const DESCRIPTION_MAX: usize = 500;

/// Raw input shared by create and update.
#[derive(Debug, Clone, Default)]
pub struct EndpointInput {
    pub url: Option<String>,
    pub description: Option<String>,
    pub event_types: Option<Vec<String>>,
    pub enabled: Option<bool>,
}

impl EndpointInput {
    fn check(&self, allow_http: bool, errors: &mut ValidationErrors) -> EndpointPatch {
        let url = self
            .url
            .as_deref()
            .and_then(|u| errors.check("url", EndpointUrl::parse(u, allow_http)));
        let description = self.description.as_ref().and_then(|d| {
            let d = d.trim();
            if d.chars().count() > DESCRIPTION_MAX {
                errors.push(
                    "description",
                    format!("must be at most {DESCRIPTION_MAX} characters"),
                );
                None
            } else {
                Some(d.to_owned())
            }
        });
        let event_types = self
            .event_types
            .as_deref()
            .and_then(|t| errors.check("eventTypes", parse_event_types(t)));
        EndpointPatch {
            url,
            description,
            event_types,
            enabled: self.enabled,
        }
    }

    /// # Errors
    /// Every invalid field; `url` and `eventTypes` are required.
    pub fn into_new(self, allow_http: bool) -> Result<NewEndpoint, ValidationErrors> {
        let mut errors = ValidationErrors::new();
        if self.url.is_none() {
            errors.push("url", "is required");
        }
        if self.event_types.is_none() {
            errors.push("eventTypes", "is required");
        }
        let patch = self.check(allow_http, &mut errors);
        match (patch.url, patch.event_types) {
            (Some(url), Some(event_types)) if errors.0.is_empty() => Ok(NewEndpoint {
                url,
                description: patch.description.unwrap_or_default(),
                event_types,
                enabled: patch.enabled.unwrap_or(true),
            }),
            _ => Err(errors),
        }
    }

    /// # Errors
    /// Every invalid field.
    pub fn into_patch(self, allow_http: bool) -> Result<EndpointPatch, ValidationErrors> {
        let mut errors = ValidationErrors::new();
        let patch = self.check(allow_http, &mut errors);
        if errors.0.is_empty() {
            Ok(patch)
        } else {
            Err(errors)
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryStatus {
    Pending,
    Succeeded,
    Failed,
}

impl DeliveryStatus {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Succeeded => "succeeded",
            Self::Failed => "failed",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        [Self::Pending, Self::Succeeded, Self::Failed]
            .into_iter()
            .find(|v| v.as_str() == s)
    }
}

/// One attempt in the delivery log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttemptRecord {
    pub attempt: i32,
    /// A redelivery asked for by a user.
    pub manual: bool,
    pub attempted_at: DateTime<Utc>,
    pub status_code: Option<u16>,
    pub latency_ms: i32,
    pub response_prefix: String,
    pub error: Option<String>,
}

/// One message of one event to one endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    pub id: WebhookDeliveryId,
    pub endpoint_id: WebhookEndpointId,
    pub event_id: EventId,
    pub event_type: String,
    pub status: DeliveryStatus,
    pub attempts: i32,
    /// When the next automatic attempt is due (pending deliveries).
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Newest first.
    pub log: Vec<AttemptRecord>,
}

impl Delivery {
    /// The `webhook-id` of its messages.
    pub fn message_id(&self) -> String {
        message_id(self.id)
    }
}

pub fn message_id(id: WebhookDeliveryId) -> String {
    format!("msg_{}", id.as_uuid().simple())
}

/// The retry schedule and the disabling rule.
#[derive(Debug, Clone)]
pub struct DeliveryPolicy {
    /// The delay before each retry: the first attempt is immediate, then one retry per entry.
    pub retries: Vec<Duration>,
    /// An endpoint whose every attempt has failed for this long is disabled.
    pub disable_after: Duration,
    /// How long a rotated-out secret keeps signing next to its successor.
    pub rotation_overlap: Duration,
    /// Whether endpoint URLs may be plain `http` (development).
    pub allow_http: bool,
}

impl Default for DeliveryPolicy {
    /// 5 s, 5 min, 30 min, 2 h, 5 h, 10 h (about 18 h of retries); disabled after 5 days of
    /// failures; secrets overlap for 24 h.
    fn default() -> Self {
        Self {
            retries: [5, 300, 1800, 7200, 18_000, 36_000]
                .into_iter()
                .map(Duration::from_secs)
                .collect(),
            disable_after: Duration::from_secs(5 * 24 * 3600),
            rotation_overlap: Duration::from_secs(24 * 3600),
            allow_http: false,
        }
    }
}

impl DeliveryPolicy {
    /// After attempt `attempt` (1-based) failed: the delay before the next, or `None` when it
    /// was the last.
    pub fn retry_after(&self, attempt: i32) -> Option<Duration> {
        usize::try_from(attempt - 1)
            .ok()
            .and_then(|i| self.retries.get(i).copied())
    }

    /// Whether an endpoint failing since `since` is to be disabled at `now`.
    pub fn disables(&self, since: DateTime<Utc>, now: DateTime<Utc>) -> bool {
        (now - since)
            .to_std()
            .is_ok_and(|d| d >= self.disable_after)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoint_urls() {
        assert!(EndpointUrl::parse("https://hooks.example.com/x?y=1", false).is_ok());
        assert!(EndpointUrl::parse("http://hooks.example.com/x", false).is_err());
        assert!(EndpointUrl::parse("http://127.0.0.1:9/x", true).is_ok());
        assert!(EndpointUrl::parse("https://user:pw@example.com/", false).is_err());
        assert!(EndpointUrl::parse("https:///path", false).is_err());
        assert!(EndpointUrl::parse("ftp://example.com", true).is_err());
        assert!(EndpointUrl::parse("https://exa mple.com", false).is_err());
        assert!(EndpointUrl::parse("https://example.com:8443/h", false).is_err());
        assert!(EndpointUrl::parse("https://example.com:443/h", false).is_ok());
        assert!(EndpointUrl::parse("https://[2001:db8::1]/h", false).is_ok());
    }

    #[test]
    fn event_types_are_known_deduplicated_and_in_catalogue_order() {
        let t = parse_event_types(&[
            "member.joined".into(),
            "partner.created".into(),
            "member.joined".into(),
        ])
        .unwrap();
        assert_eq!(t, vec![EventType::PartnerCreated, EventType::MemberJoined]);
        assert!(parse_event_types(&[]).is_err());
        assert!(
            parse_event_types(&["invitation.created".into()])
                .unwrap_err()
                .contains("unknown")
        );
    }

    #[test]
    fn the_schedule_ends_after_its_last_retry_and_disabling_waits_for_its_period() {
        let p = DeliveryPolicy::default();
        assert_eq!(p.retry_after(1), Some(Duration::from_secs(5)));
        assert_eq!(p.retry_after(6), Some(Duration::from_secs(36_000)));
        assert_eq!(p.retry_after(7), None);
        assert_eq!(p.retry_after(0), None);
        let now = Utc::now();
        assert!(!p.disables(now - chrono::Duration::days(4), now));
        assert!(p.disables(now - chrono::Duration::days(5), now));
    }

    #[test]
    fn creating_needs_a_url_and_event_types() {
        let e = EndpointInput::default().into_new(false).unwrap_err();
        let fields: Vec<_> = e.0.iter().map(|f| f.field.as_str()).collect();
        assert_eq!(fields, ["url", "eventTypes"]);
        let ok = EndpointInput {
            url: Some(" https://a.example/h ".into()),
            event_types: Some(vec!["partner.created".into()]),
            ..EndpointInput::default()
        }
        .into_new(false)
        .unwrap();
        assert_eq!(ok.url.as_str(), "https://a.example/h");
        assert!(ok.enabled);
    }
}
