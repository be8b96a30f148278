//! The webhook event catalogue: every type an endpoint may subscribe to, with the schema of its
//! `data`, published in the OpenAPI document's `webhooks` section.

use crate::dto::webhook_events::*;
use partneros_domain::outbox::EventType;
use utoipa::openapi::path::{HttpMethod, OperationBuilder, PathItem};
use utoipa::openapi::request_body::RequestBodyBuilder;
use utoipa::openapi::response::ResponseBuilder;
use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, Ref, SchemaFormat, Type};
use utoipa::openapi::{ContentBuilder, PathsBuilder, RefOr, Schema};
use utoipa::{Modify, PartialSchema};

/// One event type.
pub struct CatalogueEntry {
    pub name: &'static str,
    pub description: &'static str,
    /// The component name of its `data` schema.
    pub data: &'static str,
    schema: fn() -> RefOr<Schema>,
}

macro_rules! entry {
    ($t:expr, $data:ty, $description:literal) => {
        CatalogueEntry {
            name: match $t.webhook_type() {
                Some(name) => name,
                None => panic!("not a webhook type"),
            },
            description: $description,
            data: stringify!($data),
            schema: <$data as PartialSchema>::schema,
        }
    };
}

static CATALOGUE: [CatalogueEntry; 10] = [
    entry!(
        EventType::PartnerCreated,
        PartnerCreatedData,
        "A partner record was created (by hand, through the API, or by approving a submission)."
    ),
    entry!(
        EventType::PartnerUpdated,
        PartnerUpdatedData,
        "A partner record was changed by hand or through the API (an analysis sends `partner.analyzed` instead)."
    ),
    entry!(
        EventType::PartnerDeleted,
        PartnerDeletedData,
        "A partner record was deleted."
    ),
    entry!(
        EventType::PartnerAnalyzed,
        PartnerAnalyzedData,
        "An AI analysis of a partner was stored (fit score, enrichment)."
    ),
    entry!(
        EventType::ApplicationSubmitted,
        ApplicationSubmittedData,
        "A prospective partner submitted an application form."
    ),
    entry!(
        EventType::ApplicationApproved,
        ApplicationApprovedData,
        "A submission was approved; its partner record was created."
    ),
    entry!(
        EventType::ApplicationRejected,
        ApplicationRejectedData,
        "A submission was rejected."
    ),
    entry!(
        EventType::LegalTemplateCreated,
        LegalTemplateCreatedData,
        "A legal agreement template was prepared in Docuseal."
    ),
    entry!(
        EventType::MemberJoined,
        MemberJoinedData,
        "Someone accepted an invitation and joined the organization (members and partner-portal users)."
    ),
    entry!(
        EventType::WebhookEndpointDisabled,
        WebhookEndpointDisabledData,
        "One of the organization's webhook endpoints was disabled after failing for days (sent to its other endpoints)."
    ),
];

pub fn webhook_catalogue() -> &'static [CatalogueEntry] {
    &CATALOGUE
}

fn string() -> ObjectBuilder {
    ObjectBuilder::new().schema_type(Type::String)
}

/// The message body: `{type, timestamp, data}`.
fn envelope(entry: &CatalogueEntry) -> Schema {
    Schema::Object(
        ObjectBuilder::new()
            .property("type", string().enum_values(Some([entry.name])))
            .property(
                "timestamp",
                string()
                    .format(Some(SchemaFormat::KnownFormat(KnownFormat::DateTime)))
                    .description(Some("When the event happened (the same on every attempt)")),
            )
            .property("data", Ref::from_schema_name(entry.data))
            .required("type")
            .required("timestamp")
            .required("data")
            .build(),
    )
}

/// Adds the `webhooks` section and the `data` schemas.
pub struct WebhooksSection;

impl Modify for WebhooksSection {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        let mut paths = PathsBuilder::new();
        for entry in webhook_catalogue() {
            components
                .schemas
                .insert(entry.data.to_owned(), (entry.schema)());
            let operation = OperationBuilder::new()
                .summary(Some(entry.description))
                .description(Some(format!(
                    "Sent as `POST` to every enabled endpoint subscribed to `{}`, signed as the \
                     Standard Webhooks specification says: headers `webhook-id` (the same on every \
                     attempt; deduplicate on it), `webhook-timestamp` (Unix seconds of the attempt) \
                     and `webhook-signature` (`v1,` and the base64 HMAC-SHA256 of \
                     `{{webhook-id}}.{{webhook-timestamp}}.{{body}}` keyed with the base64-decoded \
                     part of the `whsec_` secret after the prefix; one per active secret, space separated). \
                     Answer any 2xx within 15 s; anything else is retried after 5 s, 5 min, 30 min, \
                     2 h, 5 h and 10 h. Redirects are not followed.",
                    entry.name
                )))
                .operation_id(Some(entry.name.replace('.', "_")))
                .tag("webhooks")
                .request_body(Some(
                    RequestBodyBuilder::new()
                        .content(
                            "application/json",
                            ContentBuilder::new().schema(Some(envelope(entry))).build(),
                        )
                        .build(),
                ))
                .response(
                    "2XX",
                    ResponseBuilder::new()
                        .description("Received; the delivery succeeded")
                        .build(),
                );
            paths = paths.path(entry.name, PathItem::new(HttpMethod::Post, operation));
        }
        openapi.webhooks = Some(paths.build());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_catalogue_is_every_webhook_type_in_order() {
        let names: Vec<_> = webhook_catalogue().iter().map(|e| e.name).collect();
        let types: Vec<_> = EventType::webhook_types().collect();
        assert_eq!(names, types);
    }
}
