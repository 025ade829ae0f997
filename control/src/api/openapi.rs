//! What the OpenAPI document says beyond the handlers' annotations: the
//! answers every operation shares (a control character, a body that is not
//! JSON), and the text rule every string field and parameter follows, stated
//! as a `pattern` so a client generated from the document (or a fuzzer) knows
//! a request is refused before sending it.

use serde_json::Value;

use super::error::MULTILINE_FIELDS;
use super::MAX_BODY_BYTES;

/// One line of text: no control character (`char::is_control`, Unicode Cc),
/// what `portico_shared::text::check_line` refuses.
pub const LINE_PATTERN: &str = "^[^\\u0000-\\u001F\\u007F-\\u009F]*$";
/// Text that may span lines: tabs and line breaks kept
/// (`portico_shared::text::check_multiline`).
pub const MULTILINE_PATTERN: &str =
    "^[^\\u0000-\\u0008\\u000B\\u000C\\u000E-\\u001F\\u007F-\\u009F]*$";

/// The operations of one path that this API has.
pub(super) fn operations_mut(
    item: &mut utoipa::openapi::PathItem,
) -> impl Iterator<Item = &mut utoipa::openapi::path::Operation> {
    [
        &mut item.get,
        &mut item.put,
        &mut item.post,
        &mut item.delete,
        &mut item.patch,
    ]
    .into_iter()
    .flatten()
}

/// Every operation that takes a parameter or a body answers 422
/// `control_character` for a NUL or another control character in it
/// (`error::ApiPath`, `ApiQuery`, `ApiJson`): said once here, for all.
pub(super) fn document_control_characters(doc: &mut utoipa::openapi::OpenApi) {
    const SAID: &str = "`control_character`: a NUL or another control character in a parameter or body field (`error.field` names it)";
    for item in doc.paths.paths.values_mut() {
        for operation in operations_mut(item) {
            let takes_input = operation.parameters.as_ref().is_some_and(|p| !p.is_empty())
                || operation.request_body.is_some();
            if takes_input {
                document_error(operation, "422", SAID);
            }
        }
    }
}

/// Every operation that takes a JSON body refuses one that is not JSON
/// (400), too large (413) or not sent as JSON (415), before its handler
/// (`error::ApiJson`, `DefaultBodyLimit`): said once here, for all.
pub(super) fn document_bodies(doc: &mut utoipa::openapi::OpenApi) {
    let said = [
        ("400", "`malformed_json`: the body is not JSON".to_string()),
        (
            "413",
            format!("`body_too_large`: the body is over {MAX_BODY_BYTES} bytes"),
        ),
        (
            "415",
            "`unsupported_media_type`: the body is not sent as `Content-Type: application/json`"
                .to_string(),
        ),
    ];
    for item in doc.paths.paths.values_mut() {
        let operations = [
            &mut item.put,
            &mut item.post,
            &mut item.delete,
            &mut item.patch,
        ];
        for operation in operations.into_iter().flatten() {
            if operation.request_body.is_some() {
                for (status, text) in &said {
                    document_error(operation, status, text);
                }
            }
        }
    }
}

/// Adds `said` to the operation's answer with this status (an `ErrorBody`).
pub(super) fn document_error(
    operation: &mut utoipa::openapi::path::Operation,
    status: &str,
    said: &str,
) {
    use utoipa::openapi::{ContentBuilder, Ref, RefOr, ResponseBuilder};
    match operation.responses.responses.get_mut(status) {
        Some(RefOr::T(response)) => {
            response.description = format!("{}; {said}", response.description);
        }
        Some(RefOr::Ref(_)) => {}
        None => {
            let response = ResponseBuilder::new()
                .description(said)
                .content(
                    "application/json",
                    ContentBuilder::new()
                        .schema(Some(Ref::from_schema_name("ErrorBody")))
                        .build(),
                )
                .build();
            operation
                .responses
                .responses
                .insert(status.into(), RefOr::T(response));
        }
    }
}

