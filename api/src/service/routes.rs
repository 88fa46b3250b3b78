//! `GET /health` and `GET /ready` (API.md Service).

use actix_web::{get, web, HttpResponse};
use serde::Serialize;
use utoipa::ToSchema;

use crate::{
    contract::Operation,
    db,
    error::{ApiError, ErrorCode},
    state::AppState,
};

/// Error codes of these operations beyond those their shape implies (see `contract`).
pub const OPERATIONS: &[Operation] = &[
    Operation::new("health", &[]).without_database(),
    Operation::new("ready", &[]),
];

/// Health or readiness answer.
#[derive(Serialize, ToSchema)]
pub struct Status {
    #[schema(example = "ok")]
    pub status: &'static str,
}

/// Liveness
///
/// Liveness: the process is up and serving.
///
/// No dependency is checked; use `/ready` for routing decisions.
#[utoipa::path(tag = "service", responses((status = 200, body = Status)))]
#[get("/health")]
pub async fn health() -> HttpResponse {
    HttpResponse::Ok().json(Status { status: "ok" })
}

/// Readiness
///
/// Readiness: the database answers and every migration of this build is applied.
/// Load balancers should route traffic only to instances answering 200.
#[utoipa::path(
    tag = "service",
    responses(
        (status = 200, body = Status, example = json!({"status": "ready"})),
    )
)]
#[get("/ready")]
pub async fn ready(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let mut conn = state.db.get().await?;
    let current = db::migrations_current(&mut conn)
        .await
        .map_err(|e| ApiError::unavailable(ErrorCode::ServiceUnavailable, e))?;
    if !current {
        return Err(
            ApiError::new(ErrorCode::ServiceUnavailable).detail("Database migrations are pending.")
        );
    }
    Ok(HttpResponse::Ok().json(Status { status: "ready" }))
}
