//! Outside services, one module each: an HTTP adapter speaking INTEGRATIONS.md and,
//! where the URL is unset in sandbox, a simulated adapter for app developers.
//! Every call has a timeout; a failing provider is a [`ProviderError`], which each
//! adapter's caller answers as a 503 with that service's own code.

pub mod captcha;
pub mod face;
pub mod notify;
pub mod payout;
pub mod provider;
pub mod registry;
mod retry;

pub use provider::ProviderError;

use std::time::Duration;

/// The HTTP client every adapter shares (connection pooling, rustls, timeouts).
pub fn http_client(timeout: Duration) -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(timeout.min(Duration::from_secs(3)))
        .user_agent(concat!("prakerja-api/", env!("CARGO_PKG_VERSION")))
        .build()
        .expect("the HTTP client configuration is static and valid")
}
