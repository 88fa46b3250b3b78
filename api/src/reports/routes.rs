//! The report form's routes (API.md Help and jobs): the form and its uploads
//! for anyone, the participant's own reports, and the office's queue.

use actix_web::{
    dev::Payload, get, post, web, FromRequest, HttpMessage, HttpRequest, HttpResponse,
};
use futures_util::future::LocalBoxFuture;
use uuid::Uuid;

use super::{
    rules::{self, AttachmentType},
    service::{self, Deps, Uploader},
    views::*,
};
use crate::{
    auth::{Admin, MaybeAuthenticated, Participant},
    contract::Operation,
    error::{ApiError, ApiResult, ErrorCode},
    http::{json::read_body, Caller, JsonBody},
    integrations::captcha,
    pagination::{Page, PageParams},
    state::AppState,
};

/// Error codes of these operations beyond those their shape implies (see `contract`).
pub const OPERATIONS: &[Operation] = {
    use ErrorCode::*;
    &[
        Operation::new("create_report", &[CaptchaFailed, CaptchaUnavailable]),
        Operation::new(
            "upload_report_attachment",
            &[ReportClosed, AttachmentsLimit],
        ),
        Operation::new("list_my_reports", &[]).participant_only(),
        Operation::new("get_my_report", &[]).participant_only(),
        Operation::new("post_my_report_message", &[ReportClosed]).participant_only(),
        Operation::new("list_reports", &[]),
        Operation::new("get_report", &[]),
        Operation::new("download_report_attachment", &[]),
        Operation::new("answer_report", &[ReportClosed]),
        Operation::new("transfer_nik", &[DocumentsIncomplete, NoNikClaim]),
    ]
};

fn deps(state: &AppState) -> Deps<'_> {
    Deps {
        clock: &state.clock,
        ip_per_minute: state.settings.rate_limit_ip_per_minute,
        pii: &state.pii,
        secrets: &state.secrets,
    }
}

/// Send a report to the programme office
///
/// The report form, for anyone: without a token (a blocked participant, or
/// one whose code never arrives, cannot log in) `contact_email` is required
/// and so is `captcha_token` when a captcha is configured (`GET
/// /v1/auth/captcha`); with a bearer token the report is tied to the account,
/// listed under `GET /v1/me/reports`, and `contact_email` defaults to the
/// account's email.
///
/// Answers the reference (`LAP-{year}-{6 digits}`, sequential per Asia/Jakarta
/// year) and an `upload_token` for `POST /v1/reports/{id}/attachments`, valid
/// 72 hours and for this report only (shown once). The office's answers are
/// announced by email (`report_reply`) to the contact address.
///
/// Limits (429 `rate_limited` with `Retry-After`): `RATE_LIMIT_IP_PER_MINUTE`
/// reports an hour per client address (300 by default), and 10 reports a day
/// per contact email. 422 `validation_failed` for a blank description, a
/// control character other than line breaks and tabs, or a missing
/// `contact_email` without a token.
#[utoipa::path(
    operation_id = "create_report",
    tag = "help",
    security((), ("bearer" = [])),
    request_body = CreateReport,
    responses((status = 201, body = ReportCreated))
)]
#[post("/reports")]
pub async fn create_report(
    auth: MaybeAuthenticated,
    state: web::Data<AppState>,
    caller: Caller,
    body: JsonBody<CreateReport>,
) -> ApiResult<HttpResponse> {
    let reporter = auth.0;
    if let (None, Some(settings)) = (reporter, &state.settings.captcha) {
        captcha::verify(&state.http, settings, body.0.captcha_token.as_deref()).await?;
    }
    let mut conn = state.db.get().await?;
    let created = service::create(
        &mut conn,
        deps(&state),
        reporter.as_ref(),
        caller.ip,
        &body.0,
    )
    .await?;
    Ok(HttpResponse::Created().json(created))
}

/// A raw attachment: JPEG, PNG or PDF by its bytes, at most 2 MiB.
pub struct AttachmentBody {
    content_type: AttachmentType,
    bytes: Vec<u8>,
}

/// The OpenAPI schema of a raw attachment body.
#[derive(utoipa::ToSchema)]
#[schema(value_type = String, format = Binary)]
pub struct AttachmentUpload(#[allow(dead_code)] Vec<u8>);

fn unsupported_attachment() -> ApiError {
    ApiError::new(ErrorCode::UnsupportedMediaType)
        .detail("Send a JPEG, PNG or PDF file (image/jpeg, image/png or application/pdf).")
}

impl FromRequest for AttachmentBody {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let declared = req.mime_type().ok().flatten();
        let acceptable = declared.as_ref().is_some_and(|m| {
            matches!(
                (m.type_().as_str(), m.subtype().as_str()),
                ("image", "jpeg" | "png") | ("application", "pdf" | "octet-stream")
            )
        });
        let req = req.clone();
        let mut payload = payload.take();
        Box::pin(async move {
            if !acceptable {
                return Err(unsupported_attachment());
            }
            let bytes = read_body(&req, &mut payload, rules::ATTACHMENT_LIMIT).await?;
            if bytes.is_empty() {
                return Err(ApiError::new(ErrorCode::InvalidRequest).detail("The file is empty."));
            }
            let content_type = rules::sniff(&bytes).ok_or_else(unsupported_attachment)?;
            Ok(AttachmentBody {
                content_type,
                bytes,
            })
        })
    }
}

