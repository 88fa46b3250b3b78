//! The notification outbox: messages are queued in the transaction of the change
//! that causes them, delivered to the gateway of INTEGRATIONS.md with retries, and
//! sent once even with several workers or a worker that died.

use std::{collections::HashMap, time::Duration};

use chrono::TimeDelta;
use diesel::prelude::*;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use prakerja_api::{
    db::schema::notifications,
    jobs::Job,
    notifications::{enqueue, outbox, Channel, Message},
};
use serde_json::{json, Value};
use uuid::Uuid;
use wiremock::{
    matchers::{body_json, header, method, path},
    Mock, MockServer, ResponseTemplate,
};

use crate::helpers::{spawn_production, TestApp};

const TOKEN: &str = "gateway-test-token";

fn otp(code: &str) -> Message {
    Message::LoginOtp {
        code: code.to_owned(),
    }
}

/// Queues one message in its own committed transaction, as a domain change would.
async fn enqueue_committed(
    app: &TestApp,
    channel: Channel,
    recipient: &str,
    message: Message,
) -> Uuid {
    let mut conn = app.state.db.get().await.unwrap();
    let now = app.state.clock.now();
    let recipient = recipient.to_owned();
    conn.transaction::<_, diesel::result::Error, _>(async move |conn| {
        enqueue(conn, now, channel, &recipient, &message).await
    })
    .await
    .unwrap()
}

async fn spawn_with_gateway(gateway: &MockServer) -> TestApp {
    TestApp::spawn_with(&[("NOTIFY_URL", &gateway.uri()), ("NOTIFY_TOKEN", TOKEN)]).await
}

/// The stored row, read straight from the database.
async fn stored(conn: &mut AsyncPgConnection, id: Uuid) -> outbox::Notification {
    notifications::table
        .find(id)
        .select(outbox::Notification::as_select())
        .first(conn)
        .await
        .unwrap()
}

fn report(run: &Value) -> (u64, u64, u64) {
    let r = &run["report"];
    (
        r["sent"].as_u64().unwrap(),
        r["retrying"].as_u64().unwrap(),
        r["failed"].as_u64().unwrap(),
    )
}

/// How many requests the gateway received for each `Idempotency-Key`.
async fn requests_per_key(gateway: &MockServer) -> HashMap<String, usize> {
    let mut counts = HashMap::new();
    for req in gateway.received_requests().await.unwrap() {
        let key = req
            .headers
            .get("idempotency-key")
            .expect("Idempotency-Key sent")
            .to_str()
            .unwrap()
            .to_owned();
        *counts.entry(key).or_default() += 1;
    }
    counts
}

fn accept(gateway_delay_ms: u64) -> Mock {
    Mock::given(method("POST"))
        .and(path("/v1/messages"))
        .respond_with(ResponseTemplate::new(202).set_delay(Duration::from_millis(gateway_delay_ms)))
}

#[tokio::test]
async fn committed_message_is_listed_at_once_as_queued() {
    let app = TestApp::spawn().await;
    let id = enqueue_committed(&app, Channel::Email, "budi@example.com", otp("123456")).await;
    let inbox = app.inbox("budi@example.com").await;
    assert_eq!(inbox.len(), 1);
    let m = &inbox[0];
    assert_eq!(m["id"], id.to_string());
    assert_eq!(m["status"], "queued");
    assert_eq!(m["channel"], "email");
    assert_eq!(m["recipient"], "budi@example.com");
    assert_eq!(m["template"], "login_otp");
    assert_eq!(m["data"], json!({ "code": "123456" }));
    assert!(m["body"].as_str().unwrap().contains("123456"));
    assert_eq!(
        app.last_message_data("budi@example.com", "login_otp").await,
        json!({ "code": "123456" })
    );
    assert!(
        app.inbox("other@example.com").await.is_empty(),
        "the recipient filter applies"
    );
}

