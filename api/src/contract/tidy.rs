//! Finishing passes over the completed document (after `apply`).

use serde_json::{json, Value};

use super::METHODS;

/// Marks every nullable property of a response schema as required: the views
/// serialize `None` as `null`, never leave the field out, so a client may rely
/// on the key being there. A field that is left out instead
/// (`skip_serializing_if`) must not be nullable (`#[schema(nullable = false)]`).
/// Schemas that request bodies use as well are left alone.
pub(super) fn require_nullable_response_fields(doc: &mut Value) {
    fn collect(value: &Value, schemas: &Value, out: &mut Vec<String>) {
        match value {
            Value::Object(map) => {
                if let Some(name) = map
                    .get("$ref")
                    .and_then(Value::as_str)
                    .and_then(|r| r.strip_prefix("#/components/schemas/"))
                {
                    if !out.iter().any(|n| n == name) {
                        out.push(name.to_owned());
                        collect(&schemas[name], schemas, out);
                    }
                }
                map.values().for_each(|v| collect(v, schemas, out));
            }
            Value::Array(items) => items.iter().for_each(|v| collect(v, schemas, out)),
            _ => {}
        }
    }
    fn nullable(schema: &Value) -> bool {
        let null = json!("null");
        schema["type"].as_array().is_some_and(|t| t.contains(&null))
            || ["oneOf", "anyOf"].iter().any(|k| {
                schema[*k]
                    .as_array()
                    .is_some_and(|o| o.iter().any(|s| s["type"] == null))
            })
    }
    fn require(schema: &mut Value) {
        for key in ["allOf", "oneOf", "anyOf"] {
            if let Some(parts) = schema.get_mut(key).and_then(Value::as_array_mut) {
                parts.iter_mut().for_each(require);
            }
        }
        if let Some(items) = schema.get_mut("items") {
            require(items);
        }
        let Some(props) = schema.get("properties").and_then(Value::as_object) else {
            return;
        };
        let mut names: Vec<String> = props
            .iter()
            .filter(|(_, p)| nullable(p))
            .map(|(n, _)| n.clone())
            .collect();
        let mut nested: Vec<String> = props.keys().cloned().collect();
        if !names.is_empty() {
            let required = schema
                .as_object_mut()
                .expect("a schema with properties is an object")
                .entry("required")
                .or_insert_with(|| json!([]));
            if let Some(list) = required.as_array_mut() {
                names.retain(|n| !list.contains(&json!(n)));
                list.extend(names.into_iter().map(Value::String));
            }
        }
        for name in nested.drain(..) {
            require(&mut schema["properties"][&name]);
        }
    }
    let schemas = doc["components"]["schemas"].clone();
    let (mut requests, mut responses) = (Vec::new(), Vec::new());
    for item in doc["paths"]
        .as_object()
        .into_iter()
        .flatten()
        .map(|(_, i)| i)
    {
        for method in METHODS {
            let Some(op) = item.get(method) else { continue };
            collect(&op["requestBody"], &schemas, &mut requests);
            collect(&op["parameters"], &schemas, &mut requests);
            collect(&op["responses"], &schemas, &mut responses);
        }
    }
    responses.retain(|n| !requests.contains(n));
    for name in &responses {
        require(&mut doc["components"]["schemas"][name]);
    }
    // Schemas written inline in a response (generic pages, say).
    for (_, item) in doc["paths"].as_object_mut().into_iter().flatten() {
        for method in METHODS {
            let Some(responses) = item
                .get_mut(method)
                .and_then(|op| op.get_mut("responses"))
                .and_then(Value::as_object_mut)
            else {
                continue;
            };
            for (status, response) in responses.iter_mut() {
                if status.starts_with('2') {
                    if let Some(content) =
                        response.get_mut("content").and_then(Value::as_object_mut)
                    {
                        for (_, media) in content.iter_mut() {
                            if let Some(schema) = media.get_mut("schema") {
                                require(schema);
                            }
                        }
                    }
                }
            }
        }
    }
}

/// Drops component schemas nothing refers to (utoipa inlines the item type of
/// a generic `Page<T>`, leaving `T` itself unused).
pub(super) fn prune_unused_schemas(doc: &mut Value) {
    fn refs(value: &Value, out: &mut Vec<String>) {
        match value {
            Value::Object(map) => {
                if let Some(r) = map.get("$ref").and_then(Value::as_str) {
                    if let Some(name) = r.strip_prefix("#/components/schemas/") {
                        out.push(name.to_owned());
                    }
                }
                map.values().for_each(|v| refs(v, out));
            }
            Value::Array(items) => items.iter().for_each(|v| refs(v, out)),
            _ => {}
        }
    }
    let mut used = Vec::new();
    refs(&doc["paths"], &mut used);
    let schemas = doc["components"]["schemas"].clone();
    let mut i = 0;
    while i < used.len() {
        let mut more = Vec::new();
        refs(&schemas[&used[i]], &mut more);
        for name in more {
            if !used.contains(&name) {
                used.push(name);
            }
        }
        i += 1;
    }
    if let Some(schemas) = doc["components"]["schemas"].as_object_mut() {
        schemas.retain(|name, _| used.contains(name));
    }
}
