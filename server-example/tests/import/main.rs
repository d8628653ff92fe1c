//! The importer: WhatsApp export files (parsed exactly, written to a store, re-imported) and the
//! chitchat-dataset corpus synced to a client.

mod chitchat;
mod command;
mod support;
mod whatsapp;