#[tokio::test]
async fn rolled_back_change_leaves_no_message() {
    let app = TestApp::spawn().await;
    let mut conn = app.state.db.get().await.unwrap();
    let now = app.state.clock.now();
    let result = conn
        .transaction::<(), diesel::result::Error, _>(async move |conn| {
            enqueue(
                conn,
                now,
                Channel::Email,
                "budi@example.com",
                &otp("111111"),
            )
            .await?;
            // The change that caused the message fails after it was queued.
            Err(diesel::result::Error::RollbackTransaction)
        })
        .await;
    assert!(result.is_err());
    assert!(app.inbox("budi@example.com").await.is_empty());
    let run = app.run_job("deliver_notifications").await;
    assert_eq!(report(&run), (0, 0, 0), "nothing to send");
    let n = crate::helpers::count(
        &mut app.db.conn().await,
        "SELECT count(*) AS n FROM notifications",
    )
    .await;
    assert_eq!(n, 0);
}

#[tokio::test]
async fn delivery_sends_the_gateway_shape_with_token_and_idempotency_key() {
    let gateway = MockServer::start().await;
    let app = spawn_with_gateway(&gateway).await;
    let email = enqueue_committed(&app, Channel::Email, "budi@example.com", otp("123456")).await;
    let sms = enqueue_committed(
        &app,
        Channel::Sms,
        "+6281234567890",
        Message::PhoneOtp {
            code: "654321".into(),
        },
    )
    .await;
    let email_row = stored(&mut app.db.conn().await, email).await;
    Mock::given(method("POST"))
        .and(path("/v1/messages"))
        .and(header("authorization", format!("Bearer {TOKEN}").as_str()))
        .and(header("idempotency-key", email.to_string().as_str()))
        .and(header("content-type", "application/json"))
        .and(body_json(json!({
            "channel": "email",
            "to": "budi@example.com",
            "template": "login_otp",
            "subject": email_row.subject,
            "body": email_row.body,
            "data": { "code": "123456" },
        })))
        .respond_with(ResponseTemplate::new(202))
        .expect(1)
        .mount(&gateway)
        .await;
    Mock::given(method("POST"))
        .and(path("/v1/messages"))
        .and(header("authorization", format!("Bearer {TOKEN}").as_str()))
        .and(header("idempotency-key", sms.to_string().as_str()))
        .respond_with(ResponseTemplate::new(200))
        .expect(1)
        .mount(&gateway)
        .await;

    let run = app.run_job("deliver_notifications").await;
    assert_eq!(report(&run), (2, 0, 0));
    gateway.verify().await;

    // The exact JSON received, field by field (nothing more, nothing less).
    let received = gateway.received_requests().await.unwrap();
    let sms_req = received
        .iter()
        .find(|r| r.headers["idempotency-key"] == sms.to_string().as_str())
        .unwrap();
    let body: Value = sms_req.body_json().unwrap();
    let keys: Vec<&str> = body
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(keys.len(), 6, "{body}");
    for k in ["channel", "to", "template", "subject", "body", "data"] {
        assert!(keys.contains(&k), "{k} in {body}");
    }
    assert_eq!(body["channel"], "sms");
    assert_eq!(body["to"], "+6281234567890");
    assert_eq!(body["template"], "phone_otp");
    assert_eq!(body["subject"], Value::Null, "SMS has no subject");
    assert_eq!(body["data"], json!({ "code": "654321" }));
    assert!(body["body"].as_str().unwrap().contains("654321"));

    for m in app
        .inbox("budi@example.com")
        .await
        .into_iter()
        .chain(app.inbox("+6281234567890").await)
    {
        assert_eq!(m["status"], "sent");
    }
    let row = stored(&mut app.db.conn().await, email).await;
    assert_eq!((row.attempts, row.locked_until), (1, None));
    assert!(row.sent_at.is_some());
    // Sent messages are not sent again.
    assert_eq!(
        report(&app.run_job("deliver_notifications").await),
        (0, 0, 0)
    );
    assert_eq!(gateway.received_requests().await.unwrap().len(), 2);
}

