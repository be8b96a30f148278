//! `PartnerCursor::decode` / `SubmissionCursor::decode`: opaque list cursors from clients.
//!
//! Three inputs per run: the bytes as a cursor string (what a client may send), the bytes
//! base64url-encoded (so the fuzzer controls the `micros:uuid` text inside directly), and a
//! cursor built from the first 24 bytes (so every cursor the API can hand out is covered).
#![no_main]

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::DateTime;
use libfuzzer_sys::fuzz_target;
use partneros_domain::applications::model::SubmissionCursor;
use partneros_domain::partners::model::PartnerCursor;
use partneros_domain::shared::ids::PartnerId;

/// Every cursor the API hands out is accepted back and means the same position.
fn issued(c: PartnerCursor) {
    let encoded = c.encode();
    assert!(
        encoded.len() <= 128,
        "{c:?} encodes to {encoded:?}, too long to decode"
    );
    assert_eq!(PartnerCursor::decode(&encoded), Ok(c), "{encoded:?}");
    let s = SubmissionCursor {
        created_at: c.created_at,
        id: c.id.as_uuid(),
    };
    assert_eq!(s.encode(), encoded, "the two cursors share one format");
    assert_eq!(SubmissionCursor::decode(&encoded), Ok(s), "{encoded:?}");
}

/// A cursor a client sent: if accepted, re-encoding it gives a canonical cursor for the same
/// position; the submission cursor accepts exactly the same strings.
fn received(raw: &str) {
    match PartnerCursor::decode(raw) {
        Ok(c) => {
            issued(c);
            let canonical = c.encode();
            // A canonical cursor is its own encoding (non-canonical spellings such as `+5:` or
            // an upper-case UUID are accepted, and re-encode to the canonical one).
            assert_eq!(
                PartnerCursor::decode(&canonical).map(|c| c.encode()),
                Ok(canonical.clone())
            );
            let s =
                SubmissionCursor::decode(raw).expect("submission cursor refuses a partner cursor");
            assert_eq!((s.created_at, s.id), (c.created_at, c.id.as_uuid()));
            assert_eq!(s.encode(), canonical);
        }
        Err(e) => {
            assert!(SubmissionCursor::decode(raw).is_err(), "{raw:?}: {e}");
        }
    }
}

fuzz_target!(|data: &[u8]| {
    if let Ok(raw) = std::str::from_utf8(data) {
        received(raw);
    }
    received(&URL_SAFE_NO_PAD.encode(data));
    if let Some(head) = data.get(..24) {
        let micros = i64::from_le_bytes(head[..8].try_into().unwrap());
        let id = uuid::Uuid::from_bytes(head[8..24].try_into().unwrap());
        if let Some(created_at) = DateTime::from_timestamp_micros(micros) {
            issued(PartnerCursor {
                created_at,
                id: PartnerId::from_uuid(id),
            });
        }
    }
});
