//! Client writes on the wire: the body of `POST /sync/push/{integration_id}` and its answer.
//!
//! A client records each local write as a [`Mutation`] with a per-client id that only grows, and pushes them in
//! id order. The server applies each mutation at most once: it keeps the last mutation id it processed for each
//! (integration, client) in the same transaction as the writes, so a push retried after a lost response applies
//! nothing twice. Every applied change takes a seq like any other write, so it reaches every client (its author
//! included) through the ordinary pull.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// What a mutation does to its row.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum MutationOp {
    /// Create the row with the given fields (columns not given are null).
    Insert,
    /// Change only the given fields of the row (a patch).
    Update,
    /// Delete the row (a tombstone on the server).
    Delete,
}

/// One local write, as recorded in the client's outbox and pushed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Mutation {
    /// Per-client id, strictly increasing across everything the client ever pushes.
    pub mutation_id: u64,
    /// A collection the schema marks writable.
    pub collection: String,
    /// The row's key (`id`).
    pub id: String,
    /// Insert, update or delete.
    pub op: MutationOp,
    /// Column name → value, encoded as in a page row (timestamps as Unix ms, booleans as `true`/`false`); empty
    /// for a delete.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub fields: BTreeMap<String, serde_json::Value>,
    /// The seq the row had in the client's replica when it was edited (`None` for a row the client had not seen).
    /// Informational: conflicts are resolved per field in server commit order, not by this.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base_seq: Option<i64>,
}

/// The body of a push.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct PushRequest {
    /// The client's stable id (one per replica file).
    pub client_id: String,
    /// Mutations in strictly increasing `mutation_id`.
    pub mutations: Vec<Mutation>,
}

/// What became of one pushed mutation.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum MutationOutcome {
    /// Applied now. `seq` is the seq its change took, or `None` when it changed nothing.
    Applied {
        /// The seq of the change, if any.
        seq: Option<i64>,
    },
    /// Processed by an earlier push (a retry): nothing was applied now. Its effects are at or below `seq`.
    AlreadyApplied {
        /// An upper bound of the seq of its change: the client's last processed push committed at or below it.
        seq: i64,
    },
    /// Refused (by the conflict policy or the server's hook). Final: the client rolls the mutation back.
    Rejected {
        /// A stable code, such as `not_found`, `deleted` or one of the hook's.
        code: String,
        /// What went wrong, for a person.
        message: String,
    },
}

/// The outcome of one mutation of a push.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MutationResult {
    /// The mutation's id.
    pub mutation_id: u64,
    /// What became of it.
    #[serde(flatten)]
    pub outcome: MutationOutcome,
}

/// The answer to a push: one result per mutation of the request, in order.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PushResponse {
    /// The greatest mutation id the server has processed for this client (0 if none).
    pub last_mutation_id: u64,
    /// One per pushed mutation, in request order.
    pub results: Vec<MutationResult>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn push_round_trips_through_json_in_the_documented_shape() {
        let text = r#"{"client_id":"c1","mutations":[
            {"mutation_id":1,"collection":"messages","id":"m1","op":"insert","fields":{"text":"hi","sent_at":5}},
            {"mutation_id":2,"collection":"messages","id":"m1","op":"delete","base_seq":9}]}"#;
        let push: PushRequest = serde_json::from_str(text).expect("parses");
        assert_eq!(push.mutations[0].op, MutationOp::Insert);
        assert_eq!(push.mutations[0].fields["sent_at"], serde_json::json!(5));
        assert_eq!(push.mutations[1].base_seq, Some(9));
        let again: PushRequest = serde_json::from_str(&serde_json::to_string(&push).expect("encodes")).expect("parses");
        assert_eq!(again, push);
    }

    #[test]
    fn outcomes_are_tagged_by_status() {
        let response = PushResponse {
            last_mutation_id: 3,
            results: vec![
                MutationResult { mutation_id: 2, outcome: MutationOutcome::AlreadyApplied { seq: 40 } },
                MutationResult {
                    mutation_id: 3,
                    outcome: MutationOutcome::Rejected { code: "deleted".into(), message: "gone".into() },
                },
            ],
        };
        let json = serde_json::to_value(&response).expect("encodes");
        assert_eq!(json["results"][0], serde_json::json!({"mutation_id": 2, "status": "already_applied", "seq": 40}));
        assert_eq!(json["results"][1]["status"], "rejected");
        assert_eq!(serde_json::from_value::<PushResponse>(json).expect("parses"), response);
    }

    #[test]
    fn unknown_fields_in_a_mutation_are_refused() {
        let text = r#"{"mutation_id":1,"collection":"c","id":"k","op":"delete","extra":1}"#;
        assert!(serde_json::from_str::<Mutation>(text).is_err());
    }
}
