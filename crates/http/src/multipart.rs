//! Reading `multipart/form-data` with limits enforced while streaming.

use crate::error::ApiError;
use actix_multipart::Multipart;
use actix_web::HttpRequest;
use actix_web::dev::Payload;
use futures::StreamExt;
use partneros_domain::shared::error::ErrorKind;
use partneros_domain::shared::error::FieldError;
use std::collections::HashMap;

fn too_large(what: &str, limit: usize) -> ApiError {
    ApiError::new(
        ErrorKind::PayloadTooLarge,
        format!("{what} is larger than {limit} bytes"),
    )
}

fn require_multipart(req: &HttpRequest) -> Result<(), ApiError> {
    let is_multipart = req
        .headers()
        .get(actix_web::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.to_ascii_lowercase().starts_with("multipart/form-data"));
    if is_multipart {
        Ok(())
    } else {
        Err(ApiError::new(
            ErrorKind::UnsupportedMediaType,
            "the body must be multipart/form-data",
        ))
    }
}

fn malformed(e: actix_multipart::MultipartError) -> ApiError {
    ApiError::field("body", &format!("the multipart body is malformed: {e}"))
}

fn unknown_part(name: String) -> ApiError {
    let field = if name.is_empty() {
        "body".to_owned()
    } else {
        name
    };
    ApiError::validation(vec![FieldError::new(field, "is not an accepted part")])
}

/// A whole part in memory, refused (413) as soon as it passes `limit` bytes.
async fn read_part(
    field: &mut actix_multipart::Field,
    name: &str,
    limit: usize,
) -> Result<Vec<u8>, ApiError> {
    let mut buf = Vec::new();
    while let Some(chunk) = field.next().await {
        let chunk = chunk.map_err(malformed)?;
        if buf.len() + chunk.len() > limit {
            return Err(too_large(&format!("the part `{name}`"), limit));
        }
        buf.extend_from_slice(&chunk);
    }
    Ok(buf)
}

async fn read_text(
    field: &mut actix_multipart::Field,
    name: &str,
    limit: usize,
) -> Result<String, ApiError> {
    let buf = read_part(field, name, limit).await?;
    String::from_utf8(buf).map_err(|_| ApiError::field(name, "must be UTF-8 text"))
}

/// A file part spooled to disk: its first bytes kept in memory for content checks.
pub struct SpooledFile {
    pub file: tempfile::NamedTempFile,
    pub head: Vec<u8>,
    pub len: u64,
}

/// Reads a form whose file part is streamed to a temporary file, so memory stays bounded by
/// `head_bytes` per upload whatever the file's size; past `file_limit` bytes reading stops with
/// 413 and the partial file is removed.
pub async fn read_spooled_form(
    req: &HttpRequest,
    payload: Payload,
    file_part: &str,
    file_limit: u64,
    head_bytes: usize,
    texts: &[(&str, usize)],
) -> Result<(Option<SpooledFile>, HashMap<String, String>), ApiError> {
    use tokio::io::AsyncWriteExt;
    require_multipart(req)?;
    let io = |e: std::io::Error| ApiError::new(ErrorKind::Internal, "").with_cause(e);
    let mut multipart = Multipart::new(req.headers(), payload);
    let mut spooled: Option<SpooledFile> = None;
    let mut values = HashMap::new();
    let mut parts = 0usize;
    while let Some(field) = multipart.next().await {
        let mut field = field.map_err(malformed)?;
        parts += 1;
        if parts > 32 {
            return Err(ApiError::field("body", "too many parts"));
        }
        let name = field.name().unwrap_or_default().to_owned();
        if name == file_part {
            if spooled.is_some() {
                return Err(ApiError::field(&name, "is sent more than once"));
            }
            let tmp = tempfile::NamedTempFile::new().map_err(io)?;
            let mut out = tokio::fs::File::from_std(tmp.reopen().map_err(io)?);
            let mut head = Vec::new();
            let mut len: u64 = 0;
            while let Some(chunk) = field.next().await {
                let chunk = chunk.map_err(malformed)?;
                len += chunk.len() as u64;
                if len > file_limit {
                    return Err(too_large(
                        &format!("the part `{name}`"),
                        file_limit as usize,
                    ));
                }
                if head.len() < head_bytes {
                    let take = (head_bytes - head.len()).min(chunk.len());
                    head.extend_from_slice(&chunk[..take]);
                }
                out.write_all(&chunk).await.map_err(io)?;
            }
            out.flush().await.map_err(io)?;
            spooled = Some(SpooledFile {
                file: tmp,
                head,
                len,
            });
        } else if let Some((_, limit)) = texts.iter().find(|(n, _)| *n == name) {
            if values.contains_key(&name) {
                return Err(ApiError::field(&name, "is sent more than once"));
            }
            let text = read_text(&mut field, &name, *limit).await?;
            values.insert(name, text);
        } else {
            return Err(unknown_part(name));
        }
    }
    Ok((spooled, values))
}
