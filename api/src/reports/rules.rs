//! The report form's rules (DOMAIN.md §10, API.md Help and jobs) as plain
//! functions: vocabularies, references, the thread's state machine, what an
//! attachment may be, and when a report's documents are complete.

use chrono::TimeDelta;

use crate::{db::text_enum, error::ErrorCode};

text_enum! {
    /// What the report is about (API.md: Report `category`).
    pub enum Category {
        AccountBlocked => "account_blocked",
        VerificationFailed => "verification_failed",
        NikRegisteredBySomeoneElse => "nik_registered_by_someone_else",
        OtpNotReceived => "otp_not_received",
        VerificationEmailNotReceived => "verification_email_not_received",
        Purchase => "purchase",
        Redemption => "redemption",
        Certificate => "certificate",
        Incentive => "incentive",
        Other => "other",
    }
}

text_enum! {
    /// Where a report stands (API.md: Report `status`); resolved and rejected
    /// reports are closed.
    pub enum ReportStatus {
        Open => "open",
        InProgress => "in_progress",
        WaitingForParticipant => "waiting_for_participant",
        Resolved => "resolved",
        Rejected => "rejected",
    }
}

text_enum! {
    /// Who wrote a message of the thread.
    pub enum Author {
        Participant => "participant",
        Pmo => "pmo",
    }
}

text_enum! {
    /// What an attachment shows (query `kind` of the upload).
    pub enum AttachmentKind {
        KtpPhoto => "ktp_photo",
        KkPhoto => "kk_photo",
        SelfieWithKtp => "selfie_with_ktp",
        SelfieWithKk => "selfie_with_kk",
        Screenshot => "screenshot",
        Other => "other",
    }
}

text_enum! {
    /// The formats an attachment may have, recognised by its bytes.
    pub enum AttachmentType {
        Jpeg => "image/jpeg",
        Png => "image/png",
        Pdf => "application/pdf",
    }
}

/// At most this many attachments per report (409 `attachments_limit`).
pub const MAX_ATTACHMENTS: i64 = 10;
/// Largest attachment, bytes (413).
pub const ATTACHMENT_LIMIT: usize = 2 * 1024 * 1024;
/// Longest description or message, characters.
pub const MAX_TEXT_CHARS: u64 = 4000;
/// How long the upload token of a new report works.
pub const UPLOAD_TOKEN_TTL: TimeDelta = TimeDelta::hours(72);
/// Attachments (identity documents) are deleted this long after the report
/// closes: long enough for an appeal, no longer than the office needs them.
pub const ATTACHMENT_RETENTION: TimeDelta = TimeDelta::days(90);

/// The documents an access-restoring action needs (DOMAIN.md §10).
pub const IDENTITY_DOCUMENTS: [AttachmentKind; 4] = [
    AttachmentKind::KtpPhoto,
    AttachmentKind::KkPhoto,
    AttachmentKind::SelfieWithKtp,
    AttachmentKind::SelfieWithKk,
];

impl ReportStatus {
    /// Resolved and rejected reports take no more messages or attachments.
    pub const fn is_closed(self) -> bool {
        matches!(self, ReportStatus::Resolved | ReportStatus::Rejected)
    }
}

/// `LAP-{year}-{6 digits}`.
pub fn reference(year: i32, number: i32) -> String {
    format!("LAP-{year}-{number:06}")
}

/// The status after a programme-office answer. A closed report takes none;
/// `open` cannot be set (a report is open only until someone handles it); an
/// answer without a status moves an open report to `in_progress` and leaves
/// any other status as it is.
pub fn after_office_message(
    current: ReportStatus,
    requested: Option<ReportStatus>,
) -> Result<ReportStatus, ErrorCode> {
    if current.is_closed() {
        return Err(ErrorCode::ReportClosed);
    }
    match requested {
        Some(ReportStatus::Open) => Err(ErrorCode::ValidationFailed),
        Some(status) => Ok(status),
        None if current == ReportStatus::Open => Ok(ReportStatus::InProgress),
        None => Ok(current),
    }
}

/// The status after the participant writes: a report waiting for them goes
/// back to the office (`in_progress`); a closed one takes nothing.
pub fn after_participant_message(current: ReportStatus) -> Result<ReportStatus, ErrorCode> {
    match current {
        s if s.is_closed() => Err(ErrorCode::ReportClosed),
        ReportStatus::WaitingForParticipant => Ok(ReportStatus::InProgress),
        s => Ok(s),
    }
}

