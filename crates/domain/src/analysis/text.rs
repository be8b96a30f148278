//! Normalizing untrusted text: model answers and scraped pages.

use crate::applications::countries::COUNTRY_CODES;

/// Text with HTML tags and entities removed, control characters dropped, whitespace collapsed,
/// trimmed and cut to `max_chars` (on a character boundary). `None` when nothing is left.
pub fn clean_text(raw: &str, max_chars: usize) -> Option<String> {
    let mut out = String::with_capacity(raw.len().min(max_chars * 4));
    let mut in_tag = false;
    let mut pending_space = false;
    let mut count = 0;
    let decoded = decode_entities(raw);
    for c in decoded.chars() {
        if in_tag {
            if c == '>' {
                in_tag = false;
                pending_space = true;
            }
            continue;
        }
        if c == '<' {
            in_tag = true;
            continue;
        }
        if c.is_whitespace() || c.is_control() {
            pending_space = true;
            continue;
        }
        if count >= max_chars {
            break;
        }
        if pending_space && !out.is_empty() {
            if count + 1 >= max_chars {
                break;
            }
            out.push(' ');
            count += 1;
        }
        pending_space = false;
        out.push(c);
        count += 1;
    }
    if out.is_empty() { None } else { Some(out) }
}

/// Entities decoded until none is left (`&amp;lt;` is `<`), so that cleaning cleaned text changes
/// nothing. One pass suffices: an entity can only end at the `;` just read, and what precedes it
/// never changes again.
fn decode_entities(raw: &str) -> std::borrow::Cow<'_, str> {
    const ENTITIES: [(&str, char); 7] = [
        ("&nbsp;", ' '),
        ("&lt;", '<'),
        ("&gt;", '>'),
        ("&quot;", '"'),
        ("&#39;", '\''),
        ("&apos;", '\''),
        ("&amp;", '&'),
    ];
    if !raw.contains('&') {
        return raw.into();
    }
    let mut out = String::with_capacity(raw.len());
    for c in raw.chars() {
        out.push(c);
        if c == ';'
            && let Some((entity, decoded)) = ENTITIES.iter().find(|(e, _)| out.ends_with(e))
        {
            out.truncate(out.len() - entity.len());
            out.push(*decoded);
        }
    }
    out.into()
}

/// Cleaned, de-duplicated (case-insensitively, first spelling kept) items, at most `max_items`
/// of at most `max_chars` each.
pub fn clean_list<'a>(
    raw: impl IntoIterator<Item = &'a str>,
    max_items: usize,
    max_chars: usize,
) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for item in raw {
        if out.len() >= max_items {
            break;
        }
        if let Some(item) = clean_text(item, max_chars)
            && !out.iter().any(|o| o.eq_ignore_ascii_case(&item))
        {
            out.push(item);
        }
    }
    out
}

const LANGUAGE_NAMES: [(&str, &str); 40] = [
    ("english", "en"),
    ("german", "de"),
    ("deutsch", "de"),
    ("french", "fr"),
    ("français", "fr"),
    ("francais", "fr"),
    ("spanish", "es"),
    ("español", "es"),
    ("espanol", "es"),
    ("italian", "it"),
    ("italiano", "it"),
    ("portuguese", "pt"),
    ("português", "pt"),
    ("dutch", "nl"),
    ("nederlands", "nl"),
    ("swedish", "sv"),
    ("svenska", "sv"),
    ("danish", "da"),
    ("dansk", "da"),
    ("norwegian", "no"),
    ("norsk", "no"),
    ("finnish", "fi"),
    ("suomi", "fi"),
    ("polish", "pl"),
    ("polski", "pl"),
    ("czech", "cs"),
    ("russian", "ru"),
    ("ukrainian", "uk"),
    ("turkish", "tr"),
    ("greek", "el"),
    ("arabic", "ar"),
    ("hebrew", "he"),
    ("hindi", "hi"),
    ("chinese", "zh"),
    ("mandarin", "zh"),
    ("japanese", "ja"),
    ("korean", "ko"),
    ("vietnamese", "vi"),
    ("thai", "th"),
    ("indonesian", "id"),
];

/// An ISO 639-1 code from a language tag (`en-US`, `pt_BR`, `DE`) or an English or native name.
pub fn language_code(raw: &str) -> Option<String> {
    let s = raw.trim();
    let primary = s.split(['-', '_']).next().unwrap_or("");
    if primary.len() == 2 && primary.chars().all(|c| c.is_ascii_alphabetic()) {
        return Some(primary.to_ascii_lowercase());
    }
    let lower = s.to_lowercase();
    LANGUAGE_NAMES
        .iter()
        .find(|(name, _)| *name == lower)
        .map(|(_, code)| (*code).to_owned())
}

