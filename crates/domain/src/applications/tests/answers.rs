use super::*;

// ---- field types -------------------------------------------------------------------------

#[test]
fn field_type_names_round_trip() {
    for t in FieldType::ALL {
        assert_eq!(FieldType::parse(t.as_str()), Ok(t));
        assert_eq!(serde_json::to_value(t).unwrap(), json!(t.as_str()));
    }
    assert!(FieldType::parse("Text").is_err());
    assert!(FieldType::parse("date").is_err());
    for s in ApplicationStatus::ALL {
        assert_eq!(ApplicationStatus::parse(s.as_str()), Ok(s));
    }
    assert!(ApplicationStatus::parse("archived").is_err());
    assert!(ApplicationStatus::Published.is_public() && !ApplicationStatus::Closed.is_public());
}

#[test]
fn text_and_textarea_are_trimmed() {
    accepts("name", json!("  Jane Doe "), json!("Jane Doe"));
    accepts(
        "bio",
        json!("line one\nline two"),
        json!("line one\nline two"),
    );
    refuses("name", json!(42));
    refuses("bio", json!("nul \u{0} byte"));
}

#[test]
fn email_fields() {
    accepts(
        "altEmail",
        json!(" Jane@Example.com "),
        json!("Jane@Example.com"),
    );
    for bad in ["jane", "jane@", "a b@c.com", "jane@localhost"] {
        refuses("altEmail", json!(bad));
    }
}

#[test]
fn url_fields() {
    for ok in [
        "https://acme.com",
        "http://acme.com/path?q=1#x",
        "HTTPS://Acme.com:8443/",
        "https://[::1]:80/x",
        "https://bücher.de",
    ] {
        accepts("website", json!(ok), json!(ok));
    }
    for bad in [
        "acme.com",
        "ftp://acme.com",
        "https://",
        "https:///path",
        "https://acme .com",
        "https://a.com/x y",
        "https://user@acme.com",
        "https://acme.com:port",
        "javascript:alert(1)",
    ] {
        refuses("website", json!(bad));
    }
}

#[test]
fn phone_fields() {
    for ok in [
        "+1 (555) 123-4567",
        "030.1234567",
        "123456",
        "+49 30 12345678901234",
    ] {
        accepts("phone", json!(ok), json!(ok));
    }
    for bad in [
        "12345",
        "call me",
        "+1 555 123 4567 ext 2",
        "123456789012345678901",
    ] {
        refuses("phone", json!(bad));
    }
}

#[test]
fn number_fields() {
    for ok in ["42", "-12.5", "+3", "1e3", "2.5E-4", ".5", "7.", "0"] {
        accepts("employees", json!(ok), json!(ok));
    }
    for bad in [
        "NaN",
        "inf",
        "-infinity",
        "0x10",
        "1e999",
        "1,000",
        "1e",
        "-",
        ".",
        "e5",
        "12 apples",
    ] {
        refuses("employees", json!(bad));
    }
    refuses("employees", json!(42));
}

#[test]
fn select_fields_take_one_exact_option() {
    accepts("tier", json!(" Gold "), json!("Gold"));
    refuses("tier", json!("gold"));
    refuses("tier", json!("Bronze"));
    refuses("tier", json!(["Gold"]));
}

#[test]
fn multiselect_accepts_both_encodings() {
    accepts("regions", json!(["EU", "US"]), json!(["EU", "US"]));
    accepts("regions", json!("[\"APAC\",\"EU\"]"), json!(["APAC", "EU"]));
    accepts("regions", json!("EU"), json!(["EU"]));
    accepts("regions", json!([" US "]), json!(["US"]));
    for bad in [
        json!(["EU", "EU"]),
        json!("[\"EU\",\"EU\"]"),
        json!(["Mars"]),
        json!(["EU", 3]),
        json!("[\"EU\""),
        json!(7),
        json!({"EU": true}),
    ] {
        refuses("regions", bad);
    }
    let got = with("regions", json!([])).unwrap();
    assert!(!got.values.contains_key("regions"));
}

#[test]
fn checkbox_forms() {
    accepts("newsletter", json!("true"), json!("true"));
    accepts("newsletter", json!(" false "), json!("false"));
    accepts("newsletter", json!(true), json!("true"));
    accepts("newsletter", json!(false), json!("false"));
    for bad in [json!("yes"), json!("TRUE"), json!(1), json!("on")] {
        refuses("newsletter", bad);
    }
}

#[test]
fn required_checkbox_must_be_true() {
    let fields = parse_fields(&json!([
        {"fieldKey": "consent", "label": "I agree", "type": "checkbox", "required": true}
    ]))
    .unwrap();
    let run = |v: Value| Answers::parse(&fields, &[], &json!({"consent": v}), &json!([]));
    assert!(run(json!("true")).is_ok());
    assert!(run(json!(true)).is_ok());
    for bad in [json!("false"), json!(false), json!(""), Value::Null] {
        assert_eq!(paths(run(bad).unwrap_err()), ["formData.consent"]);
    }
}

#[test]
fn countries_are_normalized_to_upper_case() {
    accepts("country", json!("DE"), json!("DE"));
    accepts("country", json!(" us "), json!("US"));
    accepts("country", json!("gB"), json!("GB"));
    for bad in ["XK", "UK", "EU", "DEU", "Germany", "D", "ÄB"] {
        refuses("country", json!(bad));
    }
}

