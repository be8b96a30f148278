//! Use cases. Each service takes the caller's [`Principal`](crate::identity::Principal) and
//! enforces the role rules itself, so no transport can forget them.

pub mod access;
pub mod analysis;
pub mod api_keys;
pub mod applications;
pub mod auth;
pub mod banners;
pub mod invitations;
pub mod legal_templates;
pub mod organizations;
pub mod partners;

pub use access::AccessError;

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

#[cfg(test)]
pub(crate) mod fixtures;
