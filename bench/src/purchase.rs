//! The purchase load generator: signed `POST /v1/partner/purchases` requests
//! from a plan (`market::plan`), one card each, on `workers` concurrent
//! connections. oha cannot do this: every request needs its own HMAC
//! signature (each is accepted once), its own card and its own purchase code.
//!
//! Closed loop by default (each worker sends its next purchase when the last
//! one is answered: the throughput); with `--rate`, open loop at that constant
//! rate, each latency counted from the request's scheduled time, so a stall
//! of the server shows in the latencies instead of slowing the load down
//! (no coordinated omission, like oha's `--latency-correction`).
//! Latencies are kept whole (a few thousand per run) and sorted for the
//! percentiles, so no histogram crate is needed.

use std::{
    collections::HashMap,
    sync::{
        atomic::{AtomicUsize, Ordering},
        Arc,
    },
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

use anyhow::Context;
use prakerja_api::partners::signature::{sign, signing_payload};
use serde_json::json;
use uuid::Uuid;

use crate::{db, market};

const PATH: &str = "/v1/partner/purchases";

pub struct Options {
    pub url: String,
    pub database: String,
    /// `partners.tsv` of `seed-market` (id, secret per line).
    pub partners: String,
    pub from: i64,
    pub count: i64,
    pub workers: usize,
    pub seconds: f64,
    pub rate: Option<f64>,
}

/// One answer: latency in microseconds and HTTP status (0: no answer).
type Sample = (u64, u16);

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn secrets(file: &str) -> anyhow::Result<HashMap<Uuid, String>> {
    std::fs::read_to_string(file)
        .with_context(|| format!("reading {file}"))?
        .lines()
        .filter(|l| !l.is_empty())
        .map(|line| {
            let (id, secret) = line
                .split_once('\t')
                .context("partners.tsv: id<TAB>secret")?;
            Ok((Uuid::parse_str(id)?, secret.to_owned()))
        })
        .collect()
}

/// One signed purchase: the body, signed now, exactly as a platform sends it.
async fn purchase(
    http: &reqwest::Client,
    base: &str,
    secret: &str,
    p: &market::Planned,
) -> Result<(u16, String), reqwest::Error> {
    let body = serde_json::to_vec(&json!({
        "card_number": p.card_number,
        "course_id": p.course_id,
        "challenge_id": p.challenge_id,
        "otp_code": p.code,
        "platform_user_id": p.platform_user_id,
    }))
    .expect("a JSON body");
    let timestamp = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("after 1970")
        .as_secs()
        .to_string();
    let signature = sign(
        secret.as_bytes(),
        &signing_payload("POST", PATH, &timestamp, &body),
    );
    let res = http
        .post(format!("{base}{PATH}"))
        .header("content-type", "application/json")
        .header("X-Partner-Id", p.partner_id.to_string())
        .header("X-Timestamp", timestamp)
        .header("X-Signature", hex(&signature))
        // A payments platform retries safely with a key (API.md).
        .header("Idempotency-Key", format!("bench-{}", p.k))
        .body(body)
        .send()
        .await?;
    let status = res.status().as_u16();
    let text = if status == 201 {
        String::new()
    } else {
        res.text().await.unwrap_or_default()
    };
    Ok((status, text))
}

fn percentile(sorted: &[u64], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 * q).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[i] as f64 / 1000.0
}

/// `prakerja-bench purchase`: runs the load and prints its figures as
/// key=value words (rps ok_rps p50_ms p99_ms max_ms n n201 n4xx n5xx nerr
/// exhausted seconds), the first refusals on stderr.
pub async fn main(o: Options) -> anyhow::Result<()> {
    let secrets = Arc::new(secrets(&o.partners)?);
    let plan = {
        let mut conn = db::connect(&o.database).await?;
        Arc::new(market::planned(&mut conn, o.from, o.count).await?)
    };
    anyhow::ensure!(!plan.is_empty(), "no planned purchase from #{}", o.from);
    // One client per platform address: each platform calls from its own.
    let mut clients = HashMap::new();
    for p in plan.iter() {
        if !clients.contains_key(&p.source_ip) {
            let ip: std::net::IpAddr = p.source_ip.parse()?;
            let client = reqwest::Client::builder()
                .local_address(ip)
                .pool_max_idle_per_host(o.workers)
                .tcp_nodelay(true)
                .timeout(Duration::from_secs(30))
                .build()?;
            clients.insert(p.source_ip.clone(), client);
        }
    }
    let clients = Arc::new(clients);
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let deadline = started + Duration::from_secs_f64(o.seconds);
    let mut tasks = Vec::with_capacity(o.workers);
    for _ in 0..o.workers.max(1) {
        let (clients, plan, secrets, next, base) = (
            clients.clone(),
            plan.clone(),
            secrets.clone(),
            next.clone(),
            o.url.clone(),
        );
        let rate = o.rate;
        tasks.push(tokio::spawn(async move {
            let mut samples: Vec<Sample> = Vec::new();
            let mut refusals: Vec<String> = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= plan.len() {
                    break;
                }
                let scheduled = match rate {
                    Some(r) => started + Duration::from_secs_f64(i as f64 / r),
                    None => Instant::now(),
                };
                if scheduled >= deadline {
                    break;
                }
                tokio::time::sleep_until(scheduled.into()).await;
                let p = &plan[i];
                let secret = secrets.get(&p.partner_id).map_or("", String::as_str);
                let http = &clients[&p.source_ip];
                let status = match purchase(http, &base, secret, p).await {
                    Ok((status, text)) => {
                        if status != 201 && refusals.len() < 3 {
                            refusals.push(format!("{status} {text}"));
                        }
                        status
                    }
                    Err(e) => {
                        if refusals.len() < 3 {
                            refusals.push(e.to_string());
                        }
                        0
                    }
                };
                samples.push((scheduled.elapsed().as_micros() as u64, status));
            }
            (samples, refusals)
        }));
    }
    let mut samples = Vec::new();
    let mut refusals = Vec::new();
    for task in tasks {
        let (s, r) = task.await?;
        samples.extend(s);
        refusals.extend(r);
    }
    let seconds = started.elapsed().as_secs_f64();
    for r in refusals.iter().take(5) {
        eprintln!("purchase: refused: {r}");
    }
    let count = |f: &dyn Fn(u16) -> bool| samples.iter().filter(|(_, s)| f(*s)).count();
    let n201 = count(&|s| s == 201);
    let mut ok: Vec<u64> = samples
        .iter()
        .filter(|(_, s)| *s == 201)
        .map(|(l, _)| *l)
        .collect();
    ok.sort_unstable();
    println!(
        "rps={:.1} ok_rps={:.1} p50_ms={:.2} p99_ms={:.2} max_ms={:.2} n={} n201={n201} n4xx={} n5xx={} nerr={} exhausted={} seconds={seconds:.2}",
        samples.len() as f64 / seconds,
        n201 as f64 / seconds,
        percentile(&ok, 0.50),
        percentile(&ok, 0.99),
        percentile(&ok, 1.0),
        samples.len(),
        count(&|s| (400..500).contains(&s)),
        count(&|s| s >= 500),
        count(&|s| s == 0),
        if next.load(Ordering::Relaxed) >= plan.len() { "yes" } else { "no" },
    );
    Ok(())
}
