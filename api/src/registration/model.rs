//! Registration rows. Identity fields are sealed with the PII cipher, each bound
//! (as associated data) to its table, column and account, so a ciphertext copied
//! to another row or column does not decrypt.

use chrono::{DateTime, NaiveDate, Utc};
use diesel::{dsl::exists, prelude::*, select, upsert::excluded};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::{
    crypto::{BlindIndex, PiiCipher},
    db::{
        schema::{
            accounts, aptitude_submissions, cards, face_enrollments, identities, ktp_photos,
            nik_claims, profiles, questionnaires, statements,
        },
        Reader,
    },
    error::ApiError,
    identity::{Gender, KkNumber, Nik},
    integrations::registry::RegistryRecord,
};

/// Associated data binding a sealed value to where it is stored.
pub fn aad(table: &str, column: &str, account: Uuid) -> Vec<u8> {
    format!("{table}.{column}:{account}").into_bytes()
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = identities)]
struct IdentityRow {
    account_id: Uuid,
    kk_index: Vec<u8>,
    nik_ciphertext: Vec<u8>,
    kk_ciphertext: Vec<u8>,
    birth_date_ciphertext: Vec<u8>,
    full_name_ciphertext: Vec<u8>,
    birth_place_ciphertext: Vec<u8>,
    address_ciphertext: Vec<u8>,
    gender: Gender,
    province_code: String,
    regency_code: String,
}

/// A verified identity, decrypted.
#[derive(Clone)]
pub struct Identity {
    pub nik: Nik,
    pub kk: KkNumber,
    pub kk_index: Vec<u8>,
    pub birth_date: NaiveDate,
    pub full_name: String,
    pub birth_place: String,
    pub address: String,
    pub gender: Gender,
    pub province_code: String,
    pub regency_code: String,
}

fn open(pii: &PiiCipher, blob: &[u8], column: &str, account: Uuid) -> Result<String, ApiError> {
    pii.decrypt_string(blob, &aad("identities", column, account))
        .map_err(|e| ApiError::internal(anyhow::anyhow!("identities.{column} of {account}: {e}")))
}

/// The account's identity, if verified.
pub async fn load_identity(
    conn: &mut impl Reader,
    pii: &PiiCipher,
    account: Uuid,
) -> Result<Option<Identity>, ApiError> {
    let row: Option<IdentityRow> = identities::table
        .find(account)
        .select(IdentityRow::as_select())
        .first(conn)
        .await
        .optional()?;
    let Some(row) = row else { return Ok(None) };
    let corrupt = |what: &str| {
        ApiError::internal(anyhow::anyhow!("stored {what} of {account} does not parse"))
    };
    let id = row.account_id;
    Ok(Some(Identity {
        nik: Nik::parse(&open(pii, &row.nik_ciphertext, "nik", id)?).map_err(|_| corrupt("NIK"))?,
        kk: KkNumber::parse(&open(pii, &row.kk_ciphertext, "kk_number", id)?)
            .map_err(|_| corrupt("KK"))?,
        kk_index: row.kk_index,
        birth_date: open(pii, &row.birth_date_ciphertext, "birth_date", id)?
            .parse()
            .map_err(|_| corrupt("date of birth"))?,
        full_name: open(pii, &row.full_name_ciphertext, "full_name", id)?,
        birth_place: open(pii, &row.birth_place_ciphertext, "birth_place", id)?,
        address: open(pii, &row.address_ciphertext, "address", id)?,
        gender: row.gender,
        province_code: row.province_code,
        regency_code: row.regency_code,
    }))
}

/// Stores a registry-confirmed identity. Fails with a unique violation on
/// `identities_nik_index_key` when another account holds the NIK, or on the
/// primary key when this account already has one.
pub async fn insert_identity(
    conn: &mut AsyncPgConnection,
    pii: &PiiCipher,
    blind: &BlindIndex,
    account: Uuid,
    nik: &Nik,
    record: &RegistryRecord,
    now: DateTime<Utc>,
) -> QueryResult<()> {
    let seal =
        |column: &str, value: &str| pii.encrypt_str(value, &aad("identities", column, account));
    diesel::insert_into(identities::table)
        .values((
            identities::account_id.eq(account),
            identities::nik_index.eq(blind.nik(nik).to_vec()),
            identities::kk_index.eq(blind.kk_number(&record.kk_number).to_vec()),
            identities::nik_ciphertext.eq(seal("nik", nik.expose())),
            identities::kk_ciphertext.eq(seal("kk_number", record.kk_number.expose())),
            identities::birth_date_ciphertext
                .eq(seal("birth_date", &record.date_of_birth.to_string())),
            identities::full_name_ciphertext.eq(seal("full_name", &record.full_name)),
            identities::birth_place_ciphertext.eq(seal("birth_place", &record.birth_place)),
            identities::address_ciphertext.eq(seal("address", &record.address)),
            identities::gender.eq(record.gender),
            identities::province_code.eq(&record.province_code),
            identities::regency_code.eq(&record.regency_code),
            identities::verified_at.eq(now),
        ))
        .execute(conn)
        .await
        .map(|_| ())
}

