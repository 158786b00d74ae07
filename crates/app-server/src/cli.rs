//! The command line: `serve` (default), `worker`, `migrate`, `purge`, `keygen`, `sign`, `review` and
//! `send`.

use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::{Parser, Subcommand};
use domain::webhook::signature;
use domain::webhook::values::WebhookSecret;

#[derive(Debug, Parser)]
#[command(
    name = "app-server",
    version,
    about = "nectr: GitHub pull-request webhooks in, AI reviews out"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the HTTP server and review workers (the default). Migrations run first.
    Serve {
        /// Run the HTTP side only; review workers run elsewhere (`app-server worker`).
        #[arg(long)]
        no_workers: bool,
    },
    /// Run review workers only, no HTTP server.
    Worker,
    /// Apply database migrations and exit.
    Migrate,
    /// The knowledge graph: `graph backfill OWNER/REPO [--limit N]`.
    Graph {
        #[command(subcommand)]
        command: GraphCommand,
    },
    /// Purge now what is past retention (`DELIVERY_RETENTION_DAYS`, `PAYLOAD_RETENTION_DAYS`), print
    /// how much, and exit. `serve` does the same every `RETENTION_INTERVAL_SECONDS`.
    Purge,
    /// Print a fresh `ENCRYPTION_KEYS` entry and `SESSION_KEY` for production. To rotate the
    /// encryption key, put the new entry in front of the old one (`new,old`); after a restart every
    /// stored value is sealed with the new key and the old entry can be removed.
    Keygen {
        /// The new key's id (letters, digits, '-' or '_'), e.g. the month it was made.
        #[arg(long, default_value = "k1")]
        id: String,
    },
    /// Print the X-Hub-Signature-256 value GitHub would send for FILE.
    Sign {
        /// The webhook secret (or set GITHUB_WEBHOOK_SECRET).
        #[arg(long, env = "GITHUB_WEBHOOK_SECRET", hide_env_values = true)]
        secret: String,
        /// The payload file, signed over its exact bytes ("-" reads standard input).
        file: PathBuf,
    },
    /// Review a local unified diff (`git diff` output) with the configured reviewer (`AI_PROVIDER`,
    /// built-in by default) and print the review: the offline way to try nectr without GitHub.
    Review {
        /// The diff file ("-" reads standard input).
        #[arg(long)]
        diff: PathBuf,
    },
    /// Sign FILE and POST it as GitHub would, with a fresh delivery id; print the answer.
    Send {
        /// The webhook URL [default: http://127.0.0.1:8000/api/v1/webhooks/github].
        #[arg(long, default_value_t = default_send_url())]
        url: String,
        /// The webhook secret (or set GITHUB_WEBHOOK_SECRET).
        #[arg(long, env = "GITHUB_WEBHOOK_SECRET", hide_env_values = true)]
        secret: String,
        /// The X-GitHub-Event value: pull_request, ping, issues, push, ...
        #[arg(long)]
        event: String,
        /// Reuse this X-GitHub-Delivery id (to try a redelivery) instead of a fresh one.
        #[arg(long)]
        delivery: Option<String>,
        /// The payload file ("-" reads standard input).
        file: PathBuf,
    },
}

/// `app-server graph …`.
#[derive(Debug, Subcommand)]
pub enum GraphCommand {
    /// Index the repository's most recently updated merged pull requests (and their files) into the
    /// knowledge graph, reading GitHub with the connecting user's token (else `GITHUB_PAT`). Those
    /// already indexed are skipped, so a run stopped by a rate limit goes on when run again.
    Backfill {
        /// The repository, `OWNER/REPO`.
        repo: String,
        /// How many merged pull requests to look at, newest first.
        #[arg(long, default_value_t = 200)]
        limit: usize,
    },
}

/// Where `send` posts by default: a local nectr's webhook endpoint.
fn default_send_url() -> String {
    format!(
        "http://127.0.0.1:8000{}",
        crate::routes::webhooks::WEBHOOK_PATH
    )
}

fn read_payload(file: &Path) -> anyhow::Result<Vec<u8>> {
    if file == Path::new("-") {
        let mut buf = Vec::new();
        std::io::Read::read_to_end(&mut std::io::stdin(), &mut buf)
            .context("reading standard input")?;
        Ok(buf)
    } else {
        std::fs::read(file).with_context(|| format!("reading {}", file.display()))
    }
}

fn parse_secret(secret: &str) -> anyhow::Result<WebhookSecret> {
    WebhookSecret::parse(secret).map_err(|e| anyhow::anyhow!("{e}"))
}

/// `app-server sign`: the signature of FILE's exact bytes.
pub fn sign(secret: &str, file: &Path) -> anyhow::Result<String> {
    Ok(signature::sign(
        &parse_secret(secret)?,
        &read_payload(file)?,
    ))
}

