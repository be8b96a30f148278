//! Shared input builders for the fuzz targets.
//!
//! JSON targets read their input as JSON text when it is JSON (so the seed corpus stays readable
//! and libFuzzer's mutations of it stay meaningful), and otherwise build a JSON value from the
//! raw bytes with [`arbitrary`], biased towards the keys and strings the validator cares about,
//! so that random bytes still reach the deep branches instead of failing at the JSON parser.

use arbitrary::{Result, Unstructured};
use serde_json::{Map, Number, Value};

/// The input as JSON text, or a value built from its bytes.
pub fn json_from(data: &[u8], words: &[&str]) -> Value {
    if let Ok(v) = serde_json::from_slice::<Value>(data) {
        return v;
    }
    let mut u = Unstructured::new(data);
    value(&mut u, words, 0).unwrap_or(Value::Null)
}

/// A string: usually one of `words`, sometimes padded or re-cased, sometimes anything.
pub fn string(u: &mut Unstructured<'_>, words: &[&str]) -> Result<String> {
    if words.is_empty() {
        return u.arbitrary();
    }
    Ok(match u.int_in_range(0..=5)? {
        0 | 1 => (*u.choose(words)?).to_owned(),
        2 => format!(" {}\t", u.choose(words)?),
        3 => u.choose(words)?.to_uppercase(),
        4 => format!("{}{}", u.choose(words)?, u.arbitrary::<String>()?),
        _ => u.arbitrary()?,
    })
}

/// Any JSON value, at most a few levels deep.
pub fn value(u: &mut Unstructured<'_>, words: &[&str], depth: u32) -> Result<Value> {
    let kinds = if depth >= 3 { 6 } else { 8 };
    Ok(match u.int_in_range(0..=kinds)? {
        0 => Value::Null,
        1 => Value::Bool(u.arbitrary()?),
        2 => Value::from(u.arbitrary::<i64>()?),
        3 => Number::from_f64(u.arbitrary()?).map_or(Value::Null, Value::Number),
        4 if u.arbitrary()? => Value::from(u.int_in_range(0u64..=10_001)?),
        4 => Number::from_f64(f64::from(u.int_in_range(0u32..=1000)?) / 1000.0)
            .map_or(Value::Null, Value::Number),
        5 | 6 => Value::String(string(u, words)?),
        7 => {
            let n = u.int_in_range(0..=12)?;
            let mut items = Vec::with_capacity(n);
            for _ in 0..n {
                items.push(value(u, words, depth + 1)?);
            }
            Value::Array(items)
        }
        _ => Value::Object(object(u, words, words, depth + 1)?),
    })
}

/// An object whose keys are mostly from `keys` and whose values are from `words`.
pub fn object(
    u: &mut Unstructured<'_>,
    keys: &[&str],
    words: &[&str],
    depth: u32,
) -> Result<Map<String, Value>> {
    let n = u.int_in_range(0..=14)?;
    let mut map = Map::new();
    for _ in 0..n {
        let key = if keys.is_empty() || u.ratio(1, 8)? {
            u.arbitrary::<String>()?
        } else {
            (*u.choose(keys)?).to_owned()
        };
        map.insert(key, value(u, words, depth)?);
    }
    Ok(map)
}

/// Whether `s` is what `clean_text` produces: non-empty, trimmed, single spaces, no tag start,
/// no control characters, at most `max` characters.
pub fn is_clean(s: &str, max: usize) -> bool {
    !s.is_empty()
        && s.chars().count() <= max
        && !s.contains('<')
        && !s.contains("  ")
        && s.trim() == s
        && !s
            .chars()
            .any(|c| c.is_control() || (c.is_whitespace() && c != ' '))
}

/// Whether no two items are equal ignoring ASCII case.
pub fn distinct_ignoring_case(items: &[String]) -> bool {
    items
        .iter()
        .enumerate()
        .all(|(i, a)| items[..i].iter().all(|b| !a.eq_ignore_ascii_case(b)))
}

/// A fit score is 0..=100 per dimension, and the overall score is the weighted mean of the
/// scored dimensions with a positive weight (so between their lowest and highest), or `None`.
pub fn check_fit(fit: &partneros_domain::analysis::scoring::FitScore) {
    let counted: Vec<u8> = fit
        .dimensions
        .iter()
        .filter(|d| d.weight > 0.0)
        .filter_map(|d| d.score)
        .collect();
    for d in &fit.dimensions {
        assert!(d.score.is_none_or(|s| s <= 100), "{}: {:?}", d.key, d.score);
        assert!(
            d.weight.is_finite() && d.weight >= 0.0,
            "{}: weight {}",
            d.key,
            d.weight
        );
        assert!(
            !d.rationale.is_empty() && !d.rationale.contains('\n'),
            "{}: rationale {:?}",
            d.key,
            d.rationale
        );
    }
    match fit.overall {
        None => assert!(counted.is_empty(), "no overall score for {counted:?}"),
        Some(o) => {
            let lo = counted
                .iter()
                .min()
                .expect("an overall score without a dimension");
            let hi = counted.iter().max().unwrap();
            assert!((*lo..=*hi).contains(&o), "overall {o} outside {lo}..={hi}");
        }
    }
}
