//! `banner::inspect_image`: banner uploads are judged by their leading bytes only.
//!
//! An accepted image has the magic bytes of the kind it is reported as, both sides within
//! 1..=10000 px, and is never a PDF or markup (SVG/HTML); the verdict on an accepted head does
//! not change when more bytes follow (the upload sniffs only the first `SNIFF_BYTES`).
#![no_main]

use libfuzzer_sys::fuzz_target;
use partneros_domain::banners::model::{
    ImageKind, ImageRejection, MAX_DIMENSION, SNIFF_BYTES, inspect_image,
};
use partneros_domain::legal::model::is_pdf;

fn magic_matches(kind: ImageKind, data: &[u8]) -> bool {
    match kind {
        ImageKind::Jpeg => data.starts_with(b"\xFF\xD8\xFF"),
        ImageKind::Png => data.starts_with(b"\x89PNG"),
        ImageKind::Gif => data.starts_with(b"GIF8"),
        ImageKind::Webp => data.len() >= 12 && &data[..4] == b"RIFF" && &data[8..12] == b"WEBP",
    }
}

fuzz_target!(|data: &[u8]| {
    let verdict = inspect_image(data);
    let head = &data[..data.len().min(SNIFF_BYTES)];
    if head.len() < data.len() {
        assert_eq!(inspect_image(head), verdict, "the head alone decides");
    }
    let markup = data.trim_ascii_start().first() == Some(&b'<');
    if is_pdf(data) || markup {
        assert_eq!(
            verdict,
            Err(ImageRejection::Unsupported),
            "PDF or markup taken for an image"
        );
    }
    match verdict {
        Ok((kind, width, height)) => {
            assert!(
                magic_matches(kind, data),
                "{kind:?} without its magic bytes"
            );
            assert!((1..=MAX_DIMENSION).contains(&width), "width {width}");
            assert!((1..=MAX_DIMENSION).contains(&height), "height {height}");
            assert_eq!(ImageKind::from_extension(kind.extension()), Some(kind));
            assert!(kind.content_type().starts_with("image/"));
            let mut longer = data.to_vec();
            longer.extend_from_slice(b"<svg onload=alert(1)>\0\xFF\xD9");
            assert_eq!(
                inspect_image(&longer),
                verdict,
                "trailing bytes changed the verdict"
            );
        }
        Err(ImageRejection::TooLarge { width, height }) => {
            assert!(width > MAX_DIMENSION || height > MAX_DIMENSION);
            assert!(!markup && !is_pdf(data));
        }
        Err(ImageRejection::Undecodable) => {
            assert!(
                [
                    ImageKind::Jpeg,
                    ImageKind::Png,
                    ImageKind::Gif,
                    ImageKind::Webp
                ]
                .into_iter()
                .any(|k| magic_matches(k, data)),
                "undecodable but no known magic: should be unsupported"
            );
        }
        Err(ImageRejection::Unsupported) => {}
    }
});
