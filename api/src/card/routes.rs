//! `GET /v1/me/card` and `GET /v1/me/card/transactions`.

use actix_web::{get, web, HttpResponse};

use super::{
    service,
    views::{CardTransaction, CardView},
};
use crate::{
    auth::Authenticated,
    contract::Operation,
    error::{ApiResult, ErrorCode},
    pagination::{Page, PageParams},
    state::AppState,
};

/// Error codes of these operations beyond those their shape implies (see `contract`).
pub const OPERATIONS: &[Operation] = &[
    Operation::new("get_my_card", &[ErrorCode::CardNotFound]).participant_only(),
    Operation::new("list_my_card_transactions", &[ErrorCode::CardNotFound]).participant_only(),
];

/// My card
///
/// The participant's Kartu Prakerja: number, status, balance and the last date
/// to buy the next training.
///
/// 404 `card_not_found` before selection.
#[utoipa::path(
    operation_id = "get_my_card",
    tag = "card",
    security(("bearer" = [])),
    responses(
        (status = 200, body = CardView),
    )
)]
#[get("/me/card")]
pub async fn my_card(auth: Authenticated, state: web::Data<AppState>) -> ApiResult<HttpResponse> {
    let mut conn = state.db.get().await?;
    Ok(HttpResponse::Ok().json(service::my_card(&mut conn, auth.0.account_id).await?))
}

/// My card's transactions
///
/// The card's history, newest first: credit, purchase, refund, expiry; signed
/// amounts and the balance after each.
///
/// Paged with `limit` and `cursor`; 404 `card_not_found` before selection.
#[utoipa::path(
    operation_id = "list_my_card_transactions",
    tag = "card",
    security(("bearer" = [])),
    params(PageParams),
    responses(
        (status = 200, body = Page<CardTransaction>),
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
