//! The fixed label ladders of headcount and revenue.

/// `employeesRange` labels, smallest first, with their inclusive bounds (`None`: open).
pub const EMPLOYEE_RANGES: [(&str, i64, Option<i64>); 8] = [
    ("1-10", 1, Some(10)),
    ("11-50", 11, Some(50)),
    ("51-200", 51, Some(200)),
    ("201-500", 201, Some(500)),
    ("501-1000", 501, Some(1000)),
    ("1001-5000", 1001, Some(5000)),
    ("5001-10000", 5001, Some(10000)),
    ("10001+", 10001, None),
];

/// `companyRevenue` labels (annual revenue, US dollars), smallest first.
pub const REVENUE_RANGES: [&str; 8] = [
    "<$1M",
    "$1M-$10M",
    "$10M-$50M",
    "$50M-$100M",
    "$100M-$500M",
    "$500M-$1B",
    "$1B-$10B",
    "$10B+",
];

/// The range label a headcount falls in (`None` below 1).
pub fn employees_range_of(employees: i64) -> Option<&'static str> {
    EMPLOYEE_RANGES
        .iter()
        .find(|(_, lo, hi)| employees >= *lo && hi.is_none_or(|hi| employees <= hi))
        .map(|(label, _, _)| *label)
}

/// The bounds of a range label, accepting light variations (`11–50`, ` 10,001+ `).
pub fn employees_range_bounds(label: &str) -> Option<(&'static str, i64, Option<i64>)> {
    let norm = normalize_label(label);
    EMPLOYEE_RANGES
        .iter()
        .find(|(l, _, _)| normalize_label(l) == norm)
        .copied()
}

/// A representative headcount of a range (its geometric middle; the lower bound when open).
pub fn employees_range_midpoint(label: &str) -> Option<i64> {
    let (_, lo, hi) = employees_range_bounds(label)?;
    Some(match hi {
        Some(hi) => ((lo as f64) * (hi as f64)).sqrt().round() as i64,
        None => lo,
    })
}

/// The ladder's spelling of a revenue label, accepting light variations (`$10m - $50m`).
pub fn revenue_label(label: &str) -> Option<&'static str> {
    let norm = normalize_label(label);
    REVENUE_RANGES
        .iter()
        .find(|l| normalize_label(l) == norm)
        .copied()
}

fn normalize_label(s: &str) -> String {
    s.chars()
        .filter(|c| !c.is_whitespace() && *c != ',')
        .map(|c| match c {
            '\u{2013}' | '\u{2014}' | '\u{2212}' => '-',
            c => c.to_ascii_uppercase(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn ranges_cover_their_bounds() {
        assert_eq!(employees_range_of(0), None);
        assert_eq!(employees_range_of(1), Some("1-10"));
        assert_eq!(employees_range_of(10), Some("1-10"));
        assert_eq!(employees_range_of(11), Some("11-50"));
        assert_eq!(employees_range_of(10_000), Some("5001-10000"));
        assert_eq!(employees_range_of(250_000), Some("10001+"));
    }

    #[test]
    fn labels_are_recognized_loosely_and_spelled_by_the_ladder() {
        assert_eq!(employees_range_bounds(" 11\u{2013}50 ").unwrap().0, "11-50");
        assert_eq!(employees_range_bounds("10,001+").unwrap().0, "10001+");
        assert!(employees_range_bounds("lots").is_none());
        assert_eq!(revenue_label("$10m - $50m"), Some("$10M-$50M"));
        assert_eq!(revenue_label("about ten million"), None);
        assert_eq!(employees_range_midpoint("1-10"), Some(3));
        assert_eq!(employees_range_midpoint("10001+"), Some(10001));
    }

    proptest! {
        #[test]
        fn every_positive_headcount_has_exactly_one_range(n in 1i64..10_000_000) {
            let label = employees_range_of(n).unwrap();
            let (_, lo, hi) = employees_range_bounds(label).unwrap();
            prop_assert!(n >= lo && hi.is_none_or(|hi| n <= hi));
            let matching = EMPLOYEE_RANGES
                .iter()
                .filter(|(_, lo, hi)| n >= *lo && hi.is_none_or(|hi| n <= hi))
                .count();
            prop_assert_eq!(matching, 1);
        }
    }
}
