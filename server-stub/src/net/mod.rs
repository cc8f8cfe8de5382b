//! The socket side: which connections are taken, TLS, a fresh push stream
//! on its bare socket, the rest to hyper and the router; and `serve`.

pub mod admission;
pub mod bare_stream;
pub mod body_deadline;
pub mod connections;
pub mod open_files;
pub mod proxy;
pub mod serve;
pub mod tls;
