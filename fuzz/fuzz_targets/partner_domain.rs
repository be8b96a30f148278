//! `PartnerDomain::parse`: the normalized form is the canonical key of a partner's domain
//! (unique per organization, the analysis cache key), so it must be a plain lowercase ASCII
//! host name that normalizes to itself, and the decorations the parser strips (scheme, `www.`,
//! port, path, credentials, trailing dot, case) must not change it.
#![no_main]

use libfuzzer_sys::fuzz_target;
use partneros_domain::partners::web_domain::PartnerDomain;

fuzz_target!(|data: &[u8]| {
    let Ok(raw) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(domain) = PartnerDomain::parse(raw) else {
        return;
    };
    let s = domain.as_str();

    assert!(s.len() <= 253, "{raw:?} gave {s:?}: longer than 253");
    assert!(
        s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.'),
        "{raw:?} gave {s:?}: not lowercase ASCII host characters (no scheme, port or path)"
    );
    let labels: Vec<&str> = s.split('.').collect();
    assert!(labels.len() >= 2, "{raw:?} gave {s:?}: no top-level domain");
    for label in &labels {
        assert!(
            (1..=63).contains(&label.len()) && !label.starts_with('-') && !label.ends_with('-'),
            "{raw:?} gave {s:?}: bad label {label:?}"
        );
    }
    assert!(
        !labels[labels.len() - 1].bytes().all(|b| b.is_ascii_digit()),
        "{raw:?} gave {s:?}: an IP address"
    );
    // `www.com` is a domain of its own; `www.acme.com` is acme.com.
    assert!(
        !(s.starts_with("www.") && labels.len() > 2),
        "{raw:?} gave {s:?}: a leading www."
    );

    let again = PartnerDomain::parse(s)
        .unwrap_or_else(|e| panic!("{raw:?} gave {s:?}, which is refused: {e}"));
    assert_eq!(again, domain, "{raw:?}: normalizing is not idempotent");

    for decorated in [
        format!("https://{s}/"),
        format!("HTTP://www.{s}:8080/path?q=1#top"),
        format!("  //user:pw@{s}.  "),
        s.to_ascii_uppercase(),
    ] {
        assert_eq!(
            PartnerDomain::parse(&decorated).as_ref(),
            Ok(&domain),
            "{raw:?} gave {s:?} but {decorated:?} does not"
        );
    }
});
