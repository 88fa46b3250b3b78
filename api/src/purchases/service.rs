//! Buying a training (DOMAIN.md §5): the purchase code a platform asks for,
//! and the purchase it makes with that code.
//!
//! The purchase is one short transaction, with every outside read done before
//! it: the OTP's use (the code first, so a platform without it learns nothing
//! about the card), the rules on a fresh view of the card's purchases, the
//! platform binding, the conditional card debit with its balanced ledger entry,
//! the purchase with its copy of the terms and its redeem code, the
//! `purchase_confirmed` message and the Idempotency-Key's answer. Purchases of
//! one card queue on that card's OTP budget lock; purchases of different cards
//! share no row (the partner's payable account caches no balance).

use chrono::{DateTime, NaiveDate, Utc};
use diesel::{
    prelude::*,
    sql_types::{BigInt, Integer, Nullable, Text, Timestamptz, Uuid as SqlUuid},
};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use serde_json::json;
use uuid::Uuid;

use super::{
    model::{self, BindingConflict, NewPurchase},
    rules::{self, Delivery, NextPurchaseRefusal, Previous, PurchaseStatus},
    views::{PurchaseOtpRequest, PurchaseOtpSent, PurchaseReceipt, PurchaseRequest},
};
use crate::{
    accounts::model::phone_aad,
    audit::Origin,
    card::{
        ledger::{self, Entry, EntryKind, LedgerError, Posting},
        model::CardStatus,
    },
    clock::jakarta_date,
    crypto::PiiCipher,
    db::{
        self,
        schema::{accounts, cards, identities, profiles},
    },
    error::{ApiError, ErrorCode},
    idempotency::Lease,
    notifications::{self, Channel, Message},
    otp::{self, CodeMessage, Guess, Issue, Purpose, Scope, Verdict},
    registration::model::aad,
    secrets::SecretHasher,
};

/// The card a platform names, with what a purchase needs of its holder.
#[derive(Debug, Clone, Queryable)]
pub struct CardHolder {
    pub card_id: Uuid,
    pub account_id: Uuid,
    pub card_number: String,
    pub status: CardStatus,
    /// The first-purchase deadline (selection date + 15).
    pub first_deadline: NaiveDate,
    pub email: String,
    phone_ciphertext: Option<Vec<u8>>,
    phone_verified_at: Option<DateTime<Utc>>,
    /// Set while the PMO blocks the account: it may neither receive purchase
    /// codes nor buy.
    blocked_at: Option<DateTime<Utc>>,
    /// The sealed birth date and the schooling answer, for the purchase-day
    /// rules (read with the card: one round trip instead of three).
    birth_date_ciphertext: Option<Vec<u8>>,
    in_formal_education: Option<bool>,
}

impl CardHolder {
    /// The holder's verified phone number, decrypted.
    fn verified_phone(&self, pii: &PiiCipher) -> Result<Option<String>, ApiError> {
        match (&self.phone_ciphertext, self.phone_verified_at) {
            (Some(blob), Some(_)) => pii
                .decrypt_string(blob, &phone_aad(self.account_id))
                .map(Some)
                .map_err(|e| {
                    ApiError::internal(anyhow::anyhow!("phone of {}: {e}", self.account_id))
                }),
            _ => Ok(None),
        }
    }
}

fn card_not_found() -> ApiError {
    ApiError::new(ErrorCode::CardNotFound).detail("No Kartu Prakerja has this number.")
}

fn card_inactive() -> ApiError {
    ApiError::new(ErrorCode::CardInactive)
        .detail("This Kartu Prakerja is deactivated and cannot pay for training.")
}

/// 403 `not_eligible`, never with the reason: a platform learns no
/// eligibility detail (a blocked account, or the buyer's age or schooling).
fn not_eligible() -> ApiError {
    ApiError::new(ErrorCode::NotEligible).detail("The card holder may not buy training today.")
}

fn course_not_found() -> ApiError {
    ApiError::new(ErrorCode::CourseNotFound).detail("This platform has no course with this id.")
}

/// The card with this number and its holder.
pub async fn card_holder(
    conn: &mut AsyncPgConnection,
    number: &str,
) -> QueryResult<Option<CardHolder>> {
    cards::table
        .inner_join(accounts::table)
        .left_join(identities::table.on(identities::account_id.eq(cards::account_id)))
        .left_join(profiles::table.on(profiles::account_id.eq(cards::account_id)))
        .filter(cards::card_number.eq(number))
        .select((
            cards::id,
            cards::account_id,
            cards::card_number,
            cards::status,
            cards::purchase_deadline,
            accounts::email,
            accounts::phone_ciphertext,
            accounts::phone_verified_at,
            accounts::blocked_at,
            identities::birth_date_ciphertext.nullable(),
            profiles::in_formal_education.nullable(),
        ))
        .first(conn)
        .await
        .optional()
}

