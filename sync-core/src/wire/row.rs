//! Decoding one row straight into typed values of its collection's columns.

use std::fmt;

use serde::Deserialize;
use serde::de::value::{MapAccessDeserializer, SeqAccessDeserializer};
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::Value as Json;

use crate::error::PageError;
use crate::schema::{Collection, ColumnType};
use crate::value::{Change, Row, Value};

pub(super) struct RowSeed<'a> {
    pub(super) collection: &'a Collection,
    pub(super) scope: &'a str,
    pub(super) index: usize,
}

impl<'de> DeserializeSeed<'de> for RowSeed<'_> {
    type Value = Result<Row, PageError>;

    fn deserialize<D: Deserializer<'de>>(self, de: D) -> Result<Self::Value, D::Error> {
        de.deserialize_any(self)
    }
}

impl RowSeed<'_> {
    fn not_an_object(&self) -> Result<Row, PageError> {
        Err(PageError::BadRow { row: self.index, id: None, message: "not a JSON object".into() })
    }
}

impl<'de> Visitor<'de> for RowSeed<'_> {
    type Value = Result<Row, PageError>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a row object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let columns = &self.collection.columns;
        let (mut id, mut seq, mut integration, mut deleted) = (None, None, None, None);
        let mut values: Vec<Option<Result<Value, String>>> = vec![None; columns.len()];
        while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
            match key.as_ref() {
                "id" => id = Some(map.next_value::<Json>()?),
                "seq" => seq = Some(map.next_value::<Json>()?),
                "integration_id" => integration = Some(map.next_value::<Json>()?),
                "deleted" => deleted = Some(map.next_value::<Json>()?),
                name => match columns.iter().position(|c| c.name == name) {
                    Some(i) => values[i] = Some(map.next_value_seed(ValueSeed(columns[i].ty))?),
                    None => {
                        map.next_value::<IgnoredAny>()?;
                    }
                },
            }
        }
        let id = match id {
            Some(Json::String(id)) if !id.is_empty() => id,
            _ => {
                let message = "`id` is missing or not a non-empty string".into();
                return Ok(Err(PageError::BadRow { row: self.index, id: None, message }));
            }
        };
        let bad = |message: String| Ok(Err(PageError::BadRow { row: self.index, id: Some(id.clone()), message }));
        let Some(seq) = seq.as_ref().and_then(Json::as_i64).filter(|s| *s > 0) else {
            return bad("`seq` is missing or not a positive integer".into());
        };
        match integration {
            None => {}
            Some(Json::String(s)) if s == self.scope => {}
            Some(other) => return bad(format!("`integration_id` is {other}, not the requested `{}`", self.scope)),
        }
        let deleted = match deleted {
            None | Some(Json::Null) => false,
            Some(Json::Bool(b)) => b,
            Some(_) => return bad("`deleted` is not a boolean".into()),
        };
        if deleted {
            return Ok(Ok(Row { id, seq, change: Change::Delete }));
        }
        let mut row_values = Vec::with_capacity(columns.len());
        for (column, value) in columns.iter().zip(values) {
            let value = match value.unwrap_or(Ok(Value::Null)) {
                Ok(value) => value,
                Err(got) => return bad(format!("`{}` should be {:?}, got {got}", column.name, column.ty)),
            };
            if value == Value::Null && !column.nullable {
                return bad(format!("`{}` is required but missing or null", column.name));
            }
            row_values.push(value);
        }
        Ok(Ok(Row { id, seq, change: Change::Upsert(row_values) }))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
        IgnoredAny.visit_seq(seq).map(|_| self.not_an_object())
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
        Ok(self.not_an_object())
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
        Ok(self.not_an_object())
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
        Ok(self.not_an_object())
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
        Ok(self.not_an_object())
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
        Ok(self.not_an_object())
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(self.not_an_object())
    }
}

/// Types one JSON value for a column of type `ty` exactly as the page decoder does (a pushed field); a mismatch
/// is described in short.
pub(crate) fn typed_value(ty: ColumnType, json: &Json) -> Result<Value, String> {
    ValueSeed(ty).deserialize(json).unwrap_or_else(|e| Err(e.to_string()))
}

/// One column value of a known type; a mismatch is returned as a short description of what came.
struct ValueSeed(ColumnType);

fn describe(v: &Json) -> String {
    let text = v.to_string();
    if text.chars().count() > 40 { format!("{}…", text.chars().take(40).collect::<String>()) } else { text }
}

impl<'de> DeserializeSeed<'de> for ValueSeed {
    type Value = Result<Value, String>;

    fn deserialize<D: Deserializer<'de>>(self, de: D) -> Result<Self::Value, D::Error> {
        if self.0 == ColumnType::Json {
            // Canonical compact text (keys sorted), whatever spacing and key order the server used.
            return Json::deserialize(de)
                .map(|v| Ok(if v.is_null() { Value::Null } else { Value::Json(v.to_string()) }));
        }
        de.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for ValueSeed {
    type Value = Result<Value, String>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "a {:?} value", self.0)
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Ok(Value::Null))
    }
    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Ok(Value::Null))
    }
    fn visit_bool<E: de::Error>(self, b: bool) -> Result<Self::Value, E> {
        Ok(match self.0 {
            ColumnType::Boolean => Ok(Value::Bool(b)),
            _ => Err(describe(&Json::Bool(b))),
        })
    }
    fn visit_i64<E: de::Error>(self, n: i64) -> Result<Self::Value, E> {
        Ok(match self.0 {
            ColumnType::Integer | ColumnType::Timestamp => Ok(Value::Integer(n)),
            ColumnType::Real => Ok(Value::Real(n as f64)),
            ColumnType::Boolean if n == 0 || n == 1 => Ok(Value::Bool(n == 1)),
            _ => Err(describe(&Json::from(n))),
        })
    }
    fn visit_u64<E: de::Error>(self, n: u64) -> Result<Self::Value, E> {
        match i64::try_from(n) {
            Ok(n) => self.visit_i64(n),
            Err(_) if self.0 == ColumnType::Real => Ok(Ok(Value::Real(n as f64))),
            Err(_) => Ok(Err(describe(&Json::from(n)))),
        }
    }
    fn visit_f64<E: de::Error>(self, f: f64) -> Result<Self::Value, E> {
        Ok(match self.0 {
            ColumnType::Real => Ok(Value::Real(f)),
            _ => Err(describe(&Json::from(f))),
        })
    }
    fn visit_str<E: de::Error>(self, s: &str) -> Result<Self::Value, E> {
        self.visit_string(s.to_owned())
    }
    fn visit_string<E: de::Error>(self, s: String) -> Result<Self::Value, E> {
        Ok(match self.0 {
            ColumnType::Text => Ok(Value::Text(s)),
            _ => Err(describe(&Json::String(s))),
        })
    }
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
        Json::deserialize(SeqAccessDeserializer::new(seq)).map(|v| Err(describe(&v)))
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        Json::deserialize(MapAccessDeserializer::new(map)).map(|v| Err(describe(&v)))
    }
}