/// Region names with their canonical spelling.
const REGIONS: [(&str, &str); 22] = [
    ("north america", "North America"),
    ("latin america", "LATAM"),
    ("latam", "LATAM"),
    ("south america", "South America"),
    ("emea", "EMEA"),
    ("europe", "Europe"),
    ("western europe", "Western Europe"),
    ("eastern europe", "Eastern Europe"),
    ("dach", "DACH"),
    ("nordics", "Nordics"),
    ("benelux", "Benelux"),
    ("uk&i", "UK&I"),
    ("middle east", "Middle East"),
    ("africa", "Africa"),
    ("mena", "MENA"),
    ("apac", "APAC"),
    ("asia pacific", "APAC"),
    ("asia", "Asia"),
    ("southeast asia", "Southeast Asia"),
    ("anz", "ANZ"),
    ("oceania", "Oceania"),
    ("global", "Global"),
];

const COUNTRY_NAMES: [(&str, &str); 40] = [
    ("united states", "US"),
    ("united states of america", "US"),
    ("usa", "US"),
    ("canada", "CA"),
    ("mexico", "MX"),
    ("brazil", "BR"),
    ("argentina", "AR"),
    ("united kingdom", "GB"),
    ("uk", "GB"),
    ("great britain", "GB"),
    ("ireland", "IE"),
    ("germany", "DE"),
    ("deutschland", "DE"),
    ("austria", "AT"),
    ("österreich", "AT"),
    ("switzerland", "CH"),
    ("schweiz", "CH"),
    ("france", "FR"),
    ("spain", "ES"),
    ("españa", "ES"),
    ("italy", "IT"),
    ("italia", "IT"),
    ("portugal", "PT"),
    ("netherlands", "NL"),
    ("belgium", "BE"),
    ("luxembourg", "LU"),
    ("sweden", "SE"),
    ("norway", "NO"),
    ("denmark", "DK"),
    ("finland", "FI"),
    ("poland", "PL"),
    ("india", "IN"),
    ("china", "CN"),
    ("japan", "JP"),
    ("south korea", "KR"),
    ("singapore", "SG"),
    ("australia", "AU"),
    ("new zealand", "NZ"),
    ("south africa", "ZA"),
    ("united arab emirates", "AE"),
];

/// A region as the API spells it: an ISO 3166-1 alpha-2 code (from a code or a common
/// country name), a known region name in its canonical spelling, or the cleaned text itself.
pub fn region(raw: &str) -> Option<String> {
    let cleaned = clean_text(raw, 60)?;
    if cleaned.len() == 2 {
        let upper = cleaned.to_ascii_uppercase();
        let upper = if upper == "UK" {
            "GB".to_owned()
        } else {
            upper
        };
        if COUNTRY_CODES.binary_search(&upper.as_str()).is_ok() {
            return Some(upper);
        }
    }
    let lower = cleaned.to_lowercase();
    if let Some((_, c)) = COUNTRY_NAMES.iter().find(|(n, _)| *n == lower) {
        return Some((*c).to_owned());
    }
    if let Some((_, r)) = REGIONS.iter().find(|(n, _)| *n == lower) {
        return Some((*r).to_owned());
    }
    Some(cleaned)
}

const EUROPE: [&str; 30] = [
    "DE", "AT", "CH", "FR", "ES", "IT", "PT", "NL", "BE", "LU", "SE", "NO", "DK", "FI", "IS", "GB",
    "IE", "PL", "CZ", "SK", "HU", "RO", "BG", "GR", "HR", "SI", "EE", "LV", "LT", "UA",
];
const MIDDLE_EAST: [&str; 14] = [
    "AE", "SA", "QA", "KW", "BH", "OM", "IL", "JO", "LB", "TR", "EG", "MA", "TN", "DZ",
];
const AFRICA: [&str; 9] = ["ZA", "NG", "KE", "EG", "MA", "GH", "TN", "DZ", "ET"];
const APAC: [&str; 14] = [
    "CN", "JP", "KR", "IN", "SG", "AU", "NZ", "ID", "MY", "TH", "VN", "PH", "HK", "TW",
];
const LATAM: [&str; 14] = [
    "MX", "BR", "AR", "CL", "CO", "PE", "UY", "PY", "BO", "EC", "VE", "CR", "PA", "GT",
];

/// Whether `country` (an ISO code) lies in the named region (as [`region`] spells it).
pub fn region_contains(region: &str, country: &str) -> bool {
    let lists: &[&[&str]] = match region {
        "North America" => &[&["US", "CA", "MX"]],
        "DACH" => &[&["DE", "AT", "CH"]],
        "Benelux" => &[&["BE", "NL", "LU"]],
        "Nordics" => &[&["SE", "NO", "DK", "FI", "IS"]],
        "UK&I" => &[&["GB", "IE"]],
        "ANZ" => &[&["AU", "NZ"]],
        "LATAM" | "South America" => &[&LATAM],
        "Europe" | "Western Europe" | "Eastern Europe" => &[&EUROPE],
        "Middle East" | "MENA" => &[&MIDDLE_EAST],
        "Africa" => &[&AFRICA],
        "EMEA" => &[&EUROPE, &MIDDLE_EAST, &AFRICA],
        "APAC" | "Asia" | "Southeast Asia" | "Oceania" => &[&APAC],
        _ => &[],
    };
    lists.iter().any(|l| l.contains(&country))
}

