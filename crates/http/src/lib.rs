#![doc = include_str!("../README.md")]

pub mod browser;
pub mod dto;
pub mod error;
pub mod extract;
pub mod middleware;
pub mod multipart;
pub mod openapi;
pub mod routes;
pub mod state;
pub mod webhook_catalogue;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceFactory, ServiceRequest, ServiceResponse};
use actix_web::{App, HttpResponse, web};
use error::ApiError;
use partneros_domain::shared::error::ErrorKind;
pub use state::{AppState, HttpSettings, MetricsAccess, MetricsRenderer};
use utoipa::OpenApi;
use utoipa_actix_web::{AppExt, scope};
use utoipa_swagger_ui::SwaggerUi;

async fn no_route() -> Result<HttpResponse, ApiError> {
    Err(ApiError::new(ErrorKind::NotFound, "no such route"))
}

/// The OpenAPI document as served at `/openapi.json`.
pub fn openapi() -> utoipa::openapi::OpenApi {
    let (_, api) = App::new()
        .into_utoipa_app()
        .openapi(openapi::ApiDoc::openapi())
        .pipe(|app| routes_of(app, &[]))
        .split_for_parts();
    api
}

trait Pipe: Sized {
    fn pipe<T>(self, f: impl FnOnce(Self) -> T) -> T {
        f(self)
    }
}
impl<T> Pipe for T {}

fn routes_of<T>(
    app: utoipa_actix_web::UtoipaApp<T>,
    trusted_origins: &[String],
) -> utoipa_actix_web::UtoipaApp<T>
where
    T: ServiceFactory<ServiceRequest, Config = (), Error = actix_web::Error, InitError = ()>,
{
    use routes::*;
    // The public side of application forms has its own CORS policy (any origin, no
    // credentials), so it gets its own scopes, ahead of `/api`, which would capture them.
    app.service(
        scope::scope("/api/partners/applications/public")
            .service(applications::public_application)
            .wrap(browser::public_cors()),
    )
    .service(
        scope::scope("/api/partners/applications/submit")
            .service(applications::submit)
            .wrap(browser::public_cors()),
    )
    .service(
        // The router tries routes in order, and each route with a `{parameter}` costs a pattern
        // match: fixed paths first, then the hot partner routes, then the other parameterized
        // ones. Fixed paths under /partners must precede /partners/{partnerId} anyway, and
        // those under /partners/applications precede /partners/applications/{applicationId}.
        scope::scope("/api")
            .service(auth::sign_up)
            .service(auth::sign_in)
            .service(auth::sign_out)
            .service(auth::get_session)
            .service(auth::set_active)
            .service(auth::accept_invitation)
            .service(auth::verify_email)
            .service(auth::resend_verification)
            .service(auth::request_password_reset)
            .service(auth::confirm_password_reset)
            .service(organizations::list_members)
            .service(organizations::add_member)
            .service(organizations::list_invitations)
            .service(organizations::create_organization)
            .service(organizations::list_organizations)
            .service(api_keys::create_api_key)
            .service(api_keys::list_api_keys)
            .service(webhooks::event_types)
            .service(webhooks::create_endpoint)
            .service(webhooks::list_endpoints)
            .service(partners::list_partners)
            .service(partners::create_partner)
            .service(analysis::get_ideal_profile)
            .service(analysis::put_ideal_profile)
            .service(applications::upload_banner)
            .service(applications::create_application)
            .service(applications::list_applications)
            .service(legal_templates::create_template)
            .service(legal_templates::list_templates)
            .service(partners::get_partner)
            .service(partners::update_partner)
            .service(partners::delete_partner)
            .service(analysis::analyze_partner)
            .service(organizations::change_role)
            .service(organizations::remove_member)
            .service(organizations::revoke_invitation)
            .service(organizations::resend_invitation)
            .service(api_keys::revoke_api_key)
            .service(applications::approve_submission)
            .service(applications::reject_submission)
            .service(applications::get_application)
            .service(applications::update_application)
            .service(applications::delete_application)
            .service(applications::create_affiliate_link)
            .service(applications::list_affiliate_links)
            .service(applications::list_submissions)
            .service(legal_templates::get_template)
            .service(legal_templates::delete_template)
            .service(webhooks::get_endpoint)
            .service(webhooks::update_endpoint)
            .service(webhooks::delete_endpoint)
            .service(webhooks::rotate_secret)
            .service(webhooks::list_deliveries)
            .service(webhooks::get_delivery)
            .service(webhooks::redeliver)
            .wrap(browser::trusted_cors(trusted_origins)),
    )
    .service(ops::healthz)
    .service(ops::readyz)
    .service(ops::metrics)
}

/// The whole application, ready for `HttpServer::new`.
pub fn app(
    state: AppState,
) -> App<
    impl ServiceFactory<
        ServiceRequest,
        Config = (),
        Response = ServiceResponse<impl MessageBody>,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    let query_config = web::QueryConfig::default()
        .error_handler(|e, _| ApiError::field("query", &e.to_string()).into());
    let trusted_origins = state.settings.trusted_origins.clone();
    let (app, api) = App::new()
        .into_utoipa_app()
        .openapi(openapi::ApiDoc::openapi())
        .app_data(web::Data::new(state))
        .app_data(query_config)
        .pipe(|app| routes_of(app, &trusted_origins))
        .split_for_parts();
    // Routes outside the API reference: files of the local store.
    app.service(routes::applications::local_file)
        .route(
            "/docs",
            web::get().to(|| async {
                HttpResponse::PermanentRedirect()
                    .insert_header(("Location", "/docs/"))
                    .finish()
            }),
        )
        .service(SwaggerUi::new("/docs/{_:.*}").url("/openapi.json", api))
        .configure(routes::hosted_form::configure)
        .service(routes::embed::embed_script)
        .default_service(web::to(no_route))
        .wrap(actix_web::middleware::from_fn(middleware::observe))
        // Outermost, so that it also sees the error bodies `observe` puts in.
        .wrap(actix_web::middleware::from_fn(browser::deny_framing))
}

/// The metrics listener's application (`METRICS_ADDR`): `GET /metrics` only, for requests that
/// `access` admits.
pub fn metrics_app(
    render: Option<MetricsRenderer>,
    access: MetricsAccess,
) -> App<
    impl ServiceFactory<
        ServiceRequest,
        Config = (),
        Response = ServiceResponse<impl MessageBody>,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    App::new()
        .route(
            "/metrics",
            web::get().to(move |req: actix_web::HttpRequest| {
                let res = routes::ops::render_metrics(&req, render.as_ref(), &access);
                async move { res }
            }),
        )
        .default_service(web::to(no_route))
}
