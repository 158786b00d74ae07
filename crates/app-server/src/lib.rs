//! nectr's server: settings, wiring, HTTP routes and the command line. `main.rs` is a thin shell over this
//! library so tests build the real `Application`.

pub mod api;
pub mod cli;
pub mod context;
pub mod csrf;
pub mod deadline;
pub mod error;
pub mod graph;
pub mod keys;
pub mod limits;
pub mod metrics;
pub mod offload;
pub mod openapi;
pub mod request_id;
pub mod retention;
pub mod routes;
pub mod security;
pub mod session;
pub mod settings;
pub mod startup;
pub mod telemetry;
pub mod workers;

pub use settings::Settings;
pub use startup::Application;

/// Makes ring the process's TLS crypto provider (nectr uses rustls with ring only). Safe to call many times.
pub fn install_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}
