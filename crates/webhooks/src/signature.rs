//! Standard Webhooks signatures: `v1,` and the base64 of HMAC-SHA256 over `{id}.{timestamp}.{body}`,
//! keyed with the bytes the `whsec_` secret encodes.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use partneros_domain::webhooks::sender::SigningSecret;
use sha2::Sha256;

/// The signature scheme's version tag (symmetric HMAC-SHA256).
pub const VERSION: &str = "v1";

/// One signature, `v1,<base64>`, of a message with `key` (the decoded secret).
pub fn sign(key: &[u8], message_id: &str, timestamp: i64, body: &str) -> String {
    // HMAC takes keys of any length; `new_from_slice` cannot fail for it.
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC accepts any key length");
    mac.update(message_id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body.as_bytes());
    let digest = mac.finalize().into_bytes();
    format!("{VERSION},{}", STANDARD.encode(digest))
}

/// The `webhook-signature` value: one signature per secret, separated by spaces, in the order of
/// `secrets` (receivers accept the message when any one verifies, which is what lets a secret be
/// rotated without a gap).
pub fn signature_header(
    secrets: &[SigningSecret],
    message_id: &str,
    timestamp: i64,
    body: &str,
) -> String {
    secrets
        .iter()
        .map(|secret| sign(&secret.key(), message_id, timestamp, body))
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secret(s: &str) -> SigningSecret {
        SigningSecret::parse(s).expect("a whsec_ secret")
    }

    /// The test vector of the Standard Webhooks specification (and of its reference libraries).
    #[test]
    fn matches_the_specification_test_vector() {
        let key = secret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").key();
        assert_eq!(
            sign(
                &key,
                "msg_p5jXN8AQM9LWM0D4loKWxJek",
                1_614_265_330,
                r#"{"test": 2432232314}"#
            ),
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
        );
    }

    /// The vector of the reference Rust library's own signing test.
    #[test]
    fn matches_the_reference_library_test_vector() {
        let key = secret("whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD").key();
        assert_eq!(
            sign(
                &key,
                "msg_27UH4WbU6Z5A5EzD8u03UvzRbpk",
                1_649_367_553,
                r#"{"email":"test@example.com","username":"test_user"}"#
            ),
            "v1,tZ1I4/hDygAJgO5TYxiSd6Sd0kDW6hPenDe+bTa3Kkw="
        );
    }

    #[test]
    fn one_signature_per_secret_in_order() {
        let a = secret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
        let b = secret("whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD");
        let (id, ts, body) = ("msg_1", 1_700_000_000, "{}");
        let header = signature_header(&[a.clone(), b.clone()], id, ts, body);
        let parts: Vec<&str> = header.split(' ').collect();
        assert_eq!(
            parts,
            [sign(&a.key(), id, ts, body), sign(&b.key(), id, ts, body)]
        );
        assert_eq!(signature_header(&[], id, ts, body), "");
    }

    #[test]
    fn the_signature_covers_id_timestamp_and_body() {
        let key = secret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").key();
        let base = sign(&key, "msg_1", 1, "{}");
        assert_ne!(sign(&key, "msg_2", 1, "{}"), base);
        assert_ne!(sign(&key, "msg_1", 2, "{}"), base);
        assert_ne!(sign(&key, "msg_1", 1, "{ }"), base);
    }
}
