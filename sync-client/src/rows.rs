//! Reads for a UI: [`Client::list_rows`] with filter values typed by their column and rows with named columns.

use sync_core::{Collection, ColumnType, Value};
use sync_sqlite::ListRows;

use crate::{Client, Error};

/// A row of a collection: `id`, `seq`, then the declared columns by name, in schema order.
#[derive(Clone, Debug, PartialEq)]
pub struct NamedRow {
    /// The row's id.
    pub id: String,
    /// The seq of its last change.
    pub seq: i64,
    /// `(column, value)` for each declared column, in schema order.
    pub values: Vec<(String, Value)>,
}

impl Client {
    /// The collection `name` of the schema the database was prepared with.
    pub fn collection(&self, name: &str) -> Result<Collection, Error> {
        let schema = self.store.schema().ok_or(Error::NoSchema)?;
        let collection =
            schema.collection(name).ok_or_else(|| sync_core::StoreError::UnknownCollection(name.into()))?;
        Ok(collection.clone())
    }

    /// A page of the rows of `collection` of the client's integration, on the reader connection. Each filter
    /// value is first converted to its column's type where that loses nothing (a whole number for an integer
    /// column, text for a JSON column, any number for a real column); another type is
    /// [`Error::InvalidArgument`].
    pub async fn list_rows(&self, collection: &str, mut query: ListRows) -> Result<Vec<NamedRow>, Error> {
        let c = self.collection(collection)?;
        for (column, value) in &mut query.filter {
            *value = typed(&c, column, std::mem::replace(value, Value::Null))?;
        }
        let rows = self.store.list_rows(&self.scope, collection, query).await?;
        let names = || c.columns.iter().map(|column| column.name.clone());
        Ok(rows
            .into_iter()
            .map(|row| NamedRow { id: row.id, seq: row.seq, values: names().zip(row.values).collect() })
            .collect())
    }
}

/// `value` as a value of `column` of `collection` (or `id`, `seq`). An unknown column passes unchanged: the store
/// refuses it with the list of the columns it knows.
fn typed(collection: &Collection, column: &str, value: Value) -> Result<Value, Error> {
    let ty = match column {
        "id" => ColumnType::Text,
        "seq" => ColumnType::Integer,
        name => match collection.columns.iter().find(|c| c.name == name) {
            Some(c) => c.ty,
            None => return Ok(value),
        },
    };
    Ok(match (ty, value) {
        (_, Value::Null) => Value::Null,
        (ColumnType::Integer | ColumnType::Timestamp, Value::Integer(i)) => Value::Integer(i),
        (ColumnType::Integer | ColumnType::Timestamp, Value::Real(f)) if f.fract() == 0.0 => Value::Integer(f as i64),
        (ColumnType::Real, Value::Real(f)) => Value::Real(f),
        (ColumnType::Real, Value::Integer(i)) => Value::Real(i as f64),
        (ColumnType::Boolean, Value::Bool(b)) => Value::Bool(b),
        (ColumnType::Text, Value::Text(s)) => Value::Text(s),
        (ColumnType::Json, Value::Text(s) | Value::Json(s)) => Value::Json(s),
        (ty, other) => {
            return Err(Error::InvalidArgument(format!(
                "column `{column}` is {ty:?}; it cannot be compared with {other:?}"
            )));
        }
    })
}

#[cfg(test)]
mod tests {
    use sync_core::Column;

    use super::*;

    #[test]
    fn filter_values_take_their_columns_type_or_are_refused() {
        let c = Collection::new(
            "m",
            vec![
                Column::new("n", ColumnType::Integer),
                Column::new("r", ColumnType::Real),
                Column::new("j", ColumnType::Json),
                Column::new("b", ColumnType::Boolean),
            ],
        );
        assert_eq!(typed(&c, "n", Value::Real(3.0)).ok(), Some(Value::Integer(3)));
        assert_eq!(typed(&c, "r", Value::Integer(3)).ok(), Some(Value::Real(3.0)));
        assert_eq!(typed(&c, "j", Value::from("{}")).ok(), Some(Value::Json("{}".into())));
        assert_eq!(typed(&c, "seq", Value::Null).ok(), Some(Value::Null));
        assert_eq!(typed(&c, "nope", Value::Bool(true)).ok(), Some(Value::Bool(true)));
        for (column, value) in [("n", Value::Real(2.5)), ("b", Value::Integer(1)), ("id", Value::Integer(1))] {
            let e = typed(&c, column, value).expect_err("refused");
            assert_eq!(e.code(), sync_core::ErrorCode::InvalidArgument, "{e}");
            assert!(e.to_string().contains(column), "{e}");
        }
    }
}
