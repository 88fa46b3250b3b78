//! `JsonBody<T>`: the one way handlers read a JSON body.
//!
//! It checks the content type (415), the size (413), parses with field paths so
//! a type error names the field (400 `invalid_request`), rejects unknown fields
//! (each body type has `deny_unknown_fields`), then runs `validator` rules
//! (422 `validation_failed`). Every failure is a problem+json `ApiError`.

use std::borrow::Cow;

use actix_web::{dev::Payload, http::header, FromRequest, HttpMessage, HttpRequest};
use futures_util::{future::LocalBoxFuture, StreamExt};
use serde::de::DeserializeOwned;
use validator::{Validate, ValidationErrors, ValidationErrorsKind};

use crate::error::{ApiError, ErrorCode, FieldError};

/// Largest JSON body accepted (bytes). Images use their own limit.
pub const JSON_LIMIT: usize = 64 * 1024;

/// A parsed and validated JSON body.
#[derive(Debug)]
pub struct JsonBody<T>(pub T);

impl<T> JsonBody<T> {
    /// The parsed body.
    pub fn into_inner(self) -> T {
        self.0
    }
}

/// Reads the whole body, refusing more than `limit` bytes (413).
pub async fn read_body(
    req: &HttpRequest,
    payload: &mut Payload,
    limit: usize,
) -> Result<Vec<u8>, ApiError> {
    let too_large = || {
        ApiError::new(ErrorCode::PayloadTooLarge)
            .detail(format!("The body may not exceed {limit} bytes."))
    };
    if let Some(len) = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok())
    {
        if len > limit {
            return Err(too_large());
        }
    }
    let mut body = Vec::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|_| {
            ApiError::new(ErrorCode::InvalidRequest).detail("The body could not be read.")
        })?;
        if body.len() + chunk.len() > limit {
            return Err(too_large());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// Whether the request says its body is JSON (`application/json` or `+json`).
pub fn is_json(req: &HttpRequest) -> bool {
    match req.mime_type() {
        Ok(Some(mime)) => {
            mime.type_() == mime::APPLICATION
                && (mime.subtype() == mime::JSON || mime.suffix() == Some(mime::JSON))
        }
        _ => false,
    }
}

/// Parses JSON bytes into `T`, naming the offending field on failure: a missing
/// required field is 422 `validation_failed` ("is required"); a wrong type, a
/// malformed value, an unknown field or a string with U+0000 (which PostgreSQL
/// cannot store) is 400 `invalid_request`; both carry `errors[{field, message}]`
/// with the dotted JSON path. A number with no fraction (`3.0`) counts as the
/// integer it equals, as in JSON Schema.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::new(ErrorCode::InvalidRequest).detail("A JSON body is required."));
    }
    let mut value: serde_json::Value = serde_json::from_slice(bytes).map_err(|err| {
        let message = humanise(&strip_position(&err.to_string()));
        ApiError::new(ErrorCode::InvalidRequest)
            .detail(format!("The body is not valid JSON: {message}."))
    })?;
    if let Some(field) = nul_path(&value, String::new()) {
        return Err(
            ApiError::new(ErrorCode::InvalidRequest).with_errors(vec![FieldError {
                field,
                message: "must not contain the character U+0000".into(),
            }]),
        );
    }
    integral_floats_as_integers(&mut value);
    serde_path_to_error::deserialize(value).map_err(|err| {
        let path = err.path().to_string();
        let inner = err.into_inner();
        let message = humanise(&strip_position(&inner.to_string()));
        let parent = if path == "." { String::new() } else { path };
        if let Some(missing) = missing_field(&message) {
            let field = if parent.is_empty() {
                missing.to_owned()
            } else {
                format!("{parent}.{missing}")
            };
            return ApiError::new(ErrorCode::ValidationFailed).with_errors(vec![FieldError {
                field,
                message: "is required".into(),
            }]);
        }
        if parent.is_empty() {
            return ApiError::new(ErrorCode::InvalidRequest).detail(format!(
                "The body must be a JSON object of this request's fields: {message}."
            ));
        }
        ApiError::new(ErrorCode::InvalidRequest).with_errors(vec![FieldError {
            field: parent,
            message,
        }])
    })
}

