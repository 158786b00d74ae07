# nectr developer recipes. `just --list` shows them. (Install just with `cargo install just`.)

# Run the server: SQLite file ./nectr.db, development mode.
run *ARGS:
    cargo run -p app-server -- {{ARGS}}

# The README's test command: everything, on SQLite and (when reachable) PostgreSQL.
test:
    cargo test --workspace

# The same, failing if PostgreSQL is not reachable instead of skipping its tests.
test-pg:
    NECTR_REQUIRE_POSTGRES=1 cargo test --workspace

# Exactly what CI runs.
ci:
    bash .ci/run

fmt:
    cargo fmt --all

lint:
    cargo fmt --all --check
    cargo clippy --workspace --all-targets -- -D warnings

# Apply migrations to DATABASE_URL (default ./nectr.db) and exit.
migrate:
    cargo run -p app-server -- migrate

# The release server under load on its webhook endpoint (wrk, 32 connections; and 1,000 req/s for
# latency), beside the database's own rate for the same rows in the same run (Python's sqlite3 and
# pgbench) and the bare /livez route; ratios printed. Needs wrk (apt-get install wrk) for the load.
# PostgreSQL on loopback without TLS, so the figures measure nectr rather than rustls.
bench-ingest:
    cargo build --release -p app-server
    NECTR_TEST_POSTGRES_URL="${NECTR_TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable}" cargo bench -p nectr-tests --bench ingest

# Claimed+completed jobs per second through the queue (no-op handler), SQLite and PostgreSQL.
bench-queue:
    NECTR_TEST_POSTGRES_URL="${NECTR_TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable}" cargo bench -p nectr-tests --bench queue

# Review pipeline time with an instantly answering reviewer (100 / 1,000 / 3,000 files), the built-in
# reviewer reading 100 files whole (tree-sitter) against the same by their lines, and the diff
# parser's throughput.
bench-review:
    cargo bench -p nectr-tests --bench review

# The built-in reviewer over the last 100 commits of each git repository given (paths to their git
# directories, bare or not): every finding, and the findings per 1,000 added lines, to judge by hand.
review-real *REPOS:
    cargo build -p app-server
    python3 tests/tools/real_commits.py --bin target/debug/app-server --commits 100 {{REPOS}}

# The release server under floods: large forged bodies (/livez latency), 20,000 stalled connections and
# 20 held-back 25 MiB bodies (/health latency, the server's RSS and descriptors).
bench-limits:
    cargo bench -p app-server --bench limits

# The knowledge graph at size: 10,000 PRs of 20 files indexed, then file experts and related PRs for
# 20-path questions, p50/p99 on SQLite, PostgreSQL and ArcadeDB over Bolt (BENCH_GRAPH_PRS, BENCH_ONLY).
bench-graph:
    NECTR_TEST_POSTGRES_URL="${NECTR_TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable}" cargo bench -p nectr-tests --bench graph

bench: bench-ingest bench-queue bench-review bench-limits bench-graph

# Generated inputs through every parser of untrusted text, no panic allowed: 2,000,000 a target
# (10 million in all) unless FUZZ_INPUTS says otherwise. CI runs a short version in the test suite.
fuzz:
    cargo run --release -p nectr-tests --bin fuzz
