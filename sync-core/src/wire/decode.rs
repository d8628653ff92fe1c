//! The page decoder: streams the body once with serde, straight into typed rows (no intermediate JSON tree for
//! the rows), then validates the page against its request. Semantic problems are carried as values, never as
//! serde errors, so the caller gets a precise [`PageError`] and only broken JSON is reported as "not JSON".

use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::Value as Json;

use crate::error::PageError;
use crate::page::{Page, PageRequest};
use crate::schema::Collection;
use crate::value::Row;
use crate::wire::row::RowSeed;

/// Decodes and validates the body of a page answering `request`. Any error means nothing may be applied.
///
/// `max_bytes` bounds the body; rows beyond `request.limit` are rejected too.
pub fn decode_page(
    collection: &Collection,
    request: &PageRequest,
    body: &[u8],
    max_bytes: usize,
) -> Result<Page, PageError> {
    if body.len() > max_bytes {
        return Err(PageError::TooLarge(format!("{} bytes, the limit is {max_bytes}", body.len())));
    }
    let not_json = |e: serde_json::Error| PageError::Malformed(format!("not JSON: {e}"));
    let mut de = serde_json::Deserializer::from_slice(body);
    let top = PageSeed { collection, scope: &request.scope }.deserialize(&mut de).map_err(not_json)?;
    de.end().map_err(not_json)?;
    let top = top.ok_or_else(|| PageError::Malformed("the body is not a JSON object".into()))?;

    let rows = match top.rows {
        Some(Some(rows)) => rows,
        Some(None) => return Err(PageError::Malformed(format!("`{}` is not an array", collection.name))),
        None => return Err(PageError::Malformed(format!("no `{}` array in the page", collection.name))),
    };
    let latest_seq = top
        .latest_seq
        .and_then(|v| v.as_i64())
        .ok_or_else(|| PageError::Malformed("`latest_seq` is missing or not an integer".into()))?;
    let has_more = top
        .has_more
        .and_then(|v| v.as_bool())
        .ok_or_else(|| PageError::Malformed("`has_more` is missing or not a boolean".into()))?;
    let total_count = match top.total_count {
        None | Some(Json::Null) => None,
        Some(v) => {
            Some(v.as_u64().ok_or_else(|| PageError::Malformed("`total_count` is not a non-negative integer".into()))?)
        }
    };
    if rows.count > request.limit {
        return Err(PageError::TooLarge(format!("{} rows, the request's limit was {}", rows.count, request.limit)));
    }
    let mut previous = request.since_seq;
    for (i, row) in rows.rows.iter().enumerate() {
        if row.seq <= previous {
            return Err(PageError::SeqNotIncreasing { row: i, seq: row.seq, previous });
        }
        previous = row.seq;
    }
    if let Some(error) = rows.error {
        return Err(error);
    }
    // A filtered page with nothing left may cover seqs past its last row (rows of other values).
    let covers_past = request.filter.is_some() && !has_more && latest_seq > previous;
    if latest_seq != previous && !covers_past {
        return Err(PageError::LatestSeqMismatch { latest_seq, expected: previous });
    }
    if has_more && rows.rows.is_empty() {
        return Err(PageError::EmptyWithMore);
    }
    Ok(Page {
        collection: collection.name.clone(),
        since_seq: request.since_seq,
        rows: rows.rows,
        latest_seq,
        has_more,
        total_count,
        bytes: body.len(),
    })
}

/// The top-level object, its scalars kept as small JSON values to be checked after parsing.
#[derive(Default)]
struct Top {
    /// `None`: absent; `Some(None)`: present but not an array.
    rows: Option<Option<Rows>>,
    latest_seq: Option<Json>,
    has_more: Option<Json>,
    total_count: Option<Json>,
}

/// Rows decoded up to the first bad one; `count` counts them all.
#[derive(Default)]
struct Rows {
    rows: Vec<Row>,
    count: usize,
    error: Option<PageError>,
}

struct PageSeed<'a> {
    collection: &'a Collection,
    scope: &'a str,
}

impl<'de> DeserializeSeed<'de> for PageSeed<'_> {
    /// `None` when the body is JSON but not an object.
    type Value = Option<Top>;

    fn deserialize<D: Deserializer<'de>>(self, de: D) -> Result<Self::Value, D::Error> {
        de.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for PageSeed<'_> {
    type Value = Option<Top>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a page object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut top = Top::default();
        while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
            match key.as_ref() {
                name if name == self.collection.name => {
                    top.rows = Some(map.next_value_seed(RowsSeed { collection: self.collection, scope: self.scope })?);
                }
                "latest_seq" => top.latest_seq = Some(map.next_value()?),
                "has_more" => top.has_more = Some(map.next_value()?),
                "total_count" => top.total_count = Some(map.next_value()?),
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(Some(top))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
        IgnoredAny.visit_seq(seq).map(|_| None)
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
}

struct RowsSeed<'a> {
    collection: &'a Collection,
    scope: &'a str,
}

impl<'de> DeserializeSeed<'de> for RowsSeed<'_> {
    /// `None` when the value is not an array.
    type Value = Option<Rows>;

    fn deserialize<D: Deserializer<'de>>(self, de: D) -> Result<Self::Value, D::Error> {
        de.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for RowsSeed<'_> {
    type Value = Option<Rows>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an array of rows")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut rows = Rows { rows: Vec::with_capacity(seq.size_hint().unwrap_or(256)), ..Rows::default() };
        loop {
            let index = rows.count;
            if rows.error.is_some() {
                // After the first bad row only count the rest (the limit check reports an oversized page first).
                if seq.next_element::<IgnoredAny>()?.is_none() {
                    break;
                }
            } else {
                let seed = RowSeed { collection: self.collection, scope: self.scope, index };
                match seq.next_element_seed(seed)? {
                    None => break,
                    Some(Ok(row)) => rows.rows.push(row),
                    Some(Err(e)) => rows.error = Some(e),
                }
            }
            rows.count += 1;
        }
        Ok(Some(rows))
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        IgnoredAny.visit_map(map).map(|_| None)
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
}
