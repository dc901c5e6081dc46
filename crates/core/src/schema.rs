//! JSON schemas from Rust types (feature `schemars`): the input schema of a tool and the
//! schema of a structured output, from any type that derives [`schemars::JsonSchema`].
//!
//! ```
//! use claude_kit_core::types::{MessageRequest, Tool};
//!
//! /// The weather in a city.
//! #[derive(serde::Deserialize, schemars::JsonSchema)]
//! struct GetWeather {
//!     /// The city, e.g. "Paris".
//!     city: String,
//!     unit: Option<String>,
//! }
//!
//! #[derive(serde::Deserialize, schemars::JsonSchema, Debug, PartialEq)]
//! struct Forecast { summary: String, high_celsius: i32 }
//!
//! let request = MessageRequest::new("claude-sonnet-4-5", 1024)
//!     .user("The weather in Paris tomorrow?")
//!     .tool(Tool::from_schema::<GetWeather>("get_weather", "The weather in a city"))
//!     .output_schema::<Forecast>();
//! let json = serde_json::to_value(&request).unwrap();
//! let input = &json["tools"][0]["input_schema"];
//! assert_eq!(input["type"], "object");
//! assert_eq!(input["properties"]["city"]["description"], "The city, e.g. \"Paris\".");
//! assert_eq!(input["required"], serde_json::json!(["city"]));
//! let output = &json["output_format"]["schema"];
//! assert_eq!(output["additionalProperties"], false);
//! assert!(output.get("$schema").is_none());
//! ```

use schemars::JsonSchema;
use schemars::generate::SchemaSettings;
use serde_json::Value;

/// The JSON schema of `T` as a tool's `input_schema`: subschemas inlined (a recursive type
/// refers to itself with `$ref`), no `$schema` key.
pub fn input_schema<T: JsonSchema>() -> Value {
    let mut settings = SchemaSettings::draft2020_12();
    settings.meta_schema = None;
    settings.inline_subschemas = true;
    let generator = settings.into_generator();
    generator.into_root_schema_for::<T>().to_value()
}

/// The JSON schema of `T` for a structured output: [`input_schema`] with
/// `additionalProperties: false` on every object, as the API's structured outputs require.
///
/// ```
/// #[derive(schemars::JsonSchema)]
/// struct Person { name: String, address: Address }
/// #[derive(schemars::JsonSchema)]
/// struct Address { city: String }
///
/// let schema = claude_kit_core::schema::output_schema::<Person>();
/// assert_eq!(schema["additionalProperties"], false);
/// assert_eq!(schema["properties"]["address"]["additionalProperties"], false);
/// ```
pub fn output_schema<T: JsonSchema>() -> Value {
    let mut schema = input_schema::<T>();
    close_objects(&mut schema);
    schema
}

/// Sets `additionalProperties: false` on every object schema in `schema` (one with
/// `properties`, or `type: "object"`) that does not say otherwise.
fn close_objects(schema: &mut Value) {
    match schema {
        Value::Object(map) => {
            let is_object = map.contains_key("properties")
                || map.get("type").and_then(Value::as_str) == Some("object");
            if is_object && !map.contains_key("additionalProperties") {
                map.insert("additionalProperties".into(), Value::Bool(false));
            }
            for value in map.values_mut() {
                close_objects(value);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(close_objects),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[derive(JsonSchema)]
    #[allow(dead_code)]
    struct Tree {
        label: String,
        children: Vec<Tree>,
    }

    #[derive(JsonSchema)]
    #[allow(dead_code)]
    enum Shape {
        Circle { radius: f64 },
        Square { side: f64 },
    }

    #[test]
    fn recursive_types_refer_to_themselves() {
        let schema = output_schema::<Tree>();
        assert_eq!(schema["additionalProperties"], false);
        assert_eq!(
            schema["properties"]["children"]["items"],
            json!({"$ref": "#"})
        );
    }

    #[test]
    fn every_variant_object_is_closed() {
        let schema = output_schema::<Shape>();
        let variants = schema["oneOf"].as_array().expect("one schema per variant");
        assert_eq!(variants.len(), 2);
        for variant in variants {
            assert_eq!(variant["additionalProperties"], false, "{variant}");
            let inner = variant["properties"]
                .as_object()
                .unwrap()
                .values()
                .next()
                .unwrap();
            assert_eq!(inner["additionalProperties"], false, "{variant}");
        }
        // Maps keep what the schema said.
        let map = output_schema::<std::collections::BTreeMap<String, u32>>();
        assert_eq!(
            map["additionalProperties"],
            json!({"type": "integer", "format": "uint32", "minimum": 0})
        );
    }
}