#[tokio::test]
async fn gateway_url_with_a_path_keeps_its_path() {
    // INTEGRATIONS.md: POST {NOTIFY_URL}/v1/messages, so a gateway mounted under a
    // path prefix receives /prefix/v1/messages.
    let gateway = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/gateway/v1/messages"))
        .respond_with(ResponseTemplate::new(202))
        .expect(1)
        .mount(&gateway)
        .await;
    let url = format!("{}/gateway", gateway.uri());
    let app = TestApp::spawn_with(&[("NOTIFY_URL", &url), ("NOTIFY_TOKEN", TOKEN)]).await;
    enqueue_committed(&app, Channel::Email, "budi@example.com", otp("123456")).await;
    assert_eq!(
        report(&app.run_job("deliver_notifications").await),
        (1, 0, 0)
    );
}

#[tokio::test]
async fn gateway_down_keeps_the_message_queued_and_delivers_it_once_after_the_backoff() {
    let gateway = MockServer::start().await;
    let app = spawn_with_gateway(&gateway).await;
    let down = Mock::given(method("POST"))
        .and(path("/v1/messages"))
        .respond_with(ResponseTemplate::new(503))
        .mount_as_scoped(&gateway)
        .await;
    let id = enqueue_committed(&app, Channel::Email, "budi@example.com", otp("123456")).await;

    let run = app.run_job("deliver_notifications").await;
    assert_eq!(report(&run), (0, 1, 0));
    let row = stored(&mut app.db.conn().await, id).await;
    assert_eq!(row.status, "queued");
    assert_eq!(row.attempts, 1);
    assert!(
        row.next_attempt_at > app.state.clock.now(),
        "retried later, not at once"
    );
    assert_eq!(row.locked_until, None);
    assert!(row.last_error.as_deref().unwrap().contains("503"));
    assert_eq!(app.inbox("budi@example.com").await[0]["status"], "queued");

    // Before the backoff passes, nothing is attempted.
    assert_eq!(
        report(&app.run_job("deliver_notifications").await),
        (0, 0, 0)
    );
    assert_eq!(down.received_requests().await.len(), 1);
    drop(down);

    // The gateway is back; after the backoff (moved clock) the message goes out once.
    accept(0).expect(1).mount(&gateway).await;
    app.set_clock(row.next_attempt_at + TimeDelta::seconds(1))
        .await;
    assert_eq!(
        report(&app.run_job("deliver_notifications").await),
        (1, 0, 0)
    );
    assert_eq!(
        report(&app.run_job("deliver_notifications").await),
        (0, 0, 0)
    );
    gateway.verify().await;
    let row = stored(&mut app.db.conn().await, id).await;
    assert_eq!((row.status.as_str(), row.attempts), ("sent", 2));
    let keys = requests_per_key(&gateway).await;
    assert_eq!(
        keys.get(&id.to_string()),
        Some(&2),
        "one failed attempt, one delivery, same key"
    );
}

#[tokio::test]
async fn unreachable_gateway_counts_an_attempt_and_keeps_the_message() {
    // A port nothing listens on: connection refused.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("http://127.0.0.1:{port}");
    let app = TestApp::spawn_with(&[("NOTIFY_URL", &url), ("NOTIFY_TOKEN", TOKEN)]).await;
    let id = enqueue_committed(&app, Channel::Email, "budi@example.com", otp("123456")).await;
    assert_eq!(
        report(&app.run_job("deliver_notifications").await),
        (0, 1, 0)
    );
    let row = stored(&mut app.db.conn().await, id).await;
    assert_eq!((row.status.as_str(), row.attempts), ("queued", 1));
    assert!(row.next_attempt_at > app.state.clock.now());
    let error = row.last_error.unwrap();
    assert!(
        !error.contains(&url),
        "the error keeps URLs out of the database: {error}"
    );
}

