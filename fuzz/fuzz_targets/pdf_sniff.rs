//! `legal::is_pdf`: a legal template's file is a PDF exactly when it starts with `%PDF-`,
//! whatever follows; a PDF is never accepted as a banner image; the template scope parser
//! accepts exactly its two names (trimmed).
#![no_main]

use libfuzzer_sys::fuzz_target;
use partneros_domain::banners::model::{ImageRejection, inspect_image};
use partneros_domain::legal::model::{TemplateScope, is_pdf};

fuzz_target!(|data: &[u8]| {
    let pdf = is_pdf(data);
    assert_eq!(pdf, data.starts_with(b"%PDF-"));
    if pdf {
        assert_eq!(inspect_image(data), Err(ImageRejection::Unsupported));
        assert!(is_pdf(&data[..5]), "the five header bytes decide");
    } else {
        // The header must come first: anything before it makes the file no PDF.
        let mut longer = data.to_vec();
        longer.extend_from_slice(b"%PDF-1.7\n");
        assert_eq!(is_pdf(&longer), data.is_empty());
    }
    if let Ok(s) = std::str::from_utf8(data) {
        match TemplateScope::parse(s) {
            Ok(scope) => {
                assert_eq!(scope.as_str(), s.trim());
                assert_eq!(TemplateScope::parse(scope.as_str()), Ok(scope));
            }
            Err(_) => assert!(!matches!(s.trim(), "reusable" | "one_off")),
        }
    }
});
