use super::*;

// ---- definition: fields ---------------------------------------------------------------

#[test]
fn a_field_definition_parses_with_defaults() {
    let f = &parse_fields(
        &json!([{"fieldKey": "company_Name2", "label": "  Company ", "type": "text"}]),
    )
    .unwrap()[0];
    assert_eq!(f.field_key, "company_Name2");
    assert_eq!(f.label, "Company");
    assert_eq!(f.field_type, FieldType::Text);
    assert!(!f.required && f.options.is_empty());
    assert_eq!(
        (
            f.max_length,
            f.placeholder.as_deref(),
            f.help_text.as_deref()
        ),
        (None, None, None)
    );
    assert_eq!(f.max_chars(), 500);
}

#[test]
fn field_definitions_serialize_back_to_their_wire_shape() {
    let fields = form();
    let wire = serde_json::to_value(&fields).unwrap();
    assert_eq!(
        wire[7],
        json!({"fieldKey": "tier", "label": "Tier", "type": "select", "required": false, "options": ["Gold", "Silver"]})
    );
    assert_eq!(parse_fields(&wire).unwrap(), fields);
}

fn field_error(field: Value) -> Vec<String> {
    paths(parse_fields(&json!([field])).unwrap_err())
}

#[test]
fn field_keys_must_be_identifiers() {
    let long = format!("a{}", "b".repeat(63));
    assert!(parse_fields(&json!([{"fieldKey": long, "label": "L", "type": "text"}])).is_ok());
    for bad in [
        json!(""),
        json!("1abc"),
        json!("_abc"),
        json!("a-b"),
        json!("a b"),
        json!("é"),
        json!(format!("{long}c")),
        json!(3),
        Value::Null,
    ] {
        assert_eq!(
            field_error(json!({"fieldKey": bad, "label": "L", "type": "text"})),
            ["fields[0].fieldKey"],
            "{bad}"
        );
    }
}

#[test]
fn field_keys_are_unique_case_sensitively() {
    let err = parse_fields(&json!([
        {"fieldKey": "email", "label": "A", "type": "email"},
        {"fieldKey": "Email", "label": "B", "type": "email"},
        {"fieldKey": "email", "label": "C", "type": "text"}
    ]))
    .unwrap_err();
    assert_eq!(paths(err), ["fields[2].fieldKey"]);
}

#[test]
fn every_field_rule_reports_its_path() {
    let cases = [
        (
            json!({"fieldKey": "k", "label": "", "type": "text"}),
            "fields[0].label",
        ),
        (
            json!({"fieldKey": "k", "label": "x".repeat(201), "type": "text"}),
            "fields[0].label",
        ),
        (
            json!({"fieldKey": "k", "label": "a\nb", "type": "text"}),
            "fields[0].label",
        ),
        (json!({"fieldKey": "k", "type": "text"}), "fields[0].label"),
        (
            json!({"fieldKey": "k", "label": "L", "type": "date"}),
            "fields[0].type",
        ),
        (json!({"fieldKey": "k", "label": "L"}), "fields[0].type"),
        (
            json!({"fieldKey": "k", "label": "L", "type": "text", "required": "yes"}),
            "fields[0].required",
        ),
        (
            json!({"fieldKey": "k", "label": "L", "type": "text", "placeholder": "x".repeat(501)}),
            "fields[0].placeholder",
        ),
        (
            json!({"fieldKey": "k", "label": "L", "type": "text", "helpText": 5}),
            "fields[0].helpText",
        ),
        (
            json!({"fieldKey": "k", "label": "L", "type": "text", "hidden": true}),
            "fields[0].hidden",
        ),
        (
            json!({"fieldKey": "k", "label": "L", "type": "text", "field_key": "k"}),
            "fields[0].field_key",
        ),
        (json!("text"), "fields[0]"),
    ];
    for (field, path) in cases {
        assert_eq!(field_error(field.clone()), [path], "{field}");
    }
}

