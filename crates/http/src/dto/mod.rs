//! Wire types. Requests deny unknown fields and convert into domain values; responses are built
//! from domain entities. Keys are camelCase; timestamps ISO 8601 with milliseconds and `Z`.
//!
//! One file per area of the API holds every request and response body of that area; route
//! files hold handlers only.

/// `Debug` for types that carry passwords or tokens: the named fields print as `<redacted>`,
/// so a stray `{:?}` in a log line cannot leak them.
macro_rules! redacted_debug {
    ($ty:ident { $($shown:ident),* ; $($hidden:ident),* }) => {
        impl std::fmt::Debug for $ty {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.debug_struct(stringify!($ty))
                    $(.field(stringify!($shown), &self.$shown))*
                    $(.field(stringify!($hidden), &"<redacted>"))*
                    .finish()
            }
        }
    };
}

/// A wire enum that mirrors a domain enum (for the OpenAPI document): conversions both ways with
/// exhaustive matches, so a variant added on either side fails to compile until the other side
/// has it too. The wire names are checked against the domain's strings by the tests.
macro_rules! mirror_enum {
    ($wire:ident <=> $domain:ident { $($variant:ident),+ $(,)? }) => {
        impl From<$domain> for $wire {
            fn from(value: $domain) -> Self {
                match value {
                    $($domain::$variant => $wire::$variant),+
                }
            }
        }

        impl From<$wire> for $domain {
            fn from(value: $wire) -> Self {
                match value {
                    $($wire::$variant => $domain::$variant),+
                }
            }
        }
    };
}

pub mod analysis;
pub mod api_keys;
pub mod applications;
pub mod auth;
pub mod legal_templates;
pub mod ops;
pub mod organizations;
pub mod partners;
pub mod webhook_events;
pub mod webhooks;

use chrono::{DateTime, Utc};
use partneros_domain::shared::time::format_timestamp;
use serde::{Deserialize, Deserializer, Serialize};
use utoipa::ToSchema;

/// Absent → `None`, `null` → `Some(None)`, a value → `Some(Some(v))`.
pub fn double_option<'de, T: Deserialize<'de>, D: Deserializer<'de>>(
    d: D,
) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

/// Absent → `None`; `null` is refused (the field cannot be cleared); a value → `Some(v)`.
pub fn non_null<'de, T: Deserialize<'de>, D: Deserializer<'de>>(
    d: D,
) -> Result<Option<T>, D::Error> {
    match Option::<T>::deserialize(d)? {
        Some(v) => Ok(Some(v)),
        None => Err(serde::de::Error::custom("must not be null")),
    }
}

/// `2026-05-16T12:00:00.000Z`
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(value_type = String, format = DateTime, example = "2026-05-16T12:00:00.000Z")]
pub struct Timestamp(String);

impl From<DateTime<Utc>> for Timestamp {
    fn from(t: DateTime<Utc>) -> Self {
        Self(format_timestamp(&t))
    }
}

fn ts(t: DateTime<Utc>) -> Timestamp {
    t.into()
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SuccessResponse {
    pub success: bool,
}

impl SuccessResponse {
    pub const OK: SuccessResponse = SuccessResponse { success: true };
}

#[cfg(test)]
mod tests {
    use super::api_keys::{ApiKeyDto, CreatedApiKeyResponse};
    use super::auth::{AcceptInvitationRequest, SignInRequest, SignUpRequest};
    use super::*;
    use uuid::Uuid;

    /// The values of a string enum's schema in the OpenAPI document, in order.
    pub(super) fn schema_enum<T: utoipa::PartialSchema>() -> Vec<String> {
        let schema = serde_json::to_value(T::schema()).unwrap();
        schema["enum"]
            .as_array()
            .unwrap_or_else(|| panic!("not a string enum: {schema}"))
            .iter()
            .map(|v| v.as_str().unwrap().to_owned())
            .collect()
    }

    #[test]
    fn types_carrying_secrets_redact_them_in_debug() {
        let shown = [
            format!(
                "{:?}",
                SignInRequest {
                    email: "a@b.co".into(),
                    password: "hunter2-secret".into()
                }
            ),
            format!(
                "{:?}",
                SignUpRequest {
                    name: "A".into(),
                    email: "a@b.co".into(),
                    password: "hunter2-secret".into()
                }
            ),
            format!(
                "{:?}",
                AcceptInvitationRequest {
                    token: "pi_hunter2-secret".into(),
                    name: None,
                    password: Some("hunter2-secret".into())
                }
            ),
        ];
        let key = CreatedApiKeyResponse {
            api_key: ApiKeyDto {
                id: Uuid::nil(),
                name: "crm".into(),
                role: organizations::RoleName::Member,
                prefix: "pk_x".into(),
                created_by: None,
                created_at: ts(chrono::Utc::now()),
                last_used_at: None,
            },
            key: "pk_hunter2-secret".into(),
        };
        for s in shown.into_iter().chain([format!("{key:?}")]) {
            assert!(!s.contains("hunter2"), "{s}");
            assert!(s.contains("<redacted>"), "{s}");
        }
    }
}
