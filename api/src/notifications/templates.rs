//! The notification templates of INTEGRATIONS.md, each with its `data` keys and
//! its Indonesian text for email and SMS.

use serde_json::{json, Value};

use super::channel::Channel;

/// A message to a participant. The variant fixes the template name and its data.
#[derive(Debug, Clone)]
pub enum Message {
    /// Link to verify a new account's email (token valid 24 h).
    EmailVerification { token: String, link: String },
    /// Login code (valid 5 minutes).
    LoginOtp { code: String },
    /// Code confirming a new mobile number.
    PhoneOtp { code: String },
    /// Code a participant gives a partner platform to pay for one training
    /// (valid 5 minutes, bound to that card, course and platform).
    PurchaseOtp {
        code: String,
        course_title: String,
        price_idr: i64,
    },
    /// Password reset link; SMS copies carry the masked registered email.
    PasswordReset {
        token: String,
        link: String,
        masked_email: Option<String>,
    },
    /// Selection result with the card number and the first-purchase deadline.
    BeneficiarySelected {
        card_number: String,
        purchase_deadline: String,
    },
    /// The card was deactivated because no training was bought in time.
    CardDeactivated,
    /// A training was bought: the redeem code (email subject "Pembelian
    /// Pelatihan", DOMAIN.md §5).
    PurchaseConfirmed {
        redeem_code: String,
        course_title: String,
    },
    /// A purchase was cancelled and its price returned to the card.
    PurchaseCancelled { refund_idr: i64 },
    /// An incentive reached the participant's payout account.
    IncentivePaid { amount_idr: i64 },
    /// The payout account was linked or replaced (an account takeover must
    /// not redirect money unnoticed).
    PayoutAccountChanged {
        provider: String,
        masked_account: String,
    },
    /// The programme office answered a report (the answer itself is read in
    /// the app or by the reference; the email carries no personal detail).
    ReportReply { reference: String },
}

/// A rendered message, ready for the outbox.
pub struct Rendered {
    pub template: &'static str,
    pub subject: Option<String>,
    pub body: String,
    pub data: Value,
}

