//! The OTP module (`prakerja_api::otp`) as the purchase flow will use it, next
//! to login: purchase codes are bound to (card, course, partner), have their own
//! budgets per card, say what they pay for, and never touch the login's limits.

use chrono::{DateTime, TimeDelta, Utc};
use diesel::sql_types::{Text, Timestamptz, Uuid as SqlUuid};
use diesel_async::{AsyncConnection, AsyncPgConnection};
use prakerja_api::{
    audit::Origin,
    crypto::PiiKeys,
    error::{ApiError, ErrorCode},
    notifications::Channel,
    otp::{self, ChallengeState, CodeMessage, Guess, IssuedCode, Purpose, Scope, Verdict},
    secrets::SecretHasher,
};
use serde_json::{json, Value};
use uuid::Uuid;

use crate::helpers::{count, TestApp};

const EMAIL: &str = "pembeli@example.com";
const PHONE: &str = "+6281299990000";

struct Buyer {
    account: Uuid,
    card: Uuid,
    partner: Uuid,
}

async fn buyer(conn: &mut AsyncPgConnection, now: DateTime<Utc>) -> Buyer {
    let account = Uuid::new_v4();
    let insert = diesel::sql_query(
        "INSERT INTO accounts (id, email, password_hash, created_at, updated_at) VALUES ($1, $2, 'x', $3, $3)",
    )
    .bind::<SqlUuid, _>(account)
    .bind::<Text, _>(format!("{}@otp.example", account.simple()))
    .bind::<Timestamptz, _>(now);
    diesel_async::RunQueryDsl::execute(insert, conn)
        .await
        .unwrap();
    // The OTP module only needs ids: a card and a partner are scope, not rows.
    Buyer {
        account,
        card: Uuid::new_v4(),
        partner: Uuid::new_v4(),
    }
}

fn purchase_code(b: &Buyer, course: Uuid, price_idr: i64) -> otp::Issue<'static> {
    otp::Issue {
        account_id: b.account,
        scope: Scope::Purchase {
            card_id: b.card,
            course_id: course,
            partner_id: b.partner,
        },
        message: CodeMessage::Purchase {
            course_title: "Menjahit untuk Pemula".into(),
            price_idr,
        },
        deliveries: &[(Channel::Email, EMAIL), (Channel::Sms, PHONE)],
        context: Some(json!({"course_id": course, "price_idr": price_idr})),
    }
}

async fn issue(
    conn: &mut AsyncPgConnection,
    secrets: &SecretHasher,
    now: DateTime<Utc>,
    request: otp::Issue<'_>,
) -> Result<IssuedCode, ApiError> {
    otp::issue(conn, secrets, &PiiKeys::sandbox().cipher(), now, request).await
}

/// The newest code sent with `template` (read from the outbox, as the sandbox
/// inbox does); tests read it right after issuing.
async fn last_code(conn: &mut AsyncPgConnection, template: &str) -> String {
    #[derive(diesel::QueryableByName)]
    struct Code {
        #[diesel(sql_type = Text)]
        code: String,
    }
    let q = diesel::sql_query(
        "SELECT data->>'code' AS code FROM notifications WHERE template = $1 ORDER BY seq DESC LIMIT 1",
    )
    .bind::<Text, _>(template);
    diesel_async::RunQueryDsl::get_result::<Code>(q, conn)
        .await
        .unwrap()
        .code
}

async fn guess(
    conn: &mut AsyncPgConnection,
    secrets: &SecretHasher,
    now: DateTime<Utc>,
    challenge_id: Uuid,
    purpose: Purpose,
    code: &str,
) -> Result<Verdict, ApiError> {
    conn.transaction::<_, ApiError, _>(async |conn| {
        let g = Guess {
            challenge_id,
            purpose,
            account: None,
            scope_key: None,
            code,
        };
        otp::verify(conn, secrets, &Origin::default(), now, g).await
    })
    .await
}

