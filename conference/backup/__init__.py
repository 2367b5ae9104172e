"""`conference backup FILE` and `conference restore FILE`: one .tar archive holding a consistent copy
of the database and the files the system keeps on disk, with a manifest.

Stored files (agenda and task attachments, published minutes PDFs) live in the database (bytea /
BLOB columns), so the database copy carries them; the .eml files written to the outbox directory when
no SMTP server is set are the only files on disk, and they go into the archive under `files/outbox/`.

- SQLite: SQLite's online backup API (`sqlite3.Connection.backup`) reads one snapshot while the
  server goes on writing (WAL mode); restore copies the archived file into the database through the
  same API, so open connections and the WAL stay consistent.
- PostgreSQL: `pg_dump --format=custom` of the schema named by `search_path` in DATABASE_URL (else
  `public`), inside a snapshot exported by a repeatable-read transaction that also counts the rows
  for the manifest; restore runs `pg_restore` into `psql --single-transaction`, after dropping what
  the schema holds in the same transaction, so a failed restore changes nothing.

The manifest (`manifest.json`, the archive's first member) names the format and its version, the
database kind, the schema, the last applied migration, the time of the copy, the row count of every
table and the SHA-256 of every member; restore checks all of them.

Modules: common (format, errors, helpers both directions share), sqlite and postgres (the copy and
the restore of each database), create (`conference backup`), restore (`conference restore`).
"""
