//! The diesel schema, written to match `migrations/`.

diesel::table! {
    users (id) {
        id -> Uuid,
        email -> Text,
        name -> Text,
        password_hash -> Nullable<Text>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        email_verified_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    organizations (id) {
        id -> Uuid,
        name -> Text,
        slug -> Text,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    members (organization_id, user_id) {
        organization_id -> Uuid,
        user_id -> Uuid,
        role -> Text,
        partner_id -> Nullable<Uuid>,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    partners (id) {
        id -> Uuid,
        organization_id -> Uuid,
        name -> Text,
        domain -> Nullable<Text>,
        logo_url -> Nullable<Text>,
        partner_type -> Text,
        subtype -> Nullable<Text>,
        category -> Nullable<Text>,
        tier -> Nullable<Text>,
        tier_source -> Nullable<Text>,
        stage -> Text,
        industry -> Nullable<Text>,
        description -> Nullable<Text>,
        employees -> Nullable<Int4>,
        employees_range -> Nullable<Text>,
        company_revenue -> Nullable<Text>,
        regions -> Array<Text>,
        languages -> Array<Text>,
        services -> Array<Text>,
        products -> Array<Text>,
        manager_id -> Nullable<Uuid>,
        fit_score -> Nullable<Int2>,
        ai_insights -> Nullable<Jsonb>,
        analyzed_at -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    partner_contacts (id) {
        id -> Uuid,
        organization_id -> Uuid,
        partner_id -> Uuid,
        user_id -> Nullable<Uuid>,
        first_name -> Text,
        last_name -> Text,
        email -> Text,
        is_primary -> Bool,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    sessions (id) {
        id -> Uuid,
        token_hash -> Bytea,
        user_id -> Uuid,
        active_organization_id -> Nullable<Uuid>,
        created_at -> Timestamptz,
        last_seen_at -> Timestamptz,
        idle_expires_at -> Timestamptz,
        absolute_expires_at -> Timestamptz,
        revoked_at -> Nullable<Timestamptz>,
        user_agent -> Nullable<Text>,
        ip_address -> Nullable<Text>,
    }
}

diesel::table! {
    api_keys (id) {
        id -> Uuid,
        organization_id -> Uuid,
        name -> Text,
        role -> Text,
        token_hash -> Bytea,
        prefix -> Text,
        created_by -> Nullable<Uuid>,
        created_at -> Timestamptz,
        last_used_at -> Nullable<Timestamptz>,
        revoked_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    invitations (id) {
        id -> Uuid,
        organization_id -> Uuid,
        email -> Text,
        role -> Text,
        partner_id -> Nullable<Uuid>,
        token_hash -> Bytea,
        invited_by -> Nullable<Uuid>,
        expires_at -> Timestamptz,
        accepted_at -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
        revoked_at -> Nullable<Timestamptz>,
        user_id -> Nullable<Uuid>,
    }
}

diesel::table! {
    events (id) {
        id -> Uuid,
        organization_id -> Nullable<Uuid>,
        kind -> Text,
        payload -> Jsonb,
        created_at -> Timestamptz,
        published_at -> Nullable<Timestamptz>,
        seq -> Int8,
        aggregate_id -> Nullable<Uuid>,
        attempts -> Int4,
        next_attempt_at -> Timestamptz,
        leased_until -> Nullable<Timestamptz>,
        last_error -> Nullable<Text>,
        failed_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    rate_limit_hits (bucket, hit_at) {
        bucket -> Text,
        hit_at -> Timestamptz,
        pending -> Bool,
    }
}

diesel::table! {
    applications (id) {
        id -> Uuid,
        organization_id -> Uuid,
        name -> Text,
        slug -> Text,
        status -> Text,
        fields -> Jsonb,
        agreements -> Jsonb,
        content -> Jsonb,
        partner_mapping -> Jsonb,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        notify_on_submission -> Bool,
    }
}

diesel::table! {
    affiliate_links (id) {
        id -> Uuid,
        organization_id -> Uuid,
        application_id -> Uuid,
        slug -> Text,
        label -> Nullable<Text>,
        partner_id -> Nullable<Uuid>,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    submissions (id) {
        id -> Uuid,
        organization_id -> Uuid,
        application_id -> Uuid,
        form_data -> Jsonb,
        accepted_agreements -> Array<Uuid>,
        email -> Nullable<Text>,
        affiliate_link_id -> Nullable<Uuid>,
        affiliate_slug -> Nullable<Text>,
        status -> Text,
        reject_reason -> Nullable<Text>,
        partner_id -> Nullable<Uuid>,
        client_ip -> Nullable<Text>,
        reviewed_by -> Nullable<Uuid>,
        reviewed_at -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
    }
}

diesel::joinable!(members -> organizations (organization_id));
diesel::joinable!(members -> users (user_id));
diesel::joinable!(sessions -> users (user_id));
diesel::joinable!(partners -> organizations (organization_id));

diesel::allow_tables_to_appear_in_same_query!(
    users,
    organizations,
    members,
    partners,
    partner_contacts,
    sessions,
    api_keys,
    invitations,
    events,
    rate_limit_hits,
    legal_templates,
    applications,
    affiliate_links,
    submissions,
    ideal_partner_profiles,
    domain_enrichments,
    user_tokens,
    webhook_endpoints,
    webhook_secrets,
    webhook_deliveries,
    webhook_attempts,
);

diesel::table! {
    user_tokens (id) {
        id -> Uuid,
        user_id -> Uuid,
        purpose -> Text,
        token_hash -> Nullable<Bytea>,
        expires_at -> Timestamptz,
        used_at -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    webhook_endpoints (id) {
        id -> Uuid,
        organization_id -> Uuid,
        url -> Text,
        description -> Text,
        event_types -> Array<Text>,
        enabled -> Bool,
        disabled_reason -> Nullable<Text>,
        failing_since -> Nullable<Timestamptz>,
        created_by -> Nullable<Uuid>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    webhook_secrets (id) {
        id -> Uuid,
        endpoint_id -> Uuid,
        secret -> Text,
        created_at -> Timestamptz,
        expires_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    webhook_deliveries (id) {
        id -> Uuid,
        organization_id -> Uuid,
        endpoint_id -> Uuid,
        event_id -> Uuid,
        event_type -> Text,
        status -> Text,
        attempts -> Int4,
        next_attempt_at -> Timestamptz,
        leased_until -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    webhook_attempts (id) {
        id -> Uuid,
        delivery_id -> Uuid,
        attempt -> Int4,
        manual -> Bool,
        attempted_at -> Timestamptz,
        status_code -> Nullable<Int4>,
        latency_ms -> Int4,
        response_prefix -> Text,
        error -> Nullable<Text>,
    }
}

diesel::joinable!(webhook_secrets -> webhook_endpoints (endpoint_id));
diesel::joinable!(webhook_attempts -> webhook_deliveries (delivery_id));
diesel::joinable!(user_tokens -> users (user_id));

diesel::table! {
    legal_templates (id) {
        id -> Uuid,
        organization_id -> Uuid,
        partner_id -> Uuid,
        name -> Text,
        description -> Nullable<Text>,
        scope -> Text,
        roles -> Array<Text>,
        fields -> Jsonb,
        docuseal_template_id -> Int8,
        docuseal_slug -> Text,
        created_by -> Nullable<Uuid>,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    domain_enrichments (domain, enriched_by) {
        domain -> Text,
        enriched_by -> Text,
        profile -> Jsonb,
        sources -> Jsonb,
        fetched_at -> Timestamptz,
        expires_at -> Timestamptz,
    }
}

diesel::table! {
    domain_leases (domain) {
        domain -> Text,
        holder -> Uuid,
        expires_at -> Timestamptz,
    }
}

diesel::table! {
    ideal_partner_profiles (organization_id) {
        organization_id -> Uuid,
        profile -> Jsonb,
        updated_by -> Nullable<Uuid>,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    analysis_jobs (id) {
        id -> Uuid,
        organization_id -> Uuid,
        partner_id -> Uuid,
        status -> Text,
        attempts -> Int4,
        max_attempts -> Int4,
        run_at -> Timestamptz,
        locked_until -> Nullable<Timestamptz>,
        last_error -> Nullable<Text>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        finished_at -> Nullable<Timestamptz>,
    }
}