fn refused_code(v: &Result<Verdict, ApiError>) -> ErrorCode {
    match v {
        Ok(Verdict::Refused(e)) | Err(e) => e.code(),
        Ok(Verdict::Accepted(_)) => panic!("accepted"),
    }
}

fn wrong(code: &str) -> &'static str {
    if code == "000000" {
        "111111"
    } else {
        "000000"
    }
}

#[tokio::test]
async fn a_purchase_code_is_bound_to_its_course_and_a_new_one_replaces_only_the_same_course() {
    let app = TestApp::spawn().await;
    let (secrets, now) = (&app.state.secrets, app.state.clock.now());
    let mut conn = app.db.conn().await;
    let b = buyer(&mut conn, now).await;
    let (course_a, course_b) = (Uuid::new_v4(), Uuid::new_v4());
    let first_a = issue(
        &mut conn,
        secrets,
        now,
        purchase_code(&b, course_a, 500_000),
    )
    .await
    .unwrap();
    let on_b = issue(
        &mut conn,
        secrets,
        now,
        purchase_code(&b, course_b, 750_000),
    )
    .await
    .unwrap();
    let code_b = last_code(&mut conn, "purchase_otp").await;
    let second_a = issue(
        &mut conn,
        secrets,
        now,
        purchase_code(&b, course_a, 500_000),
    )
    .await
    .unwrap();
    let code_a = last_code(&mut conn, "purchase_otp").await;
    assert_eq!(first_a.masked_destination, "p***@example.com");
    // Five minutes (stored to the microsecond).
    let ttl = first_a.expires_at - now;
    assert!(
        (ttl - TimeDelta::minutes(5)).num_milliseconds().abs() < 1,
        "{ttl}"
    );

    // The older code of course A is replaced; course B's code still works.
    let replaced = guess(
        &mut conn,
        secrets,
        now,
        first_a.challenge_id,
        Purpose::Purchase,
        &code_a,
    )
    .await;
    assert_eq!(refused_code(&replaced), ErrorCode::OtpExpired);
    match guess(
        &mut conn,
        secrets,
        now,
        on_b.challenge_id,
        Purpose::Purchase,
        &code_b,
    )
    .await
    .unwrap()
    {
        Verdict::Accepted(c) => {
            assert_eq!(c.state, ChallengeState::Consumed);
            assert_eq!(
                c.context,
                Some(json!({"course_id": course_b, "price_idr": 750_000}))
            );
        }
        Verdict::Refused(e) => panic!("refused: {e:?}"),
    }
    match guess(
        &mut conn,
        secrets,
        now,
        second_a.challenge_id,
        Purpose::Purchase,
        &code_a,
    )
    .await
    .unwrap()
    {
        Verdict::Accepted(_) => {}
        Verdict::Refused(e) => panic!("refused: {e:?}"),
    }
    // Single use.
    let again = guess(
        &mut conn,
        secrets,
        now,
        second_a.challenge_id,
        Purpose::Purchase,
        &code_a,
    )
    .await;
    assert_eq!(refused_code(&again), ErrorCode::OtpInvalid);
    // A purchase code is no login code, and expires after 5 minutes.
    let as_login = guess(
        &mut conn,
        secrets,
        now,
        second_a.challenge_id,
        Purpose::Login,
        &code_a,
    )
    .await;
    assert_eq!(refused_code(&as_login), ErrorCode::OtpInvalid);
    let late = issue(
        &mut conn,
        secrets,
        now,
        purchase_code(&b, course_b, 750_000),
    )
    .await
    .unwrap();
    let code = last_code(&mut conn, "purchase_otp").await;
    let expired = guess(
        &mut conn,
        secrets,
        now + TimeDelta::minutes(5),
        late.challenge_id,
        Purpose::Purchase,
        &code,
    )
    .await;
    assert_eq!(refused_code(&expired), ErrorCode::OtpExpired);
}