/// What `send` got back.
#[derive(Debug)]
pub struct SendAnswer {
    pub delivery_id: String,
    pub status: u16,
    pub body: String,
}

/// `app-server send`: signs FILE and posts it with GitHub's headers.
pub async fn send(
    url: &str,
    secret: &str,
    event: &str,
    delivery: Option<String>,
    file: &Path,
) -> anyhow::Result<SendAnswer> {
    let body = read_payload(file)?;
    let signature = signature::sign(&parse_secret(secret)?, &body);
    let delivery_id = delivery.unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    let client = reqwest::Client::builder()
        .user_agent(concat!("nectr-send/", env!("CARGO_PKG_VERSION")))
        .timeout(std::time::Duration::from_secs(30))
        .build()
        .context("building the HTTP client")?;
    let response = client
        .post(url)
        .header("Content-Type", "application/json")
        .header("X-GitHub-Event", event)
        .header("X-GitHub-Delivery", &delivery_id)
        .header("X-GitHub-Hook-Installation-Target-Type", "repository")
        .header("X-Hub-Signature-256", signature)
        .body(body)
        .send()
        .await
        .with_context(|| format!("posting to {url}"))?;
    let status = response.status().as_u16();
    let body = response.text().await.context("reading the answer")?;
    Ok(SendAnswer {
        delivery_id,
        status,
        body,
    })
}

/// The reviewed files as they are in the working tree, paths taken relative to the current
/// directory (where `git diff` was run): what the workers read at the head commit. A file that is
/// missing, larger than [`domain::review::MAX_SOURCE_BYTES`] or not UTF-8 is reviewed by its lines.
fn working_tree_sources(plan: &domain::review::budget::Plan) -> domain::review::Sources {
    let sources = plan
        .chunks
        .iter()
        .flatten()
        .map(domain::review::diff::FileDiff::path)
        .filter_map(|path| {
            let bytes = std::fs::read(path).ok()?;
            (bytes.len() <= domain::review::MAX_SOURCE_BYTES)
                .then(|| String::from_utf8(bytes).ok())
                .flatten()
                .map(|text| (path.to_owned(), text))
        })
        .collect();
    std::sync::Arc::new(sources)
}

/// `app-server review`: the configured reviewer's review of a local diff, as text.
pub async fn review(
    diff: &Path,
    reviewer: std::sync::Arc<dyn domain::review::Reviewer>,
    budget: domain::review::budget::Budget,
) -> anyhow::Result<String> {
    use domain::review::ReviewRequest;
    use std::fmt::Write;

    let bytes = read_payload(diff)?;
    let text = String::from_utf8_lossy(&bytes);
    let files = domain::review::diff::parse(&text);
    if files.is_empty() {
        anyhow::bail!("no `diff --git` sections found: pass the output of `git diff`");
    }
    // The same budgeting as the workers: large diffs are reviewed in parts, and what is left out is
    // named.
    let plan = domain::review::budget::plan(files, budget.fitting(reviewer.context_tokens().await));
    let mut template = ReviewRequest::new(diff.display().to_string(), Vec::new());
    if reviewer.reads_sources() {
        template.sources = working_tree_sources(&plan);
    }
    let draft =
        domain::review::service::review_in_chunks(reviewer.as_ref(), &template, &plan).await?;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Review by nectr ({}): {}",
        reviewer.name(),
        draft.verdict(false).as_str()
    );
    let _ = writeln!(out, "{}", draft.summary);
    for f in &draft.findings {
        let _ = writeln!(
            out,
            "\n{}:{} [{} {}] {}",
            f.path,
            f.line,
            f.severity.as_str(),
            f.category.as_str(),
            f.title
        );
        let _ = writeln!(out, "    {}", f.body);
        if let Some(suggestion) = &f.suggestion {
            let shown = if suggestion.is_empty() {
                "(delete the line)"
            } else {
                suggestion
            };
            let _ = writeln!(out, "    suggestion: {shown}");
        }
    }
    for (path, why) in &draft.not_covered {
        let _ = writeln!(out, "\nnot reviewed: {path} ({why})");
    }
    Ok(out)
}

/// `app-server keygen`: a fresh encryption key entry and session key, as `NAME=value` lines.
pub fn keygen(id: &str) -> anyhow::Result<String> {
    let entry = domain::accounts::crypto::Keyring::generate_spec(id)?;
    // Checked like the setting will be.
    domain::accounts::crypto::Keyring::parse(&entry)?;
    let session = crate::keys::random_session_key()?;
    Ok(format!("ENCRYPTION_KEYS={entry}\nSESSION_KEY={session}\n"))
}
