//! The mobile number (DOMAIN.md §1): verified by a code sent by SMS to it. A
//! verified number may be replaced only by a beneficiary of the current year
//! with no payout account linked; the rule is checked again when the code comes
//! back, since the situation may have changed meanwhile.

use diesel_async::{AsyncConnection, AsyncPgConnection};

use super::{
    model,
    rules::{self},
    views::{PhoneChallenge, PhoneVerified},
    Deps,
};
use crate::{
    audit::{self, Action, Event},
    auth::Principal,
    card,
    error::{ApiError, ErrorCode},
    http::Caller,
    notifications::Channel,
    otp::{self, CodeMessage, Guess, Purpose, Scope, Verdict},
};

/// The rule of DOMAIN.md §1 for this account, read fresh.
async fn change_allowed(
    conn: &mut AsyncPgConnection,
    deps: Deps<'_>,
    account: &model::Account,
) -> Result<Result<(), rules::PhoneChangeRefused>, ApiError> {
    let today = deps.clock.today_jakarta();
    let beneficiary = card::service::beneficiary_in_year_of(conn, account.id, today).await?;
    let payout_linked = crate::incentives::payout::is_linked(conn, account.id).await?;
    Ok(rules::phone_change_allowed(
        account.has_verified_phone(),
        beneficiary,
        payout_linked,
    ))
}

/// Starts verifying a (new) phone number: an SMS code to that number.
pub async fn start_phone_change(
    conn: &mut AsyncPgConnection,
    deps: Deps<'_>,
    who: &Principal,
    phone: &str,
) -> Result<PhoneChallenge, ApiError> {
    let phone = rules::parse_phone(phone).map_err(|m| ApiError::field("phone", m))?;
    let now = deps.clock.now();
    let account = model::find(conn, who.account_id)
        .await?
        .ok_or_else(|| ApiError::new(ErrorCode::SessionEnded))?;
    change_allowed(conn, deps, &account).await??;
    let issued = otp::issue(
        conn,
        deps.secrets,
        deps.pii,
        now,
        otp::Issue {
            account_id: account.id,
            scope: Scope::Account(account.id),
            message: CodeMessage::Phone,
            deliveries: &[(Channel::Sms, &phone)],
            context: None,
        },
    )
    .await?;
    Ok(issued.into())
}

/// Confirms the SMS code; the number becomes the account's verified phone.
pub async fn verify_phone(
    conn: &mut AsyncPgConnection,
    deps: Deps<'_>,
    caller: &Caller,
    who: &Principal,
    challenge_id: uuid::Uuid,
    code: &str,
) -> Result<PhoneVerified, ApiError> {
    let now = deps.clock.now();
    let outcome = conn
        .transaction::<_, ApiError, _>(async |conn| {
            let guess = Guess {
                challenge_id,
                purpose: Purpose::Phone,
                account: Some(who.account_id),
                scope_key: None,
                code,
            };
            match otp::verify(conn, deps.secrets, &caller.origin, now, guess).await? {
                Verdict::Refused(error) => Ok(Err(error)),
                Verdict::Accepted(challenge) => {
                    let account = model::find_for_update(conn, who.account_id).await?;
                    if let Err(refused) = change_allowed(conn, deps, &account).await? {
                        return Ok(Err(refused.into()));
                    }
                    let number = &challenge.open_destination(deps.pii)?;
                    let sealed = deps.pii.encrypt_str(number, &model::phone_aad(account.id));
                    let index = deps.blind.compute("phone", number);
                    model::set_verified_phone(conn, account.id, &sealed, &index, now).await?;
                    audit::record(
                        conn,
                        now,
                        &caller.origin,
                        Event::own(account.id, Action::PhoneChanged),
                    )
                    .await?;
                    Ok(Ok(number.clone()))
                }
            }
        })
        .await?;
    Ok(PhoneVerified {
        phone: outcome?,
        phone_verified: true,
    })
}
