//! Names and addresses (a wave's or a platform's name, a course's title, a
//! KTP address): one line of printable text. A control character there (a
//! line break, a tab, an escape sequence, U+0085) is refused while the body is
//! parsed, so `JsonBody` answers 400 `invalid_request` naming the field, the
//! same answer as for U+0000 in any string. Free text (descriptions, reviews,
//! messages) keeps its line breaks and is checked where it is used.
//!
//! Use with `#[serde(deserialize_with = "single_line")]` (or
//! `optional_single_line`) and `#[schema(pattern = …)]` with the pattern below,
//! so the document says what the server checks.

use serde::{de::Error, Deserialize, Deserializer};

/// The JSON Schema pattern of a single-line field (ECMA regex): no C0 or C1
/// control character and no DEL. Kept in step with [`is_single_line`] by a test.
pub const SINGLE_LINE_PATTERN: &str = "^[^\\u0000-\\u001f\\u007f-\\u009f]*$";

/// Whether `text` has no control character at all.
pub fn is_single_line(text: &str) -> bool {
    !text.chars().any(char::is_control)
}

const REFUSED: &str =
    "must be one line of printable text (no line breaks, tabs or other control characters)";

/// Deserializes a string that must be [`is_single_line`].
pub fn single_line<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    let text = String::deserialize(d)?;
    if is_single_line(&text) {
        Ok(text)
    } else {
        Err(D::Error::custom(REFUSED))
    }
}

/// [`single_line`] for an optional field.
pub fn optional_single_line<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    let text = Option::<String>::deserialize(d)?;
    match text {
        Some(t) if !is_single_line(&t) => Err(D::Error::custom(REFUSED)),
        text => Ok(text),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pattern_and_the_check_agree() {
        let pattern = SINGLE_LINE_PATTERN
            .replace("\\u0000", "\\x{0000}")
            .replace("\\u001f", "\\x{001f}")
            .replace("\\u007f", "\\x{007f}")
            .replace("\\u009f", "\\x{009f}");
        let re = regex::Regex::new(&pattern).unwrap();
        for text in [
            "Gelombang 71",
            "JL. PERCOBAAN NO. 0001, RT 01/RW 02",
            "Café Dasar — Barista",
            "a\nb",
            "a\tb",
            "\u{1b}[31m",
            "x\u{7f}",
            "x\u{85}",
            "x\u{9f}",
            "x\u{a0}y",
            "",
        ] {
            assert_eq!(re.is_match(text), is_single_line(text), "{text:?}");
        }
    }
}