#[tokio::test]
async fn message_is_failed_after_the_last_attempt() {
    let gateway = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(500))
        .mount(&gateway)
        .await;
    let app = spawn_with_gateway(&gateway).await;
    let id = enqueue_committed(&app, Channel::Email, "budi@example.com", otp("123456")).await;
    let mut conn = app.db.conn().await;
    diesel::update(notifications::table.find(id))
        .set(notifications::attempts.eq(outbox::MAX_ATTEMPTS - 1))
        .execute(&mut conn)
        .await
        .unwrap();
    assert_eq!(
        report(&app.run_job("deliver_notifications").await),
        (0, 0, 1)
    );
    let row = stored(&mut conn, id).await;
    assert_eq!(
        (row.status.as_str(), row.attempts),
        ("failed", outbox::MAX_ATTEMPTS)
    );
    app.set_clock(app.state.clock.now() + TimeDelta::days(1))
        .await;
    assert_eq!(
        report(&app.run_job("deliver_notifications").await),
        (0, 0, 0),
        "a failed message is not retried"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_workers_send_each_message_exactly_once() {
    let gateway = MockServer::start().await;
    accept(3).mount(&gateway).await;
    let app = spawn_with_gateway(&gateway).await;
    let mut ids = Vec::new();
    for i in 0..60 {
        let recipient = format!("peserta{i}@example.com");
        ids.push(
            enqueue_committed(&app, Channel::Email, &recipient, otp(&format!("{i:06}"))).await,
        );
    }

    let workers: Vec<_> = (0..2)
        .map(|_| {
            let state = app.state.clone();
            tokio::spawn(async move {
                let mut conn = state.db.get().await.unwrap();
                let clock = state.clock.clone();
                outbox::deliver_due(&mut conn, &state.notifier, || clock.now(), false)
                    .await
                    .unwrap()
            })
        })
        .collect();
    let mut sent = 0;
    for w in workers {
        let r = w.await.unwrap();
        assert_eq!((r.retrying, r.failed), (0, 0));
        sent += r.sent;
    }
    assert_eq!(sent, 60, "the two reports add up to every message once");

    let keys = requests_per_key(&gateway).await;
    assert_eq!(keys.len(), 60);
    for id in &ids {
        assert_eq!(
            keys.get(&id.to_string()),
            Some(&1),
            "message {id} sent once"
        );
    }
    let mut conn = app.db.conn().await;
    let not_sent = crate::helpers::count(
        &mut conn,
        "SELECT count(*) AS n FROM notifications WHERE status <> 'sent' OR attempts <> 1",
    )
    .await;
    assert_eq!(not_sent, 0);
}

#[tokio::test]
async fn messages_claimed_by_a_dead_worker_are_sent_after_the_lease() {
    let gateway = MockServer::start().await;
    accept(0).mount(&gateway).await;
    let app = spawn_with_gateway(&gateway).await;
    let ids = [
        enqueue_committed(&app, Channel::Email, "a@example.com", otp("111111")).await,
        enqueue_committed(&app, Channel::Email, "b@example.com", otp("222222")).await,
    ];
    // A worker claims them and dies before sending.
    let claimed = {
        let mut conn = app.state.db.get().await.unwrap();
        outbox::claim_due(&mut conn, app.state.clock.now(), 10)
            .await
            .unwrap()
    };
    assert_eq!(claimed.len(), 2);
    assert!(claimed.iter().all(|n| n.status == "sending"));

    // While the lease holds, no other worker touches them.
    assert_eq!(
        report(&app.run_job("deliver_notifications").await),
        (0, 0, 0)
    );
    assert!(gateway.received_requests().await.unwrap().is_empty());

    app.set_clock(app.state.clock.now() + TimeDelta::seconds(61))
        .await;
    assert_eq!(
        report(&app.run_job("deliver_notifications").await),
        (2, 0, 0)
    );
    assert_eq!(
        report(&app.run_job("deliver_notifications").await),
        (0, 0, 0)
    );
    let keys = requests_per_key(&gateway).await;
    let mut conn = app.db.conn().await;
    for id in ids {
        assert_eq!(keys.get(&id.to_string()), Some(&1));
        let row = stored(&mut conn, id).await;
        assert_eq!((row.status.as_str(), row.attempts), ("sent", 2));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn worker_sends_nothing_once_its_lease_is_nearly_over() {
    // A slow gateway makes a batch outlast its lease; past the lease another worker
    // may claim the rest, so the first must stop sending in time.
    let gateway = MockServer::start().await;
    let slow = accept(500).mount_as_scoped(&gateway).await;
    let app = spawn_with_gateway(&gateway).await;
    let mut ids = Vec::new();
    for i in 0..4 {
        let recipient = format!("p{i}@example.com");
        ids.push(enqueue_committed(&app, Channel::Email, &recipient, otp("123456")).await);
    }
    let mut conn = app.db.conn().await;
    let started = app.state.clock.now();
    let state = app.state.clone();
    let slow_worker = tokio::spawn(async move {
        let mut conn = state.db.get().await.unwrap();
        let clock = state.clock.clone();
        outbox::deliver_due(&mut conn, &state.notifier, || clock.now(), false)
            .await
            .unwrap()
    });
    // Until the first message is in flight (the deadline only stops a broken
    // build from hanging).
    let in_flight = async {
        while slow.received_requests().await.is_empty() {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    };
    tokio::time::timeout(Duration::from_secs(30), in_flight)
        .await
        .expect("the slow worker sends its first message");
    // 45 s of the 60 s lease pass while the first message is in flight.
    let clock = &app.state.clock;
    clock
        .set(&mut conn, started + TimeDelta::seconds(45))
        .await
        .unwrap();
    let report_of_slow = slow_worker.await.unwrap();
    assert_eq!(
        report_of_slow.sent, 1,
        "the message in flight finishes, no new one starts"
    );
    assert_eq!(slow.received_requests().await.len(), 1);
    drop(slow);

    accept(0).mount(&gateway).await;
    clock
        .set(&mut conn, started + TimeDelta::seconds(61))
        .await
        .unwrap();
    assert_eq!(
        report(&app.run_job("deliver_notifications").await),
        (3, 0, 0)
    );
    let keys = requests_per_key(&gateway).await;
    for id in &ids {
        assert_eq!(
            keys.get(&id.to_string()),
            Some(&1),
            "message {id} sent once"
        );
    }
}

#[tokio::test]
async fn production_blanks_codes_once_a_message_is_delivered() {
    let gateway = MockServer::start().await;
    accept(0).expect(1).mount(&gateway).await;
    let app = spawn_production(&gateway.uri()).await;
    let id = enqueue_committed(&app, Channel::Email, "budi@example.com", otp("123456")).await;
    let report = Job::DeliverNotifications.run(&app.state).await.unwrap();
    assert_eq!(report["sent"], 1);
    let received: Value = gateway.received_requests().await.unwrap()[0]
        .body_json()
        .unwrap();
    assert_eq!(
        received["data"],
        json!({ "code": "123456" }),
        "the gateway got the code"
    );
    let row = stored(&mut app.db.conn().await, id).await;
    assert_eq!(row.status, "sent");
    assert_eq!(row.data, json!({}));
    assert!(
        !row.body.contains("123456"),
        "the code does not stay in the database"
    );
    assert_eq!(
        row.recipient, "b***@example.com",
        "only the masked address stays"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn production_blanks_a_message_that_failed_for_good() {
    let gateway = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(500))
        .mount(&gateway)
        .await;
    let app = spawn_production(&gateway.uri()).await;
    let id = enqueue_committed(&app, Channel::Sms, "+6281234567890", otp("654321")).await;
    let mut conn = app.db.conn().await;
    diesel::update(notifications::table.find(id))
        .set(notifications::attempts.eq(outbox::MAX_ATTEMPTS - 1))
        .execute(&mut conn)
        .await
        .unwrap();
    let report = Job::DeliverNotifications.run(&app.state).await.unwrap();
    assert_eq!(report["failed"], 1);
    let row = stored(&mut conn, id).await;
    assert_eq!(row.status, "failed");
    assert_eq!((row.body.as_str(), &row.data), ("", &json!({})));
    assert_eq!(row.recipient, "+62812****7890");
}
