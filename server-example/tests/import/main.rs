//! The importer: WhatsApp export files (every format parsed exactly, written to a store, re-imported, synced to a
//! client), export ZIPs with their media files, and the command line. The chitchat-dataset corpus has a test binary of its own (`tests/chitchat.rs`).

mod command;
mod formats;
mod reimport;
mod support;
mod whatsapp;
mod zip_export;
