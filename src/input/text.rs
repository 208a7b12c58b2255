//! Request text whose rules are part of its type: the length limit (and
//! whether it may be blank) is written once, as a type parameter, and both
//! the OpenAPI schema and the validation read it. `Text<150>` is a name,
//! `TextOrEmpty<4000>` a note, `Verbatim<128>` a password; `Option<…>`
//! makes any of them optional.
//!
//! Lengths count characters before trimming, as JSON Schema's `maxLength`
//! does; values are stored trimmed ([`Text::trimmed`]).

use std::borrow::Cow;

use garde::{Error, Path, Report};
use serde::{Deserialize, Serialize};
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};
use utoipa::{PartialSchema, ToSchema};

use crate::domain::{Email, Phone};

fn too_long(max: usize) -> Error {
    Error::new(format!("must be at most {max} characters"))
}

/// Characters a person's name may not contain: control characters (line
/// breaks and tabs too) and the bidirectional embeddings, overrides and
/// isolates (U+202A–U+202E, U+2066–U+2069) that make a name display as
/// something else. Joiners (U+200C, U+200D) and marks stay: Bengali and
/// other scripts need them.
pub fn name_character_error(text: &str) -> Option<&'static str> {
    text.chars().find_map(|c| {
        if c.is_control() || matches!(c, '\u{2028}' | '\u{2029}') {
            Some("must not contain control characters or line breaks")
        } else if matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}') {
            Some("must not contain bidirectional override characters")
        } else {
            None
        }
    })
}

/// The pattern of [`name_character_error`], for the OpenAPI document.
pub const NAME_PATTERN: &str = "^[^\\u0000-\\u001F\\u007F-\\u009F\\u2028\\u2029\\u202A-\\u202E\\u2066-\\u2069]*$";

fn any_characters(_: &str) -> Option<&'static str> {
    None
}