/// The larger regions a region lies in (DACH lies in Europe and EMEA).
pub fn region_parents(region: &str) -> &'static [&'static str] {
    match region {
        "DACH" | "Benelux" | "Nordics" | "UK&I" | "Western Europe" | "Eastern Europe" => {
            &["Europe", "EMEA"]
        }
        "Europe" | "Middle East" | "Africa" | "MENA" => &["EMEA"],
        "ANZ" | "Southeast Asia" | "Asia" | "Oceania" => &["APAC"],
        "South America" => &["LATAM"],
        _ => &[],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn html_is_stripped_and_whitespace_collapsed() {
        assert_eq!(
            clean_text("  <b>Acme</b>\n\t<script>x</script> Corp &amp; Co ", 100).as_deref(),
            Some("Acme x Corp & Co")
        );
        assert_eq!(clean_text("<p></p>   ", 100), None);
        assert_eq!(clean_text("abcdef", 3).as_deref(), Some("abc"));
        assert_eq!(clean_text("ab cd", 3).as_deref(), Some("ab"));
    }

    #[test]
    fn cleaning_cleaned_text_changes_nothing() {
        // Found by the ideal_profile fuzz target: each cleaning decoded one level of entities
        // (`&amp;amp;lt;x` → `&amp;lt;x` → `&lt;x` → nothing), so an ideal partner profile read
        // back and saved again was changed or refused ("must not be blank").
        for raw in [
            "&amp;amp;lt;x",
            "&amp;lt;b&amp;gt;Fast",
            "AT&amp;T",
            "&amp;nbsp;x &;",
        ] {
            let once = clean_text(raw, 100);
            assert_eq!(
                once.as_deref().and_then(|s| clean_text(s, 100)),
                once,
                "{raw}"
            );
        }
        assert_eq!(clean_text("&amp;amp;lt;x", 100), None);
        assert_eq!(
            clean_text("&amp;lt;b&amp;gt;Fast", 100).as_deref(),
            Some("Fast")
        );
        assert_eq!(
            clean_text("AT&amp;T &quot;x&quot;", 100).as_deref(),
            Some("AT&T \"x\"")
        );
    }

    #[test]
    fn lists_are_deduplicated_and_bounded() {
        let many: Vec<String> = (0..10_000).map(|i| format!("item {i}")).collect();
        assert_eq!(
            clean_list(many.iter().map(String::as_str), 20, 50).len(),
            20
        );
        assert_eq!(
            clean_list(["CRM", "crm", " CRM ", "", "ERP"], 20, 50),
            vec!["CRM", "ERP"]
        );
    }

    #[test]
    fn languages_become_iso_codes() {
        assert_eq!(language_code("en-US").as_deref(), Some("en"));
        assert_eq!(language_code("pt_BR").as_deref(), Some("pt"));
        assert_eq!(language_code("German").as_deref(), Some("de"));
        assert_eq!(language_code("Klingon"), None);
        assert_eq!(language_code("eng"), None);
    }

    #[test]
    fn regions_become_codes_or_canonical_names() {
        assert_eq!(region("de").as_deref(), Some("DE"));
        assert_eq!(region("UK").as_deref(), Some("GB"));
        assert_eq!(region("Germany").as_deref(), Some("DE"));
        assert_eq!(region("emea").as_deref(), Some("EMEA"));
        assert_eq!(region("Asia Pacific").as_deref(), Some("APAC"));
        assert_eq!(region("Gulf region").as_deref(), Some("Gulf region"));
        assert_eq!(region("   "), None);
    }

    proptest! {
        #[test]
        fn cleaned_text_is_bounded_and_tag_free(raw in ".{0,400}", max in 1usize..80) {
            if let Some(t) = clean_text(&raw, max) {
                prop_assert!(t.chars().count() <= max);
                prop_assert!(!t.contains('<'));
                prop_assert!(t.trim() == t);
                prop_assert_eq!(clean_text(&t, max), Some(t.clone()));
            }
        }

        #[test]
        fn cleaning_entity_soup_is_idempotent(raw in "(&|amp;|lt;|gt;|nbsp;|#39;|<|>|;|x| ){0,40}", max in 1usize..80) {
            if let Some(t) = clean_text(&raw, max) {
                prop_assert_eq!(clean_text(&t, max), Some(t.clone()));
            }
        }
    }
}
