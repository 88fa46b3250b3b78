//! Who is calling. A middleware resolves the bearer token once per request
//! (signature, expiry, then the session in the database, so a logout, password
//! change or block takes effect at once) before any body is read; handlers take
//! [`Authenticated`] or [`Admin`] as their first argument to require it.

pub mod jwt;
pub mod middleware;

use actix_web::{dev::Payload, FromRequest, HttpMessage, HttpRequest};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::error::{ApiError, ErrorCode};

/// Account role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Participant,
    Admin,
}

impl Role {
    /// The stored value.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Participant => "participant",
            Role::Admin => "admin",
        }
    }

    /// Parses the stored value (anything unknown is the least privileged role).
    pub fn from_db(s: &str) -> Role {
        if s == "admin" {
            Role::Admin
        } else {
            Role::Participant
        }
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
