//! `GET /v1/me/card` and `GET /v1/me/card/transactions`.

use actix_web::{get, web, HttpResponse};

use super::{
    service,
    views::{CardTransaction, CardView},
};
use crate::{
    auth::Authenticated,
    error::{ApiResult, Problem},
    pagination::{Page, PageParams},
    state::AppState,
};

/// The participant's Kartu Prakerja: number, status, balance and the last date
/// to buy the next training.
#[utoipa::path(
    tag = "card",
    security(("bearer" = [])),
    responses(
        (status = 200, body = CardView),
        (status = 404, description = "`card_not_found` (not selected yet)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/me/card")]
pub async fn my_card(auth: Authenticated, state: web::Data<AppState>) -> ApiResult<HttpResponse> {
    let mut conn = state.db.get().await?;
    Ok(HttpResponse::Ok().json(service::my_card(&mut conn, auth.0.account_id).await?))
}

/// The card's history, newest first: credit, purchase, refund, expiry; signed
/// amounts and the balance after each.
#[utoipa::path(
    tag = "card",
    security(("bearer" = [])),
    params(PageParams),
    responses(
        (status = 200, body = Page<CardTransaction>),
        (status = 404, description = "`card_not_found`", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/me/card/transactions")]
pub async fn my_transactions(
    auth: Authenticated,
    state: web::Data<AppState>,
    page: web::Query<PageParams>,
) -> ApiResult<HttpResponse> {
    let page = page.parse()?;
    let mut conn = state.db.get().await?;
    Ok(HttpResponse::Ok().json(service::transactions(&mut conn, auth.0.account_id, page).await?))
}