#[test]
fn country_list_is_complete_and_sorted() {
    assert_eq!(COUNTRY_CODES.len(), 249);
    assert!(COUNTRY_CODES.windows(2).all(|w| w[0] < w[1]));
    assert!(
        COUNTRY_CODES
            .iter()
            .all(|c| c.len() == 2 && c.bytes().all(|b| b.is_ascii_uppercase()))
    );
}

// ---- presence, lengths, keys -------------------------------------------------------------

#[test]
fn optional_fields_may_be_absent_blank_or_null() {
    let got = Answers::parse(
        &form(),
        &[],
        &json!({"name": "Jane", "email": "jane@example.com", "bio": "   ", "phone": null}),
        &json!([]),
    )
    .unwrap();
    assert_eq!(
        got.values,
        json!({"name": "Jane", "email": "jane@example.com"})
            .as_object()
            .cloned()
            .unwrap()
    );
}

#[test]
fn required_fields_must_be_present_and_not_blank() {
    let err = Answers::parse(
        &form(),
        &[],
        &json!({"name": "  ", "email": null}),
        &json!([]),
    )
    .unwrap_err();
    assert_eq!(paths(err), ["formData.name", "formData.email"]);
    let err = Answers::parse(&form(), &[], &json!({}), &json!([])).unwrap_err();
    assert_eq!(paths(err), ["formData.name", "formData.email"]);
}

#[test]
fn max_lengths_count_characters() {
    accepts("name", json!("é".repeat(500)), json!("é".repeat(500)));
    refuses("name", json!("x".repeat(501)));
    accepts("bio", json!("x".repeat(5000)), json!("x".repeat(5000)));
    refuses("bio", json!("x".repeat(5001)));
    accepts("code", json!(" abcde "), json!("abcde"));
    refuses("code", json!("abcdef"));
    accepts("essay", json!("x".repeat(8000)), json!("x".repeat(8000)));
    refuses("essay", json!("x".repeat(8001)));
}

#[test]
fn unknown_keys_are_refused_and_everything_is_reported() {
    let err = Answers::parse(
        &form(),
        &sections(),
        &json!({"name": "", "email": "nope", "isAdmin": "true", "tier": "Bronze"}),
        &json!([]),
    )
    .unwrap_err();
    assert_eq!(
        paths(err),
        [
            "formData.isAdmin",
            "formData.name",
            "formData.email",
            "formData.tier",
            "acceptedAgreements"
        ]
    );
}

#[test]
fn form_data_must_be_an_object() {
    for bad in [json!([]), json!("name=Jane"), Value::Null] {
        let err = Answers::parse(&form(), &[], &bad, &json!([])).unwrap_err();
        assert_eq!(paths(err), ["formData"]);
    }
}

// ---- email of the submission ----------------------------------------------------------

#[test]
fn the_first_email_field_in_form_order_is_the_submission_email() {
    let got = with("altEmail", json!("Other@Example.com")).unwrap();
    assert_eq!(got.email.as_deref(), Some("jane@example.com"));

    let fields = parse_fields(&json!([
        {"fieldKey": "work", "label": "Work email", "type": "email"},
        {"fieldKey": "home", "label": "Home email", "type": "email"}
    ]))
    .unwrap();
    let run = |data: Value| Answers::parse(&fields, &[], &data, &json!([])).unwrap();
    assert_eq!(
        run(json!({"home": "b@x.io", "work": " A.B@X.IO "}))
            .email
            .as_deref(),
        Some("a.b@x.io")
    );
    // The first email field decides even when it is left empty.
    assert_eq!(run(json!({"home": "b@x.io"})).email, None);
    let no_email = parse_fields(&json!([{"fieldKey": "n", "label": "N", "type": "text"}])).unwrap();
    assert_eq!(
        Answers::parse(&no_email, &[], &json!({"n": "x"}), &json!([]))
            .unwrap()
            .email,
        None
    );
}

// ---- agreements in a submission ---------------------------------------------------------

#[test]
fn accepted_agreements_rules() {
    let s = sections();
    let (terms, marketing) = (s[0].id.to_string(), s[1].id.to_string());
    let data = Value::Object(minimal());
    let run = |accepted: Value| Answers::parse(&form(), &s, &data, &accepted);

    assert_eq!(run(json!([terms])).unwrap().accepted_agreements, [s[0].id]);
    assert_eq!(
        run(json!([marketing, terms, terms]))
            .unwrap()
            .accepted_agreements,
        [s[1].id, s[0].id]
    );

    let err = run(json!([marketing])).unwrap_err();
    assert_eq!(paths(err.clone()), ["acceptedAgreements"]);
    assert!(err.0[0].message.contains("\"Terms\""), "{err}");

    let unknown = Uuid::now_v7().to_string();
    assert_eq!(
        paths(run(json!([terms, unknown, "not-a-uuid", 5])).unwrap_err()),
        [
            "acceptedAgreements[1]",
            "acceptedAgreements[2]",
            "acceptedAgreements[3]"
        ]
    );
    for bad in [json!(terms), json!({"0": terms}), Value::Null] {
        assert_eq!(paths(run(bad).unwrap_err()), ["acceptedAgreements"]);
    }
    assert!(Answers::parse(&form(), &[], &Value::Object(minimal()), &json!([])).is_ok());
}