macro_rules! bounded_text {
    ($(#[$doc:meta])* $name:ident, min = $min:literal, blank = $blank:literal, described = $described:literal) => {
        bounded_text!($(#[$doc])* $name, min = $min, blank = $blank, described = $described, characters = any_characters, pattern = None::<&str>);
    };
    ($(#[$doc:meta])* $name:ident, min = $min:literal, blank = $blank:literal, described = $described:literal, characters = $check:path, pattern = $pattern:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name<const MAX: usize>(String);

        impl<const MAX: usize> $name<MAX> {
            /// The text as given.
            pub fn as_str(&self) -> &str {
                &self.0
            }

            /// The text without surrounding white space.
            pub fn trimmed(&self) -> &str {
                self.0.trim()
            }

            /// The trimmed text, owned.
            pub fn into_trimmed(self) -> String {
                match self.0.trim() {
                    t if t.len() == self.0.len() => self.0,
                    t => t.to_owned(),
                }
            }
        }

        impl<const MAX: usize> From<&str> for $name<MAX> {
            fn from(value: &str) -> Self {
                $name(value.to_owned())
            }
        }

        impl<const MAX: usize> garde::Validate for $name<MAX> {
            type Context = ();

            #[allow(unused_comparisons)]
            fn validate_into(&self, _: &(), parent: &mut dyn FnMut() -> Path, report: &mut Report) {
                let count = self.0.chars().count();
                if count > MAX {
                    report.append(parent(), too_long(MAX));
                } else if count < $min {
                    report.append(parent(), Error::new("must not be empty"));
                } else if !$blank && self.0.trim().is_empty() {
                    report.append(parent(), Error::new("must not be blank"));
                } else if let Some(message) = $check(&self.0) {
                    report.append(parent(), Error::new(message));
                }
            }
        }

        impl<const MAX: usize> PartialSchema for $name<MAX> {
            fn schema() -> RefOr<Schema> {
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .min_length(($min > 0).then_some($min))
                    .max_length(Some(MAX))
                    .pattern($pattern)
                    .description(Some(format!($described, MAX)))
                    .into()
            }
        }

        impl<const MAX: usize> ToSchema for $name<MAX> {
            fn name() -> Cow<'static, str> {
                Cow::Owned(format!("{}{MAX}", stringify!($name)))
            }
        }
    };
}

bounded_text!(
    /// Text of 1 to `MAX` characters that is not only white space.
    Text,
    min = 1,
    blank = false,
    described = "Text of 1 to {} characters, not blank."
);

bounded_text!(
    /// Text of at most `MAX` characters, possibly empty.
    TextOrEmpty,
    min = 0,
    blank = true,
    described = "Text of at most {} characters (may be empty)."
);

bounded_text!(
    /// Text of 1 to `MAX` characters taken exactly as given: passwords,
    /// tokens, codes (use [`Verbatim::as_str`], never the trimmed form).
    Verbatim,
    min = 1,
    blank = true,
    described = "1 to {} characters, taken exactly as given."
);

bounded_text!(
    /// A person's name (or part of one): 1 to `MAX` characters, not blank,
    /// in any script, without control or bidirectional-override characters
    /// ([`name_character_error`]).
    PersonName,
    min = 1,
    blank = false,
    described = "A name of 1 to {} characters in any script, not blank, without control or bidirectional-override characters.",
    characters = name_character_error,
    pattern = Some(NAME_PATTERN)
);

bounded_text!(
    /// A person's name that may be empty (as [`PersonName`] otherwise).
    PersonNameOrEmpty,
    min = 0,
    blank = true,
    described = "A name of at most {} characters in any script (may be empty), without control or bidirectional-override characters.",
    characters = name_character_error,
    pattern = Some(NAME_PATTERN)
);

/// A given or family name.
pub type Name = PersonName<150>;

impl<const MAX: usize> PersonNameOrEmpty<MAX> {
    /// The trimmed text, or `None` when it is blank.
    pub fn non_blank(self) -> Option<String> {
        Some(self.into_trimmed()).filter(|t| !t.is_empty())
    }
}

impl<const MAX: usize> TextOrEmpty<MAX> {
    /// The trimmed text, or `None` when it is blank.
    pub fn non_blank(self) -> Option<String> {
        Some(self.into_trimmed()).filter(|t| !t.is_empty())
    }
}

macro_rules! contact_text {
    ($(#[$doc:meta])* $name:ident, $max:literal, $parsed:ty, $example:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            /// The longest accepted text.
            pub const MAX: usize = $max;

            /// The parsed value, or `None` when blank. Errors: the message for the field.
            pub fn parse(&self) -> Result<Option<$parsed>, String> {
                match self.0.trim() {
                    "" => Ok(None),
                    text => <$parsed>::parse(text).map(Some),
                }
            }
        }

        impl From<&str> for $name {
            fn from(value: &str) -> Self {
                $name(value.to_owned())
            }
        }

        impl garde::Validate for $name {
            type Context = ();

            fn validate_into(&self, _: &(), parent: &mut dyn FnMut() -> Path, report: &mut Report) {
                if self.0.chars().count() > $max {
                    report.append(parent(), too_long($max));
                } else if let Err(message) = self.parse() {
                    report.append(parent(), Error::new(message));
                }
            }
        }

        impl PartialSchema for $name {
            fn schema() -> RefOr<Schema> {
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .max_length(Some($max))
                    .examples([serde_json::json!($example)])
                    .into()
            }
        }

        impl ToSchema for $name {}
    };
}

contact_text!(
    /// An email address as given (at most 254 characters; blank means none).
    EmailText,
    254,
    Email,
    "rahim@example.com"
);

contact_text!(
    /// A phone number in any common notation (at most 32 characters; blank
    /// means none); stored as E.164, a number without a country code is read
    /// as Bangladeshi.
    PhoneText,
    32,
    Phone,
    "01712345678"
);

/// Declares a list type of `min` to `max` items of `item`, each validated:
/// the bounds are written once, and both the schema's `minItems`/`maxItems`
/// and the check read them.
#[macro_export]
macro_rules! bounded_list {
    ($(#[$doc:meta])* $name:ident of $item:ty, $min:literal ..= $max:literal) => {
        $(#[$doc])*
        #[derive(Debug, Default, serde::Deserialize)]
        #[serde(transparent)]
        pub struct $name(Vec<$item>);

        impl $name {
            /// The items.
            pub fn into_inner(self) -> Vec<$item> {
                self.0
            }
        }

        impl garde::Validate for $name {
            type Context = ();

            #[allow(unused_comparisons)]
            fn validate_into(&self, ctx: &(), parent: &mut dyn FnMut() -> garde::Path, report: &mut garde::Report) {
                if self.0.len() > $max {
                    report.append(parent(), garde::Error::new(format!("must have at most {} items", $max)));
                } else if self.0.len() < $min {
                    report.append(parent(), garde::Error::new(format!("must have at least {} items", $min)));
                }
                for (i, item) in self.0.iter().enumerate() {
                    let mut path = || parent().join(i);
                    item.validate_into(ctx, &mut path, report);
                }
            }
        }

        impl utoipa::PartialSchema for $name {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::Schema> {
                use utoipa::ToSchema;
                utoipa::openapi::schema::ArrayBuilder::new()
                    .items(utoipa::openapi::RefOr::Ref(utoipa::openapi::Ref::from_schema_name(<$item>::name())))
                    .min_items(($min > 0).then_some($min))
                    .max_items(Some($max))
                    .into()
            }
        }

        impl utoipa::ToSchema for $name {
            fn schemas(schemas: &mut Vec<(String, utoipa::openapi::RefOr<utoipa::openapi::Schema>)>) {
                use utoipa::PartialSchema;
                schemas.push((<$item as utoipa::ToSchema>::name().into_owned(), <$item>::schema()));
                <$item as utoipa::ToSchema>::schemas(schemas);
            }
        }
    };
}

/// What a username looks like, as a regular expression (any case).
pub const USERNAME_PATTERN: &str = "^[A-Za-z][A-Za-z0-9._-]{2,149}$";

/// Check `username` (3–150 of a–z, 0–9, `.`, `_`, `-`, starting with a
/// letter; any case) and return it lower-cased.
pub fn normalise_username(username: &str) -> Result<String, String> {
    let lowered = username.to_ascii_lowercase();
    let length = lowered.chars().count();
    if !(3..=150).contains(&length) {
        return Err("must be 3 to 150 characters".into());
    }
    if !lowered.starts_with(|c: char| c.is_ascii_lowercase()) {
        return Err("must start with a letter".into());
    }
    if !lowered
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "._-".contains(c))
    {
        return Err("may contain only letters, digits, '.', '_' and '-'".into());
    }
    Ok(lowered)
}

/// A username as typed: 3–150 of a–z, 0–9, `.`, `_`, `-`, starting with a
/// letter, any case (see [`normalise_username`], which the
/// validation and the stored form follow).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct Username(String);

impl Username {
    /// As typed.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl From<&str> for Username {
    fn from(value: &str) -> Self {
        Username(value.to_owned())
    }
}

impl garde::Validate for Username {
    type Context = ();

    fn validate_into(&self, _: &(), parent: &mut dyn FnMut() -> Path, report: &mut Report) {
        if let Err(message) = normalise_username(&self.0) {
            report.append(parent(), Error::new(message));
        }
    }
}

impl PartialSchema for Username {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .pattern(Some(USERNAME_PATTERN))
            .examples([serde_json::json!("rahim.uddin")])
            .into()
    }
}

impl ToSchema for Username {}

/// A new password as given: the rules (length, commonness, personal data)
/// are [`crate::auth::password::check_rules`]'s, and the schema reads its limits.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct NewPassword(String);

impl std::fmt::Debug for NewPassword {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("[redacted]")
    }
}

impl NewPassword {
    /// The password in clear.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl From<&str> for NewPassword {
    fn from(value: &str) -> Self {
        NewPassword(value.to_owned())
    }
}

impl PartialSchema for NewPassword {
    fn schema() -> RefOr<Schema> {
        use crate::auth::password::{MAX_LENGTH, MIN_LENGTH};
        ObjectBuilder::new()
            .schema_type(Type::String)
            .min_length(Some(MIN_LENGTH))
            .max_length(Some(MAX_LENGTH))
            .description(Some(format!(
                "{MIN_LENGTH} to {MAX_LENGTH} characters of any kind, not a common password, not equal to the username, email or phone."
            )))
            .examples([serde_json::json!("a long passphrase")])
            .into()
    }
}

impl ToSchema for NewPassword {}

/// A free-text query parameter of at most `MAX` characters; a longer one is
/// refused while the query string is read (400 naming the parameter).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct QueryText<const MAX: usize>(String);

impl<const MAX: usize> QueryText<MAX> {
    /// The text.
    pub fn into_inner(self) -> String {
        self.0
    }
}

impl<'de, const MAX: usize> Deserialize<'de> for QueryText<MAX> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        if text.chars().count() > MAX {
            return Err(serde::de::Error::custom(format!("must be at most {MAX} characters")));
        }
        Ok(QueryText(text))
    }
}

