//! The store's figures for `/metrics`: the queue's events in flight by status and kind, the oldest
//! pending one, and the connection pools' use.

use chrono::{DateTime, Utc};
use domain::health::StoreStats;
use domain::queue::EventStatus;
use sea_orm::{DatabaseConnection, DbBackend, FromQueryResult, Statement};

use crate::queue::sql;
use crate::{Db, DbError};

#[derive(Debug, FromQueryResult)]
struct InFlight {
    status: String,
    job: String,
    count: i64,
}

#[derive(Debug, FromQueryResult)]
struct Oldest {
    oldest: Option<DateTime<Utc>>,
}

/// Connections open and idle in one pool.
fn pool_use(conn: &DatabaseConnection) -> (u32, u32) {
    match conn.get_database_backend() {
        DbBackend::Postgres => {
            let pool = conn.get_postgres_connection_pool();
            (pool.size(), u32::try_from(pool.num_idle()).unwrap_or(0))
        }
        DbBackend::Sqlite => {
            let pool = conn.get_sqlite_connection_pool();
            (pool.size(), u32::try_from(pool.num_idle()).unwrap_or(0))
        }
        _ => (0, 0),
    }
}

pub(crate) async fn stats(db: &Db) -> domain::Result<StoreStats> {
    let backend = db.backend();
    // The statuses are bound, never spelled here (`EventStatus` is where they come from).
    let [pending, processing] = EventStatus::IN_FLIGHT.map(|s| s.as_str());
    let in_flight = InFlight::find_by_statement(Statement::from_sql_and_values(
        backend,
        sql(
            backend,
            "SELECT status, job, COUNT(*) AS count FROM events \
             WHERE status IN ($1, $2) GROUP BY status, job",
        ),
        [pending.into(), processing.into()],
    ))
    .all(&db.reader)
    .await
    .map_err(DbError::Query)?;
    let oldest = Oldest::find_by_statement(Statement::from_sql_and_values(
        backend,
        sql(
            backend,
            "SELECT MIN(created_at) AS oldest FROM events WHERE status = $1",
        ),
        [EventStatus::Pending.as_str().into()],
    ))
    .one(&db.reader)
    .await
    .map_err(DbError::Query)?;
    let (mut size, mut idle) = pool_use(&db.reader);
    if backend == DbBackend::Sqlite {
        let (writer_size, writer_idle) = pool_use(&db.writer);
        size += writer_size;
        idle += writer_idle;
    }
    Ok(StoreStats {
        in_flight: in_flight
            .into_iter()
            .map(|r| (r.status, r.job, u64::try_from(r.count).unwrap_or(0)))
            .collect(),
        oldest_pending: oldest.and_then(|o| o.oldest),
        pool_size: size,
        pool_idle: idle,
    })
}
