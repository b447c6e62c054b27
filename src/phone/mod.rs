//! One phone, from the agent's side: how to talk to it safely. Today: TLS trust for phones' self-signed
//! device certificates (`tls`).

pub mod tls;
