//! Captcha (INTEGRATIONS.md): the siteverify shape shared by hCaptcha, reCAPTCHA
//! and Turnstile, form-encoded `secret` and `response`, answered `{"success": bool}`.
//! Unset (always in sandbox): no captcha is asked.

use secrecy::ExposeSecret;
use serde::Deserialize;

use crate::{
    config::CaptchaSettings,
    error::{ApiError, ErrorCode},
};

#[derive(Deserialize)]
struct SiteVerify {
    success: bool,
}

/// Checks a captcha token. `Err(captcha_failed)` for a missing or refused token,
/// `Err(captcha_unavailable)` when the provider cannot be reached.
pub async fn verify(
    client: &reqwest::Client,
    settings: &CaptchaSettings,
    token: Option<&str>,
) -> Result<(), ApiError> {
    let Some(token) = token.filter(|t| !t.is_empty()) else {
        return Err(ApiError::new(ErrorCode::CaptchaFailed).detail("A captcha token is required."));
    };
    let response = client
        .post(settings.verify_url.clone())
        .form(&[
            ("secret", settings.secret.expose_secret()),
            ("response", token),
        ])
        .send()
        .await
        .map_err(|e| {
            ApiError::unavailable(
                ErrorCode::CaptchaUnavailable,
                anyhow::anyhow!("captcha: {}", e.without_url()),
            )
        })?;
    if !response.status().is_success() {
        return Err(ApiError::unavailable(
            ErrorCode::CaptchaUnavailable,
            anyhow::anyhow!("captcha answered {}", response.status()),
        ));
    }
    let body: SiteVerify = response.json().await.map_err(|e| {
        ApiError::unavailable(
            ErrorCode::CaptchaUnavailable,
            anyhow::anyhow!("captcha body: {e}"),
        )
    })?;
    if body.success {
        Ok(())
    } else {
        Err(ApiError::new(ErrorCode::CaptchaFailed))
    }
}
