//! Races of spending the card (issue 16 item 10), each proven by requests sent
//! at once: the database decides (a conditional debit, conditional status
//! moves, unique keys), never a check-then-write in the service.

use futures_util::future::join_all;
use serde_json::{json, Value};

use crate::{
    helpers::{count, TestApp},
    spending::{
        balance, beneficiaries, beneficiary, buy, code, course, partner, pass_face, purchase_body,
        redeem, send_purchase, wib, Code,
    },
};

/// The problem `code` of an answer, or its status for a success.
async fn outcome(res: reqwest::Response) -> String {
    let status = res.status().as_u16();
    if status < 300 {
        return status.to_string();
    }
    let body: Value = res.json().await.unwrap();
    body["code"].as_str().unwrap_or("?").to_owned()
}

fn tally(outcomes: &[String], what: &str) -> usize {
    outcomes.iter().filter(|o| *o == what).count()
}

#[tokio::test]
async fn twenty_purchases_of_sixty_percent_of_the_balance_at_once_make_exactly_one() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let b = beneficiary(&app).await;
    let p = partner(&app, &admin).await;
    let mut bodies = Vec::new();
    for _ in 0..20 {
        let c = course(&app, &p, "webinar", 600_000, wib("2026-07-10T10:00:00")).await;
        let code: Code = code(&app, &p, &b, &c).await;
        bodies.push(purchase_body(&b, &c, &code, "budi"));
    }
    let outcomes = join_all(
        bodies
            .iter()
            .map(|body| async { outcome(send_purchase(&app, &p, body).await).await }),
    )
    .await;
    assert_eq!(tally(&outcomes, "201"), 1, "{outcomes:?}");
    assert_eq!(tally(&outcomes, "insufficient_balance"), 19, "{outcomes:?}");
    assert_eq!(balance(&app, &b).await, 400_000);
    let mut conn = app.db.conn().await;
    assert_eq!(
        count(&mut conn, "SELECT count(*) AS n FROM purchases").await,
        1
    );
    app.assert_ledger_invariants().await;
}

#[tokio::test]
async fn the_same_code_sent_twice_at_once_makes_one_purchase() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let b = beneficiary(&app).await;
    let p = partner(&app, &admin).await;
    let c = course(&app, &p, "webinar", 300_000, wib("2026-07-10T10:00:00")).await;
    let code = code(&app, &p, &b, &c).await;
    let body = purchase_body(&b, &c, &code, "budi");
    let outcomes =
        join_all((0..4).map(|_| async { outcome(send_purchase(&app, &p, &body).await).await }))
            .await;
    assert_eq!(tally(&outcomes, "201"), 1, "{outcomes:?}");
    assert_eq!(tally(&outcomes, "otp_invalid"), 3, "{outcomes:?}");
    assert_eq!(balance(&app, &b).await, 700_000);
    app.assert_ledger_invariants().await;
}

#[tokio::test]
async fn a_cancel_racing_a_redemption_has_exactly_one_winner() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let bs = beneficiaries(&app, 3).await;
    let p = partner(&app, &admin).await;
    let c = course(&app, &p, "self_paced", 500_000, wib("2026-07-20T10:00:00")).await;
    let mut purchases = Vec::new();
    for b in &bs {
        let receipt = buy(&app, &p, b, &c).await;
        let id = receipt["id"].as_str().unwrap().to_owned();
        pass_face(&app, b, &id).await;
        purchases.push((b, id, receipt["redeem_code"].as_str().unwrap().to_owned()));
    }
    for (b, id, redeem_code) in &purchases {
        let cancel = async {
            outcome(
                app.post(
                    &format!("/v1/me/purchases/{id}/cancellation"),
                    Some(&b.session.access),
                    &json!({"reason": "schedule_conflict"}),
                )
                .await,
            )
            .await
        };
        let redeem = async { outcome(redeem(&app, &p, redeem_code).await).await };
        let (cancelled, redeemed) = tokio::join!(cancel, redeem);
        let winners = [&cancelled, &redeemed]
            .iter()
            .filter(|o| o.as_str() == "200")
            .count();
        assert_eq!(winners, 1, "cancel {cancelled}, redeem {redeemed}");
        if cancelled == "200" {
            assert_eq!(redeemed, "purchase_cancelled");
            assert_eq!(balance(&app, b).await, 1_000_000);
        } else {
            assert_eq!(cancelled, "already_redeemed");
            assert_eq!(balance(&app, b).await, 500_000);
        }
    }
    app.assert_ledger_invariants().await;
}

