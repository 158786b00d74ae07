//! Accounts: sign-in sessions, single-use OAuth states, and a webhook secret's rotation grace period.
//! Access tokens and webhook secrets are stored encrypted from here on (`enc:v1:…`); values written
//! before are sealed by the application at start-up, which holds the keys.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::{big_integer, big_pk_auto, string, text_null};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Installations {
    Table,
    PreviousWebhookSecret,
    PreviousSecretExpiresAt,
}

#[derive(DeriveIden)]
enum Sessions {
    Table,
    Id,
    TokenHash,
    UserId,
    CreatedAt,
    ExpiresAt,
}

#[derive(DeriveIden)]
enum OauthStates {
    Table,
    Id,
    StateHash,
    CreatedAt,
    ExpiresAt,
}

fn at(column: impl IntoIden) -> ColumnDef {
    ColumnDef::new(column)
        .timestamp_with_time_zone()
        .not_null()
        .to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // One column per statement: SQLite alters a table one change at a time.
        manager
            .alter_table(
                Table::alter()
                    .table(Installations::Table)
                    .add_column(text_null(Installations::PreviousWebhookSecret))
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Installations::Table)
                    .add_column(
                        ColumnDef::new(Installations::PreviousSecretExpiresAt)
                            .timestamp_with_time_zone()
                            .null(),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Sessions::Table)
                    .col(big_pk_auto(Sessions::Id))
                    .col(string(Sessions::TokenHash).unique_key())
                    .col(big_integer(Sessions::UserId))
                    .col(at(Sessions::CreatedAt))
                    .col(at(Sessions::ExpiresAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Sessions::Table, Sessions::UserId)
                            .to(Alias::new("users"), Alias::new("id"))
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(OauthStates::Table)
                    .col(big_pk_auto(OauthStates::Id))
                    .col(string(OauthStates::StateHash).unique_key())
                    .col(at(OauthStates::CreatedAt))
                    .col(at(OauthStates::ExpiresAt))
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(OauthStates::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(Sessions::Table).to_owned())
            .await?;
        for column in [
            Installations::PreviousSecretExpiresAt,
            Installations::PreviousWebhookSecret,
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Installations::Table)
                        .drop_column(column)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}