/// The account holding a NIK, by its blind index.
pub async fn account_by_nik(
    conn: &mut AsyncPgConnection,
    blind: &BlindIndex,
    nik: &Nik,
) -> QueryResult<Option<Uuid>> {
    identities::table
        .filter(identities::nik_index.eq(blind.nik(nik).to_vec()))
        .select(identities::account_id)
        .first(conn)
        .await
        .optional()
}

/// Which registration steps are done, in the journey's order.
pub async fn steps_done(conn: &mut impl Reader, account: Uuid) -> QueryResult<[bool; 8]> {
    let (identity, profile, ktp, face, questionnaire, phone, statement, aptitude): (
        bool,
        bool,
        bool,
        bool,
        bool,
        bool,
        bool,
        bool,
    ) = select((
        exists(identities::table.find(account)),
        exists(profiles::table.find(account)),
        exists(ktp_photos::table.find(account)),
        exists(face_enrollments::table.find(account)),
        exists(questionnaires::table.find(account)),
        exists(
            accounts::table
                .find(account)
                .filter(accounts::phone_verified_at.is_not_null()),
        ),
        exists(statements::table.find(account)),
        exists(aptitude_submissions::table.find(account)),
    ))
    .get_result(conn)
    .await?;
    Ok([
        identity,
        profile,
        ktp,
        face,
        questionnaire,
        phone,
        statement,
        aptitude,
    ])
}

/// Whether the account holds a card (is or was a beneficiary).
pub async fn has_card(conn: &mut AsyncPgConnection, account: Uuid) -> QueryResult<bool> {
    select(exists(cards::table.filter(cards::account_id.eq(account))))
        .get_result(conn)
        .await
}

/// Cards held by other members of a family card.
pub async fn kk_other_beneficiaries(
    conn: &mut AsyncPgConnection,
    kk_index: &[u8],
    account: Uuid,
) -> QueryResult<i64> {
    cards::table
        .filter(cards::kk_index.eq(kk_index))
        .filter(cards::account_id.ne(account))
        .count()
        .get_result(conn)
        .await
}

/// Moves a verified identity from the account holding it to `to` (a NIK
/// transfer ordered by the programme office): re-sealed for its new account,
/// and the old account's registration starts again (its profile, KTP photo,
/// face, questionnaire, statement and aptitude test are deleted; a card it
/// holds stays with it as the programme's record). Call it inside the
/// transaction that audits the move. `None` when `from` has no identity.
pub async fn transfer_identity(
    conn: &mut AsyncPgConnection,
    pii: &PiiCipher,
    blind: &BlindIndex,
    from: Uuid,
    to: Uuid,
    now: DateTime<Utc>,
) -> Result<Option<()>, ApiError> {
    let Some(identity) = load_identity(conn, pii, from).await? else {
        return Ok(None);
    };
    diesel::delete(identities::table.find(from))
        .execute(conn)
        .await?;
    let record = RegistryRecord {
        full_name: identity.full_name,
        gender: identity.gender,
        birth_place: identity.birth_place,
        date_of_birth: identity.birth_date,
        address: identity.address,
        province_code: identity.province_code,
        regency_code: identity.regency_code,
        kk_number: identity.kk,
    };
    insert_identity(conn, pii, blind, to, &identity.nik, &record, now).await?;
    diesel::delete(profiles::table.find(from))
        .execute(conn)
        .await?;
    diesel::delete(ktp_photos::table.find(from))
        .execute(conn)
        .await?;
    diesel::delete(face_enrollments::table.find(from))
        .execute(conn)
        .await?;
    diesel::delete(questionnaires::table.find(from))
        .execute(conn)
        .await?;
    diesel::delete(statements::table.find(from))
        .execute(conn)
        .await?;
    diesel::delete(aptitude_submissions::table.find(from))
        .execute(conn)
        .await?;
    Ok(Some(()))
}

/// Remembers the NIK an account was refused because another account holds
/// it (the latest attempt replaces an earlier one).
pub async fn record_nik_claim(
    conn: &mut AsyncPgConnection,
    account_id: Uuid,
    nik_index: &[u8],
    now: DateTime<Utc>,
) -> QueryResult<()> {
    diesel::insert_into(nik_claims::table)
        .values((
            nik_claims::account_id.eq(account_id),
            nik_claims::nik_index.eq(nik_index),
            nik_claims::claimed_at.eq(now),
        ))
        .on_conflict(nik_claims::account_id)
        .do_update()
        .set((
            nik_claims::nik_index.eq(excluded(nik_claims::nik_index)),
            nik_claims::claimed_at.eq(excluded(nik_claims::claimed_at)),
        ))
        .execute(conn)
        .await
        .map(|_| ())
}

/// The account's refused claim (the NIK's blind index), if any.
pub async fn nik_claim(
    conn: &mut AsyncPgConnection,
    account_id: Uuid,
) -> QueryResult<Option<Vec<u8>>> {
    nik_claims::table
        .find(account_id)
        .select(nik_claims::nik_index)
        .first(conn)
        .await
        .optional()
}

pub async fn drop_nik_claim(conn: &mut AsyncPgConnection, account_id: Uuid) -> QueryResult<()> {
    diesel::delete(nik_claims::table.find(account_id))
        .execute(conn)
        .await
        .map(|_| ())
}