impl<const MAX: usize> PartialSchema for QueryText<MAX> {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .max_length(Some(MAX))
            .into()
    }
}

impl<const MAX: usize> ToSchema for QueryText<MAX> {
    fn name() -> Cow<'static, str> {
        Cow::Owned(format!("QueryText{MAX}"))
    }
}

/// Parse an optional email field. Errors: 422 naming `field`.
pub fn email(field: &'static str, value: Option<&EmailText>) -> crate::error::AppResult<Option<String>> {
    let parsed = value.map(EmailText::parse).transpose();
    parsed
        .map(|e| e.flatten().map(Email::into_string))
        .map_err(|m| crate::error::AppError::invalid_field(field, m))
}

/// Parse an optional phone field. Errors: 422 naming `field`.
pub fn phone(field: &'static str, value: Option<&PhoneText>) -> crate::error::AppResult<Option<String>> {
    let parsed = value.map(PhoneText::parse).transpose();
    parsed
        .map(|p| p.flatten().map(Phone::into_string))
        .map_err(|m| crate::error::AppError::invalid_field(field, m))
}

#[cfg(test)]
mod tests {
    use garde::Validate;

    use super::*;

    #[derive(Deserialize, garde::Validate)]
    struct Body {
        #[garde(dive)]
        name: Text<5>,
        #[garde(dive)]
        note: Option<TextOrEmpty<3>>,
        #[garde(dive)]
        phone: Option<PhoneText>,
    }

