//! Column values and rows.

/// One column value, typed by the collection schema.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    /// SQL NULL / JSON null.
    Null,
    /// Integer and timestamp columns.
    Integer(i64),
    /// Real columns.
    Real(f64),
    /// Text columns.
    Text(String),
    /// Boolean columns.
    Bool(bool),
    /// JSON columns, as compact JSON text.
    Json(String),
}

/// A change to one row: the full new values, or a tombstone.
#[derive(Clone, Debug, PartialEq)]
pub enum Change {
    /// Insert or replace the row; values follow the collection's declared columns.
    Upsert(Vec<Value>),
    /// The row was deleted.
    Delete,
}

/// A row as it travels in a page: key, the seq of its last write, and the change.
#[derive(Clone, Debug, PartialEq)]
pub struct Row {
    /// Primary key within the scope.
    pub id: String,
    /// Server-assigned seq of the row's last write.
    pub seq: i64,
    /// New values or a tombstone.
    pub change: Change,
}

impl Row {
    /// An upsert row.
    pub fn upsert(id: impl Into<String>, seq: i64, values: Vec<Value>) -> Self {
        Row { id: id.into(), seq, change: Change::Upsert(values) }
    }

    /// A tombstone.
    pub fn tombstone(id: impl Into<String>, seq: i64) -> Self {
        Row { id: id.into(), seq, change: Change::Delete }
    }

    /// True for tombstones.
    pub fn is_delete(&self) -> bool {
        matches!(self.change, Change::Delete)
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Self {
        Value::Text(s.to_owned())
    }
}

impl From<String> for Value {
    fn from(s: String) -> Self {
        Value::Text(s)
    }
}

impl From<i64> for Value {
    fn from(n: i64) -> Self {
        Value::Integer(n)
    }
}

impl From<bool> for Value {
    fn from(b: bool) -> Self {
        Value::Bool(b)
    }
}

impl From<f64> for Value {
    fn from(f: f64) -> Self {
        Value::Real(f)
    }
}

impl<T: Into<Value>> From<Option<T>> for Value {
    fn from(v: Option<T>) -> Self {
        v.map_or(Value::Null, Into::into)
    }
}
