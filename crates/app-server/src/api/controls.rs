//! The team's controls' API: an installation's default `.nectr.toml`
//! (`/api/v1/repos/{owner}/{repo}/settings`), its delivery filters (`…/filters`) and what its
//! reviews cost (`…/usage`).

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// `GET` and `PUT …/settings`: the installation's defaults, as `.nectr.toml`'s sections in JSON
/// (`{"review": {"min_severity": "warning"}}`); the repository's own file overrides them key by key.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct SettingsBody {
    pub repository: String,
    pub settings: Value,
}

/// `GET …/usage`: months, newest first.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct UsageBody {
    pub repository: String,
    pub months: Vec<MonthBody>,
}

/// One month's reviews and their cost.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct MonthBody {
    /// `YYYY-MM`.
    pub month: String,
    pub reviews: u64,
    pub tokens: u64,
    pub usd: f64,
}

impl From<domain::review::MonthUsage> for MonthBody {
    fn from(m: domain::review::MonthUsage) -> Self {
        Self {
            month: m.month,
            reviews: m.reviews,
            tokens: m.tokens,
            usd: m.usd,
        }
    }
}

/// `GET` and `PUT …/filters`: `{"filters": [{"name", "headers", "body"}]}`; none set, every
/// delivery is admitted.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct FiltersBody {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repository: Option<String>,
    pub filters: Vec<Value>,
}