/// Attach a file to a report
///
/// The raw bytes of a JPEG, PNG or PDF (at most 2 MiB; the format is read
/// from the bytes, 415 otherwise), with `kind` saying what it shows. Send
/// either the reporter's bearer token or `X-Report-Token` with the report's
/// `upload_token` (401 `unauthenticated` when it is wrong or expired, or
/// when neither is sent); another account's report is 404 `not_found`.
/// At most 10 per report (409
/// `attachments_limit`); a resolved or rejected report takes none (409
/// `report_closed`). Stored sealed; only the programme office can download
/// them. Restoring access needs the four identity documents: `ktp_photo`,
/// `kk_photo`, `selfie_with_ktp`, `selfie_with_kk`.
#[utoipa::path(
    operation_id = "upload_report_attachment",
    tag = "help",
    security(("bearer" = []), ("report_token" = [])),
    params(("id" = Uuid, Path, description = "Report id"), AttachmentQuery),
    request_body(
        description = "The raw JPEG, PNG or PDF bytes (at most 2 MiB)",
        content((AttachmentUpload = "image/jpeg"), (AttachmentUpload = "image/png"), (AttachmentUpload = "application/pdf"))
    ),
    responses((status = 201, body = AttachmentView))
)]
#[post("/reports/{id}/attachments")]
pub async fn upload_report_attachment(
    auth: MaybeAuthenticated,
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<Uuid>,
    query: web::Query<AttachmentQuery>,
    body: AttachmentBody,
) -> ApiResult<HttpResponse> {
    let token = req
        .headers()
        .get("x-report-token")
        .map(|v| v.to_str().unwrap_or_default().to_owned());
    let who = match (&auth.0, &token) {
        (Some(principal), _) => Uploader::Account(principal),
        (None, Some(token)) => Uploader::Token(token),
        (None, None) => {
            return Err(ApiError::new(ErrorCode::Unauthenticated)
                .detail("Send the reporter's bearer token or X-Report-Token."))
        }
    };
    let mut conn = state.db.get().await?;
    let view = service::attach(
        &mut conn,
        deps(&state),
        id.into_inner(),
        who,
        query.kind,
        body.content_type,
        &body.bytes,
    )
    .await?;
    Ok(HttpResponse::Created().json(view))
}

/// My reports
///
/// The reports sent with my token, newest first.
#[utoipa::path(
    operation_id = "list_my_reports",
    tag = "help",
    security(("bearer" = [])),
    params(PageParams),
    responses((status = 200, body = Page<ReportSummary>))
)]
#[get("/me/reports")]
pub async fn list_my_reports(
    who: Participant,
    state: web::Data<AppState>,
    page: web::Query<PageParams>,
) -> ApiResult<HttpResponse> {
    let page = page.parse()?;
    let mut conn = state.db.get().await?;
    let filter = AdminReportQuery {
        status: None,
        category: None,
    };
    let list = service::list(&mut conn, Some(who.0.account_id), &filter, page).await?;
    Ok(HttpResponse::Ok().json(list))
}

/// One of my reports
///
/// With its attachments (without their bytes) and the thread, oldest message
/// first. Another account's report, or an anonymous one, is 404 `not_found`.
#[utoipa::path(
    operation_id = "get_my_report",
    tag = "help",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Report id")),
    responses((status = 200, body = ReportDetail))
)]
#[get("/me/reports/{id}")]
pub async fn get_my_report(
    who: Participant,
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let mut conn = state.db.get().await?;
    let report = service::mine(&mut conn, &state.pii, who.0.account_id, id.into_inner()).await?;
    Ok(HttpResponse::Ok().json(report))
}

/// Write to the office about my report
///
/// Adds my message to the thread; a report `waiting_for_participant` goes
/// back to `in_progress`. 409 `report_closed` once resolved or rejected; 422
/// for a blank body or control characters.
#[utoipa::path(
    operation_id = "post_my_report_message",
    tag = "help",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Report id")),
    request_body = ParticipantMessage,
    responses((status = 201, body = MessagePosted))
)]
#[post("/me/reports/{id}/messages")]
pub async fn post_my_report_message(
    who: Participant,
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
    body: JsonBody<ParticipantMessage>,
) -> ApiResult<HttpResponse> {
    let mut conn = state.db.get().await?;
    let posted =
        service::participant_message(&mut conn, deps(&state), &who.0, id.into_inner(), &body.0)
            .await?;
    Ok(HttpResponse::Created().json(posted))
}

