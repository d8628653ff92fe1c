//! The store as it was after earlier migrations (feature `testing`). Tests turn a store back into one to test an
//! upgrade; the write benchmark measures against one.
//! - 010: the lock's reservation always queues the commit-time flush (011 queues it only when a transaction needs
//!   it);
//! - 009: live counts in `sync_counts`, counted per statement over transition tables and added there at commit,
//!   besides the lock's write of the counter row.

/// The definition of function `name` in the migration `sql`, as `CREATE OR REPLACE`.
fn function(sql: &str, name: &str) -> String {
    let start = sql.find(&format!("FUNCTION {name}(")).unwrap_or_else(|| panic!("no function {name}"));
    let end = start + sql[start..].find("END $$;").expect("the end of a function") + "END $$;".len();
    format!("CREATE OR REPLACE {}\n", &sql[start..end])
}

/// SQL that turns a store with every migration back into its state after migration 010. Run it with the store's
/// schema as the search_path; `schema` is that schema, quoted.
pub fn downgrade_to_010(schema: &str) -> String {
    let m007 = include_str!("../migrations/007_per_transaction_flush.sql");
    let m010 = include_str!("../migrations/010_count_at_lock.sql");
    let mut sql = String::new();
    for name in ["sync_lock_scope", "sync_take_seq", "sync_pend_live", "sync_unbook", "sync_flush_scope"] {
        sql += &function(m010, name);
    }
    for name in ["sync_count_inserted", "sync_count_updated"] {
        sql += &function(m007, name);
    }
    sql += &m010[m010.rfind("DROP TRIGGER sync_flush_scope").expect("010's flush trigger")..];
    sql += "DROP FUNCTION sync_unsolo();
            DROP FUNCTION sync_queue_flush(TEXT);
            DELETE FROM sync_migrations WHERE version = 11;\n";
    sql.replace("{{schema}}", schema)
}

/// SQL that turns a store with every migration back into its state after migration 009, live counts included.
/// Run it with the store's schema as the search_path; `schema` is that schema, quoted.
pub fn downgrade_to_009(schema: &str) -> String {
    let m007 = include_str!("../migrations/007_per_transaction_flush.sql");
    let m009 = include_str!("../migrations/009_reserve_at_lock.sql");
    let flush_trigger = &m009[m009.rfind("CREATE CONSTRAINT TRIGGER").expect("009's flush trigger")..];
    let mut sql = downgrade_to_010(schema);
    sql.push_str(
        "ALTER TABLE sync_counts ADD COLUMN live BIGINT NOT NULL DEFAULT 0;
         INSERT INTO sync_counts AS c (integration_id, collection, live)
         SELECT s.integration_id, l.key, l.value::BIGINT FROM sync_scopes s, jsonb_each_text(s.live) l
         ON CONFLICT (integration_id, collection) DO UPDATE SET live = excluded.live;
         DROP TRIGGER sync_flush_scope ON sync_scopes;
         ALTER TABLE sync_scopes DROP COLUMN live;
         DROP FUNCTION sync_unbook(TEXT);
         DELETE FROM sync_migrations WHERE version = 10;\n",
    );
    let mut rest = function(m009, "sync_lock_scope");
    rest += "DROP FUNCTION sync_lock_scope(TEXT, TEXT, BIGINT);\n";
    for name in ["sync_take_seq", "sync_pend_live"] {
        rest += &function(m007, name);
    }
    rest += &function(m009, "sync_flush_scope");
    rest += flush_trigger;
    sql + &rest.replace("{{schema}}", schema)
}