#[tokio::test]
async fn a_purchase_code_goes_by_email_and_sms_and_names_what_it_pays_for() {
    let app = TestApp::spawn().await;
    let (secrets, now) = (&app.state.secrets, app.state.clock.now());
    let mut conn = app.db.conn().await;
    let b = buyer(&mut conn, now).await;
    issue(
        &mut conn,
        secrets,
        now,
        purchase_code(&b, Uuid::new_v4(), 750_000),
    )
    .await
    .unwrap();
    for recipient in [EMAIL, PHONE] {
        let data: Value = app.last_message_data(recipient, "purchase_otp").await;
        assert_eq!(data["course_title"], "Menjahit untuk Pemula");
        assert_eq!(data["price_idr"], 750_000);
        assert_eq!(data["code"].as_str().unwrap().len(), 6);
    }
    let body = app.inbox(EMAIL).await[0]["body"]
        .as_str()
        .unwrap()
        .to_lowercase();
    assert!(
        body.contains("pembelian") && !body.contains("masuk"),
        "{body}"
    );
    // There is no resend of a purchase code: a new one is asked for.
    let login_like = otp::resend(
        &mut conn,
        secrets,
        &PiiKeys::sandbox().cipher(),
        now,
        Uuid::new_v4(),
        Purpose::Purchase,
        None,
    )
    .await;
    assert_eq!(login_like.unwrap_err().code(), ErrorCode::OtpSendLimit);
}

#[tokio::test]
async fn purchase_codes_have_their_own_budget_per_card_apart_from_the_login_budget() {
    let app = TestApp::spawn().await;
    let (secrets, now) = (&app.state.secrets, app.state.clock.now());
    let mut conn = app.db.conn().await;
    let b = buyer(&mut conn, now).await;
    let login = |b: &Buyer| otp::Issue {
        account_id: b.account,
        scope: Scope::Account(b.account),
        message: CodeMessage::Login,
        deliveries: &[(Channel::Email, EMAIL)],
        context: None,
    };
    // The login budget spent...
    for _ in 0..10 {
        issue(&mut conn, secrets, now, login(&b)).await.unwrap();
    }
    let refused = issue(&mut conn, secrets, now, login(&b)).await.unwrap_err();
    assert_eq!(refused.code(), ErrorCode::OtpResendLimit);
    // ...takes nothing from purchases: 30 codes per card in two hours.
    for _ in 0..30 {
        issue(
            &mut conn,
            secrets,
            now,
            purchase_code(&b, Uuid::new_v4(), 100_000),
        )
        .await
        .unwrap();
    }
    let refused = issue(
        &mut conn,
        secrets,
        now,
        purchase_code(&b, Uuid::new_v4(), 100_000),
    )
    .await
    .unwrap_err();
    assert_eq!(refused.code(), ErrorCode::OtpSendLimit);
    assert_eq!(refused.problem().status, 429);
    assert!(refused
        .retry_after_secs()
        .is_some_and(|s| s > 7000 && s <= 7200));
    // The budget is the card's: another card has its own.
    let other_card = Buyer {
        card: Uuid::new_v4(),
        ..b
    };
    issue(
        &mut conn,
        secrets,
        now,
        purchase_code(&other_card, Uuid::new_v4(), 100_000),
    )
    .await
    .unwrap();
    // And it frees up after two hours.
    let later = now + TimeDelta::hours(2) + TimeDelta::seconds(1);
    issue(
        &mut conn,
        secrets,
        later,
        purchase_code(&other_card, Uuid::new_v4(), 1),
    )
    .await
    .unwrap();
}