/// Gives every string parameter, and every string in a request body's
/// schema (through `$ref`s, properties, items and `oneOf`/`allOf`/`anyOf`),
/// the text rule as its `pattern`, unless it has a pattern or an enum
/// already. Done on the document as JSON: utoipa has no walk over schemas.
pub(super) fn state_text_rules(doc: utoipa::openapi::OpenApi) -> utoipa::openapi::OpenApi {
    let mut json = serde_json::to_value(&doc).expect("an OpenAPI document serializes");
    if let Some(username) = json.pointer_mut("/components/schemas/NewAccount/properties/username") {
        state_username_rule(username);
    }
    let mut bodies = Vec::new();
    if let Some(paths) = json.get_mut("paths").and_then(Value::as_object_mut) {
        for item in paths.values_mut() {
            let Some(item) = item.as_object_mut() else {
                continue;
            };
            for operation in item.values_mut() {
                if let Some(parameters) = operation
                    .get_mut("parameters")
                    .and_then(Value::as_array_mut)
                {
                    for parameter in parameters {
                        if let Some(schema) = parameter.get_mut("schema") {
                            state_rule(schema, "", &mut Vec::new());
                        }
                    }
                }
                if let Some(content) = operation
                    .pointer_mut("/requestBody/content")
                    .and_then(Value::as_object_mut)
                {
                    for media in content.values_mut() {
                        if let Some(schema) = media.get_mut("schema") {
                            state_rule(schema, "", &mut bodies);
                        }
                    }
                }
            }
        }
    }
    // Component schemas named by a body, and those they name in turn.
    let mut done = std::collections::BTreeSet::new();
    while let Some(name) = bodies.pop() {
        if !done.insert(name.clone()) {
            continue;
        }
        if let Some(schema) = json.pointer_mut(&format!("/components/schemas/{name}")) {
            state_rule(schema, "", &mut bodies);
        }
    }
    serde_json::from_value(json).expect("the document reads back")
}

/// What `str::trim` takes off (Unicode White_Space) and the text rule lets
/// through: the control characters among them are refused anyway.
const TRIMMED_SPACE: &str = "[ \\u00A0\\u1680\\u2000-\\u200A\\u2028\\u2029\\u202F\\u205F\\u3000]*";

/// `portico_shared::host::Username::parse` as a schema: one DNS label of
/// lower-case letters, digits and inner hyphens (after trimming), not `ab--`
/// (the hyphens IDNA reserves) and not one of the reserved names.
fn state_username_rule(schema: &mut Value) {
    let Some(object) = schema.as_object_mut() else {
        return;
    };
    let label = format!(
        "[a-z0-9](?:[a-z0-9-]{{0,{}}}[a-z0-9])?",
        portico_shared::host::MAX_LABEL_LEN - 2
    );
    let reserved = portico_shared::host::RESERVED_USERNAMES.join("|");
    object.insert(
        "pattern".into(),
        Value::String(format!("^{TRIMMED_SPACE}{label}{TRIMMED_SPACE}$")),
    );
    object.insert(
        "not".into(),
        serde_json::json!({ "anyOf": [
            { "pattern": format!("^{TRIMMED_SPACE}[a-z0-9]{{2}}--") },
            { "pattern": format!("^{TRIMMED_SPACE}(?:{reserved}){TRIMMED_SPACE}$") },
        ]}),
    );
}

