//! A deterministic generator of a realistic WhatsApp-like integration: the same seed and sizes always give the
//! same rows. Messages are spread over conversations with a skew (a few chats hold most messages), in time
//! order; media records follow media messages (their size and SHA-256 those of a real file of a
//! [`MediaPool`]); groups have participants.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use sync_core::{FeedError, ServerStore, Value, Write};

use crate::media::{MediaPool, MediaProfile};
use crate::text;

/// How much to generate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Sizes {
    /// Conversations (about a fifth are groups).
    pub conversations: usize,
    /// Messages over all conversations.
    pub messages: usize,
    /// Contacts (at least one per one-to-one conversation is reused).
    pub contacts: usize,
}

/// What was written, per collection.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Totals {
    /// Conversations.
    pub conversations: u64,
    /// Messages.
    pub messages: u64,
    /// Contacts.
    pub contacts: u64,
    /// Media records.
    pub media: u64,
    /// Participants.
    pub participants: u64,
}

impl Totals {
    /// Rows over all collections.
    pub fn rows(&self) -> u64 {
        self.conversations + self.messages + self.contacts + self.media + self.participants
    }
}

/// 2024-01-01T00:00:00Z in Unix milliseconds: generated history starts here.
pub const EPOCH_MS: i64 = 1_704_067_200_000;
const SPAN_MS: i64 = 600 * 24 * 3600 * 1000;
const BATCH: usize = 2_000;

struct Conversation {
    id: String,
    jid: String,
    group: bool,
}

/// Writes a generated integration `scope` into `store`, in batches; `progress` gets the rows written so far.
/// Media rows point at the files of a small pool from `seed` ([`MediaPool::new`] with the small profile, four
/// files per kind); [`generate_with_media`] takes another pool.
pub async fn generate(
    store: &dyn ServerStore,
    scope: &str,
    sizes: Sizes,
    seed: u64,
    progress: impl FnMut(u64),
) -> Result<Totals, FeedError> {
    let pool = MediaPool::new(seed, MediaProfile::Small, 4);
    generate_with_media(store, scope, sizes, seed, &pool, progress).await
}

/// [`generate`] with the media rows pointing at the files of `pool` (their size and SHA-256).
pub async fn generate_with_media(
    store: &dyn ServerStore,
    scope: &str,
    sizes: Sizes,
    seed: u64,
    pool: &MediaPool,
    mut progress: impl FnMut(u64),
) -> Result<Totals, FeedError> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut totals = Totals::default();
    let mut batch = Vec::with_capacity(BATCH);
    let mut flush = async |batch: &mut Vec<Write>, totals: &Totals| -> Result<(), FeedError> {
        if !batch.is_empty() {
            store.write(scope, std::mem::take(batch)).await?;
            progress(totals.rows());
        }
        Ok(())
    };

    let contacts: Vec<String> = (0..sizes.contacts.max(1))
        .map(|i| format!("{}@s.whatsapp.net", 447_700_000_000u64 + i as u64 * 7919))
        .collect();
    for jid in &contacts {
        let name = text::person(&mut rng);
        let business = rng.random_ratio(1, 12);
        let values = vec![
            Value::from(jid.as_str()),
            Value::from(format!("+{}", jid.trim_end_matches("@s.whatsapp.net"))),
            Value::from(name.split(' ').next().map(str::to_owned)),
            Value::from(rng.random_ratio(4, 5).then(|| name.clone())),
            Value::from(business.then(|| format!("{} Ltd", name))),
            Value::Bool(business),
            Value::from(
                rng.random_ratio(2, 3)
                    .then(|| format!("https://pps.whatsapp.net/v/t61/{}.jpg", text::hex(&mut rng, 24))),
            ),
            Value::Integer(EPOCH_MS + rng.random_range(0..SPAN_MS)),
        ];
        batch.push(Write::Upsert { collection: "contacts".into(), id: text::uuid(&mut rng), values });
        totals.contacts += 1;
        if batch.len() >= BATCH {
            flush(&mut batch, &totals).await?;
        }
    }

    // Decide where every message goes first, so conversations know their last message time.
    let n_conv = sizes.conversations.max(1);
    let placement: Vec<u32> = (0..sizes.messages)
        .map(|_| {
            let u: f64 = rng.random();
            ((u * u * n_conv as f64) as usize).min(n_conv - 1) as u32
        })
        .collect();
    let sent_at = |i: usize| EPOCH_MS + (i as i64) * SPAN_MS / (sizes.messages.max(1) as i64);
    let mut last_at = vec![None; n_conv];
    for (i, c) in placement.iter().enumerate() {
        last_at[*c as usize] = Some(sent_at(i));
    }

    let mut conversations = Vec::with_capacity(n_conv);
    for (c, last) in last_at.iter().enumerate() {
        let group = rng.random_ratio(1, 5);
        let jid = if group {
            format!("{}-{}@g.us", 447_700_000_000u64 + c as u64, 1_600_000_000 + rng.random_range(0..100_000_000u64))
        } else {
            contacts[c % contacts.len()].clone()
        };
        let id = text::uuid(&mut rng);
        let created = EPOCH_MS - rng.random_range(0..SPAN_MS);
        let values = vec![
            Value::from(jid.as_str()),
            Value::from(if group { text::group(&mut rng) } else { text::person(&mut rng) }),
            Value::Bool(group),
            Value::Bool(rng.random_ratio(1, 20)),
            Value::Bool(rng.random_ratio(1, 50)),
            Value::from(rng.random_ratio(1, 20).then(|| EPOCH_MS + SPAN_MS + rng.random_range(0..SPAN_MS))),
            Value::Integer(if rng.random_ratio(1, 4) { rng.random_range(1..40) } else { 0 }),
            Value::from(*last),
            Value::Integer(created),
            Value::Integer(last.unwrap_or(created)),
        ];
        batch.push(Write::Upsert { collection: "conversations".into(), id: id.clone(), values });
        totals.conversations += 1;
        let members = if group { rng.random_range(3..=25) } else { 1 };
        for m in 0..members {
            let contact = if group { &contacts[rng.random_range(0..contacts.len())] } else { &jid };
            let role = if group && m == 0 {
                "superadmin"
            } else if group && rng.random_ratio(1, 10) {
                "admin"
            } else {
                "member"
            };
            let values = vec![
                Value::from(id.as_str()),
                Value::from(contact.as_str()),
                Value::from(role),
                Value::Integer(created),
            ];
            batch.push(Write::Upsert {
                collection: "conversation_participants".into(),
                id: text::uuid(&mut rng),
                values,
            });
            totals.participants += 1;
        }
        if batch.len() >= BATCH {
            flush(&mut batch, &totals).await?;
        }
        conversations.push(Conversation { id, jid, group });
    }

    let mut previous: Vec<Option<String>> = vec![None; n_conv];
    for (i, c) in placement.iter().enumerate() {
        let conv = &conversations[*c as usize];
        let message = message_writes(&mut rng, conv, previous[*c as usize].as_deref(), sent_at(i), &contacts, pool);
        totals.messages += 1;
        totals.media += message.len() as u64 - 1;
        if let Some(Write::Upsert { id, .. }) = message.first() {
            previous[*c as usize] = Some(id.clone());
        }
        batch.extend(message);
        if batch.len() >= BATCH {
            flush(&mut batch, &totals).await?;
        }
    }
    flush(&mut batch, &totals).await?;
    Ok(totals)
}

