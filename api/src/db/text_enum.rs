//! `text_enum!`: the one way a closed vocabulary (a status, a kind, a role) is
//! written in Rust, in JSON and in a `text` column.
//!
//! Each variant names its spelling once. The macro derives from that one list
//! the `as_str`/`FromStr` pair, serde's spelling, the OpenAPI enum and Diesel's
//! `ToSql`/`FromSql` for `Text`, so a query filters with
//! `cards::status.eq(CardStatus::Active)` and a row field is the enum itself:
//! no string literal of a state appears in a query, and a value outside the
//! vocabulary read from the database is an error, never a silent default.
//! The database keeps its `CHECK (… IN (…))` as the backstop; the
//! `vocabularies_match_the_check_constraints` test compares the two.

/// Declares a text-backed enum; see the module docs.
///
/// ```ignore
/// text_enum! {
///     /// A card's status.
///     pub enum CardStatus {
///         /// Usable for purchases.
///         Active => "active",
///         Deactivated => "deactivated",
///     }
/// }
/// ```
macro_rules! text_enum {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident {
            $( $(#[$vmeta:meta])* $variant:ident => $text:tt ),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(
            Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash,
            serde::Serialize, serde::Deserialize, utoipa::ToSchema,
            diesel::expression::AsExpression, diesel::deserialize::FromSqlRow,
        )]
        #[diesel(sql_type = diesel::sql_types::Text)]
        $vis enum $name {
            $( $(#[$vmeta])* #[serde(rename = $text)] $variant, )+
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant,)+];

            /// The spelling in the API and the database.
            pub const fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text,)+ }
            }
        }

        impl std::str::FromStr for $name {
            type Err = String;

            fn from_str(s: &str) -> Result<Self, String> {
                $name::ALL
                    .iter()
                    .copied()
                    .find(|v| v.as_str() == s)
                    .ok_or_else(|| format!(
                        "must be one of: {}",
                        $name::ALL.iter().map(|v| v.as_str()).collect::<Vec<_>>().join(", ")
                    ))
            }
        }

        impl PartialEq<&str> for $name {
            fn eq(&self, other: &&str) -> bool {
                self.as_str() == *other
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl diesel::serialize::ToSql<diesel::sql_types::Text, diesel::pg::Pg> for $name {
            fn to_sql<'b>(
                &'b self,
                out: &mut diesel::serialize::Output<'b, '_, diesel::pg::Pg>,
            ) -> diesel::serialize::Result {
                <str as diesel::serialize::ToSql<diesel::sql_types::Text, diesel::pg::Pg>>::to_sql(
                    self.as_str(),
                    out,
                )
            }
        }

        impl diesel::deserialize::FromSql<diesel::sql_types::Text, diesel::pg::Pg> for $name {
            fn from_sql(
                bytes: <diesel::pg::Pg as diesel::backend::Backend>::RawValue<'_>,
            ) -> diesel::deserialize::Result<Self> {
                let text = <String as diesel::deserialize::FromSql<
                    diesel::sql_types::Text,
                    diesel::pg::Pg,
                >>::from_sql(bytes)?;
                text.parse::<$name>().map_err(|e| {
                    format!("{}: {text:?} {e}", stringify!($name)).into()
                })
            }
        }
    };
}

pub(crate) use text_enum;

#[cfg(test)]
mod tests {
    use std::str::FromStr;

    text_enum! {
        /// A test vocabulary.
        pub enum Colour {
            Red => "red",
            DeepBlue => "deep_blue",
        }
    }

    #[test]
    fn one_spelling_for_rust_json_and_text() {
        for c in Colour::ALL {
            let json = serde_json::to_value(c).unwrap();
            assert_eq!(json, serde_json::json!(c.as_str()));
            assert_eq!(serde_json::from_value::<Colour>(json).unwrap(), *c);
            assert_eq!(Colour::from_str(c.as_str()).unwrap(), *c);
            assert_eq!(c.to_string(), c.as_str());
            assert_eq!(*c, c.as_str());
        }
        assert_eq!(
            Colour::from_str("green").unwrap_err(),
            "must be one of: red, deep_blue"
        );
    }
}