/// States the rule on one schema and what it holds; `field` is the property
/// name it describes, `refs` collects the component schemas it names.
fn state_rule(schema: &mut Value, field: &str, refs: &mut Vec<String>) {
    let Some(object) = schema.as_object_mut() else {
        return;
    };
    if let Some(reference) = object.get("$ref").and_then(Value::as_str) {
        if let Some(name) = reference.strip_prefix("#/components/schemas/") {
            refs.push(name.to_string());
        }
        return;
    }
    let is_string = match object.get("type") {
        Some(Value::String(kind)) => kind == "string",
        Some(Value::Array(kinds)) => kinds.iter().any(|kind| kind == "string"),
        _ => false,
    };
    if is_string && !object.contains_key("pattern") && !object.contains_key("enum") {
        let pattern = if MULTILINE_FIELDS.contains(&field) {
            MULTILINE_PATTERN
        } else {
            LINE_PATTERN
        };
        object.insert("pattern".into(), Value::String(pattern.into()));
    }
    if let Some(properties) = object.get_mut("properties").and_then(Value::as_object_mut) {
        for (name, property) in properties.iter_mut() {
            state_rule(property, name, refs);
        }
    }
    if let Some(items) = object.get_mut("items") {
        state_rule(items, field, refs);
    }
    for key in ["oneOf", "allOf", "anyOf"] {
        if let Some(choices) = object.get_mut(key).and_then(Value::as_array_mut) {
            for choice in choices {
                state_rule(choice, field, refs);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use portico_shared::text::{check_line, check_multiline};

    /// The patterns say what the checks do, character by character, over
    /// the Basic Multilingual Plane's first 512 code points and a few beyond.
    #[test]
    fn the_patterns_match_what_the_text_checks_take() {
        let line = regex_of(LINE_PATTERN);
        let multiline = regex_of(MULTILINE_PATTERN);
        for code in (0u32..512).chain([0x2028, 0xFEFF, 0x1F600]) {
            let Some(ch) = char::from_u32(code) else {
                continue;
            };
            let text = format!("a{ch}b");
            assert_eq!(
                line.is_match(&text),
                check_line(&text).is_ok(),
                "U+{code:04X}"
            );
            assert_eq!(
                multiline.is_match(&text),
                check_multiline(&text).is_ok(),
                "U+{code:04X}"
            );
        }
    }

    /// The username schema takes what `Username::parse` takes: names at
    /// every length and edge, reserved ones, hyphens, trimmed spaces.
    #[test]
    fn the_username_schema_takes_what_the_parser_takes() {
        let mut schema = serde_json::json!({ "type": "string" });
        state_username_rule(&mut schema);
        let pattern = regex_of(schema["pattern"].as_str().unwrap());
        let refused: Vec<regex::Regex> = schema["not"]["anyOf"]
            .as_array()
            .unwrap()
            .iter()
            .map(|choice| regex_of(choice["pattern"].as_str().unwrap()))
            .collect();
        let mut names: Vec<String> = [
            "",
            "a",
            "ab",
            "abc",
            "a-b",
            "-ab",
            "ab-",
            "ab--c",
            "a--b",
            "xn--katie",
            "abc--d",
            "Katie",
            "katie.k",
            "katie_k",
            "k\u{e4}tie",
            " katie ",
            "\u{3000}katie",
            "katie\u{a0}",
            "\u{2028}www",
            "www",
            "www1",
            "awww",
            " api",
            "admin ",
            "x y",
        ]
        .iter()
        .map(|name| name.to_string())
        .collect();
        names.extend(
            portico_shared::host::RESERVED_USERNAMES
                .iter()
                .map(|name| name.to_string()),
        );
        for length in 60..66 {
            names.push("a".repeat(length));
            names.push(format!(" {}", "b".repeat(length)));
        }
        for name in &names {
            let schema_takes =
                pattern.is_match(name) && !refused.iter().any(|not| not.is_match(name));
            assert_eq!(
                schema_takes,
                portico_shared::host::Username::parse(name).is_ok(),
                "{name:?}"
            );
        }
    }

    /// The JSON Schema pattern as the `regex` crate reads it (`\uXXXX` is
    /// ECMA-262's escape; regex spells it `\x{XXXX}`).
    fn regex_of(pattern: &str) -> regex::Regex {
        let mut spelled = String::new();
        let mut rest = pattern;
        while let Some(at) = rest.find("\\u") {
            spelled.push_str(&rest[..at]);
            spelled.push_str(&format!("\\x{{{}}}", &rest[at + 2..at + 6]));
            rest = &rest[at + 6..];
        }
        spelled.push_str(rest);
        regex::Regex::new(&spelled).unwrap()
    }
}
