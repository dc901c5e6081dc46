//! `Deserialize` for an object with known fields and an `extra` map for the rest, in one pass.
//!
//! `#[serde(flatten)]` does the same, but serde then buffers the whole object (every field,
//! nested objects included) into an intermediate tree first and deserialises the fields from
//! that: for the objects that arrive with every reply (`Message`, `Usage`, the Claude Code
//! frames) that was the largest single cost of reading them. [`deserialize_with_extra!`]
//! writes the visitor `derive` would write without `flatten`: known fields are read straight
//! from the input, unknown ones into `extra` as [`Value`](serde_json::Value)s.
//!
//! The rules are the derive's: a field without a default is required (`missing field`),
//! a field given twice is an error (`duplicate field`), and a field given a default takes it
//! when absent (`Option`s are `None`). Serialising stays with `derive(Serialize)` and its
//! `flatten`, which does not buffer.

use std::borrow::Cow;
use std::fmt;

use serde::de::{Deserialize, Deserializer, Visitor};

/// An object key, borrowed from the input when it can be (no allocation for known fields).
pub(crate) struct Key<'de>(pub(crate) Cow<'de, str>);

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct KeyVisitor;

        impl<'de> Visitor<'de> for KeyVisitor {
            type Value = Key<'de>;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a field name")
            }

            fn visit_borrowed_str<E>(self, key: &'de str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Borrowed(key)))
            }

            fn visit_str<E>(self, key: &str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(key.to_owned())))
            }

            fn visit_string<E>(self, key: String) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(key)))
            }
        }

        deserializer.deserialize_str(KeyVisitor)
    }
}

/// Implements `Deserialize` for `$ty`, whose fields are listed with their JSON names and whose
/// unknown fields go to its `extra: Extra`. A field is `name: Type = "json"` (required),
/// `... = "json" or default` (`Default::default()` when absent) or
/// `... = "json" or $function` (`$function()` when absent).
macro_rules! deserialize_with_extra {
    ($ty:ident, $expecting:literal {
        $($field:ident: $fty:ty = $json:literal $(or $default:ident)?),* $(,)?
    }) => {
        impl<'de> ::serde::Deserialize<'de> for $ty {
            fn deserialize<D: ::serde::Deserializer<'de>>(
                deserializer: D,
            ) -> ::std::result::Result<Self, D::Error> {
                struct ObjectVisitor;

                impl<'de> ::serde::de::Visitor<'de> for ObjectVisitor {
                    type Value = $ty;

                    fn expecting(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                        f.write_str($expecting)
                    }

                    fn visit_map<A: ::serde::de::MapAccess<'de>>(
                        self,
                        mut map: A,
                    ) -> ::std::result::Result<$ty, A::Error> {
                        use ::serde::de::Error as _;
                        $(let mut $field: ::std::option::Option<$fty> = None;)*
                        let mut extra = $crate::types::Extra::new();
                        while let Some($crate::types::with_extra::Key(key)) = map.next_key()? {
                            match &*key {
                                $($json => {
                                    if $field.is_some() {
                                        return Err(A::Error::duplicate_field($json));
                                    }
                                    $field = Some(map.next_value()?);
                                })*
                                _ => {
                                    let value = map.next_value()?;
                                    extra.insert(key.into_owned(), value);
                                }
                            }
                        }
                        Ok($ty {
                            $($field: deserialize_with_extra!(@take $field, $json $(, $default)?),)*
                            extra,
                        })
                    }
                }

                deserializer.deserialize_map(ObjectVisitor)
            }
        }
    };
    (@take $field:ident, $json:literal) => {
        $field.ok_or_else(|| A::Error::missing_field($json))?
    };
    (@take $field:ident, $json:literal, default) => {
        $field.unwrap_or_default()
    };
    (@take $field:ident, $json:literal, $default:ident) => {
        $field.unwrap_or_else($default)
    };
}

pub(crate) use deserialize_with_extra;

#[cfg(test)]
mod tests {
    use serde_json::json;

    use crate::types::{Message, Usage};

    #[test]
    fn known_fields_are_read_and_the_rest_kept_in_order() {
        let usage: Usage = serde_json::from_str(
            r#"{"zeta":1,"input_tokens":3,"service_tier":"standard","alpha":{"x":[1,2]}}"#,
        )
        .unwrap();
        assert_eq!(usage.input_tokens, 3);
        assert_eq!(usage.output_tokens, 0, "absent: its default");
        assert_eq!(usage.cache_read_input_tokens, None);
        assert_eq!(usage.service_tier.as_deref(), Some("standard"));
        let keys: Vec<_> = usage.extra.keys().map(String::as_str).collect();
        assert_eq!(keys, ["zeta", "alpha"]);
        assert_eq!(usage.extra["alpha"], json!({"x": [1, 2]}));
        // And back: the unknown fields are written out again.
        let back = serde_json::to_value(&usage).unwrap();
        assert_eq!(back["alpha"], json!({"x": [1, 2]}));
        assert_eq!(back["zeta"], 1);
    }

    #[test]
    fn the_derive_rules_hold() {
        let missing = serde_json::from_str::<Message>(r#"{"id":"msg_1","role":"assistant"}"#)
            .unwrap_err()
            .to_string();
        assert!(missing.contains("missing field `content`"), "{missing}");
        let twice = serde_json::from_str::<Usage>(r#"{"input_tokens":1,"input_tokens":2}"#)
            .unwrap_err()
            .to_string();
        assert!(twice.contains("duplicate field `input_tokens`"), "{twice}");
        let wrong = serde_json::from_str::<Usage>(r#"{"input_tokens":"many"}"#)
            .unwrap_err()
            .to_string();
        assert!(wrong.contains("invalid type: string \"many\""), "{wrong}");
        let not_an_object = serde_json::from_str::<Usage>("[1]")
            .unwrap_err()
            .to_string();
        assert!(
            not_an_object.contains("expected token usage"),
            "{not_an_object}"
        );
    }

    #[test]
    fn escaped_keys_and_values_read_as_text_are_the_same_fields() {
        // An escaped key cannot be borrowed from the input: it is decoded, then matched.
        let usage: Usage = serde_json::from_str(r#"{"in\u0070ut_tokens":7}"#).unwrap();
        assert_eq!(usage.input_tokens, 7);
        assert!(usage.extra.is_empty());
        // From a `Value` (the keys are owned strings there).
        let message: Message = serde_json::from_value(json!({
            "id": "msg_1", "role": "assistant", "content": [], "model": "m",
            "usage": {"output_tokens": 2}, "container": null,
        }))
        .unwrap();
        assert_eq!(message.kind, "message", "absent: its default function");
        assert_eq!(message.usage.output_tokens, 2);
        assert_eq!(message.extra["container"], json!(null));
    }
}
