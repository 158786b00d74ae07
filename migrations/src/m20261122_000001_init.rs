//! The first schema: users, installations, events (with their review-queue columns) and the delivery log.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::{
    big_integer, big_integer_null, big_pk_auto, boolean, integer, string, string_null, text,
    text_null,
};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
    GithubId,
    Login,
    Name,
    Email,
    AvatarUrl,
    AccessToken,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Installations {
    Table,
    Id,
    UserId,
    RepoFullName,
    RepoKey,
    WebhookId,
    WebhookSecret,
    IsActive,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Events {
    Table,
    Id,
    DeliveryId,
    EventName,
    Action,
    EventType,
    Repository,
    PrNumber,
    HeadSha,
    PrUpdatedAt,
    Sender,
    Status,
    Reason,
    Payload,
    Attempts,
    RunAt,
    LeaseExpiresAt,
    LastError,
    CreatedAt,
    UpdatedAt,
    ProcessedAt,
}

#[derive(DeriveIden)]
enum Deliveries {
    Table,
    Id,
    DeliveryId,
    Event,
    Action,
    Repository,
    Outcome,
    StatusCode,
    Cause,
    Detail,
    EventId,
    Headers,
    BodySize,
    BodySha256,
    ReceivedAt,
}

fn timestamp(col: impl IntoIden) -> ColumnDef {
    ColumnDef::new(col)
        .timestamp_with_time_zone()
        .not_null()
        .take()
}

fn timestamp_null(col: impl IntoIden) -> ColumnDef {
    ColumnDef::new(col).timestamp_with_time_zone().null().take()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Users::Table)
                    .col(big_pk_auto(Users::Id))
                    .col(big_integer(Users::GithubId).unique_key())
                    .col(string(Users::Login))
                    .col(string_null(Users::Name))
                    .col(string_null(Users::Email))
                    .col(string_null(Users::AvatarUrl))
                    .col(text_null(Users::AccessToken))
                    .col(timestamp(Users::CreatedAt))
                    .col(timestamp(Users::UpdatedAt))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Installations::Table)
                    .col(big_pk_auto(Installations::Id))
                    .col(big_integer(Installations::UserId))
                    .col(string(Installations::RepoFullName))
                    .col(string(Installations::RepoKey))
                    .col(big_integer_null(Installations::WebhookId))
                    .col(text(Installations::WebhookSecret))
                    .col(boolean(Installations::IsActive))
                    .col(timestamp(Installations::CreatedAt))
                    .col(timestamp(Installations::UpdatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Installations::Table, Installations::UserId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Events::Table)
                    .col(big_pk_auto(Events::Id))
                    .col(string(Events::DeliveryId))
                    .col(string(Events::EventName))
                    .col(string_null(Events::Action))
                    .col(string(Events::EventType))
                    .col(string_null(Events::Repository))
                    .col(big_integer_null(Events::PrNumber))
                    .col(string_null(Events::HeadSha))
                    .col(timestamp_null(Events::PrUpdatedAt))
                    .col(string_null(Events::Sender))
                    .col(string(Events::Status))
                    .col(text_null(Events::Reason))
                    .col(text(Events::Payload))
                    .col(integer(Events::Attempts).default(0))
                    .col(timestamp_null(Events::RunAt))
                    .col(timestamp_null(Events::LeaseExpiresAt))
                    .col(text_null(Events::LastError))
                    .col(timestamp(Events::CreatedAt))
                    .col(timestamp(Events::UpdatedAt))
                    .col(timestamp_null(Events::ProcessedAt))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Deliveries::Table)
                    .col(big_pk_auto(Deliveries::Id))
                    .col(string_null(Deliveries::DeliveryId))
                    .col(string_null(Deliveries::Event))
                    .col(string_null(Deliveries::Action))
                    .col(string_null(Deliveries::Repository))
                    .col(string(Deliveries::Outcome))
                    .col(integer(Deliveries::StatusCode))
                    .col(string_null(Deliveries::Cause))
                    .col(text_null(Deliveries::Detail))
                    .col(big_integer_null(Deliveries::EventId))
                    .col(text(Deliveries::Headers))
                    .col(big_integer(Deliveries::BodySize))
                    .col(string_null(Deliveries::BodySha256))
                    .col(timestamp(Deliveries::ReceivedAt))
                    .to_owned(),
            )
            .await?;

        // Uniqueness rules that make dedup race-free, and the indexes the queue and the log read by.
        // Partial indexes are written out: the same SQL serves SQLite and PostgreSQL.
        let db = manager.get_connection();
        for sql in [
            // Rule 1: one accepted event per X-GitHub-Delivery.
            "CREATE UNIQUE INDEX ux_events_delivery_id ON events (delivery_id)",
            // Rule 2: one review in flight per repository, pull request and head commit.
            "CREATE UNIQUE INDEX ux_events_in_flight ON events (repository, pr_number, head_sha) \
             WHERE status IN ('pending', 'processing')",
            // Supersede looks up a PR's pending work.
            "CREATE INDEX ix_events_pr ON events (repository, pr_number, status)",
            // Workers claim due work in order.
            "CREATE INDEX ix_events_due ON events (status, run_at)",
            // At most one active installation per repository, so a lookup is never ambiguous.
            "CREATE UNIQUE INDEX ux_installations_active_repo ON installations (repo_key) WHERE is_active",
            "CREATE INDEX ix_deliveries_received_at ON deliveries (received_at)",
            "CREATE INDEX ix_deliveries_delivery_id ON deliveries (delivery_id)",
        ] {
            db.execute_unprepared(sql).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in ["deliveries", "events", "installations", "users"] {
            manager
                .drop_table(Table::drop().table(Alias::new(table)).to_owned())
                .await?;
        }
        Ok(())
    }
}
