//! `memories`: the project memory, one row per memory of a repository. Its full-text index is
//! the database's own (FTS5 table or `tsvector` column), read with SQL in `memory.rs`.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "memories")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    /// The repository's name in lower case: what lookups match on.
    pub repo_key: String,
    pub repository: String,
    /// `rule`, `pattern`, `decision` or `developer`.
    pub kind: String,
    pub developer: Option<String>,
    pub developer_key: Option<String>,
    #[sea_orm(column_type = "Text")]
    pub title: String,
    #[sea_orm(column_type = "Text")]
    pub content: String,
    /// `pull_request`, `comment` or `api`.
    pub source: String,
    pub source_ref: Option<String>,
    /// `active`, `pending` or `rejected`.
    pub status: String,
    pub content_hash: String,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
