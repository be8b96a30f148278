//! The strict JSON schema the model's answer must follow (`response_format`).
//!
//! It keeps to the subset that OpenAI's strict structured outputs accept (every property
//! required, `additionalProperties: false`, nullable as a type union, `enum`, `maxItems`) so
//! that it works there as well as with the grammar-constrained decoders of vLLM, llama.cpp and
//! Ollama. Lengths the subset cannot express are stated in descriptions; the domain's sanitizer
//! enforces them anyway.

use partneros_domain::analysis::ladders::{EMPLOYEE_RANGES, REVENUE_RANGES};
use partneros_domain::analysis::model::ENRICHMENT_FIELDS;
use serde_json::{Map, Value, json};

/// The `name` of the schema in `response_format.json_schema`.
pub(crate) const SCHEMA_NAME: &str = "partner_enrichment";

const MAX_PLACES: usize = 20;
const MAX_TERMS: usize = 15;
const MAX_INSIGHTS: usize = 5;

/// `response_format` of the request: a strict `json_schema`.
pub(crate) fn response_format() -> Value {
    json!({
        "type": "json_schema",
        "json_schema": {
            "name": SCHEMA_NAME,
            "strict": true,
            "schema": enrichment_schema(),
        }
    })
}

/// The schema of the answer: an object with exactly the [`ENRICHMENT_FIELDS`].
pub(crate) fn enrichment_schema() -> Value {
    let mut properties = Map::new();
    for field in ENRICHMENT_FIELDS {
        properties.insert(field.to_owned(), property(field));
    }
    json!({
        "type": "object",
        "properties": properties,
        "required": ENRICHMENT_FIELDS,
        "additionalProperties": false,
    })
}

fn property(field: &str) -> Value {
    match field {
        "industry" => nullable_string(
            "The company's main industry in a few words (e.g. \"Cybersecurity software\"), or null.",
        ),
        "description" => nullable_string(
            "What the company does, in at most 500 characters of plain text, or null.",
        ),
        "employees" => json!({
            "type": ["integer", "null"],
            "description": "The headcount when the data states it, else null.",
        }),
        "employeesRange" => ladder(
            EMPLOYEE_RANGES.iter().map(|(label, _, _)| *label),
            "The headcount range the data supports, or null.",
        ),
        "companyRevenue" => ladder(
            REVENUE_RANGES.iter().copied(),
            "Annual revenue in US dollars when the data supports it, or null.",
        ),
        "regions" => strings(
            MAX_PLACES,
            "Countries or regions the company operates in or serves (English names).",
        ),
        "languages" => strings(
            MAX_PLACES,
            "Languages the company works or publishes in, as ISO 639-1 codes (e.g. \"en\", \"de\").",
        ),
        "services" => strings(MAX_TERMS, "Services the company offers, a few words each."),
        "products" => strings(MAX_TERMS, "Named products the company sells."),
        "strengths" => insights("Strengths as a potential business partner."),
        "risks" => insights("Risks or open questions as a potential business partner."),
        "summary" => json!({
            "type": "string",
            "description": "Two or three sentences on the company as a potential partner.",
        }),
        "confidence" => json!({
            "type": "string",
            "enum": ["high", "medium", "low"],
            "description": "How well the data supports the answer.",
        }),
        other => unreachable!("no schema for enrichment field {other}"),
    }
}

fn nullable_string(description: &str) -> Value {
    json!({"type": ["string", "null"], "description": description})
}

fn ladder<'a>(labels: impl Iterator<Item = &'a str>, description: &str) -> Value {
    let mut values: Vec<Value> = labels.map(Value::from).collect();
    values.push(Value::Null);
    json!({"type": ["string", "null"], "enum": values, "description": description})
}

fn strings(max_items: usize, description: &str) -> Value {
    json!({
        "type": "array",
        "items": {"type": "string"},
        "maxItems": max_items,
        "description": description,
    })
}

fn insights(description: &str) -> Value {
    json!({
        "type": "array",
        "items": {
            "type": "object",
            "properties": {
                "label": {"type": "string", "description": "A short label, a few words."},
                "description": {"type": "string", "description": "One sentence."},
            },
            "required": ["label", "description"],
            "additionalProperties": false,
        },
        "maxItems": MAX_INSIGHTS,
        "description": description,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every object of the schema must be closed and require all its properties: that is what
    /// strict mode demands, and what makes the answer's shape exactly the domain's.
    fn assert_strict(schema: &Value, at: &str) {
        if let Some(properties) = schema.get("properties").and_then(Value::as_object) {
            assert_eq!(schema["additionalProperties"], false, "{at}");
            let required: Vec<&str> = schema["required"]
                .as_array()
                .unwrap_or_else(|| panic!("{at}: no required"))
                .iter()
                .map(|v| v.as_str().unwrap())
                .collect();
            let mut keys: Vec<&str> = properties.keys().map(String::as_str).collect();
            let mut sorted_required = required.clone();
            keys.sort_unstable();
            sorted_required.sort_unstable();
            assert_eq!(keys, sorted_required, "{at}");
            for (key, sub) in properties {
                assert_strict(sub, &format!("{at}.{key}"));
            }
        }
        if let Some(items) = schema.get("items") {
            assert!(
                schema["maxItems"].as_u64().is_some(),
                "{at}: unbounded array"
            );
            assert_strict(items, &format!("{at}[]"));
        }
    }

    #[test]
    fn the_schema_is_strict_and_has_exactly_the_enrichment_fields() {
        let schema = enrichment_schema();
        assert_strict(&schema, "$");
        let required: Vec<&str> = schema["required"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        assert_eq!(required, ENRICHMENT_FIELDS);
    }

    #[test]
    fn ladders_are_enums_with_null() {
        let schema = enrichment_schema();
        let employees = schema["properties"]["employeesRange"]["enum"]
            .as_array()
            .unwrap();
        assert_eq!(employees.len(), EMPLOYEE_RANGES.len() + 1);
        assert_eq!(employees[0], "1-10");
        assert_eq!(employees.last().unwrap(), &Value::Null);
        let revenue = schema["properties"]["companyRevenue"]["enum"]
            .as_array()
            .unwrap();
        assert_eq!(revenue.len(), REVENUE_RANGES.len() + 1);
        assert!(revenue.contains(&json!("$1B-$10B")));
        assert!(revenue.contains(&Value::Null));
        assert_eq!(
            schema["properties"]["confidence"]["enum"],
            json!(["high", "medium", "low"])
        );
        assert_eq!(
            schema["properties"]["employees"]["type"],
            json!(["integer", "null"])
        );
    }

    #[test]
    fn the_response_format_asks_for_a_strict_named_schema() {
        let format = response_format();
        assert_eq!(format["type"], "json_schema");
        assert_eq!(format["json_schema"]["name"], SCHEMA_NAME);
        assert_eq!(format["json_schema"]["strict"], true);
        assert_eq!(format["json_schema"]["schema"], enrichment_schema());
    }
}
