//! The PostgreSQL backend of `sql::Conn`: the same statements, with `?N`
//! placeholders rewritten to `$N`, values bound to whatever type the
//! server inferred for each placeholder, and columns read back as `Value`s.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::error::Error as StdError;

use bytes::BytesMut;
use postgres::types::{to_sql_checked, IsNull, ToSql, Type};
use postgres::{Client, NoTls, Row, Statement};

use super::{Error, Result, Value};

type BoxError = Box<dyn StdError + Sync + Send>;

pub struct PgConn {
    /// Always there until dropped: closing blocks as well, so `Drop` takes
    /// it out to close it where blocking is allowed.
    client: RefCell<Option<Client>>,
    prepared: RefCell<HashMap<String, Statement>>,
    /// Whether a transaction is open; every BEGIN, COMMIT and ROLLBACK
    /// the server issues goes through `execute` or `batch`.
    in_tx: Cell<bool>,
}

/// The sync client runs its own small runtime; on one of tokio's worker
/// threads it must first tell tokio that this thread will block.
fn blocking<T>(f: impl FnOnce() -> T) -> T {
    match tokio::runtime::Handle::try_current() {
        Ok(h) if h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread => {
            tokio::task::block_in_place(f)
        }
        _ => f(),
    }
}

impl PgConn {
    /// Connects; a reader's sessions refuse to write, as SQLite readers do.
    pub fn connect(url: &str, read_only: bool) -> Result<Self> {
        let mut client = blocking(|| Client::connect(url, NoTls))?;
        if read_only {
            blocking(|| client.batch_execute("SET default_transaction_read_only = on"))?;
        }
        Ok(PgConn {
            client: RefCell::new(Some(client)),
            prepared: RefCell::new(HashMap::new()),
            in_tx: Cell::new(false),
        })
    }

    /// Runs `f` on the client, telling tokio this thread blocks.
    fn with<T>(&self, f: impl FnOnce(&mut Client) -> Result<T, postgres::Error>) -> Result<T> {
        let mut client = self.client.borrow_mut();
        let client = client
            .as_mut()
            .ok_or(Error::Range("the connection is closed".into()))?;
        Ok(blocking(|| f(client))?)
    }

    pub fn prepare(&self, sql: &str, keep: bool) -> Result<Statement> {
        if let Some(s) = self.prepared.borrow().get(sql) {
            return Ok(s.clone());
        }
        let text = placeholders(sql);
        let stmt = self.with(|c| c.prepare(&text))?;
        if keep {
            self.prepared
                .borrow_mut()
                .insert(sql.to_owned(), stmt.clone());
        }
        Ok(stmt)
    }

    fn track(&self, sql: &str) {
        let word = sql.trim_start().to_ascii_uppercase();
        if word.starts_with("BEGIN") || word.starts_with("START TRANSACTION") {
            self.in_tx.set(true);
        } else if word.starts_with("COMMIT")
            || word.starts_with("END")
            || (word.starts_with("ROLLBACK") && !word.starts_with("ROLLBACK TO"))
        {
            self.in_tx.set(false);
        }
    }

    pub fn in_transaction(&self) -> bool {
        self.in_tx.get()
    }

    pub fn execute(&self, sql: &str, stmt: &Statement, values: &[Value]) -> Result<usize> {
        let binds: Vec<Bind<'_>> = values.iter().map(Bind).collect();
        let refs: Vec<&(dyn ToSql + Sync)> = binds.iter().map(|b| b as _).collect();
        let n = self.with(|c| c.execute(stmt, &refs))?;
        self.track(sql);
        usize::try_from(n).map_err(|_| Error::Range(n.to_string()))
    }

    pub fn query(&self, stmt: &Statement, values: &[Value]) -> Result<Vec<Row>> {
        let binds: Vec<Bind<'_>> = values.iter().map(Bind).collect();
        let refs: Vec<&(dyn ToSql + Sync)> = binds.iter().map(|b| b as _).collect();
        self.with(|c| c.query(stmt, &refs))
    }

    pub fn batch(&self, sql: &str) -> Result<()> {
        self.with(|c| c.batch_execute(sql))?;
        self.track(sql);
        Ok(())
    }
}

impl Drop for PgConn {
    fn drop(&mut self) {
        if let Some(client) = self.client.get_mut().take() {
            blocking(move || drop(client));
        }
    }
}

