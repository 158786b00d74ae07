//! The ticket cache on `linear_issues`: one row per Linear issue reviews were given, replaced
//! whenever it is fetched again or a Linear webhook says it changed.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use domain::tickets::{Ticket, TicketCache};
use sea_orm::sea_query::OnConflict;
use sea_orm::{ActiveValue::Set, EntityTrait};

use crate::entities::linear_issues::{self, Column};
use crate::{Db, DbError};

#[async_trait]
impl TicketCache for Db {
    async fn cached(&self, identifier: &str) -> domain::Result<Option<(Ticket, DateTime<Utc>)>> {
        let row = linear_issues::Entity::find_by_id(identifier.to_ascii_uppercase())
            .one(&self.reader)
            .await
            .map_err(DbError::Query)?;
        Ok(row.map(|r| {
            (
                Ticket {
                    identifier: r.identifier,
                    id: r.linear_id,
                    title: r.title,
                    state: r.state,
                    description: r.description,
                    url: r.url,
                },
                r.fetched_at,
            )
        }))
    }

    async fn keep(&self, ticket: &Ticket, at: DateTime<Utc>) -> domain::Result<()> {
        let row = linear_issues::ActiveModel {
            identifier: Set(ticket.identifier.to_ascii_uppercase()),
            linear_id: Set(ticket.id.clone()),
            title: Set(ticket.title.clone()),
            state: Set(ticket.state.clone()),
            description: Set(ticket.description.clone()),
            url: Set(ticket.url.clone()),
            fetched_at: Set(at),
        };
        linear_issues::Entity::insert(row)
            .on_conflict(
                OnConflict::column(Column::Identifier)
                    .update_columns([
                        Column::LinearId,
                        Column::Title,
                        Column::State,
                        Column::Description,
                        Column::Url,
                        Column::FetchedAt,
                    ])
                    .to_owned(),
            )
            .exec(&self.writer)
            .await
            .map_err(DbError::Query)?;
        Ok(())
    }
}
