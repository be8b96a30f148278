use super::*;

use std::collections::HashSet;

// ---- properties ---------------------------------------------------------------------------

const INTERESTING_KEYS: [&str; 22] = [
    "fieldKey",
    "label",
    "type",
    "required",
    "options",
    "maxLength",
    "placeholder",
    "helpText",
    "id",
    "title",
    "body",
    "description",
    "confirmationMessage",
    "bannerUrl",
    "name",
    "email",
    "regions",
    "newsletter",
    "country",
    "code",
    "tier",
    "employees",
];
const INTERESTING_STRINGS: [&str; 16] = [
    "true",
    "false",
    "EU",
    "US",
    "Gold",
    "de",
    "jane@example.com",
    "https://a.io",
    "12.5",
    "+1 555 123 4567",
    "[\"EU\",\"US\"]",
    "[\"EU\",\"EU\"]",
    "select",
    "multiselect",
    "text",
    "0196a0a0-0000-7000-8000-000000000000",
];

fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(&INTERESTING_KEYS[..]).prop_map(str::to_owned),
        "[a-zA-Z_][a-zA-Z0-9_]{0,6}",
        ".{0,6}",
    ]
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        ".{0,12}".prop_map(Value::String),
        prop::sample::select(&INTERESTING_STRINGS[..]).prop_map(Value::from),
        (0usize..600).prop_map(|n| Value::String("x".repeat(n))),
    ];
    leaf.prop_recursive(3, 24, 5, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            prop::collection::vec((key(), inner), 0..6)
                .prop_map(|kv| Value::Object(kv.into_iter().collect())),
        ]
    })
}

/// Objects shaped like field definitions, mostly valid, so that a good share of them parse.
fn field_like() -> impl Strategy<Value = Value> {
    (
        prop_oneof![9 => "[a-zA-Z][a-zA-Z0-9_]{0,2}", 1 => "[0-9_-]{1,3}"],
        prop_oneof![9 => "[A-Za-z][A-Za-z ]{0,5}", 1 => ".{0,4}"],
        prop::sample::select(&FieldType::ALL[..]),
        prop::option::of(any::<bool>()),
        prop::collection::vec("[A-D]{1,2}", 1..4),
        prop::option::of(-2i64..30_000),
        prop::option::weighted(0.2, json_value()),
    )
        .prop_map(|(k, label, t, required, options, max, extra)| {
            let mut f = json!({"fieldKey": k, "label": label, "type": t.as_str()});
            if let Some(r) = required {
                f["required"] = json!(r);
            }
            if t.has_options() || options.len() == 3 {
                f["options"] = json!(options);
            }
            if let Some(m) = max.filter(|m| t.takes_max_length() || m % 7 == 0) {
                f["maxLength"] = json!(m);
            }
            if let Some(x) = extra {
                f["placeholder"] = x;
            }
            f
        })
}

/// Answers keyed mostly by the form's own keys, with values that often fit their field.
fn answers() -> impl Strategy<Value = Vec<(String, Value)>> {
    let candidates: Vec<(&str, Value)> = vec![
        ("bio", json!("hello\nthere")),
        ("altEmail", json!("Jo@Example.org")),
        ("altEmail", json!("jo@")),
        ("website", json!("https://acme.io/x")),
        ("website", json!("acme.io")),
        ("phone", json!("+1 555 123 4567")),
        ("phone", json!("12")),
        ("employees", json!("1e3")),
        ("employees", json!("NaN")),
        ("tier", json!("Silver")),
        ("tier", json!("silver")),
        ("regions", json!(["EU", "US"])),
        ("regions", json!("[\"APAC\"]")),
        ("regions", json!(["EU", "EU"])),
        ("newsletter", json!(true)),
        ("newsletter", json!("false")),
        ("newsletter", json!("yes")),
        ("country", json!("fr")),
        ("country", json!("XX")),
        ("code", json!(" ab ")),
        ("email", json!("Someone@Example.COM")),
        ("name", Value::Null),
    ];
    let long_text = (
        prop::sample::select(&["name", "bio", "code", "essay", "phone"][..]),
        0usize..9000,
    )
        .prop_map(|(k, n)| (k.to_owned(), Value::String("y".repeat(n))));
    let pair = prop_oneof![
        12 => prop::sample::select(candidates).prop_map(|(k, v)| (k.to_owned(), v)),
        2 => long_text,
        1 => (key(), json_value()),
    ];
    prop::collection::vec(pair, 0..8)
}