impl Message {
    /// The template name sent to the gateway and shown in the sandbox inbox.
    pub fn template(&self) -> &'static str {
        match self {
            Message::EmailVerification { .. } => "email_verification",
            Message::LoginOtp { .. } => "login_otp",
            Message::PhoneOtp { .. } => "phone_otp",
            Message::PurchaseOtp { .. } => "purchase_otp",
            Message::PasswordReset { .. } => "password_reset",
            Message::BeneficiarySelected { .. } => "beneficiary_selected",
            Message::CardDeactivated => "card_deactivated",
            Message::PurchaseConfirmed { .. } => "purchase_confirmed",
            Message::PurchaseCancelled { .. } => "purchase_cancelled",
            Message::IncentivePaid { .. } => "incentive_paid",
            Message::PayoutAccountChanged { .. } => "payout_account_changed",
            Message::ReportReply { .. } => "report_reply",
        }
    }

    /// The template's `data` (the keys of INTEGRATIONS.md).
    pub fn data(&self) -> Value {
        match self {
            Message::EmailVerification { token, .. } => json!({ "token": token }),
            Message::LoginOtp { code } | Message::PhoneOtp { code } => json!({ "code": code }),
            Message::PurchaseOtp {
                code,
                course_title,
                price_idr,
            } => json!({ "code": code, "course_title": course_title, "price_idr": price_idr }),
            Message::PasswordReset {
                token,
                masked_email,
                ..
            } => match masked_email {
                Some(m) => json!({ "token": token, "masked_email": m }),
                None => json!({ "token": token }),
            },
            Message::BeneficiarySelected {
                card_number,
                purchase_deadline,
            } => json!({ "card_number": card_number, "purchase_deadline": purchase_deadline }),
            Message::CardDeactivated => json!({}),
            Message::PurchaseConfirmed {
                redeem_code,
                course_title,
            } => json!({ "redeem_code": redeem_code, "course_title": course_title }),
            Message::PurchaseCancelled { refund_idr } => json!({ "refund_idr": refund_idr }),
            Message::IncentivePaid { amount_idr } => json!({ "amount_idr": amount_idr }),
            Message::PayoutAccountChanged {
                provider,
                masked_account,
            } => json!({ "provider": provider, "masked_account": masked_account }),
            Message::ReportReply { reference } => json!({ "reference": reference }),
        }
    }

    /// Subject (email only) and body text in Indonesian.
    pub fn render(&self, channel: Channel) -> Rendered {
        let (subject, body) = match self {
            Message::EmailVerification { link, .. } => (
                "Verifikasi Email Akun Prakerja",
                format!(
                    "Halo, terima kasih telah mendaftar di Kartu Prakerja. Klik tautan berikut untuk memverifikasi email kamu: {link}\nTautan berlaku 24 jam. Abaikan email ini jika kamu tidak merasa mendaftar."
                ),
            ),
            Message::LoginOtp { code } => (
                "Kode OTP Masuk Prakerja",
                format!(
                    "Kode OTP kamu: {code}. Berlaku 5 menit. JANGAN BERIKAN kode ini kepada siapa pun, termasuk pihak yang mengaku dari Prakerja."
                ),
            ),
            Message::PhoneOtp { code } => (
                "Kode Verifikasi Nomor HP",
                format!("Prakerja: kode verifikasi nomor HP kamu {code}. Berlaku 5 menit. JANGAN BERIKAN kode ini kepada siapa pun."),
            ),
            // A purchase code must never read like a login code: it names what it
            // pays for, and nothing in it says to log in.
            Message::PurchaseOtp {
                code,
                course_title,
                price_idr,
            } => (
                "Kode OTP Pembelian Pelatihan Prakerja",
                format!(
                    "Kode OTP pembelian pelatihan \"{course_title}\" seharga {}: {code}. Berlaku 5 menit. Berikan kode ini hanya untuk membayar pelatihan tersebut. JANGAN BERIKAN kepada siapa pun yang menghubungi kamu."
                , rupiah(*price_idr)),
            ),
            Message::PasswordReset { link, masked_email, .. } => (
                "Atur Ulang Kata Sandi Prakerja",
                match (channel, masked_email) {
                    (Channel::Sms, Some(m)) => format!(
                        "Prakerja: tautan atur ulang kata sandi telah dikirim ke email {m}. Tautan: {link} (berlaku 1 jam)."
                    ),
                    _ => format!(
                        "Kami menerima permintaan atur ulang kata sandi akun Prakerja kamu. Klik tautan berikut (berlaku 1 jam): {link}\nAbaikan pesan ini jika kamu tidak memintanya."
                    ),
                },
            ),
            Message::BeneficiarySelected {
                card_number,
                purchase_deadline,
            } => (
                "Selamat! Kamu Penerima Kartu Prakerja",
                format!(
                    "Selamat, kamu lolos seleksi dan menjadi penerima Kartu Prakerja. Nomor Kartu Prakerja kamu: {card_number}. Segera beli pelatihan pertama paling lambat {purchase_deadline}; jika tidak, kepesertaan kamu dicabut."
                ),
            ),
            Message::CardDeactivated => (
                "Kepesertaan Kartu Prakerja Dicabut",
                "Kepesertaan Kartu Prakerja kamu dicabut karena tidak membeli pelatihan pertama dalam 15 hari sejak pengumuman. Saldo pelatihan dikembalikan ke Rekening Kas Umum Negara.".to_owned(),
            ),
            Message::PurchaseConfirmed {
                redeem_code,
                course_title,
            } => (
                "Pembelian Pelatihan",
                format!(
                    "Pembelian pelatihan \"{course_title}\" berhasil. Kode redeem kamu: {redeem_code}. Masukkan kode ini di situs lembaga pelatihan untuk memulai pelatihan; kode hanya dapat dipakai sekali. Kode juga tersedia di menu Pelatihan Saya."
                ),
            ),
            Message::PurchaseCancelled { refund_idr } => (
                "Pembatalan Pelatihan",
                format!(
                    "Pembelian pelatihan kamu telah dibatalkan. Saldo pelatihan {} dikembalikan ke Kartu Prakerja kamu; riwayatnya ada di Riwayat Transaksi. Segera beli pelatihan lain.",
                    rupiah(*refund_idr)
                ),
            ),
            Message::IncentivePaid { amount_idr } => (
                "Insentif Prakerja Telah Dibayarkan",
                format!(
                    "Insentif Kartu Prakerja sebesar {} telah dikirim ke rekening atau e-wallet kamu. Rinciannya ada di menu Insentif.",
                    rupiah(*amount_idr)
                ),
            ),
            Message::PayoutAccountChanged {
                provider,
                masked_account,
            } => (
                "Rekening Penerima Insentif Diubah",
                format!(
                    "Rekening penerima insentif Prakerja kamu diubah menjadi {} {masked_account}. Jika kamu tidak melakukannya, segera ganti kata sandi dan hubungi Prakerja melalui formulir pengaduan.",
                    provider.to_uppercase()
                ),
            ),
            Message::ReportReply { reference } => (
                "Tanggapan Laporan Prakerja",
                format!(
                    "Laporan kamu {reference} mendapat tanggapan dari Manajemen Pelaksana Prakerja. Baca tanggapannya di menu Laporan pada aplikasi atau situs Prakerja."
                ),
            ),
        };
        Rendered {
            template: self.template(),
            subject: (channel == Channel::Email).then(|| subject.to_owned()),
            body,
            data: self.data(),
        }
    }
}