/// A course as its platform sells it now.
#[derive(Debug, Clone, QueryableByName)]
pub struct CourseOnSale {
    #[diesel(sql_type = SqlUuid)]
    pub id: Uuid,
    #[diesel(sql_type = SqlUuid)]
    pub partner_id: Uuid,
    #[diesel(sql_type = Text)]
    pub title: String,
    #[diesel(sql_type = Text)]
    pub delivery: Delivery,
    #[diesel(sql_type = BigInt)]
    pub price_idr: i64,
    #[diesel(sql_type = Timestamptz)]
    pub starts_at: DateTime<Utc>,
    #[diesel(sql_type = Integer)]
    pub duration_hours: i32,
    #[diesel(sql_type = Text)]
    pub category: String,
    #[diesel(sql_type = Text)]
    pub level: String,
    #[diesel(sql_type = Text)]
    pub institution: String,
    #[diesel(sql_type = Nullable<Text>)]
    pub location: Option<String>,
}

impl CourseOnSale {
    /// The terms a purchase copies beside its own columns.
    fn terms(&self) -> serde_json::Value {
        json!({
            "category": self.category,
            "level": self.level,
            "institution": self.institution,
            "location": self.location,
        })
    }
}

/// A course of `partner_id` (another platform's course answers none, as if
/// absent).
pub async fn course_on_sale(
    conn: &mut AsyncPgConnection,
    partner_id: Uuid,
    course_id: Uuid,
) -> QueryResult<Option<CourseOnSale>> {
    db::prepared(
        diesel::sql_query(
            "SELECT id, partner_id, title, delivery, price_idr, starts_at, duration_hours, \
                    category, level, institution, location \
             FROM courses WHERE id = $1 AND partner_id = $2",
        )
        .bind::<SqlUuid, _>(course_id)
        .bind::<SqlUuid, _>(partner_id),
    )
    .get_result(conn)
    .await
    .optional()
}

/// What the card and course of a request are.
async fn card_and_course(
    conn: &mut AsyncPgConnection,
    partner_id: Uuid,
    card_number: &str,
    course_id: Uuid,
) -> Result<(CardHolder, CourseOnSale), ApiError> {
    let card = card_holder(conn, card_number)
        .await?
        .ok_or_else(card_not_found)?;
    let course = course_on_sale(conn, partner_id, course_id)
        .await?
        .ok_or_else(course_not_found)?;
    Ok((card, course))
}

fn scope(card: &CardHolder, course: &CourseOnSale) -> Scope {
    Scope::Purchase {
        card_id: card.card_id,
        course_id: course.id,
        partner_id: course.partner_id,
    }
}

/// `POST /v1/partner/purchase-otps`: sends the participant a code naming the
/// course and its price, bound to (card, course, partner) and to that price.
/// Answers nothing about the card beyond whether it exists and is active.
pub async fn request_code(
    conn: &mut AsyncPgConnection,
    secrets: &SecretHasher,
    pii: &PiiCipher,
    now: DateTime<Utc>,
    partner_id: Uuid,
    request: &PurchaseOtpRequest,
) -> Result<PurchaseOtpSent, ApiError> {
    let (card, course) =
        card_and_course(conn, partner_id, &request.card_number, request.course_id).await?;
    if card.status != CardStatus::Active {
        return Err(card_inactive());
    }
    if card.blocked_at.is_some() {
        return Err(not_eligible());
    }
    let phone = card.verified_phone(pii)?;
    let mut deliveries = vec![(Channel::Email, card.email.as_str())];
    if let Some(phone) = phone.as_deref() {
        deliveries.push((Channel::Sms, phone));
    }
    let issued = otp::issue(
        conn,
        secrets,
        pii,
        now,
        Issue {
            account_id: card.account_id,
            scope: scope(&card, &course),
            message: CodeMessage::Purchase {
                course_title: course.title.clone(),
                price_idr: course.price_idr,
            },
            deliveries: &deliveries,
            context: Some(json!({
                "card_id": card.card_id,
                "course_id": course.id,
                "partner_id": course.partner_id,
                "price_idr": course.price_idr,
            })),
        },
    )
    .await?;
    Ok(PurchaseOtpSent {
        challenge_id: issued.challenge_id,
        expires_at: issued.expires_at,
    })
}

