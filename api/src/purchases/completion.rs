//! Finishing a training (DOMAIN.md §7): the institution reports completion
//! with the certificate through its platform; the participant reviews it once,
//! which closes the training and opens the 15 days for the next purchase.

use chrono::{DateTime, Utc};
use diesel_async::AsyncPgConnection;
use uuid::Uuid;

use super::{
    model::{self, Completion, Purchase},
    rules::{self, CompletedAtRefusal, PurchaseStatus},
    views::CompletionRequest,
};
use crate::error::{ApiError, ErrorCode};

fn refused(status: PurchaseStatus) -> ApiError {
    match status {
        PurchaseStatus::Completed => ApiError::new(ErrorCode::AlreadyCompleted)
            .detail("The completion of this training was already reported."),
        _ => ApiError::new(ErrorCode::NotRedeemed)
            .detail("Only a redeemed training can be completed."),
    }
}

/// Whether `url` is an absolute https URL with a host.
pub fn https_url(url: &str) -> bool {
    url::Url::parse(url)
        .is_ok_and(|u| u.scheme() == "https" && u.host_str().is_some_and(|h| !h.is_empty()))
}

/// `POST /v1/partner/purchases/{id}/completion`: only the platform's own,
/// only once redeemed.
pub async fn complete(
    conn: &mut AsyncPgConnection,
    now: DateTime<Utc>,
    partner_id: Uuid,
    purchase_id: Uuid,
    request: &CompletionRequest,
) -> Result<Purchase, ApiError> {
    if !https_url(&request.certificate_url) {
        return Err(ApiError::field("certificate_url", "must be an https URL"));
    }
    let p = model::find(conn, purchase_id)
        .await?
        .filter(|p| p.partner_id == partner_id)
        .ok_or_else(super::cancellation::not_found)?;
    let Some(redeemed_at) = p
        .redeemed_at
        .filter(|_| p.status == PurchaseStatus::Redeemed)
    else {
        return Err(refused(p.status));
    };
    rules::check_completed_at(request.completed_at, redeemed_at, now).map_err(|e| {
        ApiError::field(
            "completed_at",
            match e {
                CompletedAtRefusal::BeforeRedemption => "must not be before the redemption",
                CompletedAtRefusal::InTheFuture => "must not be in the future",
            },
        )
    })?;
    let completion = Completion {
        completed_at: request.completed_at,
        certificate_url: &request.certificate_url,
        post_test_score: request.post_test_score,
    };
    match model::complete(conn, p.id, &completion, now).await? {
        Some(done) => Ok(done),
        None => {
            let current = model::find(conn, p.id)
                .await?
                .ok_or_else(super::cancellation::not_found)?;
            Err(refused(current.status))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn certificates_are_https_urls() {
        assert!(https_url("https://lms.example/cert/1"));
        for bad in [
            "http://lms.example/cert",
            "https://",
            "javascript:alert(1)",
            "ftp://x/y",
            "lms.example",
        ] {
            assert!(!https_url(bad), "{bad}");
        }
    }
}