/// Rupiah as Indonesians write it: `Rp1.000.000`.
pub fn rupiah(amount: i64) -> String {
    let digits = amount.unsigned_abs().to_string();
    let mut grouped = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, d) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            grouped.push('.');
        }
        grouped.push(d);
    }
    let sign = if amount < 0 { "-" } else { "" };
    format!("{sign}Rp{grouped}")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every template in both channels, pinned: a change of wording or data
    /// shows in review.
    #[test]
    fn every_template_renders_as_pinned() {
        let messages = [
            Message::EmailVerification {
                token: "TOKEN".into(),
                link: "https://www.prakerja.go.id/verifikasi-email?token=TOKEN".into(),
            },
            Message::LoginOtp {
                code: "123456".into(),
            },
            Message::PhoneOtp {
                code: "654321".into(),
            },
            Message::PurchaseOtp {
                code: "246810".into(),
                course_title: "Menjahit untuk Pemula".into(),
                price_idr: 750_000,
            },
            Message::PasswordReset {
                token: "TOKEN".into(),
                link: "https://www.prakerja.go.id/atur-ulang-kata-sandi?token=TOKEN".into(),
                masked_email: Some("b***@example.com".into()),
            },
            Message::BeneficiarySelected {
                card_number: "5213459876543217".into(),
                purchase_deadline: "2026-07-19".into(),
            },
            Message::CardDeactivated,
            Message::PurchaseConfirmed {
                redeem_code: "7K3M9PQ2XW4T".into(),
                course_title: "Menjahit untuk Pemula".into(),
            },
            Message::PurchaseCancelled {
                refund_idr: 750_000,
            },
            Message::IncentivePaid {
                amount_idr: 600_000,
            },
            Message::PayoutAccountChanged {
                provider: "gopay".into(),
                masked_account: "********7890".into(),
            },
            Message::ReportReply {
                reference: "LAP-2026-000123".into(),
            },
        ];
        let mut out = String::new();
        for message in &messages {
            for channel in [Channel::Email, Channel::Sms] {
                let r = message.render(channel);
                out.push_str(&format!(
                    "## {} / {:?}\nsubject: {}\nbody: {}\ndata: {}\n\n",
                    r.template,
                    channel,
                    r.subject.as_deref().unwrap_or("-"),
                    r.body,
                    r.data
                ));
            }
        }
        insta::assert_snapshot!("templates", out);
    }

    #[test]
    fn login_otp_carries_the_code_in_data_and_text() {
        let r = Message::LoginOtp {
            code: "123456".into(),
        }
        .render(Channel::Email);
        assert_eq!(r.template, "login_otp");
        assert_eq!(r.data, json!({"code": "123456"}));
        assert!(r.body.contains("123456"));
        assert_eq!(r.subject.as_deref(), Some("Kode OTP Masuk Prakerja"));
    }

    #[test]
    fn rupiah_groups_thousands_with_dots() {
        assert_eq!(rupiah(0), "Rp0");
        assert_eq!(rupiah(999), "Rp999");
        assert_eq!(rupiah(1_000), "Rp1.000");
        assert_eq!(rupiah(1_000_000), "Rp1.000.000");
        assert_eq!(rupiah(-50_000), "-Rp50.000");
    }

    #[test]
    fn purchase_otp_names_the_course_and_never_says_log_in() {
        let m = Message::PurchaseOtp {
            code: "246810".into(),
            course_title: "Menjahit".into(),
            price_idr: 750_000,
        };
        for channel in [Channel::Email, Channel::Sms] {
            let r = m.render(channel);
            assert_eq!(r.template, "purchase_otp");
            assert_eq!(
                r.data,
                json!({"code": "246810", "course_title": "Menjahit", "price_idr": 750000})
            );
            assert!(r.body.contains("Menjahit") && r.body.contains("Rp750.000"));
            assert!(!r.body.to_lowercase().contains("masuk"), "{}", r.body);
        }
    }

    #[test]
    fn sms_has_no_subject_and_reset_sms_names_the_masked_email() {
        let r = Message::PasswordReset {
            token: "t".into(),
            link: "https://x/reset?token=t".into(),
            masked_email: Some("b***@example.com".into()),
        }
        .render(Channel::Sms);
        assert!(r.subject.is_none());
        assert!(r.body.contains("b***@example.com"));
        assert_eq!(
            r.data,
            json!({"token": "t", "masked_email": "b***@example.com"})
        );
    }
}