/// The path of the first string (or key) holding U+0000, dotted like serde's paths.
fn nul_path(value: &serde_json::Value, at: String) -> Option<String> {
    use serde_json::Value;
    let here = || {
        if at.is_empty() {
            ".".to_owned()
        } else {
            at.clone()
        }
    };
    match value {
        Value::String(s) if s.contains('\0') => Some(here()),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .find_map(|(i, v)| nul_path(v, format!("{at}[{i}]"))),
        Value::Object(map) => map.iter().find_map(|(k, v)| {
            let path = if at.is_empty() {
                k.clone()
            } else {
                format!("{at}.{k}")
            };
            if k.contains('\0') {
                Some(path)
            } else {
                nul_path(v, path)
            }
        }),
        _ => None,
    }
}

/// `3.0` → `3`: JSON Schema's `integer` admits numbers without a fraction, so
/// a client following the document may send them.
fn integral_floats_as_integers(value: &mut serde_json::Value) {
    use serde_json::Value;
    match value {
        Value::Number(n) if n.is_f64() => {
            if let Some(f) = n.as_f64() {
                if f.fract() == 0.0 && f.abs() < 9.0e15 {
                    *value = Value::from(f as i64);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(integral_floats_as_integers),
        Value::Object(map) => map.values_mut().for_each(integral_floats_as_integers),
        _ => {}
    }
}

/// The field named by serde's "missing field `x`".
fn missing_field(message: &str) -> Option<&str> {
    message.strip_prefix("missing field `")?.split('`').next()
}

/// Says "an integer" where serde names a Rust type, and explains chrono's terse
/// date and time errors.
fn humanise(message: &str) -> String {
    let mut m = message.to_owned();
    for ty in ["i16", "i32", "i64", "u16", "u32", "u64", "usize"] {
        m = m.replace(&format!("expected {ty}"), "expected an integer");
    }
    m = m.replace("expected f64", "expected a number");
    if [
        "premature end of input",
        "input contains invalid characters",
        "trailing input",
        "input is out of range",
        "input is not enough for unique date and time",
    ]
    .iter()
    .any(|chrono| m.starts_with(chrono))
    {
        m = format!("{m}: use YYYY-MM-DD for dates and RFC 3339 with an offset for times (2026-07-19T09:00:00+07:00)");
    }
    m
}

/// serde_json appends "at line 1 column 5"; the field path already says where.
fn strip_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(i) => message[..i].to_owned(),
        None => message.to_owned(),
    }
}

/// Flattens `validator` errors into `{field, message}` with dotted paths.
pub fn validation_errors(errors: &ValidationErrors) -> Vec<FieldError> {
    fn walk(prefix: &str, errors: &ValidationErrors, out: &mut Vec<FieldError>) {
        for (field, kind) in errors.errors() {
            let path = if prefix.is_empty() {
                field.to_string()
            } else {
                format!("{prefix}.{field}")
            };
            match kind {
                ValidationErrorsKind::Field(list) => {
                    for e in list {
                        let message = e
                            .message
                            .clone()
                            .unwrap_or_else(|| Cow::Owned(format!("is invalid ({})", e.code)));
                        out.push(FieldError {
                            field: path.clone(),
                            message: message.into_owned(),
                        });
                    }
                }
                ValidationErrorsKind::Struct(inner) => walk(&path, inner, out),
                ValidationErrorsKind::List(items) => {
                    for (i, inner) in items {
                        walk(&format!("{path}[{i}]"), inner, out);
                    }
                }
            }
        }
    }
    let mut out = Vec::new();
    walk("", errors, &mut out);
    out.sort_by(|a, b| a.field.cmp(&b.field));
    out
}

/// Runs `validator` rules, mapping failures to 422 `validation_failed`.
pub fn validate<T: Validate>(value: &T) -> Result<(), ApiError> {
    value
        .validate()
        .map_err(|e| ApiError::new(ErrorCode::ValidationFailed).with_errors(validation_errors(&e)))
}

impl<T: DeserializeOwned + Validate + 'static> FromRequest for JsonBody<T> {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let req = req.clone();
        let mut payload = payload.take();
        Box::pin(async move {
            if !is_json(&req) {
                return Err(ApiError::new(ErrorCode::UnsupportedMediaType)
                    .detail("Send the body as application/json."));
            }
            let bytes = read_body(&req, &mut payload, JSON_LIMIT).await?;
            let value: T = parse_json(&bytes)?;
            validate(&value)?;
            Ok(JsonBody(value))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize, Validate)]
    #[serde(deny_unknown_fields)]
    struct Body {
        #[validate(length(min = 2, message = "too short"))]
        name: String,
        scheme: Option<Inner>,
    }

    #[derive(Debug, Deserialize, Validate)]
    #[serde(deny_unknown_fields)]
    struct Inner {
        training_idr: i64,
    }

    #[test]
    fn nested_body_parses() {
        let value =
            parse_json::<Body>(br#"{"name":"ab","scheme":{"training_idr":3500000}}"#).unwrap();
        assert_eq!(value.scheme.map(|s| s.training_idr), Some(3_500_000));
    }

    #[test]
    fn type_error_names_the_nested_field() {
        let err =
            parse_json::<Body>(br#"{"name":"ab","scheme":{"training_idr":"x"}}"#).unwrap_err();
        assert_eq!(err.code(), ErrorCode::InvalidRequest);
        let body = serde_json::to_string(&err.problem()).unwrap();
        assert!(body.contains("scheme.training_idr"), "{body}");
    }

    #[test]
    fn unknown_field_is_rejected() {
        let err = parse_json::<Body>(br#"{"name":"ab","role":"admin"}"#).unwrap_err();
        assert_eq!(err.code(), ErrorCode::InvalidRequest);
        assert!(serde_json::to_string(&err.problem())
            .unwrap()
            .contains("unknown field `role`"));
    }

    #[test]
    fn missing_field_is_422_naming_it() {
        let err = parse_json::<Body>(br#"{}"#).unwrap_err();
        assert_eq!(err.code(), ErrorCode::ValidationFailed);
        let body = serde_json::to_value(err.problem()).unwrap();
        assert_eq!(
            body["errors"],
            serde_json::json!([{"field": "name", "message": "is required"}])
        );
        let err = parse_json::<Body>(br#"{"name":"ab","scheme":{}}"#).unwrap_err();
        let body = serde_json::to_value(err.problem()).unwrap();
        assert_eq!(body["errors"][0]["field"], "scheme.training_idr");
    }

    #[test]
    fn type_errors_speak_json_not_rust() {
        let err =
            parse_json::<Body>(br#"{"name":"ab","scheme":{"training_idr":"3"}}"#).unwrap_err();
        let body = serde_json::to_string(&err.problem()).unwrap();
        assert!(body.contains("expected an integer"), "{body}");
        assert!(!body.contains("i64"), "{body}");
    }

    #[test]
    fn nul_in_any_string_is_an_invalid_request_naming_the_field() {
        let err = parse_json::<Body>(br#"{"name":"a\u0000b"}"#).unwrap_err();
        assert_eq!(err.code(), ErrorCode::InvalidRequest);
        let body = serde_json::to_value(err.problem()).unwrap();
        assert_eq!(body["errors"][0]["field"], "name");
        // An escaped backslash before u0000 is text, not NUL.
        assert!(parse_json::<Body>(br#"{"name":"a\\u0000"}"#).is_ok());
    }

    #[test]
    fn integral_numbers_count_as_integers() {
        let value = parse_json::<Body>(br#"{"name":"ab","scheme":{"training_idr":3.0}}"#).unwrap();
        assert_eq!(value.scheme.map(|s| s.training_idr), Some(3));
        let err =
            parse_json::<Body>(br#"{"name":"ab","scheme":{"training_idr":3.5}}"#).unwrap_err();
        assert_eq!(err.code(), ErrorCode::InvalidRequest);
    }

    #[test]
    fn empty_and_broken_bodies_are_invalid_requests() {
        assert_eq!(
            parse_json::<Body>(b"").unwrap_err().code(),
            ErrorCode::InvalidRequest
        );
        assert_eq!(
            parse_json::<Body>(b"{\"name\":").unwrap_err().code(),
            ErrorCode::InvalidRequest
        );
    }

    #[test]
    fn validation_failure_is_422_with_the_field() {
        let value = parse_json::<Body>(br#"{"name":"a"}"#).unwrap();
        let err = validate(&value).unwrap_err();
        assert_eq!(err.code(), ErrorCode::ValidationFailed);
        assert!(serde_json::to_string(&err.problem())
            .unwrap()
            .contains("\"name\""));
    }
}