/// Recognises JPEG, PNG and PDF by their first bytes, whatever the client
/// claims.
pub fn sniff(bytes: &[u8]) -> Option<AttachmentType> {
    match crate::http::sniff_image(bytes) {
        Some(crate::http::ImageKind::Jpeg) => Some(AttachmentType::Jpeg),
        Some(crate::http::ImageKind::Png) => Some(AttachmentType::Png),
        None if bytes.starts_with(b"%PDF-") => Some(AttachmentType::Pdf),
        None => None,
    }
}

/// The identity documents not yet attached, in the order of
/// [`IDENTITY_DOCUMENTS`].
pub fn missing_documents(attached: &[AttachmentKind]) -> Vec<AttachmentKind> {
    IDENTITY_DOCUMENTS
        .into_iter()
        .filter(|kind| !attached.contains(kind))
        .collect()
}

/// A description or message: not blank, at most [`MAX_TEXT_CHARS`], and no
/// control character except line breaks and tabs (what a text box sends).
pub fn check_text(text: &str) -> Result<(), &'static str> {
    if text.trim().is_empty() {
        return Err("must not be blank");
    }
    if text.chars().count() as u64 > MAX_TEXT_CHARS {
        return Err("is too long (at most 4000 characters)");
    }
    if text
        .chars()
        .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
    {
        return Err("must not contain control characters");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::{ReportStatus::*, *};

    #[test]
    fn references_are_zero_padded_per_year() {
        assert_eq!(reference(2026, 123), "LAP-2026-000123");
        assert_eq!(reference(2027, 1), "LAP-2027-000001");
        assert_eq!(reference(2026, 999_999), "LAP-2026-999999");
    }

    #[test]
    fn office_answers_move_the_report() {
        let cases = [
            (Open, None, Ok(InProgress)),
            (Open, Some(WaitingForParticipant), Ok(WaitingForParticipant)),
            (InProgress, None, Ok(InProgress)),
            (WaitingForParticipant, None, Ok(WaitingForParticipant)),
            (InProgress, Some(Resolved), Ok(Resolved)),
            (Open, Some(Rejected), Ok(Rejected)),
            (InProgress, Some(Open), Err(ErrorCode::ValidationFailed)),
            (Resolved, None, Err(ErrorCode::ReportClosed)),
            (Rejected, Some(InProgress), Err(ErrorCode::ReportClosed)),
        ];
        for (current, requested, expected) in cases {
            assert_eq!(
                after_office_message(current, requested),
                expected,
                "{current:?} {requested:?}"
            );
        }
    }

    #[test]
    fn a_participant_reply_hands_the_report_back() {
        assert_eq!(after_participant_message(Open), Ok(Open));
        assert_eq!(after_participant_message(InProgress), Ok(InProgress));
        assert_eq!(
            after_participant_message(WaitingForParticipant),
            Ok(InProgress)
        );
        assert_eq!(
            after_participant_message(Resolved),
            Err(ErrorCode::ReportClosed)
        );
        assert_eq!(
            after_participant_message(Rejected),
            Err(ErrorCode::ReportClosed)
        );
    }

    #[test]
    fn attachments_are_recognised_by_their_bytes() {
        assert_eq!(
            sniff(&[0xFF, 0xD8, 0xFF, 0xE0, 0]),
            Some(AttachmentType::Jpeg)
        );
        assert_eq!(sniff(b"\x89PNG\r\n\x1a\n...."), Some(AttachmentType::Png));
        assert_eq!(sniff(b"%PDF-1.7\n..."), Some(AttachmentType::Pdf));
        assert_eq!(sniff(b"GIF89a"), None);
        assert_eq!(sniff(b"<html>%PDF-"), None);
        assert_eq!(sniff(b""), None);
    }

    #[test]
    fn documents_are_complete_with_the_four_identity_kinds() {
        use AttachmentKind::*;
        assert_eq!(missing_documents(&[]), IDENTITY_DOCUMENTS.to_vec());
        assert_eq!(
            missing_documents(&[KtpPhoto, Screenshot, SelfieWithKk, KtpPhoto]),
            vec![KkPhoto, SelfieWithKtp]
        );
        assert!(missing_documents(&[SelfieWithKk, SelfieWithKtp, KkPhoto, KtpPhoto]).is_empty());
    }

    #[test]
    fn text_is_checked_for_blanks_length_and_control_characters() {
        assert!(check_text("Akun saya diblokir.\nMohon bantuannya.\t").is_ok());
        assert_eq!(check_text("   \n"), Err("must not be blank"));
        assert!(check_text(&"a".repeat(4000)).is_ok());
        assert!(check_text(&"é".repeat(4001)).is_err());
        assert_eq!(
            check_text("bel\u{7}"),
            Err("must not contain control characters")
        );
        assert!(check_text("esc\u{1b}[31m").is_err());
    }
}
