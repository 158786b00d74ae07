//! The team's controls in nectr's database: an installation's default `.nectr.toml`, and what
//! reviews cost per repository and month (`review_usage`, added to with one upsert per review),
//! and the pull requests whose automatic reviews are paused.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use domain::review::controls::PauseStore;
use domain::review::{MonthUsage, RepoDefaults, UsageStore};
use domain::webhook::values::RepoFullName;
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, FromQueryResult, QueryFilter, QuerySelect, Statement,
};

use crate::entities::installations::{self, Column};
use crate::queue::sql;
use crate::{Db, DbError};

/// `YYYY-MM` of a month's first instant.
fn month_key(month: DateTime<Utc>) -> String {
    month.format("%Y-%m").to_string()
}

#[derive(Debug, FromQueryResult)]
struct Spent {
    tokens: i64,
    usd: f64,
}

#[async_trait]
impl RepoDefaults for Db {
    async fn set_defaults(
        &self,
        repository: &RepoFullName,
        text: Option<String>,
    ) -> domain::Result<bool> {
        let updated = installations::Entity::update_many()
            .col_expr(
                Column::ReviewDefaults,
                sea_orm::sea_query::Expr::value(text),
            )
            .col_expr(
                Column::UpdatedAt,
                sea_orm::sea_query::Expr::value(Utc::now()),
            )
            .filter(Column::RepoKey.eq(repository.key()))
            .filter(Column::IsActive.eq(true))
            .exec(&self.writer)
            .await
            .map_err(DbError::Query)?;
        Ok(updated.rows_affected == 1)
    }

    async fn defaults(&self, repository: &RepoFullName) -> domain::Result<Option<String>> {
        let text = installations::Entity::find()
            .select_only()
            .column(Column::ReviewDefaults)
            .filter(Column::RepoKey.eq(repository.key()))
            .filter(Column::IsActive.eq(true))
            .into_tuple::<Option<String>>()
            .one(&self.reader)
            .await
            .map_err(DbError::Query)?;
        Ok(text.flatten())
    }
}

#[async_trait]
impl UsageStore for Db {
    async fn add_usage(
        &self,
        repository: &RepoFullName,
        month: DateTime<Utc>,
        tokens: u64,
        usd: f64,
    ) -> domain::Result<()> {
        let backend = self.backend();
        let text = "INSERT INTO review_usage (repo_key, month, reviews, tokens, usd) \
                   VALUES ($1, $2, 1, $3, $4) \
                   ON CONFLICT (repo_key, month) DO UPDATE SET reviews = review_usage.reviews + 1, \
                   tokens = review_usage.tokens + excluded.tokens, usd = review_usage.usd + excluded.usd";
        let tokens = i64::try_from(tokens).unwrap_or(i64::MAX);
        self.writer
            .execute_raw(Statement::from_sql_and_values(
                backend,
                sql(backend, text),
                [
                    repository.key().into(),
                    month_key(month).into(),
                    tokens.into(),
                    usd.into(),
                ],
            ))
            .await
            .map_err(DbError::Query)?;
        Ok(())
    }

    async fn month_usage(
        &self,
        repository: &RepoFullName,
        month: DateTime<Utc>,
    ) -> domain::Result<(u64, f64)> {
        let backend = self.backend();
        let text = "SELECT tokens, usd FROM review_usage WHERE repo_key = $1 AND month = $2";
        let spent = Spent::find_by_statement(Statement::from_sql_and_values(
            backend,
            sql(backend, text),
            [repository.key().into(), month_key(month).into()],
        ))
        .one(&self.reader)
        .await
        .map_err(DbError::Query)?;
        Ok(spent.map_or((0, 0.0), |s| (u64::try_from(s.tokens).unwrap_or(0), s.usd)))
    }

    async fn months(
        &self,
        repository: &RepoFullName,
        limit: u64,
    ) -> domain::Result<Vec<MonthUsage>> {
        let backend = self.backend();
        let text = "SELECT month, reviews, tokens, usd FROM review_usage WHERE repo_key = $1 \
                   ORDER BY month DESC LIMIT $2";
        let rows = Month::find_by_statement(Statement::from_sql_and_values(
            backend,
            sql(backend, text),
            [
                repository.key().into(),
                i64::try_from(limit).unwrap_or(i64::MAX).into(),
            ],
        ))
        .all(&self.reader)
        .await
        .map_err(DbError::Query)?;
        Ok(rows
            .into_iter()
            .map(|m| MonthUsage {
                month: m.month,
                reviews: u64::try_from(m.reviews).unwrap_or(0),
                tokens: u64::try_from(m.tokens).unwrap_or(0),
                usd: m.usd,
            })
            .collect())
    }
}

#[derive(Debug, FromQueryResult)]
struct Month {
    month: String,
    reviews: i64,
    tokens: i64,
    usd: f64,
}

#[async_trait]
impl PauseStore for Db {
    async fn pause(
        &self,
        repository: &RepoFullName,
        number: u64,
        by: &str,
        at: DateTime<Utc>,
    ) -> domain::Result<()> {
        let backend = self.backend();
        let text = "INSERT INTO paused_pull_requests (repo_key, pr_number, paused_by, paused_at) \
                   VALUES ($1, $2, $3, $4) ON CONFLICT (repo_key, pr_number) DO NOTHING";
        self.writer
            .execute_raw(Statement::from_sql_and_values(
                backend,
                sql(backend, text),
                [
                    repository.key().into(),
                    i64::try_from(number).unwrap_or(i64::MAX).into(),
                    by.chars().take(64).collect::<String>().into(),
                    at.into(),
                ],
            ))
            .await
            .map_err(DbError::Query)?;
        Ok(())
    }

    async fn resume(&self, repository: &RepoFullName, number: u64) -> domain::Result<bool> {
        let backend = self.backend();
        let text = "DELETE FROM paused_pull_requests WHERE repo_key = $1 AND pr_number = $2";
        let deleted = self
            .writer
            .execute_raw(Statement::from_sql_and_values(
                backend,
                sql(backend, text),
                [
                    repository.key().into(),
                    i64::try_from(number).unwrap_or(i64::MAX).into(),
                ],
            ))
            .await
            .map_err(DbError::Query)?;
        Ok(deleted.rows_affected() > 0)
    }

    async fn paused_by(
        &self,
        repository: &RepoFullName,
        number: u64,
    ) -> domain::Result<Option<String>> {
        #[derive(Debug, FromQueryResult)]
        struct Paused {
            paused_by: String,
        }
        let backend = self.backend();
        let text =
            "SELECT paused_by FROM paused_pull_requests WHERE repo_key = $1 AND pr_number = $2";
        let row = Paused::find_by_statement(Statement::from_sql_and_values(
            backend,
            sql(backend, text),
            [
                repository.key().into(),
                i64::try_from(number).unwrap_or(i64::MAX).into(),
            ],
        ))
        .one(&self.reader)
        .await
        .map_err(DbError::Query)?;
        Ok(row.map(|r| r.paused_by))
    }
}