/// Whether the card's holder may buy on `today` by age and schooling (the
/// purchase-day rules); no identity on file never may.
fn buyer_eligible(card: &CardHolder, pii: &PiiCipher, today: NaiveDate) -> Result<bool, ApiError> {
    let Some(sealed) = &card.birth_date_ciphertext else {
        return Ok(false);
    };
    let account = card.account_id;
    let birth_date: NaiveDate = pii
        .decrypt_string(sealed, &aad("identities", "birth_date", account))
        .map_err(|e| ApiError::internal(anyhow::anyhow!("birth date of {account}: {e}")))?
        .parse()
        .map_err(|_| ApiError::internal(anyhow::anyhow!("stored birth date of {account}")))?;
    Ok(rules::buyer_eligible(
        birth_date,
        card.in_formal_education,
        today,
    ))
}

/// What [`buy`] needs besides the connection.
pub struct BuyDeps<'a> {
    pub secrets: &'a SecretHasher,
    pub pii: &'a PiiCipher,
    pub origin: &'a Origin,
}

/// What the card's purchases leave for the next one (read inside the
/// purchase's transaction, after the card's OTP lock).
pub async fn previous(conn: &mut AsyncPgConnection, card_id: Uuid) -> QueryResult<Previous> {
    Ok(previous_of(model::latest_standing(conn, card_id).await?))
}

/// What the latest purchase that was not cancelled (its status, review and
/// expiry) leaves for the next one.
pub fn previous_of(latest: Option<model::Standing>) -> Previous {
    match latest {
        None => Previous::None,
        Some((status, reviewed_at, expired_at)) => Previous::of(
            status,
            reviewed_at.map(jakarta_date),
            expired_at.map(jakarta_date),
        )
        .unwrap_or(Previous::None),
    }
}

fn refusal(e: NextPurchaseRefusal) -> ApiError {
    match e {
        NextPurchaseRefusal::PreviousTrainingUnfinished => {
            ApiError::new(ErrorCode::PreviousTrainingUnfinished)
                .detail("The participant's previous training must be completed and reviewed first.")
        }
        NextPurchaseRefusal::DeadlinePassed => ApiError::new(ErrorCode::PurchaseDeadlinePassed)
            .detail("The last day for the participant's next purchase has passed."),
    }
}

fn binding_refusal(e: BindingConflict) -> ApiError {
    match e {
        BindingConflict::UserBoundToOtherCard => {
            ApiError::new(ErrorCode::PlatformUserBoundToOtherCard)
                .detail("This platform user id already pays with another Kartu Prakerja.")
        }
        BindingConflict::CardBoundToOtherUser => {
            ApiError::new(ErrorCode::CardBoundToOtherPlatformUser)
                .detail("This Kartu Prakerja already pays for another user id of this platform.")
        }
    }
}

/// Redeem codes drawn before giving up (a collision is a 1 in 2^60 event).
const REDEEM_CODE_TRIES: usize = 5;

