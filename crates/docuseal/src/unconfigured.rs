use async_trait::async_trait;
use partneros_domain::legal::ports::{
    ESignature, ESignatureError, NewSignatureTemplate, SignatureTemplate,
};

/// The e-signature port when no Docuseal instance is configured: every call answers
/// `NotConfigured`, which the HTTP layer turns into 502 "Docuseal is not configured".
#[derive(Debug, Clone, Copy, Default)]
pub struct UnconfiguredESignature;

#[async_trait]
impl ESignature for UnconfiguredESignature {
    async fn create_template(
        &self,
        _template: NewSignatureTemplate,
    ) -> Result<SignatureTemplate, ESignatureError> {
        Err(ESignatureError::NotConfigured)
    }

    async fn archive_template(&self, _id: i64) -> Result<(), ESignatureError> {
        Err(ESignatureError::NotConfigured)
    }
}