/// The report queue
///
/// Every report, newest first, filtered by `status` and `category`.
#[utoipa::path(
    operation_id = "list_reports",
    tag = "admin",
    security(("bearer" = [])),
    params(AdminReportQuery, PageParams),
    responses((status = 200, body = Page<ReportSummary>))
)]
#[get("/admin/reports")]
pub async fn list_reports(
    _admin: Admin,
    state: web::Data<AppState>,
    filter: web::Query<AdminReportQuery>,
    page: web::Query<PageParams>,
) -> ApiResult<HttpResponse> {
    let page = page.parse()?;
    let mut conn = state.db.get().await?;
    Ok(HttpResponse::Ok().json(service::list(&mut conn, None, &filter, page).await?))
}

/// One report, for the office
///
/// The report with its thread, its attachments (download each with `GET
/// /v1/admin/reports/{id}/attachments/{attachment_id}`), the reporter's
/// account, the identity documents still missing and whether `nik-transfer`
/// has a claim to act on. To unblock the account or clear its fraud flag, use
/// `POST /v1/admin/accounts/{account_id}/unblock` or `/fraud-flag` with the
/// report's reference in the reason.
#[utoipa::path(
    operation_id = "get_report",
    tag = "admin",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Report id")),
    responses((status = 200, body = AdminReportDetail))
)]
#[get("/admin/reports/{id}")]
pub async fn get_report(
    _admin: Admin,
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let mut conn = state.db.get().await?;
    Ok(HttpResponse::Ok().json(service::for_office(&mut conn, &state.pii, id.into_inner()).await?))
}

/// Download an attachment
///
/// The file's bytes with its content type, for the office only (never
/// cached).
#[utoipa::path(
    operation_id = "download_report_attachment",
    tag = "admin",
    security(("bearer" = [])),
    params(
        ("id" = Uuid, Path, description = "Report id"),
        ("attachment_id" = Uuid, Path, description = "Attachment id")
    ),
    responses((status = 200, description = "The file, with the content type its bytes were recognised as", content(
        (AttachmentUpload = "image/jpeg"), (AttachmentUpload = "image/png"),
        (AttachmentUpload = "application/pdf", example = json!("%PDF-1.7 …"))
    )))
)]
#[get("/admin/reports/{id}/attachments/{attachment_id}")]
pub async fn download_report_attachment(
    _admin: Admin,
    state: web::Data<AppState>,
    path: web::Path<(Uuid, Uuid)>,
) -> ApiResult<HttpResponse> {
    let (report_id, attachment_id) = path.into_inner();
    let mut conn = state.db.get().await?;
    let (content_type, bytes) =
        service::attachment(&mut conn, &state.pii, report_id, attachment_id).await?;
    Ok(HttpResponse::Ok()
        .content_type(content_type.as_str())
        .insert_header(("cache-control", "no-store"))
        .body(bytes))
}

/// Answer a report
///
/// Adds the office's message and optionally moves the report (`status`:
/// in_progress, waiting_for_participant, resolved or rejected; without it an
/// open report becomes `in_progress`). The contact email gets `report_reply`
/// {reference} in the same transaction. 409 `report_closed` once resolved or
/// rejected.
#[utoipa::path(
    operation_id = "answer_report",
    tag = "admin",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Report id")),
    request_body = OfficeMessage,
    responses((status = 201, body = MessagePosted))
)]
#[post("/admin/reports/{id}/messages")]
pub async fn answer_report(
    admin: Admin,
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
    body: JsonBody<OfficeMessage>,
) -> ApiResult<HttpResponse> {
    let mut conn = state.db.get().await?;
    let posted =
        service::office_message(&mut conn, deps(&state), &admin.0, id.into_inner(), &body.0)
            .await?;
    Ok(HttpResponse::Created().json(posted))
}

/// Move a NIK to its rightful owner
///
/// For a report whose account tried its NIK in `PUT /v1/me/identity` and was
/// refused with 409 `nik_registered` after the registry matched the KK and
/// date of birth (the server keeps that claim): the identity moves from the
/// account holding it to the reporter's, in one transaction. The old
/// account's sessions end and its registration starts again (a card it holds
/// stays with it); both accounts get an audit event with the report's
/// reference. 409 `documents_incomplete` unless `ktp_photo`, `kk_photo`,
/// `selfie_with_ktp` and `selfie_with_kk` are attached; 409 `no_nik_claim`
/// when the report has no account, the account has no such claim, or no
/// other account holds the NIK any more.
#[utoipa::path(
    operation_id = "transfer_nik",
    tag = "admin",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Report id")),
    request_body = NikTransferBody,
    responses((status = 200, body = NikTransferred))
)]
#[post("/admin/reports/{id}/nik-transfer")]
pub async fn transfer_nik(
    admin: Admin,
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<Uuid>,
    body: JsonBody<NikTransferBody>,
) -> ApiResult<HttpResponse> {
    let mut conn = state.db.get().await?;
    let moved = service::transfer_nik(
        &mut conn,
        deps(&state),
        &state.blind,
        &admin.0,
        &caller.origin,
        id.into_inner(),
        &body.0,
    )
    .await?;
    Ok(HttpResponse::Ok().json(moved))
}
