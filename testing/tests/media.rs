//! The media download queue (`sync-media`) against the real server over loopback: one binary, a module per feature.

#[path = "media/support.rs"]
mod support;

#[path = "media/bulk.rs"]
mod bulk;
#[path = "media/control.rs"]
mod control;
#[path = "media/faults.rs"]
mod faults;
#[path = "media/hostile.rs"]
mod hostile;
