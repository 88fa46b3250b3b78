//! Query-string text fields: refused when they hold U+0000, which PostgreSQL
//! cannot compare or store (400 `invalid_request` through the query error
//! handler), like JSON bodies (`json::parse_json`).

use serde::{de::Error, Deserialize, Deserializer};

/// `#[serde(deserialize_with = "crate::http::query::text")]` for an optional
/// text filter.
pub fn text<'de, D: Deserializer<'de>>(de: D) -> Result<Option<String>, D::Error> {
    let value = Option::<String>::deserialize(de)?;
    if value.as_deref().is_some_and(|v| v.contains('\0')) {
        return Err(D::Error::custom("must not contain the character U+0000"));
    }
    Ok(value)
}
