//! The event catalogue: what the outbox records, and which of it webhooks carry.

/// Every kind of event the outbox records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventType {
    PartnerCreated,
    PartnerUpdated,
    PartnerDeleted,
    PartnerAnalyzed,
    ApplicationSubmitted,
    ApplicationApproved,
    ApplicationRejected,
    LegalTemplateCreated,
    MemberJoined,
    WebhookEndpointDisabled,
    /// Internal: mails an invitation (a new token is minted when it is sent).
    InvitationCreated,
    /// Internal: mails an invitation again.
    InvitationResent,
    /// Internal: mails a sign-up email verification link.
    EmailVerificationRequested,
    /// Internal: mails a password reset link.
    PasswordResetRequested,
}

impl EventType {
    pub const ALL: [Self; 14] = [
        Self::PartnerCreated,
        Self::PartnerUpdated,
        Self::PartnerDeleted,
        Self::PartnerAnalyzed,
        Self::ApplicationSubmitted,
        Self::ApplicationApproved,
        Self::ApplicationRejected,
        Self::LegalTemplateCreated,
        Self::MemberJoined,
        Self::WebhookEndpointDisabled,
        Self::InvitationCreated,
        Self::InvitationResent,
        Self::EmailVerificationRequested,
        Self::PasswordResetRequested,
    ];

    /// The outbox's `kind` column.
    pub const fn kind(self) -> &'static str {
        match self {
            Self::PartnerCreated => "partner_created",
            Self::PartnerUpdated => "partner_updated",
            Self::PartnerDeleted => "partner_deleted",
            Self::PartnerAnalyzed => "partner_analyzed",
            Self::ApplicationSubmitted => "application_submitted",
            Self::ApplicationApproved => "application_approved",
            Self::ApplicationRejected => "application_rejected",
            Self::LegalTemplateCreated => "legal_template_created",
            Self::MemberJoined => "member_joined",
            Self::WebhookEndpointDisabled => "webhook_endpoint_disabled",
            Self::InvitationCreated => "invitation_created",
            Self::InvitationResent => "invitation_resent",
            Self::EmailVerificationRequested => "email_verification_requested",
            Self::PasswordResetRequested => "password_reset_requested",
        }
    }

    /// The webhook `type` of the events customers may subscribe to; `None` for internal ones.
    pub const fn webhook_type(self) -> Option<&'static str> {
        Some(match self {
            Self::PartnerCreated => "partner.created",
            Self::PartnerUpdated => "partner.updated",
            Self::PartnerDeleted => "partner.deleted",
            Self::PartnerAnalyzed => "partner.analyzed",
            Self::ApplicationSubmitted => "application.submitted",
            Self::ApplicationApproved => "application.approved",
            Self::ApplicationRejected => "application.rejected",
            Self::LegalTemplateCreated => "legal_template.created",
            Self::MemberJoined => "member.joined",
            Self::WebhookEndpointDisabled => "webhook_endpoint.disabled",
            Self::InvitationCreated
            | Self::InvitationResent
            | Self::EmailVerificationRequested
            | Self::PasswordResetRequested => return None,
        })
    }

    pub fn from_kind(kind: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.kind() == kind)
    }

    pub fn from_webhook_type(name: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|t| t.webhook_type() == Some(name))
    }

    /// Every webhook type, in catalogue order.
    pub fn webhook_types() -> impl Iterator<Item = &'static str> {
        Self::ALL.into_iter().filter_map(Self::webhook_type)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_and_webhook_types_are_unique_and_round_trip() {
        let mut kinds = std::collections::HashSet::new();
        for t in EventType::ALL {
            assert!(kinds.insert(t.kind()), "{t:?}");
            assert_eq!(EventType::from_kind(t.kind()), Some(t));
            if let Some(w) = t.webhook_type() {
                assert_eq!(EventType::from_webhook_type(w), Some(t));
                assert_eq!(w.replace('.', "_"), t.kind());
            }
        }
        assert_eq!(EventType::webhook_types().count(), 10);
        assert_eq!(EventType::from_webhook_type("invitation.created"), None);
    }
}