/// `?N` to `$N`, outside quoted text and identifiers.
pub fn placeholders(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len());
    let mut quote: Option<char> = None;
    for c in sql.chars() {
        match quote {
            Some(q) => {
                if c == q {
                    quote = None;
                }
                out.push(c);
            }
            None => match c {
                '\'' | '"' => {
                    quote = Some(c);
                    out.push(c);
                }
                '?' => out.push('$'),
                _ => out.push(c),
            },
        }
    }
    out
}

fn text_like(ty: &Type) -> bool {
    matches!(
        *ty,
        Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME | Type::UNKNOWN
    ) || ty.name() == "citext"
}

/// A `Value` bound to a placeholder of whatever type PostgreSQL inferred:
/// SQLite's integers stand for booleans and flags, so an integer binds to
/// a boolean, and numbers and text convert where the statement says so.
#[derive(Debug)]
struct Bind<'a>(&'a Value);

impl ToSql for Bind<'_> {
    fn to_sql(&self, ty: &Type, out: &mut BytesMut) -> Result<IsNull, BoxError> {
        match self.0 {
            Value::Null => Ok(IsNull::Yes),
            Value::Int(i) => match *ty {
                Type::INT8 => i.to_sql(ty, out),
                Type::INT4 => i32::try_from(*i)?.to_sql(ty, out),
                Type::INT2 => i16::try_from(*i)?.to_sql(ty, out),
                Type::BOOL => (*i != 0).to_sql(ty, out),
                #[allow(clippy::cast_precision_loss)]
                Type::FLOAT8 => (*i as f64).to_sql(ty, out),
                _ if text_like(ty) => i.to_string().as_str().to_sql(ty, out),
                _ => Err(format!("cannot bind an integer to {ty}").into()),
            },
            Value::Real(f) => match *ty {
                Type::FLOAT8 => f.to_sql(ty, out),
                _ if text_like(ty) => f.to_string().as_str().to_sql(ty, out),
                _ => Err(format!("cannot bind a real to {ty}").into()),
            },
            Value::Text(s) => match *ty {
                Type::INT8 => s.parse::<i64>()?.to_sql(ty, out),
                Type::INT4 => s.parse::<i32>()?.to_sql(ty, out),
                Type::BYTEA => s.as_bytes().to_sql(ty, out),
                _ if text_like(ty) => s.as_str().to_sql(ty, out),
                _ => Err(format!("cannot bind text to {ty}").into()),
            },
            Value::Blob(b) => match *ty {
                Type::BYTEA => b.as_slice().to_sql(ty, out),
                _ => Err(format!("cannot bind a blob to {ty}").into()),
            },
        }
    }

    fn accepts(_: &Type) -> bool {
        true
    }

    to_sql_checked!();
}

/// Column `i` of a row as a `Value`.
pub fn value(row: &Row, i: usize) -> Result<Value> {
    let column = row
        .columns()
        .get(i)
        .ok_or(Error::Range(format!("no column {i}")))?;
    let ty = column.type_().clone();
    let v = match ty {
        Type::INT8 => row.try_get::<_, Option<i64>>(i)?.map(Value::Int),
        Type::INT4 => row
            .try_get::<_, Option<i32>>(i)?
            .map(|v| Value::Int(v.into())),
        Type::INT2 => row
            .try_get::<_, Option<i16>>(i)?
            .map(|v| Value::Int(v.into())),
        Type::BOOL => row
            .try_get::<_, Option<bool>>(i)?
            .map(|v| Value::Int(v.into())),
        Type::FLOAT8 => row.try_get::<_, Option<f64>>(i)?.map(Value::Real),
        Type::FLOAT4 => row
            .try_get::<_, Option<f32>>(i)?
            .map(|v| Value::Real(v.into())),
        Type::BYTEA => row.try_get::<_, Option<Vec<u8>>>(i)?.map(Value::Blob),
        ref t if text_like(t) => row.try_get::<_, Option<String>>(i)?.map(Value::Text),
        t => {
            return Err(Error::Range(format!(
                "column {i} has type {t}, which the server does not read; cast it in the query"
            )))
        }
    };
    Ok(v.unwrap_or(Value::Null))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_outside_quotes_only() {
        assert_eq!(
            placeholders("SELECT ?1, '?2', \"a?\" FROM t WHERE x = ?12"),
            "SELECT $1, '?2', \"a?\" FROM t WHERE x = $12"
        );
    }
}
