//! Who is calling. A middleware (`http::authenticate`) resolves the bearer token
//! once per request (signature, expiry, then the session in the database, so a
//! logout, password change or block takes effect at once) before any body is
//! read; handlers take [`Authenticated`] or [`Admin`] as their first argument to
//! require it.

pub mod jwt;

use actix_web::{dev::Payload, FromRequest, HttpMessage, HttpRequest};
use uuid::Uuid;

use crate::{
    db::text_enum,
    error::{ApiError, ErrorCode},
};

text_enum! {
    /// Account role.
    pub enum Role {
        Participant => "participant",
        Admin => "admin",
    }
}

/// A caller with a live session.
#[derive(Debug, Clone, Copy)]
pub struct Principal {
    pub account_id: Uuid,
    pub session_id: Uuid,
    pub role: Role,
}

/// What the middleware concluded about the `Authorization` header.
#[derive(Clone)]
pub(crate) struct AuthOutcome(pub Result<Principal, ErrorCode>);

fn outcome(req: &HttpRequest) -> Result<Principal, ApiError> {
    match req.extensions().get::<AuthOutcome>() {
        Some(AuthOutcome(Ok(p))) => Ok(*p),
        Some(AuthOutcome(Err(code))) => Err(ApiError::new(*code)),
        None => Err(ApiError::new(ErrorCode::Unauthenticated)
            .detail("Send an access token: Authorization: Bearer <token>.")),
    }
}

/// Any logged-in account (participant or admin).
#[derive(Debug, Clone, Copy)]
pub struct Authenticated(pub Principal);

impl FromRequest for Authenticated {
    type Error = ApiError;
    type Future = std::future::Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        std::future::ready(outcome(req).map(Authenticated))
    }
}

/// A logged-in admin; participants get 403 `forbidden`.
#[derive(Debug, Clone, Copy)]
pub struct Admin(pub Principal);

impl FromRequest for Admin {
    type Error = ApiError;
    type Future = std::future::Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        std::future::ready(outcome(req).and_then(|p| {
            if p.role == Role::Admin {
                Ok(Admin(p))
            } else {
                Err(ApiError::new(ErrorCode::Forbidden)
                    .detail("This route is for the programme office."))
            }
        }))
    }
}
