//! Examples built from schemas, for the request and response bodies a handler
//! gave none (the examples test proves each validates).

use serde_json::{json, Map, Value};

/// Gives each JSON content without an example one built from its schema.
pub(super) fn fill_examples(content: Option<&mut Value>, components: &Value) {
    let Some(content) = content.and_then(Value::as_object_mut) else {
        return;
    };
    for (media, entry) in content.iter_mut() {
        if !media.contains("json")
            || entry.get("example").is_some()
            || entry.get("examples").is_some()
        {
            continue;
        }
        if let Some(schema) = entry.get("schema").cloned() {
            entry["example"] = example_of(&schema, components, 0);
        }
    }
}

/// An example value for `schema`: its own `example` where it has one, else one
/// built from its parts. The test of the examples proves each validates.
pub fn example_of(schema: &Value, components: &Value, depth: usize) -> Value {
    // A guard against recursive schemas, deep enough for the admin account
    // view (account, incentives, installments, attempts, their enums).
    if depth > 24 {
        return Value::Null;
    }
    if let Some(example) = schema.get("example") {
        return example.clone();
    }
    if let Some(first) = schema
        .get("examples")
        .and_then(Value::as_array)
        .and_then(|e| e.first())
    {
        return first.clone();
    }
    if let Some(reference) = schema.get("$ref").and_then(Value::as_str) {
        let name = reference.trim_start_matches("#/components/schemas/");
        return example_of(&components["schemas"][name], components, depth + 1);
    }
    if let Some(value) = schema.get("const") {
        return value.clone();
    }
    if let Some(first) = schema
        .get("enum")
        .and_then(Value::as_array)
        .and_then(|e| e.iter().find(|v| !v.is_null()))
    {
        return first.clone();
    }
    for key in ["oneOf", "anyOf"] {
        if let Some(options) = schema.get(key).and_then(Value::as_array) {
            let option = options
                .iter()
                .find(|o| o.get("type") != Some(&json!("null")))
                .unwrap_or(&Value::Null);
            return example_of(option, components, depth + 1);
        }
    }
    if let Some(parts) = schema.get("allOf").and_then(Value::as_array) {
        let mut merged = Map::new();
        for part in parts {
            if let Value::Object(o) = example_of(part, components, depth + 1) {
                merged.extend(o);
            }
        }
        return Value::Object(merged);
    }
    let ty = match schema.get("type") {
        Some(Value::String(t)) => t.as_str(),
        Some(Value::Array(types)) => types
            .iter()
            .filter_map(Value::as_str)
            .find(|t| *t != "null")
            .unwrap_or("null"),
        _ if schema.get("properties").is_some() => "object",
        _ => "null",
    };
    match ty {
        "object" => {
            let mut out = Map::new();
            if let Some(props) = schema.get("properties").and_then(Value::as_object) {
                for (name, prop) in props {
                    out.insert(name.clone(), example_of(prop, components, depth + 1));
                }
            }
            Value::Object(out)
        }
        "array" => {
            let item = example_of(&schema["items"], components, depth + 1);
            let n = schema["minItems"].as_u64().unwrap_or(1).max(1) as usize;
            Value::Array(vec![item; n])
        }
        "string" => json!(match schema["format"].as_str() {
            Some("uuid") => "5f0c6f5e-8a4b-4a57-9f43-0c7d2d0b9e11",
            Some("date-time") => "2026-07-19T09:00:00+07:00",
            Some("date") => "2026-07-19",
            Some("email") => "budi@example.com",
            Some("uri") => "https://example.com/",
            _ => "teks",
        }),
        "integer" | "number" => {
            let min = schema["minimum"].as_i64().unwrap_or(1);
            let max = schema["maximum"].as_i64().unwrap_or(i64::MAX);
            json!(1.clamp(min, max))
        }
        "boolean" => json!(true),
        _ => Value::Null,
    }
}