#[tokio::test]
async fn wrong_purchase_codes_lock_the_challenge_at_five_and_the_card_at_ten_audited() {
    let app = TestApp::spawn().await;
    let (secrets, now) = (&app.state.secrets, app.state.clock.now());
    let mut conn = app.db.conn().await;
    let b = buyer(&mut conn, now).await;
    let first = issue(
        &mut conn,
        secrets,
        now,
        purchase_code(&b, Uuid::new_v4(), 100_000),
    )
    .await
    .unwrap();
    let first_code = last_code(&mut conn, "purchase_otp").await;
    for _ in 0..5 {
        let v = guess(
            &mut conn,
            secrets,
            now,
            first.challenge_id,
            Purpose::Purchase,
            wrong(&first_code),
        )
        .await;
        assert_eq!(refused_code(&v), ErrorCode::OtpInvalid);
    }
    // The sixth try on the challenge is 429 even with the right code.
    let v = guess(
        &mut conn,
        secrets,
        now,
        first.challenge_id,
        Purpose::Purchase,
        &first_code,
    )
    .await;
    assert_eq!(refused_code(&v), ErrorCode::OtpAttemptsExceeded);
    let second = issue(
        &mut conn,
        secrets,
        now,
        purchase_code(&b, Uuid::new_v4(), 100_000),
    )
    .await
    .unwrap();
    let second_code = last_code(&mut conn, "purchase_otp").await;
    for _ in 0..5 {
        guess(
            &mut conn,
            secrets,
            now,
            second.challenge_id,
            Purpose::Purchase,
            wrong(&second_code),
        )
        .await
        .unwrap();
    }
    // Ten wrong purchase codes on the card: even a fresh challenge refuses.
    let third = issue(
        &mut conn,
        secrets,
        now,
        purchase_code(&b, Uuid::new_v4(), 100_000),
    )
    .await
    .unwrap();
    let third_code = last_code(&mut conn, "purchase_otp").await;
    let v = guess(
        &mut conn,
        secrets,
        now,
        third.challenge_id,
        Purpose::Purchase,
        &third_code,
    )
    .await;
    match v {
        Ok(Verdict::Refused(e)) => {
            assert_eq!(e.code(), ErrorCode::OtpAttemptsExceeded);
            assert!(e.retry_after_secs().is_some());
        }
        other => panic!("{other:?}"),
    }
    let audited = |action: &'static str| {
        format!(
            "SELECT count(*) AS n FROM audit_events WHERE subject_id = '{}' AND action = '{action}' AND reason = 'purchase'",
            b.account
        )
    };
    assert_eq!(count(&mut conn, &audited("otp_locked_out")).await, 2);
    assert_eq!(
        count(&mut conn, &audited("otp_guess_limit_reached")).await,
        1
    );
    // The account's login codes are untouched by the purchase budget.
    let login = issue(
        &mut conn,
        secrets,
        now,
        otp::Issue {
            account_id: b.account,
            scope: Scope::Account(b.account),
            message: CodeMessage::Login,
            deliveries: &[(Channel::Email, EMAIL)],
            context: None,
        },
    )
    .await
    .unwrap();
    let code = last_code(&mut conn, "login_otp").await;
    assert!(matches!(
        guess(
            &mut conn,
            secrets,
            now,
            login.challenge_id,
            Purpose::Login,
            &code
        )
        .await,
        Ok(Verdict::Accepted(_))
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_logins_and_resends_of_one_account_never_deadlock() {
    // Login step 1 (new challenge) and resend (same challenge) take the
    // account's budget buckets and its challenge rows in the same order, so a
    // burst of both answers 200 or 429, never a deadlock's 500.
    let app = TestApp::spawn().await;
    let address = crate::fixtures::email("race");
    app.verified_account(&address, crate::fixtures::PASSWORD)
        .await;
    let challenge = app
        .login_challenge(&address, crate::fixtures::PASSWORD)
        .await;
    let requests = (0..12).map(|i| {
        let (app, address, challenge) = (&app, &address, &challenge);
        async move {
            if i % 2 == 0 {
                app.post(
                    "/v1/auth/login",
                    None,
                    &json!({"email": address, "password": crate::fixtures::PASSWORD}),
                )
                .await
            } else {
                app.post(
                    "/v1/auth/login/resend",
                    None,
                    &json!({"challenge_id": challenge}),
                )
                .await
            }
            .status()
            .as_u16()
        }
    });
    let statuses = futures_util::future::join_all(requests).await;
    for status in &statuses {
        assert!(
            matches!(status, 200 | 401 | 429),
            "no request fails on a lock: {statuses:?}"
        );
    }
}
