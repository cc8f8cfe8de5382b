//! What the server asks of other servers: the directory from LDAP or Active
//! Directory, bundles by SMTP and IMAP.

pub mod ldap;
pub mod mail;
