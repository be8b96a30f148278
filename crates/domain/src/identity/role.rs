//! A member's role in an organization and what it may do.

use crate::shared::values::InvalidValue;
use std::fmt;
use std::str::FromStr;

/// A member's role in an organization.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Owner,
    Admin,
    Member,
    Viewer,
    Partner,
}

impl Role {
    pub const ALL: [Role; 5] = [
        Role::Owner,
        Role::Admin,
        Role::Member,
        Role::Viewer,
        Role::Partner,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Owner => "owner",
            Role::Admin => "admin",
            Role::Member => "member",
            Role::Viewer => "viewer",
            Role::Partner => "partner",
        }
    }
    /// Staff of the organization (everyone but partner-portal users).
    pub fn is_internal(self) -> bool {
        !matches!(self, Role::Partner)
    }
    /// May create, change and delete organization data.
    pub fn can_write(self) -> bool {
        matches!(self, Role::Owner | Role::Admin | Role::Member)
    }
    /// May manage members and API keys.
    pub fn can_manage(self) -> bool {
        matches!(self, Role::Owner | Role::Admin)
    }
}

impl FromStr for Role {
    type Err = InvalidValue;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Role::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| {
                InvalidValue::new("must be one of owner, admin, member, viewer, partner")
            })
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles() {
        assert!(
            Role::Member.can_write() && !Role::Viewer.can_write() && !Role::Partner.can_write()
        );
        assert!(!Role::Partner.is_internal());
        assert_eq!("admin".parse::<Role>().unwrap(), Role::Admin);
        assert!("root".parse::<Role>().is_err());
        assert!("superuser".parse::<Role>().is_err());
    }
}
