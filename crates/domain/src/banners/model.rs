//! Banner images: what is accepted is decided by the bytes, never by the declared type or name.

/// Largest accepted banner: 5 MiB.
pub const MAX_BANNER_BYTES: u64 = 5 * 1024 * 1024;
/// Largest accepted width or height.
pub const MAX_DIMENSION: usize = 10_000;
/// How many leading bytes the checks need (a JPEG's size can sit behind large metadata).
pub const SNIFF_BYTES: usize = 256 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImageKind {
    Jpeg,
    Png,
    Webp,
    Gif,
}

impl ImageKind {
    pub fn extension(self) -> &'static str {
        match self {
            Self::Jpeg => "jpg",
            Self::Png => "png",
            Self::Webp => "webp",
            Self::Gif => "gif",
        }
    }
    pub fn content_type(self) -> &'static str {
        match self {
            Self::Jpeg => "image/jpeg",
            Self::Png => "image/png",
            Self::Webp => "image/webp",
            Self::Gif => "image/gif",
        }
    }
    /// The kind a stored file's extension names (for serving local files).
    pub fn from_extension(ext: &str) -> Option<Self> {
        match ext {
            "jpg" => Some(Self::Jpeg),
            "png" => Some(Self::Png),
            "webp" => Some(Self::Webp),
            "gif" => Some(Self::Gif),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ImageRejection {
    #[error("the file is not a JPEG, PNG, WebP or GIF image")]
    Unsupported,
    #[error("the image header could not be decoded")]
    Undecodable,
    #[error("the image is {width}×{height} px; at most 10000 px per side")]
    TooLarge { width: usize, height: usize },
}

/// Classifies an image by its leading bytes and decodes its header: JPEG, PNG, WebP or GIF with a
/// decodable header and both sides within [`MAX_DIMENSION`]. SVG, HTML, PDF and the rest are
/// `Unsupported`.
pub fn inspect_image(head: &[u8]) -> Result<(ImageKind, usize, usize), ImageRejection> {
    let kind = match imagesize::image_type(head) {
        Ok(imagesize::ImageType::Jpeg) => ImageKind::Jpeg,
        Ok(imagesize::ImageType::Png) => ImageKind::Png,
        Ok(imagesize::ImageType::Webp) => ImageKind::Webp,
        Ok(imagesize::ImageType::Gif) => ImageKind::Gif,
        _ => return Err(ImageRejection::Unsupported),
    };
    let size = imagesize::blob_size(head).map_err(|_| ImageRejection::Undecodable)?;
    if size.width == 0 || size.height == 0 {
        return Err(ImageRejection::Undecodable);
    }
    if size.width > MAX_DIMENSION || size.height > MAX_DIMENSION {
        return Err(ImageRejection::TooLarge {
            width: size.width,
            height: size.height,
        });
    }
    Ok((kind, size.width, size.height))
}

/// Tiny valid images for tests (of this crate and of the adapters).
pub mod samples {
    /// A 1×1 PNG.
    pub const PNG: &[u8] = &[
        0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0x00, 0x00, 0x00, 0x0D, 0x49, 0x48, 0x44,
        0x52, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1F,
        0x15, 0xC4, 0x89, 0x00, 0x00, 0x00, 0x0D, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9C, 0x63, 0xF8,
        0xCF, 0xC0, 0xF0, 0x1F, 0x00, 0x05, 0x00, 0x01, 0xFF, 0x89, 0x99, 0x3D, 0x1D, 0x00, 0x00,
        0x00, 0x00, 0x49, 0x45, 0x4E, 0x44, 0xAE, 0x42, 0x60, 0x82,
    ];
    /// A 1×1 GIF.
    pub const GIF: &[u8] = b"GIF89a\x01\x00\x01\x00\x80\x00\x00\xff\xff\xff\x00\x00\x00!\xf9\x04\x01\x00\x00\x00\x00,\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;";
    /// A 1×1 lossless WebP.
    pub const WEBP: &[u8] = &[
        0x52, 0x49, 0x46, 0x46, 0x1A, 0x00, 0x00, 0x00, 0x57, 0x45, 0x42, 0x50, 0x56, 0x50, 0x38,
        0x4C, 0x0D, 0x00, 0x00, 0x00, 0x2F, 0x00, 0x00, 0x00, 0x10, 0x07, 0x10, 0x11, 0x11, 0x88,
        0x88, 0xFE, 0x07, 0x00,
    ];
    /// The start of a baseline JPEG (SOI, APP0, SOF0 for 2×3 px), enough for its header.
    pub const JPEG: &[u8] = &[
        0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10, 0x4A, 0x46, 0x49, 0x46, 0x00, 0x01, 0x01, 0x00, 0x00,
        0x01, 0x00, 0x01, 0x00, 0x00, 0xFF, 0xC0, 0x00, 0x11, 0x08, 0x00, 0x03, 0x00, 0x02, 0x03,
        0x01, 0x22, 0x00, 0x02, 0x11, 0x01, 0x03, 0x11, 0x01, 0xFF, 0xD9,
    ];

    /// A PNG header claiming `width`×`height` (for dimension limits).
    pub fn png_of_size(width: u32, height: u32) -> Vec<u8> {
        let mut v = PNG.to_vec();
        v[16..20].copy_from_slice(&width.to_be_bytes());
        v[20..24].copy_from_slice(&height.to_be_bytes());
        v
    }
}

#[cfg(test)]
mod tests {
    use super::samples::*;
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn the_four_formats_are_recognised_by_their_bytes() {
        assert_eq!(inspect_image(PNG).unwrap(), (ImageKind::Png, 1, 1));
        assert_eq!(inspect_image(GIF).unwrap(), (ImageKind::Gif, 1, 1));
        assert_eq!(inspect_image(WEBP).unwrap().0, ImageKind::Webp);
        assert_eq!(inspect_image(JPEG).unwrap(), (ImageKind::Jpeg, 2, 3));
    }

    #[test]
    fn everything_else_is_unsupported() {
        for bytes in [
            &b"<svg xmlns='http://www.w3.org/2000/svg'/>"[..],
            b"<!doctype html><html></html>",
            b"%PDF-1.7",
            b"",
            b"BM\x00\x00",
        ] {
            assert_eq!(
                inspect_image(bytes),
                Err(ImageRejection::Unsupported),
                "{bytes:?}"
            );
        }
    }

    #[test]
    fn a_truncated_header_does_not_decode() {
        assert!(inspect_image(&PNG[..14]).is_err());
        assert!(inspect_image(&JPEG[..8]).is_err());
    }

    #[test]
    fn dimensions_are_capped() {
        assert!(inspect_image(&png_of_size(10_000, 10_000)).is_ok());
        assert_eq!(
            inspect_image(&png_of_size(10_001, 5)),
            Err(ImageRejection::TooLarge {
                width: 10_001,
                height: 5
            })
        );
    }

    #[test]
    fn a_jpeg_html_polyglot_is_a_jpeg_and_will_be_served_as_one() {
        let mut polyglot = JPEG.to_vec();
        polyglot.extend_from_slice(b"<html><script>alert(1)</script></html>");
        assert_eq!(inspect_image(&polyglot).unwrap().0, ImageKind::Jpeg);
    }

    proptest! {
        #[test]
        fn inspection_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
            let _ = inspect_image(&bytes);
        }

        #[test]
        fn mutated_headers_never_panic(i in 0usize..72, b in any::<u8>()) {
            let mut png = PNG.to_vec();
            png[i % PNG.len()] = b;
            let _ = inspect_image(&png);
        }
    }
}
