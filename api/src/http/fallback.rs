//! Answers for requests no route took: 405 with `Allow` when the path exists
//! under another method, else 404. The known paths come from the generated
//! OpenAPI document, so the fallback can never disagree with the contract.

use std::collections::BTreeSet;

use actix_web::{http::header, web, HttpRequest, HttpResponse, ResponseError};

use crate::error::{ApiError, ErrorCode};

/// Path templates and their methods, from the OpenAPI paths.
pub struct KnownRoutes(Vec<(Vec<Segment>, BTreeSet<String>)>);

enum Segment {
    Literal(String),
    Param,
}

impl KnownRoutes {
    /// Builds the table from an OpenAPI document.
    pub fn from_openapi(api: &serde_json::Value) -> Self {
        let routes = api["paths"]
            .as_object()
            .into_iter()
            .flatten()
            .map(|(path, value)| {
                let segments = path
                    .trim_matches('/')
                    .split('/')
                    .map(|s| {
                        if s.starts_with('{') {
                            Segment::Param
                        } else {
                            Segment::Literal(s.to_owned())
                        }
                    })
                    .collect();
                let methods = ["get", "put", "post", "delete", "patch", "head", "options"]
                    .iter()
                    .filter(|m| value.get(**m).is_some())
                    .map(|m| m.to_uppercase())
                    .collect();
                (segments, methods)
            })
            .collect();
        KnownRoutes(routes)
    }

    /// Drops routes under `prefix` (sandbox routes in production).
    pub fn without_prefix(self, prefix: &str) -> Self {
        let prefix: Vec<&str> = prefix.trim_matches('/').split('/').collect();
        KnownRoutes(
            self.0
                .into_iter()
                .filter(|(segments, _)| {
                    !(segments.len() >= prefix.len()
                        && segments
                            .iter()
                            .zip(&prefix)
                            .all(|(s, p)| matches!(s, Segment::Literal(l) if l == p)))
                })
                .collect(),
        )
    }

    /// Methods allowed on `path`, if any route matches it.
    pub fn allowed(&self, path: &str) -> Option<&BTreeSet<String>> {
        let parts: Vec<&str> = path.trim_matches('/').split('/').collect();
        self.0.iter().find_map(|(segments, methods)| {
            let matches = segments.len() == parts.len()
                && segments.iter().zip(&parts).all(|(seg, part)| match seg {
                    Segment::Literal(l) => l == part,
                    Segment::Param => !part.is_empty(),
                });
            matches.then_some(methods)
        })
    }
}

/// The app's default service.
pub async fn not_matched(req: HttpRequest, routes: web::Data<KnownRoutes>) -> HttpResponse {
    match routes.allowed(req.path()) {
        // The path exists with this method but is not mounted here: treat as absent.
        Some(methods) if methods.contains(req.method().as_str()) => {
            ApiError::new(ErrorCode::NotFound)
                .detail("No such resource.")
                .error_response()
        }
        Some(methods) => {
            let allow = methods.iter().cloned().collect::<Vec<_>>().join(", ");
            let mut res = ApiError::new(ErrorCode::MethodNotAllowed)
                .detail(format!("Use one of: {allow}."))
                .error_response();
            if let Ok(v) = header::HeaderValue::from_str(&allow) {
                res.headers_mut().insert(header::ALLOW, v);
            }
            res
        }
        None => ApiError::new(ErrorCode::NotFound)
            .detail("No such resource.")
            .error_response(),
    }
}

/// Maps a path that does not parse (e.g. an id that is not a UUID) to 404.
pub fn path_error(_: actix_web::error::PathError, _: &HttpRequest) -> actix_web::Error {
    // A malformed id names no resource; the parser's message would only expose internals.
    ApiError::new(ErrorCode::NotFound)
        .detail("No such resource.")
        .into()
}

/// Maps query-string errors to 400 `invalid_request`.
pub fn query_error(err: actix_web::error::QueryPayloadError, _: &HttpRequest) -> actix_web::Error {
    let message = match &err {
        actix_web::error::QueryPayloadError::Deserialize(e) => e.to_string(),
        other => other.to_string(),
    };
    ApiError::new(ErrorCode::InvalidRequest)
        .detail(format!("Invalid query string: {message}."))
        .into()
}
