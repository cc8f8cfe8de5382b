//! The agent's endpoints: poll and receipts with a user token, the push
//! stream, and getting a token by enrollment key or Kerberos.

pub mod enroll;
pub mod kerberos;
pub mod poll;
pub mod push;