/// One message, and its media record when it has one.
fn message_writes(
    rng: &mut ChaCha8Rng,
    conv: &Conversation,
    previous: Option<&str>,
    sent_at: i64,
    contacts: &[String],
    pool: &MediaPool,
) -> Vec<Write> {
    let id = text::uuid(rng);
    let from_me = rng.random_ratio(2, 5);
    let kind = match rng.random_range(0..1000) {
        0..850 => "text",
        850..920 => "image",
        920..940 => "video",
        940..960 => "audio",
        960..970 => "document",
        970..980 => "sticker",
        980..985 => "location",
        _ => "system",
    };
    let sender = match (from_me, conv.group, kind) {
        (_, _, "system") | (true, _, _) => None,
        (false, true, _) => Some(contacts[rng.random_range(0..contacts.len())].clone()),
        (false, false, _) => Some(conv.jid.clone()),
    };
    let body = match kind {
        "text" => Some(text::body(rng)),
        "image" | "video" | "document" if rng.random_ratio(1, 3) => Some(text::body(rng)),
        "system" => Some("Messages and calls are end-to-end encrypted.".to_owned()),
        _ => None,
    };
    let status = if from_me { ["sent", "delivered", "read", "read"][rng.random_range(0..4)] } else { "read" };
    let metadata = match kind {
        "location" => Some(format!(
            r#"{{"lat":{:.5},"lng":{:.5}}}"#,
            rng.random_range(-60.0..60.0),
            rng.random_range(-120.0..120.0)
        )),
        _ if rng.random_ratio(1, 50) => Some(r#"{"forwarded":true}"#.to_owned()),
        _ => None,
    };
    let values = vec![
        Value::from(conv.id.as_str()),
        Value::from(format!("3EB0{}", text::hex(rng, 16).to_uppercase())),
        Value::from(sender),
        Value::Bool(from_me),
        Value::from(body),
        Value::from(kind),
        Value::from(status),
        Value::from(previous.filter(|_| rng.random_ratio(1, 20)).map(str::to_owned)),
        Value::Integer(sent_at),
        Value::from(rng.random_ratio(1, 100).then(|| sent_at + rng.random_range(1_000..600_000))),
        metadata.map_or(Value::Null, Value::Json),
    ];
    let mut out = vec![Write::Upsert { collection: "messages".into(), id: id.clone(), values }];
    let (mime, ext) = match kind {
        "image" => ("image/jpeg", "jpg"),
        "video" => ("video/mp4", "mp4"),
        "audio" => ("audio/ogg; codecs=opus", "ogg"),
        "document" => ("application/pdf", "pdf"),
        "sticker" => ("image/webp", "webp"),
        _ => return out,
    };
    let Some(file) = pool.pick(kind, rng) else { return out };
    let visual = matches!(kind, "image" | "video" | "sticker");
    let timed = matches!(kind, "audio" | "video");
    let values = vec![
        Value::from(id.as_str()),
        Value::from(conv.id.as_str()),
        Value::from(mime),
        Value::from(
            (kind == "document").then(|| format!("{}.{ext}", text::body(rng).split(' ').next().unwrap_or("file"))),
        ),
        Value::Integer(file.size as i64),
        Value::from(file.sha256.as_str()),
        Value::from(visual.then(|| rng.random_range(320..4000i64))),
        Value::from(visual.then(|| rng.random_range(320..4000i64))),
        Value::from(timed.then(|| rng.random_range(1_000..600_000i64))),
        Value::from(format!("https://mmg.whatsapp.net/v/t62.7118-24/{}.enc", text::hex(rng, 32))),
    ];
    out.push(Write::Upsert { collection: "message_media".into(), id: text::uuid(rng), values });
    out
}
