//! Who is calling. A middleware (`http::authenticate`) resolves the bearer token
//! once per request (signature, expiry, then the session in the database, so a
//! logout, password change or block takes effect at once) before any body is
//! read; handlers take [`Authenticated`] or [`Admin`] as their first argument to
//! require it.

pub mod jwt;

use std::collections::HashSet;

use actix_web::{dev::Payload, web, FromRequest, HttpMessage, HttpRequest};
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

/// The routes an admin token may not use (API.md: participant routes answer
/// 403 `forbidden` to an admin), as (method, path pattern). Built at start-up
/// from the contract tables (`Operation::participant_only`), so what the
/// document says and what the server does come from one flag, and a new route
/// marked participant-only is refused to admins without further code.
#[derive(Debug, Default)]
pub struct ParticipantRoutes(pub HashSet<(String, String)>);

/// Any logged-in account (participant or admin), except that an admin is
/// refused on a participant route ([`ParticipantRoutes`]): an admin must not
/// register, join a wave or become a beneficiary.
#[derive(Debug, Clone, Copy)]
pub struct Authenticated(pub Principal);

fn admin_on_participant_route(req: &HttpRequest, principal: &Principal) -> bool {
    principal.role == Role::Admin
        && req
            .app_data::<web::Data<ParticipantRoutes>>()
            .zip(req.match_pattern())
            .is_some_and(|(routes, pattern)| {
                routes
                    .0
                    .contains(&(req.method().as_str().to_owned(), pattern))
            })
}

impl FromRequest for Authenticated {
    type Error = ApiError;
    type Future = std::future::Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        std::future::ready(outcome(req).and_then(|p| {
            if admin_on_participant_route(req, &p) {
                Err(ApiError::new(ErrorCode::Forbidden)
                    .detail("This route is for participants; an admin account cannot use it."))
            } else {
                Ok(Authenticated(p))
            }
        }))
    }
}

/// A logged-in participant; admins get 403 `forbidden` (API.md: participant
/// routes refuse an admin token).
#[derive(Debug, Clone, Copy)]
pub struct Participant(pub Principal);

impl FromRequest for Participant {
    type Error = ApiError;
    type Future = std::future::Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        std::future::ready(outcome(req).and_then(|p| {
            if p.role == Role::Participant {
                Ok(Participant(p))
            } else {
                Err(ApiError::new(ErrorCode::Forbidden)
                    .detail("This route is for participants; an admin token is refused."))
            }
        }))
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

/// A route open to anyone that also takes a bearer token (the report form):
/// `None` without an `Authorization` header, the principal with a valid one,
/// and the usual 401 for a token that is sent but invalid, expired or ended
/// (a client that meant to be logged in learns it is not).
#[derive(Debug, Clone, Copy)]
pub struct MaybeAuthenticated(pub Option<Principal>);

impl FromRequest for MaybeAuthenticated {
    type Error = ApiError;
    type Future = std::future::Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let sent = req.extensions().get::<AuthOutcome>().is_some();
        std::future::ready(if sent {
            outcome(req).map(|p| MaybeAuthenticated(Some(p)))
        } else {
            Ok(MaybeAuthenticated(None))
        })
    }
}
