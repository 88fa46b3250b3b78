//! Small steps of bench/run.sh: an access token through the real login, raw
//! argon2id throughput, idle keep-alive connections, and reading oha's output.

use std::{
    collections::BTreeMap,
    io::Write,
    time::{Duration, Instant},
};

use anyhow::Context;
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Logs in through the API (both steps, the code read from the sandbox
/// inbox) and prints the access token.
pub async fn token(base: &str, email: &str, password: &str) -> anyhow::Result<()> {
    let http = reqwest::Client::new();
    let challenge: Value = http
        .post(format!("{base}/v1/auth/login"))
        .json(&json!({ "email": email, "password": password }))
        .send()
        .await?
        .error_for_status()
        .context("login step 1")?
        .json()
        .await?;
    let challenge_id = challenge["challenge_id"]
        .as_str()
        .context("no challenge_id")?;
    let inbox: Value = http
        .get(format!("{base}/v1/sandbox/notifications"))
        .query(&[("recipient", email)])
        .send()
        .await?
        .error_for_status()
        .context("sandbox inbox")?
        .json()
        .await?;
    let code = inbox["data"]
        .as_array()
        .and_then(|list| {
            list.iter()
                .find(|n| n["template"] == "login_otp")
                .and_then(|n| n["data"]["code"].as_str())
        })
        .context("no login code in the sandbox inbox")?;
    let tokens: Value = http
        .post(format!("{base}/v1/auth/login/verify"))
        .json(&json!({ "challenge_id": challenge_id, "code": code }))
        .send()
        .await?
        .error_for_status()
        .context("login step 2")?
        .json()
        .await?;
    println!(
        "{}",
        tokens["access_token"].as_str().context("no access_token")?
    );
    Ok(())
}

/// Verifies one PHC hash made by the application on `threads` threads for
/// `seconds`, with the argon2 crate the application links (so the same code
/// and parameters), and prints verifications per second.
pub fn argon2(threads: usize, seconds: f64) -> anyhow::Result<()> {
    use argon2::{password_hash::PasswordHash, Argon2, PasswordVerifier};
    let stored = prakerja_api::secrets::passwords::hash_blocking("bench password 1")
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let deadline = Instant::now() + Duration::from_secs_f64(seconds);
    let started = Instant::now();
    let counts: Vec<u64> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads.max(1))
            .map(|_| {
                s.spawn(|| {
                    let parsed = PasswordHash::new(&stored).expect("the application's hash parses");
                    let mut n = 0u64;
                    while Instant::now() < deadline {
                        // Argon2::default() takes the parameters from the hash.
                        let ok = Argon2::default()
                            .verify_password(b"bench password 1", &parsed)
                            .is_ok();
                        assert!(ok);
                        n += 1;
                    }
                    n
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap_or(0)).collect()
    });
    let total: u64 = counts.iter().sum();
    println!("{:.1}", total as f64 / started.elapsed().as_secs_f64());
    Ok(())
}

/// Resident memory of process `pid`, in MiB.
pub fn rss_mib(pid: u32) -> anyhow::Result<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let kib: f64 = status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .context("no VmRSS")?
        .parse()?;
    Ok(kib / 1024.0)
}

/// Opens `n` keep-alive connections to `addr`, makes one request on each (so
/// each is an idle keep-alive connection the server has served), then prints
/// the server's resident memory while they are all open.
pub async fn idle(addr: &str, n: usize, pid: u32) -> anyhow::Result<()> {
    let mut conns = Vec::with_capacity(n);
    for _ in 0..n {
        let mut s = tokio::net::TcpStream::connect(addr).await?;
        s.write_all(b"GET /health HTTP/1.1\r\nHost: bench\r\nConnection: keep-alive\r\n\r\n")
            .await?;
        conns.push(s);
    }
    // Read every response (the connections stay open).
    for s in &mut conns {
        let mut buf = [0u8; 4096];
        let got = tokio::time::timeout(Duration::from_secs(10), s.read(&mut buf)).await??;
        anyhow::ensure!(
            got > 0 && buf.starts_with(b"HTTP/1.1 200"),
            "a /health request failed"
        );
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let rss = rss_mib(pid)?;
    // Still open: the server may close idle ones after its keep-alive time.
    let mut open = 0;
    for s in &conns {
        let mut buf = [0u8; 1];
        if matches!(s.try_read(&mut buf), Err(e) if e.kind() == std::io::ErrorKind::WouldBlock) {
            open += 1;
        }
    }
    anyhow::ensure!(open == n, "only {open} of {n} connections stayed open");
    println!("{rss:.1}");
    Ok(())
}

/// One oha run's figures, from its JSON output, printed as `key=value` words
/// for the shell: rps (all answers), ok_rps (2xx), p50_ms, p99_ms, max_ms,
/// and counts per class (n, n2xx, n429, n5xx, nerr, ncut). `ncut` counts the
/// requests still in flight when oha's `-z` duration ran out, which oha
/// aborts ("aborted due to deadline"): the load generator's cut, not an
/// answer of the server, so `nerr` leaves them out.
pub fn oha_summary(path: &str) -> anyhow::Result<()> {
    let v: Value = serde_json::from_str(&std::fs::read_to_string(path)?)?;
    let secs = v["summary"]["total"].as_f64().unwrap_or(0.0);
    let ms = |p: &str| v["latencyPercentiles"][p].as_f64().unwrap_or(f64::NAN) * 1000.0;
    let mut by_status: BTreeMap<u16, u64> = BTreeMap::new();
    if let Some(map) = v["statusCodeDistribution"].as_object() {
        for (code, n) in map {
            by_status.insert(code.parse()?, n.as_u64().unwrap_or(0));
        }
    }
    let (mut errors, mut cut) = (0u64, 0u64);
    for (error, n) in v["errorDistribution"].as_object().into_iter().flatten() {
        let n = n.as_u64().unwrap_or(0);
        if error == "aborted due to deadline" {
            cut += n;
        } else {
            errors += n;
        }
    }
    let count = |f: &dyn Fn(u16) -> bool| -> u64 {
        by_status
            .iter()
            .filter(|(c, _)| f(**c))
            .map(|(_, n)| n)
            .sum()
    };
    let n = count(&|_| true);
    let ok = count(&|c| (200..300).contains(&c));
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "rps={:.1} ok_rps={:.1} p50_ms={:.2} p99_ms={:.2} max_ms={:.1} n={n} n2xx={ok} n429={} n5xx={} nerr={errors} ncut={cut}",
        n as f64 / secs.max(1e-9),
        ok as f64 / secs.max(1e-9),
        ms("p50"),
        ms("p99"),
        v["summary"]["slowest"].as_f64().unwrap_or(f64::NAN) * 1000.0,
        count(&|c| c == 429),
        count(&|c| c >= 500),
    )?;
    Ok(())
}
