//! `ImageBody<LIMIT>`: a raw image upload (KTP photo, face), recognised as JPEG
//! or PNG by its bytes, not by what the client claims (415 otherwise), and at
//! most `LIMIT` bytes (413).

use actix_web::{dev::Payload, FromRequest, HttpMessage, HttpRequest};
use futures_util::future::LocalBoxFuture;

use super::json::read_body;
use crate::error::{ApiError, ErrorCode};

/// An image format recognised by its signature.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImageKind {
    Jpeg,
    Png,
}

impl ImageKind {
    /// The MIME type.
    pub const fn mime(self) -> &'static str {
        match self {
            ImageKind::Jpeg => "image/jpeg",
            ImageKind::Png => "image/png",
        }
    }
}

/// Recognises JPEG and PNG by their signatures.
pub fn sniff_image(bytes: &[u8]) -> Option<ImageKind> {
    const PNG: &[u8] = &[0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A];
    if bytes.len() > 3 && bytes[..3] == [0xFF, 0xD8, 0xFF] {
        Some(ImageKind::Jpeg)
    } else if bytes.starts_with(PNG) {
        Some(ImageKind::Png)
    } else {
        None
    }
}

/// The OpenAPI schema of a raw image body (binary, sent as image/jpeg or image/png).
#[derive(utoipa::ToSchema)]
#[schema(value_type = String, format = Binary)]
pub struct ImageUpload(#[allow(dead_code)] Vec<u8>);

/// A JPEG or PNG body of at most `LIMIT` bytes.
#[derive(Debug)]
pub struct ImageBody<const LIMIT: usize> {
    pub kind: ImageKind,
    pub bytes: Vec<u8>,
}

/// 1 MiB: the e-KTP photo limit of DOMAIN.md §2, also used for face images.
pub const ONE_MIB: usize = 1024 * 1024;

impl<const LIMIT: usize> ImageBody<LIMIT> {
    /// An image body already read (a partner's, after its signature was
    /// checked over these bytes): the same answers as the extractor.
    pub fn from_bytes(req: &HttpRequest, bytes: Vec<u8>) -> Result<Self, ApiError> {
        if !acceptable_type(req) {
            return Err(unsupported());
        }
        if bytes.len() > LIMIT {
            return Err(ApiError::new(ErrorCode::PayloadTooLarge)
                .detail(format!("The body may not exceed {LIMIT} bytes.")));
        }
        Self::sniffed(bytes)
    }

    fn sniffed(bytes: Vec<u8>) -> Result<Self, ApiError> {
        if bytes.is_empty() {
            return Err(ApiError::new(ErrorCode::InvalidRequest).detail("The image is empty."));
        }
        let kind = sniff_image(&bytes).ok_or_else(unsupported)?;
        Ok(ImageBody { kind, bytes })
    }
}

fn unsupported() -> ApiError {
    ApiError::new(ErrorCode::UnsupportedMediaType)
        .detail("Send a JPEG or PNG image (image/jpeg or image/png).")
}

/// What the client says it sends: image/jpeg, image/png, or octet-stream (the
/// bytes decide then).
fn acceptable_type(req: &HttpRequest) -> bool {
    let declared = req.mime_type().ok().flatten();
    declared.as_ref().is_some_and(|m| {
        (m.type_() == mime::IMAGE && (m.subtype() == mime::JPEG || m.subtype() == mime::PNG))
            || (m.type_() == mime::APPLICATION && m.subtype() == mime::OCTET_STREAM)
    })
}

impl<const LIMIT: usize> FromRequest for ImageBody<LIMIT> {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let req = req.clone();
        let mut payload = payload.take();
        Box::pin(async move {
            if !acceptable_type(&req) {
                return Err(unsupported());
            }
            let bytes = read_body(&req, &mut payload, LIMIT).await?;
            Self::sniffed(bytes)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn images_are_recognised_by_content() {
        assert_eq!(
            sniff_image(&[0xFF, 0xD8, 0xFF, 0xE0, 0, 0]),
            Some(ImageKind::Jpeg)
        );
        assert_eq!(sniff_image(b"\x89PNG\r\n\x1a\n...."), Some(ImageKind::Png));
        assert_eq!(sniff_image(b"GIF89a......"), None);
        assert_eq!(sniff_image(b"<svg></svg>"), None);
        assert_eq!(sniff_image(&[]), None);
    }
}
