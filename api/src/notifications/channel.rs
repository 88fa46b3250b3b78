//! Delivery channels and how a recipient is shown to someone who must not learn
//! it in full (the masked destination of a code, the email named in a reset SMS).

use crate::db::text_enum;

text_enum! {
    /// Delivery channel.
    pub enum Channel {
        Email => "email",
        Sms => "sms",
    }
}

impl Channel {
    /// The recipient masked for display: `b***@example.com`, `+62812****7890`.
    pub fn mask(self, recipient: &str) -> String {
        match self {
            Channel::Email => mask_email(recipient),
            Channel::Sms => mask_phone(recipient),
        }
    }
}

/// Masks the local part of an address, keeping its first character.
pub fn mask_email(email: &str) -> String {
    match email.split_once('@') {
        Some((local, domain)) => {
            let first: String = local.chars().take(1).collect();
            format!("{first}***@{domain}")
        }
        None => "***".to_owned(),
    }
}

/// `+62812****7890`: enough for the owner to recognise, useless to anyone else.
pub fn mask_phone(phone: &str) -> String {
    let n = phone.chars().count();
    if n <= 8 {
        return "****".to_owned();
    }
    let head: String = phone.chars().take(6).collect();
    let tail: String = phone.chars().skip(n - 4).collect();
    format!("{head}****{tail}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_keep_just_enough_to_recognise() {
        assert_eq!(mask_email("budi@example.com"), "b***@example.com");
        assert_eq!(mask_phone("+6281234567890"), "+62812****7890");
        assert_eq!(Channel::Sms.mask("+6281234567890"), "+62812****7890");
        assert_eq!(Channel::Email.mask("x"), "***");
    }
}
