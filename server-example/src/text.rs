//! Deterministic, human-looking pieces of a chat: message bodies, names, ids.

use rand::Rng;
use rand::seq::IndexedRandom;

const WORDS: &[&str] = &[
    "the", "to", "and", "you", "I", "a", "it", "is", "that", "for", "on", "in", "me", "we", "be", "have", "are", "at",
    "so", "this", "with", "just", "what", "can", "do", "was", "not", "ok", "yes", "no", "will", "get", "all",
    "tomorrow", "today", "tonight", "later", "now", "soon", "meeting", "call", "lunch", "dinner", "coffee", "weekend",
    "Monday", "Friday", "office", "home", "train", "late", "sorry", "thanks", "thank", "great", "perfect", "sure",
    "maybe", "love", "haha", "lol", "really", "think", "know", "see", "send", "sent", "photo", "video", "link",
    "document", "invoice", "price", "order", "delivery", "address", "payment", "ticket", "flight", "hotel", "birthday",
    "party", "gift", "cake", "kids", "school", "doctor", "gym", "match", "game", "movie", "song", "weather", "rain",
    "sun", "traffic", "car", "bus", "minutes", "hours", "back", "ready", "done", "again", "please", "check", "let",
    "us", "meet", "there", "here", "where", "when", "why", "how", "who", "good", "morning", "night", "happy", "new",
    "update", "project", "deadline", "draft", "review", "team", "client", "budget", "plan", "idea", "question",
    "answer", "problem", "fixed", "working", "almost",
];
const EMOJI: &[&str] = &["😂", "👍", "❤️", "🙏", "😊", "🎉", "😅", "🔥", "👀", "😍"];
const FIRST: &[&str] = &[
    "Ana", "Ben", "Carla", "David", "Elena", "Farid", "Grace", "Hugo", "Ines", "Jonas", "Kemi", "Liam", "Maya",
    "Nadia", "Omar", "Priya", "Quentin", "Rosa", "Sami", "Tara", "Umar", "Vera", "Wei", "Xenia", "Yusuf", "Zoe",
];
const LAST: &[&str] = &[
    "Silva",
    "Müller",
    "Okafor",
    "Nguyen",
    "García",
    "Kowalski",
    "Haddad",
    "Rossi",
    "Tanaka",
    "Johansson",
    "Dubois",
    "Ivanova",
    "Mensah",
    "Patel",
    "O'Brien",
    "Schmidt",
    "Costa",
    "Yilmaz",
    "Kim",
    "Novak",
];
const GROUPS: &[&str] = &[
    "Family",
    "Book club",
    "Football Sunday",
    "Project Atlas",
    "Flatmates",
    "Class of 2012",
    "Trip to Lisbon",
    "Neighbours",
    "Design team",
    "Running crew",
    "Parents 3B",
    "Garden swap",
];

/// A message body: mostly short, sometimes long, as real chats are.
pub fn body(rng: &mut impl Rng) -> String {
    let words = match rng.random_range(0..100) {
        0..40 => rng.random_range(1..=5),
        40..75 => rng.random_range(6..=15),
        75..95 => rng.random_range(16..=40),
        _ => rng.random_range(41..=120),
    };
    let mut out = String::with_capacity(words * 6);
    for i in 0..words {
        if i > 0 {
            out.push(' ');
        }
        out.push_str(WORDS.choose(rng).copied().unwrap_or("ok"));
    }
    if rng.random_ratio(1, 6) {
        out.push(' ');
        out.push_str(EMOJI.choose(rng).copied().unwrap_or("🙂"));
    }
    if let Some(first) = out.get_mut(0..1) {
        first.make_ascii_uppercase();
    }
    out
}

/// A person's name.
pub fn person(rng: &mut impl Rng) -> String {
    format!("{} {}", FIRST.choose(rng).copied().unwrap_or("Ana"), LAST.choose(rng).copied().unwrap_or("Silva"))
}

/// A group's name.
pub fn group(rng: &mut impl Rng) -> String {
    let base = GROUPS.choose(rng).copied().unwrap_or("Group");
    if rng.random_ratio(1, 2) { base.to_owned() } else { format!("{base} {}", rng.random_range(2..99)) }
}

/// A random UUID-shaped id.
pub fn uuid(rng: &mut impl Rng) -> String {
    let (a, b): (u64, u64) = (rng.random(), rng.random());
    format!(
        "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
        a >> 32,
        (a >> 16) & 0xffff,
        a & 0xfff,
        (b >> 48) & 0x3fff | 0x8000,
        b & 0xffff_ffff_ffff
    )
}

/// `n` random hex digits.
pub fn hex(rng: &mut impl Rng, n: usize) -> String {
    (0..n).map(|_| char::from_digit(rng.random_range(0..16), 16).unwrap_or('0')).collect()
}