    fn errors(json: &str) -> Vec<String> {
        let body: Body = serde_json::from_str(json).unwrap();
        match body.validate() {
            Ok(()) => vec![],
            Err(report) => report
                .iter()
                .map(|(path, e)| format!("{path}: {}", e.message()))
                .collect(),
        }
    }

    #[test]
    fn the_limit_in_the_type_is_checked_and_documented() {
        assert!(errors(r#"{"name": "Rahim"}"#).is_empty());
        assert_eq!(errors(r#"{"name": "Rahima"}"#), ["name: must be at most 5 characters"]);
        assert_eq!(errors(r#"{"name": "   "}"#), ["name: must not be blank"]);
        assert_eq!(
            errors(r#"{"name": "x", "note": "abcd"}"#),
            ["note: must be at most 3 characters"]
        );
        assert!(errors(r#"{"name": "x", "note": ""}"#).is_empty());
        assert_eq!(errors(r#"{"name": "x", "phone": "12"}"#).len(), 1);
        let schema = serde_json::to_value(Text::<150>::schema()).unwrap();
        assert_eq!(schema["maxLength"], 150);
        assert_eq!(schema["minLength"], 1);
        assert_eq!(Text::<150>::name(), "Text150");
        assert_eq!(serde_json::to_value(PhoneText::schema()).unwrap()["maxLength"], 32);
    }

    #[test]
    fn usernames_are_lowercase_and_start_with_a_letter() {
        assert_eq!(normalise_username("Rahim.Uddin").unwrap(), "rahim.uddin");
        assert!(normalise_username(" rahim").is_err(), "no silent trimming");
        assert!(
            normalise_username("01712345678").is_err(),
            "would be confused with a phone"
        );
        assert!(normalise_username("ab").is_err());
        assert!(normalise_username("rahim uddin").is_err());
        assert!(
            normalise_username("rahim@x.org").is_err(),
            "would be confused with an email"
        );
    }

    #[test]
    fn text_is_stored_trimmed() {
        assert_eq!(Text::<10>::from("  Rahim ").into_trimmed(), "Rahim");
        assert_eq!(TextOrEmpty::<10>::from("   ").non_blank(), None);
    }
}
