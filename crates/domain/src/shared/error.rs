//! Error classification shared by every operation.
//!
//! Each use case has its own error enum; every one of them can say which [`ErrorKind`] it is,
//! which is all the HTTP layer needs to choose a status and a machine code.

use std::fmt;

/// What kind of failure an error is, free of any transport vocabulary.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    Validation,
    NoActiveOrganization,
    Unauthorized,
    Forbidden,
    /// The caller's email address is not verified yet (sign-up's verification link).
    EmailNotVerified,
    /// A mailed single-use token (email verification, password reset) is unknown, used or
    /// expired.
    InvalidToken,
    NotFound,
    Conflict,
    NameTaken,
    DuplicateSubmission,
    CaptchaFailed,
    RateLimited,
    PayloadTooLarge,
    UnsupportedMediaType,
    Upstream,
    Unavailable,
    Internal,
}

/// One invalid input field: a JSON-pointer-like path and why it was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// A list of field errors; the validation failure of a whole request.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ValidationErrors(pub Vec<FieldError>);

impl ValidationErrors {
    pub fn new() -> Self {
        Self(Vec::new())
    }
    pub fn single(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self(vec![FieldError::new(field, message)])
    }
    pub fn push(&mut self, field: impl Into<String>, message: impl Into<String>) {
        self.0.push(FieldError::new(field, message));
    }
    /// Records the error of a fallible conversion under `field` and yields the value if any.
    pub fn check<T, E: fmt::Display>(&mut self, field: &str, result: Result<T, E>) -> Option<T> {
        match result {
            Ok(v) => Some(v),
            Err(e) => {
                self.push(field, e.to_string());
                None
            }
        }
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    pub fn into_result(self) -> Result<(), Self> {
        if self.0.is_empty() { Ok(()) } else { Err(self) }
    }
}

impl fmt::Display for ValidationErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the request is invalid")?;
        for e in &self.0 {
            write!(f, "; {}: {}", e.field, e.message)?;
        }
        Ok(())
    }
}

impl std::error::Error for ValidationErrors {}

/// What a storage port may fail with.
///
/// Adapters translate their driver errors into these: a unique violation becomes `Conflict`,
/// a pool timeout or refused connection becomes `Unavailable`, anything else `Unexpected`.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The change would violate a uniqueness rule; the string names what is taken.
    #[error("conflict: {0}")]
    Conflict(String),
    /// The database cannot be reached or has no free connection; safe to retry.
    #[error("the database is unavailable")]
    Unavailable(#[source] Box<dyn std::error::Error + Send + Sync>),
    #[error("unexpected storage failure")]
    Unexpected(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl StoreError {
    pub fn unexpected(e: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        Self::Unexpected(e.into())
    }
    pub fn kind(&self) -> ErrorKind {
        match self {
            Self::Conflict(_) => ErrorKind::Conflict,
            Self::Unavailable(_) => ErrorKind::Unavailable,
            Self::Unexpected(_) => ErrorKind::Internal,
        }
    }
}

/// Implemented by every use-case error so the HTTP layer can map it without knowing it.
pub trait Classify: std::error::Error + Send + Sync + 'static {
    fn kind(&self) -> ErrorKind;
    /// Per-field details of a validation failure.
    fn details(&self) -> &[FieldError] {
        &[]
    }
    /// Seconds after which a rate-limited caller may retry.
    fn retry_after(&self) -> Option<u64> {
        None
    }
}

impl Classify for ValidationErrors {
    fn kind(&self) -> ErrorKind {
        ErrorKind::Validation
    }
    fn details(&self) -> &[FieldError] {
        &self.0
    }
}

impl Classify for StoreError {
    fn kind(&self) -> ErrorKind {
        StoreError::kind(self)
    }
}