proptest! {
    #[test]
    fn definitions_never_panic(raw in json_value(), items in prop::collection::vec(json_value(), 0..4)) {
        let _ = parse_fields(&raw);
        let _ = parse_agreements(&raw);
        let _ = parse_content(&raw);
        let _ = parse_fields(&Value::Array(items.clone()));
        let _ = parse_agreements(&Value::Array(items));
    }

    #[test]
    fn accepted_field_definitions_round_trip(items in prop::collection::vec(field_like(), 1..6)) {
        if let Ok(fields) = parse_fields(&Value::Array(items)) {
            let keys: HashSet<&str> = fields.iter().map(|f| f.field_key.as_str()).collect();
            prop_assert_eq!(keys.len(), fields.len());
            let again = parse_fields(&serde_json::to_value(&fields).unwrap()).unwrap();
            prop_assert_eq!(again, fields);
        }
    }

    #[test]
    fn accepted_agreements_have_unique_ids(items in prop::collection::vec(
        (prop::option::of(prop::sample::select(&[
            "0196a0a0-0000-7000-8000-000000000001",
            "0196a0a0-0000-7000-8000-000000000002",
        ][..])), ".{0,3}", ".{0,3}"),
        0..6,
    )) {
        let raw: Vec<Value> = items
            .iter()
            .map(|(id, t, b)| match id {
                Some(id) => json!({"id": id, "title": t, "body": b}),
                None => json!({"title": t, "body": b}),
            })
            .collect();
        if let Ok(sections) = parse_agreements(&Value::Array(raw)) {
            let ids: HashSet<Uuid> = sections.iter().map(|s| s.id).collect();
            prop_assert_eq!(ids.len(), sections.len());
            for ((id, _, _), s) in items.iter().zip(&sections) {
                if let Some(id) = id {
                    prop_assert_eq!(s.id.to_string(), *id);
                }
            }
        }
    }

    #[test]
    fn submissions_never_panic(data in json_value(), accepted in json_value()) {
        let _ = Answers::parse(&form(), &sections(), &data, &accepted);
    }

}

proptest! {
    // Few random answers fit every rule at once, so this one gets more cases.
    #![proptest_config(ProptestConfig::with_cases(1024))]

    #[test]
    fn accepted_submissions_hold_only_known_bounded_answers(
        answers in answers(),
        accept_terms in any::<bool>(),
    ) {
        let fields = form();
        let s = sections();
        let mut data = minimal();
        data.extend(answers);
        let accepted = if accept_terms { json!([s[0].id.to_string()]) } else { json!([]) };
        if let Ok(ok) = Answers::parse(&fields, &s, &Value::Object(data), &accepted) {
            for (k, v) in &ok.values {
                let field = fields.iter().find(|f| f.field_key == *k);
                prop_assert!(field.is_some(), "unknown key {k}");
                let field = field.unwrap();
                match v {
                    Value::String(s) => {
                        prop_assert!(s.chars().count() <= field.max_chars());
                        prop_assert_eq!(s.trim(), s.as_str());
                        prop_assert!(!s.is_empty());
                    }
                    Value::Array(items) => {
                        prop_assert_eq!(field.field_type, FieldType::Multiselect);
                        prop_assert!(items.iter().all(|i| i.as_str().is_some_and(|o| field.options.iter().any(|x| x == o))));
                    }
                    other => prop_assert!(false, "unexpected stored value {other}"),
                }
            }
            prop_assert!(ok.email.as_deref().is_some_and(|e| e == e.to_lowercase()));
            prop_assert!(ok.accepted_agreements.contains(&s[0].id));
        }
    }
}
