//! Managing webhook endpoints (owners and admins): create, change, rotate secrets, read the
//! delivery log, redeliver.

use crate::identity::access::{self, AccessError};
use crate::identity::model::Principal;
use crate::shared::clock::Clock;
use crate::shared::error::{Classify, ErrorKind, FieldError, StoreError, ValidationErrors};
use crate::shared::ids::{WebhookDeliveryId, WebhookEndpointId};
use crate::webhooks::model::{
    AttemptRecord, Delivery, DeliveryPolicy, EndpointInput, WebhookEndpoint,
};
use crate::webhooks::ports::{NextStep, WebhookStore};
use crate::webhooks::sender::{SigningSecret, WebhookSender};
use crate::webhooks::worker;
use std::sync::Arc;

#[derive(Debug, thiserror::Error)]
pub enum WebhookError {
    #[error(transparent)]
    Access(#[from] AccessError),
    #[error("invalid webhook endpoint")]
    Invalid(ValidationErrors),
    #[error("webhook endpoint not found")]
    NotFound,
    #[error("delivery not found")]
    DeliveryNotFound,
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl Classify for WebhookError {
    fn kind(&self) -> ErrorKind {
        match self {
            Self::Access(e) => e.kind(),
            Self::Invalid(_) => ErrorKind::Validation,
            Self::NotFound | Self::DeliveryNotFound => ErrorKind::NotFound,
            Self::Store(e) => e.kind(),
        }
    }
    fn details(&self) -> &[FieldError] {
        match self {
            Self::Invalid(v) => &v.0,
            _ => &[],
        }
    }
}

/// A new endpoint or a rotated one, with the secret shown this once.
#[derive(Debug, Clone)]
pub struct WithSecret {
    pub endpoint: WebhookEndpoint,
    pub secret: SigningSecret,
}

/// A page of the delivery log.
#[derive(Debug, Clone)]
pub struct DeliveryPage {
    pub deliveries: Vec<Delivery>,
    pub next_cursor: Option<String>,
}

pub struct WebhookService {
    store: Arc<dyn WebhookStore>,
    sender: Arc<dyn WebhookSender>,
    clock: Arc<dyn Clock>,
    policy: DeliveryPolicy,
}

impl WebhookService {
    pub fn new(
        store: Arc<dyn WebhookStore>,
        sender: Arc<dyn WebhookSender>,
        clock: Arc<dyn Clock>,
        policy: DeliveryPolicy,
    ) -> Self {
        Self {
            store,
            sender,
            clock,
            policy,
        }
    }

    pub fn policy(&self) -> &DeliveryPolicy {
        &self.policy
    }

    /// # Errors
    /// Not an owner or admin, invalid input, or the store's.
    pub async fn create(
        &self,
        principal: &Principal,
        input: EndpointInput,
    ) -> Result<WithSecret, WebhookError> {
        let m = access::manager(principal)?;
        let new = input
            .into_new(self.policy.allow_http)
            .map_err(WebhookError::Invalid)?;
        let secret = SigningSecret::generate();
        let endpoint = self
            .store
            .create_endpoint(
                m.organization_id,
                &new,
                &secret,
                principal.user_id(),
                self.clock.now(),
            )
            .await?;
        Ok(WithSecret { endpoint, secret })
    }

    /// # Errors
    /// Not an owner or admin, or the store's.
    pub async fn list(&self, principal: &Principal) -> Result<Vec<WebhookEndpoint>, WebhookError> {
        let m = access::manager(principal)?;
        Ok(self.store.list_endpoints(m.organization_id).await?)
    }

    /// # Errors
    /// Not an owner or admin, not found (in this organization), or the store's.
    pub async fn get(
        &self,
        principal: &Principal,
        id: WebhookEndpointId,
    ) -> Result<WebhookEndpoint, WebhookError> {
        let m = access::manager(principal)?;
        self.store
            .find_endpoint(m.organization_id, id)
            .await?
            .ok_or(WebhookError::NotFound)
    }

    /// # Errors
    /// Not an owner or admin, invalid input, not found, or the store's.
    pub async fn update(
        &self,
        principal: &Principal,
        id: WebhookEndpointId,
        input: EndpointInput,
    ) -> Result<WebhookEndpoint, WebhookError> {
        let m = access::manager(principal)?;
        let patch = input
            .into_patch(self.policy.allow_http)
            .map_err(WebhookError::Invalid)?;
        self.store
            .update_endpoint(m.organization_id, id, &patch, self.clock.now())
            .await?
            .ok_or(WebhookError::NotFound)
    }

    /// # Errors
    /// Not an owner or admin, not found, or the store's.
    pub async fn delete(
        &self,
        principal: &Principal,
        id: WebhookEndpointId,
    ) -> Result<(), WebhookError> {
        let m = access::manager(principal)?;
        if self.store.delete_endpoint(m.organization_id, id).await? {
            Ok(())
        } else {
            Err(WebhookError::NotFound)
        }
    }

    /// A new signing secret, shown once. The previous one keeps signing next to it for the
    /// overlap window, so receivers can switch without dropping a message.
    ///
    /// # Errors
    /// Not an owner or admin, not found, or the store's.
    pub async fn rotate_secret(
        &self,
        principal: &Principal,
        id: WebhookEndpointId,
    ) -> Result<WithSecret, WebhookError> {
        let m = access::manager(principal)?;
        let secret = SigningSecret::generate();
        let now = self.clock.now();
        let overlap = chrono::Duration::from_std(self.policy.rotation_overlap)
            .unwrap_or(chrono::Duration::MAX);
        if !self
            .store
            .rotate_secret(m.organization_id, id, &secret, now + overlap, now)
            .await?
        {
            return Err(WebhookError::NotFound);
        }
        let endpoint = self.get(principal, id).await?;
        Ok(WithSecret { endpoint, secret })
    }

    /// # Errors
    /// Not an owner or admin, an invalid cursor or limit, not found, or the store's.
    pub async fn deliveries(
        &self,
        principal: &Principal,
        endpoint: WebhookEndpointId,
        limit: i64,
        cursor: Option<&str>,
    ) -> Result<DeliveryPage, WebhookError> {
        let m = access::manager(principal)?;
        if !(1..=100).contains(&limit) {
            return Err(WebhookError::Invalid(ValidationErrors::single(
                "limit",
                "must be between 1 and 100",
            )));
        }
        let after = match cursor {
            None => None,
            Some(c) => Some(
                uuid::Uuid::parse_str(c)
                    .map(WebhookDeliveryId::from_uuid)
                    .map_err(|_| {
                        WebhookError::Invalid(ValidationErrors::single(
                            "cursor",
                            "is not a cursor of this list",
                        ))
                    })?,
            ),
        };
        if self
            .store
            .find_endpoint(m.organization_id, endpoint)
            .await?
            .is_none()
        {
            return Err(WebhookError::NotFound);
        }
        let mut deliveries = self
            .store
            .list_deliveries(m.organization_id, endpoint, limit + 1, after)
            .await?;
        let next_cursor =
            crate::shared::page::trim_page(&mut deliveries, limit, |d| d.id.as_uuid().to_string());
        Ok(DeliveryPage {
            deliveries,
            next_cursor,
        })
    }

    /// # Errors
    /// Not an owner or admin, not found, or the store's.
    pub async fn delivery(
        &self,
        principal: &Principal,
        endpoint: WebhookEndpointId,
        id: WebhookDeliveryId,
    ) -> Result<Delivery, WebhookError> {
        let m = access::manager(principal)?;
        self.store
            .find_delivery(m.organization_id, endpoint, id)
            .await?
            .ok_or(WebhookError::DeliveryNotFound)
    }

    /// Sends a delivery again now, whatever its state, and answers with the attempt. A success
    /// marks the delivery succeeded; a failure leaves its state and schedule as they were.
    ///
    /// # Errors
    /// Not an owner or admin, not found, or the store's.
    pub async fn redeliver(
        &self,
        principal: &Principal,
        endpoint: WebhookEndpointId,
        id: WebhookDeliveryId,
    ) -> Result<AttemptRecord, WebhookError> {
        let m = access::manager(principal)?;
        let due = self
            .store
            .delivery_for_redelivery(m.organization_id, endpoint, id)
            .await?
            .ok_or(WebhookError::DeliveryNotFound)?;
        let started = self.clock.now();
        let outcome = self.sender.deliver(&worker::request(&due, started)).await;
        let record = worker::record(&due, &outcome, true, started);
        let succeeded = outcome.succeeded();
        let next = if succeeded {
            NextStep::Succeeded
        } else {
            NextStep::Unchanged
        };
        let health = if succeeded {
            crate::webhooks::ports::EndpointHealth::Healthy
        } else {
            crate::webhooks::ports::EndpointHealth::Failing
        };
        self.store
            .record_attempt(&due, &record, next, &health)
            .await?;
        Ok(record)
    }
}
