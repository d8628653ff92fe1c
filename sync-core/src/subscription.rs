//! Subscriptions (selective sync, PROTOCOL.md "Selective sync"): what of a scope a client replicates.
//!
//! A scope is synced whole (the default) or for a set of filter values (conversations, in the example schema).
//! Each subscribed value has its own cursor per filtered collection, so a value added later is fetched alone
//! from cursor 0 and the others go on from where they were; collections without a filter column keep the scope's
//! cursors. An archived value keeps its rows and cursors but is not pulled until unarchived. The store applies
//! each [`SubscriptionChange`] in one transaction ([`ClientStore::change_subscription`](crate::ClientStore)).

use std::collections::BTreeMap;

/// What a client replicates of a scope.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Subscription {
    /// `None`: every row of the scope (the default). `Some`: only the rows of these filter values in the
    /// collections that declare a filter column, ordered by value.
    pub values: Option<Vec<SubscribedValue>>,
}

impl Subscription {
    /// Whether the scope is synced whole.
    pub fn is_everything(&self) -> bool {
        self.values.is_none()
    }

    /// The subscribed values that are pulled (not archived).
    pub fn active(&self) -> impl Iterator<Item = &SubscribedValue> {
        self.values.iter().flatten().filter(|v| !v.archived)
    }

    /// The value `value`, if subscribed.
    pub fn get(&self, value: &str) -> Option<&SubscribedValue> {
        self.values.iter().flatten().find(|v| v.value == value)
    }
}

/// One subscribed filter value.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SubscribedValue {
    /// The filter value (a conversation id).
    pub value: String,
    /// Archived: its rows stay, frozen, and it is not pulled until unarchived.
    pub archived: bool,
    /// Its cursor per filtered collection (a missing collection means cursor 0).
    pub cursors: BTreeMap<String, i64>,
}

impl SubscribedValue {
    /// The value's cursor in `collection` (0 when it has none).
    pub fn cursor(&self, collection: &str) -> i64 {
        self.cursors.get(collection).copied().unwrap_or(0)
    }
}

/// A change of a scope's [`Subscription`]. Values must be non-empty strings; a change that cannot apply (an
/// unknown value, archiving while everything is synced) changes nothing and is
/// [`StoreError::InvalidSubscription`](crate::StoreError::InvalidSubscription).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SubscriptionChange {
    /// Adds values (an archived one is unarchived). From "everything", the scope becomes the set of these values:
    /// their rows are kept with the collection's cursor (nothing is fetched again) and every other value's rows
    /// are evicted.
    Subscribe(Vec<String>),
    /// Removes subscribed values (archived or not): their rows and cursors are deleted.
    Unsubscribe(Vec<String>),
    /// Stops pulling subscribed values; their rows stay, readable and searchable.
    Archive(Vec<String>),
    /// Pulls archived values again, from their cursors.
    Unarchive(Vec<String>),
    /// Back to every row: the filtered collections' rows and cursors are deleted and pulled again whole.
    Everything,
}

impl SubscriptionChange {
    /// The values the change names (none for [`SubscriptionChange::Everything`]).
    pub fn values(&self) -> &[String] {
        match self {
            SubscriptionChange::Subscribe(v)
            | SubscriptionChange::Unsubscribe(v)
            | SubscriptionChange::Archive(v)
            | SubscriptionChange::Unarchive(v) => v,
            SubscriptionChange::Everything => &[],
        }
    }

    /// Checks the change against the current subscription: `Err` with why it cannot apply.
    pub fn check(&self, current: &Subscription) -> Result<(), String> {
        if let Some(bad) = self.values().iter().find(|v| v.is_empty()) {
            return Err(format!("a filter value must not be empty (got {bad:?})"));
        }
        let name = match self {
            SubscriptionChange::Subscribe(v) if v.is_empty() => return Err("subscribe needs at least one value".into()),
            SubscriptionChange::Subscribe(_) | SubscriptionChange::Everything => return Ok(()),
            SubscriptionChange::Unsubscribe(_) => "unsubscribe",
            SubscriptionChange::Archive(_) => "archive",
            SubscriptionChange::Unarchive(_) => "unarchive",
        };
        if current.is_everything() {
            return Err(format!("cannot {name}: the scope syncs everything (subscribe to a set of values first)"));
        }
        match self.values().iter().find(|v| current.get(v).is_none()) {
            Some(unknown) => Err(format!("cannot {name} {unknown:?}: it is not subscribed")),
            None => Ok(()),
        }
    }
}

/// Groups the active values of `subscription` by their cursor in `collection`, each group at most `max` values,
/// lowest cursor first: each group is one filtered pull from its cursor.
pub fn pull_groups(subscription: &Subscription, collection: &str, max: usize) -> Vec<(i64, Vec<String>)> {
    let mut by_cursor: BTreeMap<i64, Vec<String>> = BTreeMap::new();
    for value in subscription.active() {
        by_cursor.entry(value.cursor(collection)).or_default().push(value.value.clone());
    }
    let mut groups = Vec::new();
    for (cursor, values) in by_cursor {
        groups.extend(values.chunks(max.max(1)).map(|chunk| (cursor, chunk.to_vec())));
    }
    groups
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(list: &[(&str, bool, i64)]) -> Subscription {
        let values = list
            .iter()
            .map(|(v, archived, cursor)| SubscribedValue {
                value: (*v).into(),
                archived: *archived,
                cursors: [("m".to_owned(), *cursor)].into_iter().filter(|(_, c)| *c > 0).collect(),
            })
            .collect();
        Subscription { values: Some(values) }
    }

    #[test]
    fn changes_are_checked_against_the_subscription() {
        let all = Subscription::default();
        let some = values(&[("a", false, 3)]);
        let s = |v: &[&str]| v.iter().map(|v| (*v).to_owned()).collect::<Vec<_>>();
        assert!(SubscriptionChange::Subscribe(s(&["b"])).check(&all).is_ok());
        assert!(SubscriptionChange::Subscribe(vec![]).check(&all).expect_err("refused").contains("at least one"));
        assert!(SubscriptionChange::Subscribe(s(&[""])).check(&some).expect_err("refused").contains("empty"));
        assert!(SubscriptionChange::Archive(s(&["a"])).check(&all).expect_err("refused").contains("everything"));
        assert!(SubscriptionChange::Archive(s(&["a"])).check(&some).is_ok());
        assert!(SubscriptionChange::Unsubscribe(s(&["a", "z"])).check(&some).expect_err("refused").contains("\"z\""));
        assert!(SubscriptionChange::Everything.check(&some).is_ok());
    }

    #[test]
    fn active_values_are_pulled_in_groups_by_cursor() {
        let s = values(&[("a", false, 3), ("b", false, 0), ("c", true, 0), ("d", false, 3), ("e", false, 3)]);
        let groups = pull_groups(&s, "m", 2);
        let expect = |c: i64, v: &[&str]| (c, v.iter().map(|v| (*v).to_owned()).collect::<Vec<_>>());
        assert_eq!(groups, vec![expect(0, &["b"]), expect(3, &["a", "d"]), expect(3, &["e"])]);
        assert!(pull_groups(&Subscription::default(), "m", 2).is_empty());
    }
}