/// `POST /v1/partner/purchases`. See the module docs for the order of
/// things; `lease` is the Idempotency-Key's, completed with the purchase.
pub async fn buy(
    conn: &mut AsyncPgConnection,
    deps: &BuyDeps<'_>,
    now: DateTime<Utc>,
    partner_id: Uuid,
    request: &PurchaseRequest,
    lease: Option<&Lease>,
) -> Result<PurchaseReceipt, ApiError> {
    let today = jakarta_date(now);
    // Reads that take no lock and do not change while the purchase runs.
    let (card, course) =
        card_and_course(conn, partner_id, &request.card_number, request.course_id).await?;
    let eligible = buyer_eligible(&card, deps.pii, today)?;
    let scope_key = scope(&card, &course).key();
    let outcome = conn
        .transaction::<_, ApiError, _>(async |conn| {
            // 1. The code. A challenge of another card, course or platform is
            //    unknown here, and none of its guesses is spent.
            let guess = Guess {
                challenge_id: request.challenge_id,
                purpose: Purpose::Purchase,
                account: None,
                scope_key: Some(&scope_key),
                code: &request.otp_code,
            };
            let challenge = match otp::verify(conn, deps.secrets, deps.origin, now, guess).await? {
                // A wrong guess is counted: commit it, answer the refusal.
                Verdict::Refused(e) => return Ok(Err(e)),
                Verdict::Accepted(challenge) => challenge,
            };
            // 2. The rules. Any refusal rolls everything back, the code's use
            //    included.
            let shown_price = challenge
                .context
                .as_ref()
                .and_then(|c| c["price_idr"].as_i64());
            if shown_price != Some(course.price_idr) {
                return Err(ApiError::new(ErrorCode::PriceChanged).detail(
                    "The price changed since the code was sent; ask for a new purchase code.",
                ));
            }
            if card.status != CardStatus::Active {
                return Err(card_inactive());
            }
            if !eligible || card.blocked_at.is_some() {
                return Err(not_eligible());
            }
            if model::cancelled_before(conn, card.card_id, course.id).await? {
                return Err(ApiError::new(ErrorCode::CoursePreviouslyCancelled)
                    .detail("The participant cancelled this course before; it cannot be bought again."));
            }
            if rules::starts_too_soon(course.delivery, course.starts_at, today) {
                return Err(ApiError::new(ErrorCode::CourseStartsTooSoon).detail(
                    "Online training must be bought at least 1 calendar day before it starts, offline at least 3.",
                ));
            }
            // Fresh, after the card's OTP lock: a purchase of this card that
            // committed meanwhile is seen here.
            let (card_account, balance) = ledger::card_account(conn, card.card_id).await?;
            if balance < course.price_idr {
                return Err(LedgerError::InsufficientFunds {
                    account: card_account,
                    amount_idr: course.price_idr,
                }
                .into());
            }
            rules::may_buy_next(card.first_deadline, previous(conn, card.card_id).await?, today)
                .map_err(refusal)?;
            // 3. The writes, locking as little and as late as possible: the
            //    card row shared (the deadline job cannot deactivate it under
            //    us), the binding's keys, the card's balance row.
            let active: Option<Uuid> = cards::table
                .find(card.card_id)
                .filter(cards::status.eq(CardStatus::Active))
                .select(cards::id)
                .for_share()
                .first(conn)
                .await
                .optional()?;
            if active.is_none() {
                return Err(card_inactive());
            }
            model::bind(conn, partner_id, &request.platform_user_id, card.card_id, now)
                .await?
                .map_err(binding_refusal)?;
            let purchase_id = Uuid::new_v4();
            let partner_account = match ledger::partner_account(conn, partner_id).await? {
                Some(a) => a,
                None => ledger::open_partner_account(conn, partner_id, now).await?,
            };
            let posted = ledger::post(
                conn,
                Entry {
                    kind: EntryKind::Purchase,
                    reference: &purchase_id.to_string(),
                    postings: &Posting::transfer(card_account, partner_account, course.price_idr),
                },
                now,
            )
            .await?;
            let balance_after_idr = posted
                .balance_after(card_account)
                .ok_or_else(|| ApiError::internal(anyhow::anyhow!("no card balance posted")))?;
            let terms = course.terms();
            let mut purchase = None;
            for _ in 0..REDEEM_CODE_TRIES {
                let code = rules::new_redeem_code(&mut rand::rngs::OsRng);
                let new = NewPurchase {
                    id: purchase_id,
                    card_id: card.card_id,
                    account_id: card.account_id,
                    partner_id,
                    course_id: course.id,
                    platform_user_id: &request.platform_user_id,
                    course_title: &course.title,
                    delivery: course.delivery,
                    price_idr: course.price_idr,
                    starts_at: course.starts_at,
                    duration_hours: course.duration_hours,
                    course_terms: &terms,
                    status: PurchaseStatus::Purchased,
                    redeem_code: &code,
                    voucher_code: request.voucher_code.as_deref(),
                    purchased_at: now,
                    cancel_deadline: rules::cancel_deadline(today, jakarta_date(course.starts_at)),
                    updated_at: now,
                };
                match model::insert(conn, &new).await {
                    Ok(Some(p)) => {
                        purchase = Some(p);
                        break;
                    }
                    Ok(None) => continue,
                    // A purchase of this card sent at the same moment opened a
                    // training first (the one-open-training index).
                    Err(e) if db::unique_violation(&e) == Some("purchases_one_open_per_card") => {
                        return Err(refusal(NextPurchaseRefusal::PreviousTrainingUnfinished))
                    }
                    Err(e) => return Err(e.into()),
                }
            }
            let purchase = purchase.ok_or_else(|| {
                ApiError::internal(anyhow::anyhow!("no free redeem code in {REDEEM_CODE_TRIES} draws"))
            })?;
            notifications::enqueue(
                conn,
                now,
                Channel::Email,
                &card.email,
                &Message::PurchaseConfirmed {
                    redeem_code: purchase.redeem_code.clone(),
                    course_title: purchase.course_title.clone(),
                },
            )
            .await?;
            let receipt = PurchaseReceipt {
                id: purchase.id,
                redeem_code: purchase.redeem_code,
                voucher_code: purchase.voucher_code,
                price_idr: purchase.price_idr,
                balance_after_idr,
            };
            if let Some(lease) = lease {
                lease.commit(conn, &receipt).await?;
            }
            Ok(Ok(receipt))
        })
        .await?;
    outcome
}