#[test]
fn options_rules() {
    let ok = parse_fields(&json!([
        {"fieldKey": "s", "label": "S", "type": "select", "options": [" A ", "B"]},
        {"fieldKey": "t", "label": "T", "type": "text", "options": []},
        {"fieldKey": "u", "label": "U", "type": "text", "options": null}
    ]))
    .unwrap();
    assert_eq!(ok[0].options, ["A", "B"]);
    assert!(ok[1].options.is_empty());

    let many: Vec<String> = (0..=200).map(|i| format!("o{i}")).collect();
    let cases = [
        (
            json!({"fieldKey": "s", "label": "S", "type": "select"}),
            "fields[0].options",
        ),
        (
            json!({"fieldKey": "s", "label": "S", "type": "multiselect", "options": []}),
            "fields[0].options",
        ),
        (
            json!({"fieldKey": "s", "label": "S", "type": "select", "options": "A,B"}),
            "fields[0].options",
        ),
        (
            json!({"fieldKey": "s", "label": "S", "type": "select", "options": many}),
            "fields[0].options",
        ),
        (
            json!({"fieldKey": "s", "label": "S", "type": "select", "options": ["A", " A"]}),
            "fields[0].options[1]",
        ),
        (
            json!({"fieldKey": "s", "label": "S", "type": "select", "options": ["A", ""]}),
            "fields[0].options[1]",
        ),
        (
            json!({"fieldKey": "s", "label": "S", "type": "select", "options": ["A", 2]}),
            "fields[0].options[1]",
        ),
        (
            json!({"fieldKey": "s", "label": "S", "type": "select", "options": ["x".repeat(201)]}),
            "fields[0].options[0]",
        ),
        (
            json!({"fieldKey": "s", "label": "S", "type": "text", "options": ["A"]}),
            "fields[0].options",
        ),
        (
            json!({"fieldKey": "s", "label": "S", "type": "checkbox", "options": ["A"]}),
            "fields[0].options",
        ),
    ];
    for (field, path) in cases {
        assert_eq!(field_error(field.clone()), [path], "{field}");
    }
    let exactly_200: Vec<String> = (0..200).map(|i| format!("o{i}")).collect();
    assert!(
        parse_fields(
            &json!([{"fieldKey": "s", "label": "S", "type": "multiselect", "options": exactly_200}])
        )
        .is_ok()
    );
}

#[test]
fn max_length_rules() {
    for t in ["text", "textarea", "email", "url", "phone"] {
        for n in [1, 20_000] {
            let f =
                parse_fields(&json!([{"fieldKey": "k", "label": "L", "type": t, "maxLength": n}]))
                    .unwrap();
            assert_eq!(f[0].max_chars(), n as usize);
        }
    }
    for t in ["number", "select", "multiselect", "checkbox", "country"] {
        let mut field = json!({"fieldKey": "k", "label": "L", "type": t, "maxLength": 10});
        if t.ends_with("select") {
            field["options"] = json!(["A"]);
        }
        assert_eq!(field_error(field), ["fields[0].maxLength"], "{t}");
    }
    for bad in [json!(0), json!(20_001), json!(-5), json!(10.5), json!("10")] {
        assert_eq!(
            field_error(json!({"fieldKey": "k", "label": "L", "type": "text", "maxLength": bad})),
            ["fields[0].maxLength"],
            "{bad}"
        );
    }
}

#[test]
fn field_list_size_rules() {
    assert_eq!(
        parse_fields(&json!([])).unwrap(),
        vec![],
        "a draft may have none"
    );
    assert_eq!(
        paths(parse_fields(&json!({"fieldKey": "k"})).unwrap_err()),
        ["fields"]
    );
    assert_eq!(paths(parse_fields(&Value::Null).unwrap_err()), ["fields"]);
    let field = |i: usize| json!({"fieldKey": format!("f{i}"), "label": "L", "type": "text"});
    assert!(parse_fields(&Value::Array((0..100).map(field).collect())).is_ok());
    assert_eq!(
        paths(parse_fields(&Value::Array((0..101).map(field).collect())).unwrap_err()),
        ["fields"]
    );
}

#[test]
fn errors_of_several_fields_are_all_reported() {
    let err = parse_fields(&json!([
        {"fieldKey": "a", "label": "A", "type": "nope"},
        {"fieldKey": "b", "label": "B", "type": "text"},
        {"fieldKey": "c", "label": "", "type": "text", "extra": 1}
    ]))
    .unwrap_err();
    assert_eq!(
        paths(err),
        ["fields[0].type", "fields[2].extra", "fields[2].label"]
    );
}

// ---- definition: agreements, content, slug -------------------------------------------------

#[test]
fn agreement_ids_are_assigned_and_kept_stable() {
    let first = parse_agreements(&json!([
        {"title": "Terms", "body": "Body", "required": true},
        {"title": "Privacy", "body": "Body\n\nmore", "required": false}
    ]))
    .unwrap();
    assert_eq!(first.len(), 2);
    assert_ne!(first[0].id, first[1].id);
    assert_eq!(first[0].id.get_version_num(), 7);
    assert!(first[0].required && !first[1].required);

    // An edit echoes the ids it was given: they survive, new sections get new ones.
    let mut wire = serde_json::to_value(&first).unwrap();
    wire[0]["body"] = json!("Reworded body");
    wire.as_array_mut()
        .unwrap()
        .push(json!({"title": "New", "body": "Body"}));
    let edited = parse_agreements(&wire).unwrap();
    assert_eq!((edited[0].id, edited[1].id), (first[0].id, first[1].id));
    assert_eq!(edited[0].body, "Reworded body");
    assert!(![first[0].id, first[1].id].contains(&edited[2].id));
    assert!(edited[2].required, "required defaults to true");

    let kept = Uuid::new_v4();
    assert_eq!(
        parse_agreements(&json!([{"id": kept.to_string(), "title": "T", "body": "B"}])).unwrap()[0]
            .id,
        kept
    );
}

