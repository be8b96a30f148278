//! `GET /embed.js`: the script that puts an application form on the customer's own site (an
//! iframe of the hosted page `GET /apply/{slug}?embed=1`, sized to its content). The file is
//! compiled into the binary; see `assets/embed.js` for its attributes. Not part of the OpenAPI
//! document (JavaScript, not the JSON API); the `public` tag's description mentions it.

use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse};

const SCRIPT: &str = include_str!("../../assets/embed.js");

/// Browsers may use their copy for an hour without asking, then revalidate with the ETag: a
/// change of the script reaches every customer's page within the hour.
const CACHE_CONTROL: &str = "public, max-age=3600";

/// The script's ETag: a hash of its bytes, so it changes exactly when the script does and is the
/// same on every instance.
const ETAG: &str = {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    const BYTES: [u8; 18] = {
        let hash = fnv1a(SCRIPT.as_bytes());
        let mut out = [b'"'; 18];
        let mut i = 0;
        while i < 16 {
            out[1 + i] = HEX[((hash >> (60 - 4 * i)) & 0xf) as usize];
            i += 1;
        }
        out
    };
    match std::str::from_utf8(&BYTES) {
        Ok(etag) => etag,
        Err(_) => panic!("the ETag is ASCII"),
    }
};

/// 64-bit FNV-1a: enough to tell versions of one file apart.
const fn fnv1a(bytes: &[u8]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    let mut i = 0;
    while i < bytes.len() {
        hash ^= bytes[i] as u64;
        hash = hash.wrapping_mul(0x0100_0000_01b3);
        i += 1;
    }
    hash
}

#[actix_web::get("/embed.js")]
pub async fn embed_script(req: HttpRequest) -> HttpResponse {
    let fresh = req
        .headers()
        .get_all(header::IF_NONE_MATCH)
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|tag| tag.trim().trim_start_matches("W/"))
        .any(|tag| tag == ETAG || tag == "*");
    let mut res = if fresh {
        HttpResponse::NotModified()
    } else {
        HttpResponse::Ok()
    };
    res.insert_header((
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/javascript; charset=utf-8"),
    ))
    .insert_header((
        header::CACHE_CONTROL,
        HeaderValue::from_static(CACHE_CONTROL),
    ))
    .insert_header((header::ETAG, HeaderValue::from_static(ETAG)))
    .insert_header((
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    ))
    // Readable by any page, so a customer may load it with `crossorigin` and an `integrity`
    // hash, and from pages that require CORP of what they embed.
    .insert_header((
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    ))
    .insert_header((
        header::CROSS_ORIGIN_RESOURCE_POLICY,
        HeaderValue::from_static("cross-origin"),
    ));
    if fresh {
        res.finish()
    } else {
        res.body(SCRIPT)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::App;
    use actix_web::test as web_test;

    #[actix_web::test]
    async fn serves_the_script_cacheably_and_answers_304_to_its_etag() {
        let app = web_test::init_service(App::new().service(embed_script)).await;
        let res = web_test::call_service(
            &app,
            web_test::TestRequest::get().uri("/embed.js").to_request(),
        )
        .await;
        assert_eq!(res.status(), 200);
        let h = res.headers().clone();
        assert_eq!(
            h.get(header::CONTENT_TYPE).unwrap(),
            "application/javascript; charset=utf-8"
        );
        assert_eq!(h.get(header::CACHE_CONTROL).unwrap(), CACHE_CONTROL);
        let etag = h.get(header::ETAG).unwrap().to_str().unwrap().to_owned();
        assert_eq!(etag.len(), 18);
        assert!(etag.starts_with('"') && etag.ends_with('"'));
        let body = web_test::read_body(res).await;
        assert_eq!(body, SCRIPT.as_bytes());

        for sent in [etag.clone(), format!("W/{etag}"), format!("\"x\", {etag}")] {
            let res = web_test::call_service(
                &app,
                web_test::TestRequest::get()
                    .uri("/embed.js")
                    .insert_header((header::IF_NONE_MATCH, sent.as_str()))
                    .to_request(),
            )
            .await;
            assert_eq!(res.status(), 304, "If-None-Match: {sent}");
            assert!(web_test::read_body(res).await.is_empty());
        }
        let res = web_test::call_service(
            &app,
            web_test::TestRequest::get()
                .uri("/embed.js")
                .insert_header((header::IF_NONE_MATCH, "\"stale\""))
                .to_request(),
        )
        .await;
        assert_eq!(res.status(), 200);
    }

    #[test]
    fn the_etag_follows_the_bytes() {
        assert_ne!(fnv1a(b"a"), fnv1a(b"b"));
        assert_eq!(fnv1a(b""), 0xcbf2_9ce4_8422_2325);
    }
}
