//! Translation of driver and pool errors into the ports' [`StoreError`].

use diesel::result::{DatabaseErrorKind, Error as DieselError};
use partneros_domain::shared::error::StoreError;

/// Unique violations become `Conflict` (naming the constraint); lost or refused connections
/// `Unavailable`; everything else `Unexpected`.
pub fn map_error(e: DieselError) -> StoreError {
    match e {
        DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, info) => {
            StoreError::Conflict(info.constraint_name().unwrap_or("unique").to_owned())
        }
        DieselError::DatabaseError(
            DatabaseErrorKind::ClosedConnection | DatabaseErrorKind::UnableToSendCommand,
            _,
        ) => StoreError::Unavailable(Box::new(e)),
        DieselError::DatabaseError(DatabaseErrorKind::Unknown, ref info)
            if info.message().contains("statement timeout")
                || info.message().contains("terminating connection")
                || info.message().contains("connection") =>
        {
            StoreError::Unavailable(Box::new(e))
        }
        // The COMMIT failed and so did the ROLLBACK after it: the COMMIT's failure (a lost
        // connection, typically) says what happened.
        DieselError::RollbackErrorOnCommit { commit_error, .. } => map_error(*commit_error),
        other => StoreError::Unexpected(Box::new(other)),
    }
}

pub(crate) trait ResultExt<T> {
    fn store(self) -> Result<T, StoreError>;
}

impl<T> ResultExt<T> for Result<T, DieselError> {
    fn store(self) -> Result<T, StoreError> {
        self.map_err(map_error)
    }
}
