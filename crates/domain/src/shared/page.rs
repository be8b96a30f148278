//! Keyset pagination shared by the list use cases.

/// Trims a page read with one row more than `limit` (that extra row tells whether another page
/// exists) and returns the cursor of its last row when one does.
pub(crate) fn trim_page<T>(
    rows: &mut Vec<T>,
    limit: i64,
    cursor_of: impl Fn(&T) -> String,
) -> Option<String> {
    if rows.len() as i64 > limit {
        rows.truncate(limit as usize);
        rows.last().map(cursor_of)
    } else {
        None
    }
}