#[tokio::test]
async fn two_cards_binding_one_platform_user_id_at_once_bind_one() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let bs = beneficiaries(&app, 2).await;
    let p = partner(&app, &admin).await;
    let c = course(&app, &p, "webinar", 300_000, wib("2026-07-10T10:00:00")).await;
    let mut bodies = Vec::new();
    for b in &bs {
        let code = code(&app, &p, b, &c).await;
        bodies.push(purchase_body(b, &c, &code, "shared-user"));
    }
    let outcomes = join_all(
        bodies
            .iter()
            .map(|body| async { outcome(send_purchase(&app, &p, body).await).await }),
    )
    .await;
    assert_eq!(tally(&outcomes, "201"), 1, "{outcomes:?}");
    assert_eq!(
        tally(&outcomes, "platform_user_bound_to_other_card"),
        1,
        "{outcomes:?}"
    );
    let mut conn = app.db.conn().await;
    assert_eq!(
        count(&mut conn, "SELECT count(*) AS n FROM platform_bindings").await,
        1
    );
    app.assert_ledger_invariants().await;
}

#[tokio::test]
async fn two_platforms_buying_for_one_card_at_once_make_one_purchase() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let b = beneficiary(&app).await;
    let platforms = [partner(&app, &admin).await, partner(&app, &admin).await];
    let mut requests = Vec::new();
    for p in &platforms {
        let c = course(&app, p, "webinar", 300_000, wib("2026-07-10T10:00:00")).await;
        let code = code(&app, p, &b, &c).await;
        requests.push((p, purchase_body(&b, &c, &code, "budi")));
    }
    let outcomes = join_all(
        requests
            .iter()
            .map(|(p, body)| async { outcome(send_purchase(&app, p, body).await).await }),
    )
    .await;
    assert_eq!(tally(&outcomes, "201"), 1, "{outcomes:?}");
    assert_eq!(
        tally(&outcomes, "previous_training_unfinished"),
        1,
        "{outcomes:?}"
    );
    assert_eq!(balance(&app, &b).await, 700_000);
    app.assert_ledger_invariants().await;
}

/// The card side of the binding, raced directly on the domain function: two
/// user ids of one platform claiming one card at once, each in its own
/// transaction, bind one.
#[tokio::test]
async fn two_user_ids_binding_one_card_at_once_bind_one() {
    use diesel_async::{AnsiTransactionManager, TransactionManager};
    use prakerja_api::purchases::model::{bind, BindingConflict};

    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let b = beneficiary(&app).await;
    let p = partner(&app, &admin).await;
    let partner_id: uuid::Uuid = p.id.parse().unwrap();
    let mut conn = app.db.conn().await;
    let card_id: uuid::Uuid = {
        #[derive(diesel::QueryableByName)]
        struct Row {
            #[diesel(sql_type = diesel::sql_types::Uuid)]
            id: uuid::Uuid,
        }
        diesel_async::RunQueryDsl::get_result::<Row>(
            diesel::sql_query("SELECT id FROM cards WHERE card_number = $1")
                .bind::<diesel::sql_types::Text, _>(&b.card_number),
            &mut conn,
        )
        .await
        .unwrap()
        .id
    };
    let now = app.state.clock.now();
    let mut first = app.db.conn().await;
    let mut second = app.db.conn().await;
    AnsiTransactionManager::begin_transaction(&mut first)
        .await
        .unwrap();
    AnsiTransactionManager::begin_transaction(&mut second)
        .await
        .unwrap();
    let won = bind(&mut first, partner_id, "user-a", card_id, now)
        .await
        .unwrap();
    assert_eq!(won, Ok(()));
    // The second waits on the card's key until the first commits.
    let racing = tokio::spawn(async move {
        let lost = bind(&mut second, partner_id, "user-b", card_id, now)
            .await
            .unwrap();
        AnsiTransactionManager::commit_transaction(&mut second)
            .await
            .unwrap();
        lost
    });
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    assert!(!racing.is_finished(), "the second binding waits on the key");
    AnsiTransactionManager::commit_transaction(&mut first)
        .await
        .unwrap();
    assert_eq!(
        racing.await.unwrap(),
        Err(BindingConflict::CardBoundToOtherUser)
    );
    assert_eq!(
        count(&mut conn, "SELECT count(*) AS n FROM platform_bindings").await,
        1
    );
}
