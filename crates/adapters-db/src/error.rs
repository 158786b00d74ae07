//! Database errors, and their translation into the domain's outcomes.

use sea_orm::DbErr;

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("cannot connect to the database: {0}")]
    Connect(#[source] DbErr),
    #[error("cannot migrate the database: {0}")]
    Migrate(#[source] DbErr),
    #[error("database query failed: {0}")]
    Query(#[from] DbErr),
    #[error("stored value is invalid: {0}")]
    Corrupt(String),
    /// A concurrent writer changed the row a decision depended on; trying again decides afresh.
    #[error("concurrent update: {0}")]
    Race(String),
    /// The group commit's writers have stopped (the database handle is being dropped).
    #[error("the database writer has stopped")]
    WriterStopped,
}

pub type Result<T, E = DbError> = std::result::Result<T, E>;

impl From<DbError> for domain::Error {
    fn from(e: DbError) -> Self {
        match e {
            DbError::Corrupt(what) => domain::Error::Permanent(what),
            DbError::Query(ref db)
                if matches!(
                    db.sql_err(),
                    Some(sea_orm::SqlErr::UniqueConstraintViolation(_))
                ) =>
            {
                domain::Error::Duplicate(e.to_string())
            }
            other => domain::Error::Transient(other.to_string()),
        }
    }
}