#[test]
fn agreement_rules() {
    let id = Uuid::now_v7().to_string();
    assert!(parse_agreements(&json!([])).unwrap().is_empty());
    let cases = [
        (
            json!([{"id": id, "title": "A", "body": "B"}, {"id": id, "title": "C", "body": "D"}]),
            "agreements[1].id",
        ),
        (
            json!([{"id": "nope", "title": "A", "body": "B"}]),
            "agreements[0].id",
        ),
        (
            json!([{"id": 7, "title": "A", "body": "B"}]),
            "agreements[0].id",
        ),
        (json!([{"title": "", "body": "B"}]), "agreements[0].title"),
        (
            json!([{"title": "x".repeat(201), "body": "B"}]),
            "agreements[0].title",
        ),
        (json!([{"title": "A"}]), "agreements[0].body"),
        (
            json!([{"title": "A", "body": "x".repeat(20_001)}]),
            "agreements[0].body",
        ),
        (
            json!([{"title": "A", "body": "B", "required": "no"}]),
            "agreements[0].required",
        ),
        (
            json!([{"title": "A", "body": "B", "mandatory": true}]),
            "agreements[0].mandatory",
        ),
        (json!(["Terms"]), "agreements[0]"),
        (json!({"title": "A", "body": "B"}), "agreements"),
    ];
    for (raw, path) in cases {
        assert_eq!(paths(parse_agreements(&raw).unwrap_err()), [path], "{raw}");
    }
    let many: Vec<Value> = (0..21)
        .map(|_| json!({"title": "A", "body": "B"}))
        .collect();
    assert_eq!(
        paths(parse_agreements(&Value::Array(many)).unwrap_err()),
        ["agreements"]
    );
    let twenty: Vec<Value> = (0..20)
        .map(|_| json!({"title": "A", "body": "B"}))
        .collect();
    assert_eq!(parse_agreements(&Value::Array(twenty)).unwrap().len(), 20);
}

#[test]
fn content_rules() {
    let c = parse_content(&json!({
        "title": "  Join us ",
        "description": "",
        "confirmationMessage": "Thanks!\nWe'll write.",
        "bannerUrl": "https://cdn.example.com/b.png"
    }))
    .unwrap();
    assert_eq!(c.title.as_deref(), Some("Join us"));
    assert_eq!(c.description, None);
    assert_eq!(c.confirmation(), "Thanks!\nWe'll write.");
    assert_eq!(
        c.banner_url.as_deref(),
        Some("https://cdn.example.com/b.png")
    );
    assert_eq!(
        parse_content(&json!({})).unwrap().confirmation(),
        DEFAULT_CONFIRMATION
    );
    assert_eq!(
        parse_content(&Value::Null).unwrap(),
        ApplicationContent::default()
    );
    for local in [
        "http://localhost:8080/banners/x.png",
        "http://127.0.0.1/x.png",
        "http://LOCALHOST/x",
    ] {
        assert!(
            parse_content(&json!({"bannerUrl": local})).is_ok(),
            "{local}"
        );
    }
    let cases = [
        (
            json!({"bannerUrl": "http://cdn.example.com/b.png"}),
            "content.bannerUrl",
        ),
        (
            json!({"bannerUrl": "http://localhost.evil.com/b.png"}),
            "content.bannerUrl",
        ),
        (
            json!({"bannerUrl": "javascript:alert(1)"}),
            "content.bannerUrl",
        ),
        (json!({"bannerUrl": "https://"}), "content.bannerUrl"),
        (json!({"title": "x".repeat(201)}), "content.title"),
        (
            json!({"description": "x".repeat(5001)}),
            "content.description",
        ),
        (
            json!({"confirmationMessage": 3}),
            "content.confirmationMessage",
        ),
        (json!({"banner": "https://x.io"}), "content.banner"),
        (json!([]), "content"),
    ];
    for (raw, path) in cases {
        assert_eq!(paths(parse_content(&raw).unwrap_err()), [path], "{raw}");
    }
    assert!(parse_content(&json!({"description": "x".repeat(5000)})).is_ok());
    assert_eq!(
        serde_json::to_value(&c).unwrap(),
        json!({"title": "Join us", "confirmationMessage": "Thanks!\nWe'll write.", "bannerUrl": "https://cdn.example.com/b.png"})
    );
}
