//! The OpenAPI document; paths and schemas are collected from the handlers.

use crate::error::ErrorBody;
pub use crate::webhook_catalogue::{WebhooksSection, webhook_catalogue};
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{IntoResponses, Modify, OpenApi};

// The error responses that many operations share, each with one description everywhere. An
// operation lists the sets it can give in `responses(...)` next to its own (whose descriptions
// say something specific to it, e.g. which role may not call it).

/// An endpoint for signed-in callers that reads the database: 401 and 503.
#[derive(IntoResponses)]
pub enum SignedInErrors {
    #[response(status = 401, description = "Not signed in")]
    NotSignedIn(ErrorBody),
    #[response(status = 503, description = "Database unavailable")]
    DatabaseUnavailable(ErrorBody),
}

/// 401 alone, for an endpoint that describes its own 503.
#[derive(IntoResponses)]
pub enum NotSignedIn {
    #[response(status = 401, description = "Not signed in")]
    NotSignedIn(ErrorBody),
}

/// 503 alone, for an endpoint that needs no sign-in.
#[derive(IntoResponses)]
pub enum DatabaseUnavailable {
    #[response(status = 503, description = "Database unavailable")]
    DatabaseUnavailable(ErrorBody),
}

/// An endpoint with a JSON body: 413 and 415.
#[derive(IntoResponses)]
pub enum JsonBodyErrors {
    #[response(status = 413, description = "Body too large")]
    TooLarge(ErrorBody),
    #[response(status = 415, description = "Not JSON")]
    NotJson(ErrorBody),
}

pub struct SecuritySchemes;

impl Modify for SecuritySchemes {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let c = openapi.components.get_or_insert_with(Default::default);
        c.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("session token or API key")
                    .build(),
            ),
        );
        c.add_security_scheme(
            "cookie",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::new("session_token"))),
        );
    }
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Partners API",
        description = "Partner relationship management: partner records and their AI analysis, organizations, members, API keys, application forms and legal templates.

Conventions: JSON in and out, camelCase keys, lowercase hyphenated UUIDs, timestamps as ISO 8601 UTC with milliseconds and `Z`. \
Errors are `{\"error\", \"code\", \"details\"?}`; every response carries `x-request-id`.

Decisions where the specification is silent:
- Authenticate with the `session_token` cookie or `Authorization: Bearer <token>`; session tokens start with `ps_`, API keys with `pk_`. \
When both are sent, the header wins.
- Signing in activates the user's oldest membership; `POST /api/auth/organization/set-active` switches.
- `partner`-role accounts come only from partner records; members can be added as `owner` (by owners), `admin`, `member` or `viewer`.
- API keys carry `admin`, `member` or `viewer`; they cannot manage sessions or create organizations.
- A hand-set `tier` is marked `tierSource: manual` unless the request says otherwise.
- JSON bodies are limited to 64 KiB; a body that is not `application/json` gets 415.
- Browsers (CORS): the public application endpoints (`GET /api/partners/applications/public/{slug}`, `POST /api/partners/applications/submit`) answer any origin, without credentials; \
every other `/api` route answers the service's own origin and those in `CORS_ALLOWED_ORIGINS`, with credentials. \
A change (`POST`, `PUT`, `PATCH`, `DELETE`) authenticated by the `session_token` cookie whose `Origin` (else `Sec-Fetch-Site`) says another origin sent it gets 403 `forbidden`; \
so do sign-up, sign-in and accepting an invitation with such an `Origin`. Requests with `Authorization: Bearer` are not affected. \
No response may be framed by another origin (`X-Frame-Options: DENY`, `frame-ancestors 'none'`) except the hosted form `/apply/{slug}`, which `/embed.js` frames.
- Mail (invitations, email verification, password reset, new-submission notices) is sent by the outbox relay after the change that asks for it is committed, and retried with back-off when sending fails. \
A mailed link's single-use token is minted when its mail is sent and exists only in that mail: no answer, outbox event or log carries it, and the database keeps its SHA-256 only. \
A mail sent again (a resend, or a retry) carries a new token, so only the newest mail's link works.
- Sign-up creates an unverified account (`emailVerified: false`) and mails it a verification link (48 hours); until `POST /api/auth/verify-email` uses it, the account can sign in but not create organizations or accept invitations (403 `email_not_verified`). \
A used, expired or unknown verification or password reset token gets 400 `invalid_token`.
- Analysis: enrichments are cached 7 days per normalized domain and enricher, shared across organizations (an unreadable site for 1 hour); one analysis per domain runs at a time across instances, others wait up to 150 s (then 503). An analysis sets `tier` from the fit score with `tierSource: auto` unless the tier was set by hand. The ideal partner profile is read by internal roles and replaced (`PUT`) by owners and admins.
- Webhooks: every change's event is published by an outbox relay at least once, in order per record, and fanned out to the organization's subscribed endpoints. \
Deliveries are signed as Standard Webhooks (`webhook-id`, `webhook-timestamp`, `webhook-signature`), retried after 5 s, 5 min, 30 min, 2 h, 5 h and 10 h, not ordered across events, and sent through the SSRF guard without following redirects; \
the `webhooks` section documents each event's body.",
        version = "0.1.0"
    ),
    modifiers(&SecuritySchemes, &WebhooksSection),
    tags(
        (name = "auth", description = "Sign-up, sign-in, sessions"),
        (name = "organizations", description = "Organizations"),
        (name = "members", description = "Members and invitations (owners and admins)"),
        (name = "api-keys", description = "Organization API keys (owners and admins)"),
        (name = "partners", description = "Partner records"),
        (name = "applications", description = "Application forms, affiliate links, submissions and banners"),
        (name = "public", description = "The public side of application forms (no authentication). \
On the customer's own site, a form is either embedded with `<script src=\"{service}/embed.js\" data-form=\"{slug}\" async></script>` \
(an iframe of the hosted page `/apply/{slug}`, kept as tall as its content; optional `data-ref`, `data-title`, `data-height`), \
or built by the site itself from `GET .../public/{slug}` and posted as JSON to `POST .../submit` (both allow any origin, without credentials)."),
        (name = "legal-templates", description = "Legal agreement templates prepared in Docuseal"),
        (name = "webhooks", description = "Webhook endpoints (owners and admins), their delivery logs, and the events they receive (see the `webhooks` section)"),
        (name = "operations", description = "Health and metrics"),
    )
)]
pub struct ApiDoc;
